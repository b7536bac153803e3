//! A strict reader for the part of PEP 508 that `packages` accepts: a name, extras, version
//! specifiers or `@ https://…`, and environment markers. Anything else (a path, a `-e`, a
//! `git+` URL, an option such as `--index-url`) is refused with the reason.

use std::fmt;

/// A requirement that parsed, kept as the text the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The distribution name as written (`torchao`).
    pub name: String,
    pub extras: Vec<String>,
    /// `>=2.4,<3` as written, without spaces; empty when none.
    pub specifiers: String,
    /// `https://…` of a direct reference.
    pub url: Option<String>,
    /// The marker after `;`, as written, trimmed.
    pub marker: Option<String>,
}

impl Requirement {
    /// PEP 503's normalised name: lowercase, runs of `-_.` as one `-`.
    pub fn normalized_name(&self) -> String {
        normalize(&self.name)
    }
}

/// PEP 503's normalised form of a distribution name.
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.extras.is_empty() {
            write!(f, "[{}]", self.extras.join(","))?;
        }
        f.write_str(&self.specifiers)?;
        if let Some(url) = &self.url {
            write!(f, " @ {url}")?;
        }
        if let Some(marker) = &self.marker {
            write!(f, "; {marker}")?;
        }
        Ok(())
    }
}

const MARKER_VARIABLES: [&str; 12] = [
    "python_version",
    "python_full_version",
    "os_name",
    "sys_platform",
    "platform_release",
    "platform_system",
    "platform_version",
    "platform_machine",
    "platform_python_implementation",
    "implementation_name",
    "implementation_version",
    "extra",
];

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_spaces();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    /// The longest run of characters `ok` accepts.
    fn take(&mut self, ok: impl Fn(char) -> bool) -> &'a str {
        self.skip_spaces();
        let rest = self.rest();
        let end = rest.find(|c: char| !ok(c)).unwrap_or(rest.len());
        self.at += end;
        &rest[..end]
    }

    fn done(&mut self) -> bool {
        self.skip_spaces();
        self.rest().is_empty()
    }
}

/// A distribution or extra name: letters and digits, with `-`, `_` or `.` inside.
pub fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '-' | '_')
}

/// Parses one requirement; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Requirement, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err("options (`-e`, `-r`, `--index-url`) are not requirements; indexes have their own keys, `index-url` and `extra-index-urls`".into());
    }
    if trimmed.starts_with(['.', '/', '~']) || trimmed.contains("://") && !trimmed.contains('@') {
        return Err("a path or a bare URL is not a requirement; write `name @ https://…`".into());
    }
    let mut cursor = Cursor {
        text: trimmed,
        at: 0,
    };
    let name = cursor.take(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !is_name(name) {
        return Err(
            "it does not start with a distribution name (letters, digits, `-`, `_`, `.`)".into(),
        );
    }
    let mut extras = Vec::new();
    if cursor.eat("[") {
        loop {
            let extra = cursor.take(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !is_name(extra) {
                return Err("an extra in `[…]` is not a name".into());
            }
            extras.push(extra.to_string());
            if cursor.eat("]") {
                break;
            }
            if !cursor.eat(",") {
                return Err("extras are `[a,b]`: a `,` or `]` is missing".into());
            }
        }
    }
    let mut url = None;
    let mut specifiers = String::new();
    if cursor.eat("@") {
        let found = cursor.take(|c| !c.is_whitespace() && c != ';');
        if !found.starts_with("https://") || found.len() <= "https://".len() {
            return Err(format!(
                "the direct reference `{found}` is not an https:// URL (git+, file: and plain http are refused)"
            ));
        }
        if found
            .split('/')
            .nth(2)
            .is_some_and(|host| host.contains('@'))
        {
            return Err("the URL holds credentials (`user@host`); the config is plain text in the repository".into());
        }
        url = Some(found.to_string());
        // PEP 508: a marker after a URL is set off by a space.
        if !cursor.rest().is_empty() && !cursor.rest().starts_with([' ', '\t']) {
            return Err("a space must separate the URL from `;`".into());
        }
    } else {
        let parens = cursor.eat("(");
        let mut first = true;
        loop {
            cursor.skip_spaces();
            let rest = cursor.rest();
            let op = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]
                .into_iter()
                .find(|op| rest.starts_with(op));
            let Some(op) = op else {
                if first {
                    break;
                }
                return Err("a `,` must be followed by a version specifier, as `<3`".into());
            };
            cursor.at += op.len();
            let version = cursor.take(is_version_char);
            if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Err(format!("`{op}` is not followed by a version"));
            }
            if version.contains('*') && !(matches!(op, "==" | "!=") && version.ends_with(".*")) {
                return Err(format!(
                    "`{op}{version}`: a wildcard is only `==X.*` or `!=X.*`"
                ));
            }
            specifiers.push_str(op);
            specifiers.push_str(version);
            first = false;
            if cursor.eat(",") {
                specifiers.push(',');
            } else {
                break;
            }
        }
        if parens && !cursor.eat(")") {
            return Err("a `(` around the version specifiers is not closed".into());
        }
    }
    let marker = if cursor.eat(";") {
        let start = cursor.at;
        marker_or(&mut cursor)?;
        let marker = cursor.text[start..cursor.at].trim();
        if marker.is_empty() {
            return Err("`;` is not followed by a marker".into());
        }
        Some(marker.to_string())
    } else {
        None
    };
    if !cursor.done() {
        return Err(format!("unexpected `{}`", cursor.rest()));
    }
    Ok(Requirement {
        name: name.to_string(),
        extras,
        specifiers,
        url,
        marker,
    })
}

fn marker_or(cursor: &mut Cursor<'_>) -> Result<(), String> {
    marker_and(cursor)?;
    while eat_word(cursor, "or") {
        marker_and(cursor)?;
    }
    Ok(())
}

fn marker_and(cursor: &mut Cursor<'_>) -> Result<(), String> {
    marker_expr(cursor)?;
    while eat_word(cursor, "and") {
        marker_expr(cursor)?;
    }
    Ok(())
}

fn eat_word(cursor: &mut Cursor<'_>, word: &str) -> bool {
    cursor.skip_spaces();
    let rest = cursor.rest();
    if rest.starts_with(word) && rest[word.len()..].starts_with([' ', '\t', '(', '"', '\'']) {
        cursor.at += word.len();
        true
    } else {
        false
    }
}

fn marker_expr(cursor: &mut Cursor<'_>) -> Result<(), String> {
    if cursor.eat("(") {
        marker_or(cursor)?;
        if !cursor.eat(")") {
            return Err("a `(` in the marker is not closed".into());
        }
        return Ok(());
    }
    marker_value(cursor)?;
    cursor.skip_spaces();
    let rest = cursor.rest();
    let op = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]
        .into_iter()
        .find(|op| rest.starts_with(op));
    let compared = match op {
        Some(op) => {
            cursor.at += op.len();
            true
        }
        None => eat_word(cursor, "in") || (eat_word(cursor, "not") && eat_word(cursor, "in")),
    };
    if !compared {
        return Err(
            "a marker compares two values with ==, !=, <, <=, >, >=, ~=, in or not in".into(),
        );
    }
    marker_value(cursor)
}

fn marker_value(cursor: &mut Cursor<'_>) -> Result<(), String> {
    cursor.skip_spaces();
    let rest = cursor.rest();
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let body = &rest[1..];
        let Some(end) = body.find(quote) else {
            return Err("a quoted string in the marker is not closed".into());
        };
        if body[..end].chars().any(|c| c.is_control()) {
            return Err("a marker string holds a control character".into());
        }
        cursor.at += end + 2;
        return Ok(());
    }
    let word = cursor.take(|c| c.is_ascii_alphanumeric() || c == '_');
    if MARKER_VARIABLES.contains(&word) {
        Ok(())
    } else if word.is_empty() {
        Err("a marker value is missing".into())
    } else {
        Err(format!(
            "`{word}` is not a marker variable ({})",
            MARKER_VARIABLES.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_subset() {
        for ok in [
            "torchao",
            "torch>=2.4,<3",
            "torch >= 2.4, < 3",
            "xformers==0.0.29.post3",
            "numpy==1.*",
            "jax[cuda12]>=0.4",
            "requests[security,socks] (>=2.8.1,==2.8.*)",
            "flash_attn @ https://example.org/flash_attn-2.7.4-cp312-linux_x86_64.whl",
            "pkg @ https://example.org/p.whl ; python_version >= '3.10'",
            "pywin32>=1.0; sys_platform == 'win32' and (python_version < \"3.12\" or extra == 'x')",
            "triton; platform_machine in 'x86_64 aarch64'",
            "foo; 'linux' not in sys_platform",
        ] {
            parse(ok).unwrap_or_else(|err| panic!("{ok}: {err}"));
        }
        let req = parse("Torch_AO[x]>=0.1 ; python_version>'3.9'").unwrap();
        assert_eq!(req.normalized_name(), "torch-ao");
        assert_eq!(req.to_string(), "Torch_AO[x]>=0.1; python_version>'3.9'");
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "-e .",
            "--index-url https://x",
            "./local",
            "/abs/path.whl",
            "git+https://github.com/a/b",
            "pkg @ git+https://github.com/a/b",
            "pkg @ http://example.org/p.whl",
            "pkg @ file:///tmp/p.whl",
            "pkg @ https://user:pw@example.org/p.whl",
            "pkg @ https://example.org/p.whl;python_version>'3'",
            "torch>=",
            "torch>=2,",
            "torch=2",
            "torch>=2.*",
            "torch[cuda",
            "torch; os == 'linux'",
            "torch; python_version >= '3.10",
            "torch; python_version",
            "torch; python_version >= '3.10' && x",
            "torch ; ",
            "torch 2.0",
            "torch>=2 $(curl x)",
            "-",
        ] {
            assert!(parse(bad).is_err(), "accepted `{bad}`");
        }
    }
}
