#!/usr/bin/env python3
"""Draws a picture of the pull-request comment from a real summary.md.

    .venv/bin/python scripts/pr-comment-svg.py SUMMARY.md OUT.svg

The summary is rendered as GitHub renders a comment, by cmark-gfm (GitHub's own CommonMark/GFM
renderer, with the runner's raw HTML kept), into XHTML inside an SVG <foreignObject>, styled
like a GitHub comment, with the failing tests' blocks shown open. The output depends only on
the input, so tests/tools/docs.rs regenerates docs/assets/pr-comment.svg from the committed
summary and fails when the picture is stale.

The summary is the runner's, whose text from the tests is escaped; still, only the elements
and attributes the runner's summary uses are accepted, and anything else (a script, an image,
a link, an event handler) stops this script, so the picture can never carry active content.
"""

import html.entities
import re
import sys
import xml.etree.ElementTree as ET

import cmarkgfm
from cmarkgfm.cmark import Options

WIDTH = 760
XHTML = "http://www.w3.org/1999/xhtml"
ELEMENTS = {
    "div", "h3", "h4", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr",
    "th", "td", "details", "summary", "br", "hr", "ul", "ol", "li",
}
ATTRIBUTES = {"align", "open", "xmlns"}

STYLE = """
.comment { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica,
  Arial, sans-serif; font-size: 14px; line-height: 1.5; color: #1f2328; background: #ffffff;
  border: 1px solid #d1d9e0; border-radius: 6px; overflow: hidden; }
.header { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
  color: #59636e; }
.header strong { color: #1f2328; }
.bot { border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 6px; font-size: 12px; }
.body { padding: 16px; }
.body > :first-child { margin-top: 0; }
h3, h4 { margin: 16px 0 8px 0; font-weight: 600; line-height: 1.25; }
h3 { font-size: 17.5px; }
h4 { font-size: 14px; }
p { margin: 0 0 12px 0; }
table { border-collapse: collapse; margin: 0 0 12px 0; }
th, td { border: 1px solid #d1d9e0; padding: 4px 13px; }
th { font-weight: 600; }
tr:nth-child(2n) td { background: #f6f8fa; }
code, pre { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace;
  font-size: 12px; }
code { background: #eff1f3; border-radius: 6px; padding: 2px 5px; }
pre { background: #f6f8fa; border-radius: 6px; padding: 12px 16px; margin: 0 0 12px 0;
  line-height: 1.45; white-space: pre; overflow: hidden; }
details { margin: 0 0 12px 0; }
summary { margin: 0 0 8px 0; }
"""


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def xml_entities(text):
    """HTML's named references as numeric ones: XML knows only five names."""
    keep = {"amp", "lt", "gt", "quot", "apos"}

    def numeric(match):
        name = match.group(1)
        if name in keep:
            return match.group(0)
        if name not in html.entities.name2codepoint:
            fail(f"unknown character reference &{name};")
        return f"&#{html.entities.name2codepoint[name]};"

    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", numeric, text)


def checked(body):
    """The rendered summary as an element tree, refused unless made of plain markup only."""
    try:
        root = ET.fromstring(f'<div xmlns="{XHTML}" class="body">{xml_entities(body)}</div>')
    except ET.ParseError as err:
        fail(f"the rendered summary is not well-formed markup: {err}")
    for element in root.iter():
        tag = element.tag.removeprefix("{" + XHTML + "}")
        if tag not in ELEMENTS:
            fail(f"the summary holds a <{tag}> element, which a picture of it must not")
        for name in element.attrib:
            if name not in ATTRIBUTES and name != "class":
                fail(f"the summary holds a `{name}` attribute on <{tag}>")
        if tag == "details":
            element.set("open", "open")
    return root


def lines_of(text, chars_per_line):
    return sum(max(1, -(-len(line) // int(chars_per_line))) for line in text.split("\n"))


def pre_height(pre):
    """A <pre> never wraps (`white-space: pre`): one 17.4 px line each, and its padding."""
    return 17.4 * len("".join(pre.itertext()).split("\n")) + 24 + 12


def height_of(root):
    """The comment's height in pixels, from its blocks (the picture has no layout engine): a
    little more than a browser needs, since fonts differ, rather than a cut-off comment."""
    inner = WIDTH - 2 - 32
    # Proportional text at 14 px: at most about inner // 7.5 characters a line.
    per_line = inner // 7.5
    height = 38 + 32 + 2  # the header, the body's padding, the border
    first = True
    for block in root:
        tag = block.tag.removeprefix("{" + XHTML + "}")
        text = "".join(block.itertext())
        if tag == "h3":
            height += 22 + 8 + (0 if first else 16)
        elif tag == "h4":
            height += 18 + 8 + (0 if first else 16)
        elif tag == "table":
            height += 31 * len(block.findall(f".//{{{XHTML}}}tr")) + 12
        elif tag == "pre":
            height += pre_height(block)
        elif tag == "details":
            summary = block.find(f"{{{XHTML}}}summary")
            height += 21 * lines_of("".join(summary.itertext()), per_line) + 8
            for pre in block.findall(f"{{{XHTML}}}pre"):
                height += pre_height(pre)
            height += 12
        else:
            height += 21 * lines_of(text, per_line) + 12
        first = False
    return round(height)


def svg_of(markdown):
    body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    root = checked(body)
    height = height_of(root)
    ET.register_namespace("", XHTML)
    content = ET.tostring(root, encoding="unicode")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="The gpu-ci results comment on a pull request">\n'
        f"<style>{STYLE}</style>\n"
        f'<foreignObject x="0" y="0" width="{WIDTH}" height="{height}">\n'
        f'<div xmlns="{XHTML}" class="comment" style="height: {height - 2}px">'
        f'<div class="header"><strong>github-actions</strong> <span class="bot">bot</span>'
        f" commented</div>{content}</div>\n"
        "</foreignObject>\n</svg>\n"
    )


def main():
    if len(sys.argv) != 3:
        fail("usage: pr-comment-svg.py SUMMARY.md OUT.svg")
    with open(sys.argv[1], encoding="utf-8") as f:
        markdown = f.read()
    svg = svg_of(markdown)
    ET.fromstring(svg)  # the picture is well-formed XML, or nothing is written
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(svg)


if __name__ == "__main__":
    main()
