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
    fn setup_py_literals_name_the_framework() {
        let names = setup_py_names("deps = ['torch>=2.6', \"jax[cuda12]\"]\nname='my pkg'\n");
        assert!(names.contains(&"torch".to_string()), "{names:?}");
        assert!(names.contains(&"jax".to_string()), "{names:?}");
    }
}
