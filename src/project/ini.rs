//! The INI dialect of setup.cfg, pytest.ini and tox.ini, as setuptools and pytest read it:
//! `key = value` or `key: value`, values continued on indented lines, `#`/`;` comments.

/// One section's keys and values, in file order; continuation lines joined with `\n`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Section {
    pub entries: Vec<(String, String)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A multi-line or comma-separated value as a list, blank items dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|value| {
                value
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A value split into lines (markers, requirements), blank lines dropped.
    pub fn lines(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|value| {
                value
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The section named `name` (without brackets), if the text has it.
pub fn section(text: &str, name: &str) -> Option<Section> {
    let mut found: Option<Section> = None;
    let mut inside = false;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') && !raw.starts_with([' ', '\t']) {
            inside = trimmed[1..trimmed.len() - 1].trim() == name;
            if inside && found.is_none() {
                found = Some(Section::default());
            }
            continue;
        }
        let Some(section) = found.as_mut().filter(|_| inside) else {
            continue;
        };
        if trimmed.is_empty() {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            if let Some((_, value)) = section.entries.last_mut() {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(trimmed);
            }
            continue;
        }
        let split = trimmed.find(['=', ':']);
        if let Some(at) = split {
            let key = trimmed[..at].trim().to_string();
            let value = trimmed[at + 1..].trim().to_string();
            section.entries.push((key, value));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_continuations_and_both_separators() {
        let text = "[metadata]\nname = x\n\n[options]\npython_requires = >=3.9\ninstall_requires =\n    torch>=2\n    numpy\n# c\n[tool:pytest]\nmarkers:\n    gpu: needs a GPU\n    slow\n";
        let options = section(text, "options").unwrap();
        assert_eq!(options.get("python_requires"), Some(">=3.9"));
        assert_eq!(options.lines("install_requires"), ["torch>=2", "numpy"]);
        let pytest = section(text, "tool:pytest").unwrap();
        assert_eq!(pytest.lines("markers"), ["gpu: needs a GPU", "slow"]);
        assert!(section(text, "pytest").is_none());
    }
}
