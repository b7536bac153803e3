//! setup.cfg's declarative metadata, and what setup.py's text names without running it.

use super::ini;
use super::requirements::package_names;

/// What `[options]` and `[options.extras_require]` declare.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SetupCfg {
    pub python_requires: Option<String>,
    /// Distributions `install_requires` names, normalised.
    pub install_requires: Vec<String>,
    /// Extras by name, with the distributions each names.
    pub extras: Vec<(String, Vec<String>)>,
}

impl SetupCfg {
    pub fn parse(text: &str) -> SetupCfg {
        let options = ini::section(text, "options").unwrap_or_default();
        let extras = ini::section(text, "options.extras_require")
            .map(|section| {
                section
                    .entries
                    .iter()
                    .map(|(name, value)| (name.clone(), package_names(value)))
                    .collect()
            })
            .unwrap_or_default();
        SetupCfg {
            python_requires: options.get("python_requires").map(str::to_string),
            install_requires: package_names(&options.lines("install_requires").join("\n")),
            extras,
        }
    }

    /// Every distribution named anywhere.
    pub fn dependency_names(&self) -> Vec<String> {
        let mut names = self.install_requires.clone();
        for (_, packages) in &self.extras {
            names.extend(packages.iter().cloned());
        }
        names
    }
}

/// Distribution names in setup.py's string literals that look like requirements (`"torch>=2"`):
/// enough to tell the GPU framework, never run.
pub fn setup_py_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for quote in ['"', '\''] {
        for (index, piece) in text.split(quote).enumerate() {
            // Odd pieces sit between a pair of quotes.
            if index % 2 == 1 && piece.len() < 100 && !piece.contains(char::is_whitespace) {
                names.extend(package_names(piece));
            }
        }
    }
    names
}

/// The requirements of setup.py's `install_requires=[...]` when it is a literal list of
/// strings, as written (`"torch>=2.4,<2.8"`); a computed list gives nothing. Never run.
pub fn setup_py_install_requires(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("install_requires") {
        let rest = text[at + "install_requires".len()..].trim_start();
        let Some(body) = rest
            .strip_prefix('=')
            .filter(|r| !r.starts_with('='))
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('['))
        else {
            continue;
        };
        let mut items = Vec::new();
        let mut chars = body.chars();
        let mut literal = true;
        while let Some(c) = chars.next() {
            match c {
                ']' => break,
                '"' | '\'' => {
                    let item: String = chars.by_ref().take_while(|d| *d != c).collect();
                    items.push(item);
                }
                '#' => {
                    chars.by_ref().take_while(|d| *d != '\n').for_each(drop);
                }
                ',' => {}
                c if c.is_whitespace() => {}
                _ => {
                    literal = false;
                    break;
                }
            }
        }
        if literal {
            found.extend(items);
        }
    }
    found
}

/// Extra names setup.py's text defines: `extras["test"] = ...`, `extra_deps['dev'] = ...`, or
/// the keys of an `extras_require={...}` literal.
pub fn setup_py_extras(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    // `<identifier with "extra">["name"] =`
    for (at, _) in text.match_indices('[') {
        let before = &text[..at];
        let ident: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !ident.to_ascii_lowercase().contains("extra") {
            continue;
        }
        let rest = &text[at + 1..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let Some(end) = rest[1..].find(quote) else {
            continue;
        };
        let after = rest[1 + end + 1..].trim_start();
        if let Some(assigned) = after.strip_prefix(']')
            && assigned.trim_start().starts_with('=')
            && !assigned.trim_start().starts_with("==")
        {
            push(&rest[1..1 + end]);
        }
    }
    // `extras_require={"name": [...], ...}`
    if let Some(at) = text.find("extras_require") {
        let rest = text[at + "extras_require".len()..].trim_start();
        if let Some(body) = rest
            .strip_prefix('=')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('{'))
        {
            let mut depth = 1;
            let mut key_start: Option<(char, usize)> = None;
            let chars: Vec<(usize, char)> = body.char_indices().collect();
            let mut i = 0;
            while i < chars.len() && depth > 0 {
                let (pos, c) = chars[i];
                match (c, key_start) {
                    ('{' | '[' | '(', None) => depth += 1,
                    ('}' | ']' | ')', None) => depth -= 1,
                    ('"' | '\'', None) => key_start = Some((c, pos + 1)),
                    (q, Some((open, start))) if q == open => {
                        let after = body[pos + 1..].trim_start();
                        if depth == 1 && after.starts_with(':') {
                            push(&body[start..pos]);
                        }
                        key_start = None;
                    }
                    _ => {}
                }
                i += 1;
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_and_extras() {
        let cfg = SetupCfg::parse(
            "[options]\npython_requires = >=3.9\ninstall_requires =\n    torch>=2.1\n    numpy\n[options.extras_require]\ntest =\n    pytest\ngpu = cupy-cuda12x\n",
        );
        assert_eq!(cfg.python_requires.as_deref(), Some(">=3.9"));
        assert_eq!(cfg.install_requires, ["torch", "numpy"]);
        assert_eq!(
            cfg.extras[0],
            ("test".to_string(), vec!["pytest".to_string()])
        );
        assert!(cfg.dependency_names().contains(&"cupy-cuda12x".to_string()));
    }

    #[test]
    fn setup_py_install_requires_is_read_when_literal() {
        let text = "setup(\n    install_requires=[\n        \"torch>=2.4,<2.7\",  # capped\n        'numpy',\n    ],\n)\n";
        assert_eq!(
            setup_py_install_requires(text),
            ["torch>=2.4,<2.7", "numpy"]
        );
        assert!(setup_py_install_requires("setup(install_requires=deps)").is_empty());
        assert!(setup_py_install_requires("install_requires=[\"a\"] + extra").len() == 1);
        assert!(setup_py_install_requires("install_requires=[f(x), \"torch<2.5\"]").is_empty());
    }

    #[test]
    fn setup_py_extras_are_read_from_assignments_and_literals() {
        let text = "extras = {}\nextras[\"test\"] = deps_list(\"pytest\")\nextra_deps['dev'] = ['x']\nif extras['dev'] == 1: pass\nsetup(extras_require={'gpu': ['cupy'], \"docs\": [f(\"a\")]})\n";
        assert_eq!(setup_py_extras(text), ["test", "dev", "gpu", "docs"]);
    }

    #[test]
    fn setup_py_literals_name_the_framework() {
        let names = setup_py_names("deps = ['torch>=2.6', \"jax[cuda12]\"]\nname='my pkg'\n");
        assert!(names.contains(&"torch".to_string()), "{names:?}");
        assert!(names.contains(&"jax".to_string()), "{names:?}");
    }
}
