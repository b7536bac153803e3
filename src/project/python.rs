//! Python version constraints (`requires-python`, Poetry's `python`), read as the set of Python
//! 3 minor versions they admit: enough to pick an image's Python, with no resolver.

/// One comparison of a constraint, on `3.minor` versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    /// Admits minors in `low..=high`.
    Range { low: u32, high: u32 },
    /// Admits every minor but this one (`!=3.9.*`, `!=3.9`).
    Not(u32),
}

/// A constraint: alternatives (`||`/`|` in Poetry) of clauses that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonSpec {
    alternatives: Vec<Vec<Clause>>,
}

/// The highest minor any constraint could mean; far beyond any real release.
const MAX_MINOR: u32 = 99;

/// `3.11.7` → (3, Some(11), Some(7)); `3` → (3, None, None); wildcards end the version.
fn version(text: &str) -> Option<(u32, Option<u32>, Option<u32>)> {
    let mut parts = text.trim().trim_end_matches(".*").split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let number = |p: Option<&str>| -> Option<Option<u32>> {
        match p {
            None => Some(None),
            Some(p) => {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok().map(Some)
            }
        }
    };
    let minor = number(parts.next())?;
    let patch = number(parts.next())?;
    Some((major, minor, patch))
}

fn clause(text: &str) -> Option<Clause> {
    let text = text.trim();
    let ops = ["~=", "===", "==", "!=", ">=", "<=", ">", "<", "^", "~"];
    let (op, rest) = ops
        .iter()
        .find_map(|op| text.strip_prefix(op).map(|rest| (*op, rest.trim())))
        .unwrap_or(("==", text));
    let wildcard = rest.ends_with(".*");
    let (major, minor, patch) = version(rest)?;
    let range = |low: u32, high: u32| Some(Clause::Range { low, high });
    // Below Python 3 admits no 3.x; above admits all of them.
    if major != 3 {
        return match op {
            ">" | ">=" if major < 3 => range(0, MAX_MINOR),
            "<" | "<=" if major > 3 => range(0, MAX_MINOR),
            "!=" => range(0, MAX_MINOR),
            _ => range(1, 0),
        };
    }
    let minor_or_zero = minor.unwrap_or(0);
    match op {
        ">=" => range(minor_or_zero, MAX_MINOR),
        // `>3.9` admits 3.9.1 in PEP 440, but what people mean is 3.10 and later.
        ">" => range(minor.map_or(MAX_MINOR + 1, |m| m + 1), MAX_MINOR),
        "<" => match (minor, patch) {
            (Some(m), Some(p)) if p > 0 => range(0, m),
            (Some(m), _) if m > 0 => range(0, m - 1),
            _ => range(1, 0),
        },
        "<=" => range(0, minor.unwrap_or(MAX_MINOR)),
        "==" | "===" => match minor {
            Some(m) => range(m, m),
            None if wildcard => range(0, MAX_MINOR),
            None => range(0, 0),
        },
        "!=" => match (minor, patch) {
            // `!=3.9.1` still admits 3.9.0 and 3.9.2.
            (Some(_), Some(_)) if !wildcard => range(0, MAX_MINOR),
            (Some(m), _) => Some(Clause::Not(m)),
            (None, _) => range(1, 0),
        },
        // `~=3.10` is `>=3.10, <4`; `~=3.10.2` is `>=3.10.2, <3.11`.
        "~=" => match patch {
            Some(_) => range(minor_or_zero, minor_or_zero),
            None => range(minor_or_zero, MAX_MINOR),
        },
        // Poetry: `^3.9` is `>=3.9,<4`; `~3.9` is `>=3.9,<3.10`.
        "^" => range(minor_or_zero, MAX_MINOR),
        "~" => match minor {
            Some(m) => range(m, m),
            None => range(0, MAX_MINOR),
        },
        _ => None,
    }
}

impl PythonSpec {
    /// Reads a PEP 440 specifier set or a Poetry constraint; `None` when no clause is readable.
    pub fn parse(text: &str) -> Option<PythonSpec> {
        let alternatives: Vec<Vec<Clause>> = text
            .split("||")
            .flat_map(|alt| alt.split('|'))
            .map(|alternative| {
                alternative
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    // Poetry allows `>= 3.9` with a space; glue a bare operator to its version.
                    .fold(Vec::<String>::new(), |mut parts, part| {
                        match parts.last_mut() {
                            Some(last) if last.chars().all(|c| "<>=!~^".contains(c)) => {
                                last.push_str(part)
                            }
                            _ => parts.push(part.to_string()),
                        }
                        parts
                    })
                    .iter()
                    .filter_map(|part| clause(part))
                    .collect()
            })
            .filter(|clauses: &Vec<Clause>| !clauses.is_empty())
            .collect();
        (!alternatives.is_empty()).then_some(PythonSpec { alternatives })
    }

    /// Whether some `3.minor.x` release satisfies the constraint.
    pub fn allows(&self, minor: u32) -> bool {
        self.alternatives.iter().any(|clauses| {
            clauses.iter().all(|clause| match *clause {
                Clause::Range { low, high } => (low..=high).contains(&minor),
                Clause::Not(excluded) => minor != excluded,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(spec: &str) -> Vec<u32> {
        let spec = PythonSpec::parse(spec).unwrap();
        (6..=16).filter(|m| spec.allows(*m)).collect()
    }

    #[test]
    fn reads_pep_440_specifiers() {
        assert_eq!(admitted(">=3.8"), (8..=16).collect::<Vec<_>>());
        assert_eq!(admitted(">=3.9, <3.13"), [9, 10, 11, 12]);
        assert_eq!(admitted(">=3.10,<3.12.3"), [10, 11, 12]);
        assert_eq!(admitted("~=3.12"), (12..=16).collect::<Vec<_>>());
        assert_eq!(admitted("~=3.10.2"), [10]);
        assert_eq!(admitted(">3.10"), (11..=16).collect::<Vec<_>>());
        assert_eq!(admitted(">=3.9,!=3.10.*,<=3.12"), [9, 11, 12]);
        assert_eq!(admitted("==3.11.*"), [11]);
        assert_eq!(admitted(">=2.7,!=3.0.*"), (6..=16).collect::<Vec<_>>());
        assert_eq!(admitted("<4"), (6..=16).collect::<Vec<_>>());
    }

    #[test]
    fn reads_poetry_constraints() {
        assert_eq!(admitted("^3.11"), (11..=16).collect::<Vec<_>>());
        assert_eq!(admitted("~3.10"), [10]);
        assert_eq!(admitted(">= 3.9, < 3.12"), [9, 10, 11]);
        assert_eq!(admitted("3.8 || ^3.12"), [8, 12, 13, 14, 15, 16]);
    }

    #[test]
    fn unreadable_constraints_are_none() {
        assert!(PythonSpec::parse("whatever").is_none());
        assert!(PythonSpec::parse("").is_none());
    }
}
