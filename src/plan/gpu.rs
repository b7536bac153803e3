//! GPU specifications as Modal accepts them, and what each one costs; a matrix of them.

use std::fmt;
use std::str::FromStr;

/// Modal's GPU types, with the published price per second of one device.
/// Prices: <https://modal.com/pricing>, as read on 2026-11-01.
pub const GPU_PRICES_DATE: &str = "2026-11-01";
pub const GPU_TYPES: &[(&str, f64)] = &[
    ("T4", 0.000164),
    ("L4", 0.000222),
    ("A10G", 0.000306),
    ("L40S", 0.000542),
    // Modal bills a plain `A100` as the 40 GB card.
    ("A100", 0.000583),
    ("A100-40GB", 0.000583),
    ("A100-80GB", 0.000694),
    ("H100", 0.001097),
    ("H200", 0.001261),
    ("B200", 0.001736),
];

/// What one second of one device of a GPU type costs ([`GPU_TYPES`]); 0 for a name it lacks.
pub fn type_price_per_second(kind: &str) -> f64 {
    GPU_TYPES
        .iter()
        .find(|(name, _)| *name == kind)
        .map_or(0.0, |(_, price)| *price)
}

pub const MAX_GPU_COUNT: u8 = 8;
/// The most GPU settings a matrix holds.
pub const MAX_MATRIX: usize = 8;

/// One GPU choice: a type and a device count (`A100:2`).
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSpec {
    pub kind: &'static str,
    pub count: u8,
}

/// A GPU setting: one spec, or a fallback list Modal tries in order (`H100, A100-80GB`).
#[derive(Debug, Clone, PartialEq)]
pub struct GpuChoice(pub Vec<GpuSpec>);

impl fmt::Display for GpuSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 1 {
            f.write_str(self.kind)
        } else {
            write!(f, "{}:{}", self.kind, self.count)
        }
    }
}

impl GpuSpec {
    /// The type's CUDA compute capability (`L4`: 8.9), which CUDA builds name it by.
    pub fn compute_capability(&self) -> (u32, u32) {
        match self.kind {
            "T4" => (7, 5),
            "A100" | "A100-40GB" | "A100-80GB" => (8, 0),
            "A10G" => (8, 6),
            "L4" | "L40S" => (8, 9),
            "H100" | "H200" => (9, 0),
            _ => (10, 0),
        }
    }

    /// What one second of this spec costs: its type's price × its devices.
    pub fn price_per_second(&self) -> f64 {
        type_price_per_second(self.kind) * f64::from(self.count)
    }
}

impl GpuChoice {
    /// The form `MODAL_GPU` and the runner take: `H100` or `H100:2,A100-80GB`.
    pub fn env_value(&self) -> String {
        let specs: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        specs.join(",")
    }
}

impl fmt::Display for GpuChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The GPU setting of a run: one choice, or a matrix of them (`gpu = ["T4", "H100"]`, or
/// `T4; H100` where only text fits: `MODAL_GPU`, a dispatch input), which runs the suite once
/// per entry. A comma keeps its meaning inside an entry: a fallback list.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuMatrix(pub Vec<GpuChoice>);

impl GpuMatrix {
    /// The form `MODAL_GPU` and the runner take: `T4;H100:2,A100-80GB`.
    pub fn env_value(&self) -> String {
        let entries: Vec<String> = self.0.iter().map(GpuChoice::env_value).collect();
        entries.join(";")
    }

    /// Whether the suite runs on more than one GPU setting.
    pub fn is_matrix(&self) -> bool {
        self.0.len() > 1
    }

    /// Every GPU spec any entry may ask for.
    /// The compute capabilities of every GPU in it, lowest first, each once.
    pub fn capabilities(&self) -> Vec<(u32, u32)> {
        let mut found: Vec<(u32, u32)> = self.specs().map(GpuSpec::compute_capability).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    pub fn specs(&self) -> impl Iterator<Item = &GpuSpec> {
        self.0.iter().flat_map(|choice| choice.0.iter())
    }

    /// What one second of a whole run can cost at most: every entry on its dearest GPU of
    /// those a sandbox may get (a fallback list's first two: the first try and the one retry),
    /// in `shards` sandboxes each.
    pub fn worst_price_per_second(&self, shards: u32) -> f64 {
        let per_shard: f64 = self
            .0
            .iter()
            .map(|choice| {
                choice
                    .0
                    .iter()
                    .take(2)
                    .map(GpuSpec::price_per_second)
                    .fold(0.0, f64::max)
            })
            .sum();
        per_shard * f64::from(shards)
    }

    /// Each entry as people write it: `["T4", "H100, A100-80GB"]`.
    pub fn entries(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// A matrix from a list of entries, each one GPU or a fallback list.
    pub fn from_entries(entries: &[String]) -> Result<Self, String> {
        let mut choices = Vec::new();
        for entry in entries {
            if entry.contains(';') {
                return Err(format!(
                    "`{entry}`: an entry of the GPU list is one GPU or a comma-separated fallback list; give each run its own entry"
                ));
            }
            choices.push(entry.parse::<GpuChoice>()?);
        }
        GpuMatrix::new(choices)
    }

    fn new(choices: Vec<GpuChoice>) -> Result<Self, String> {
        if choices.is_empty() {
            return Err(format!("empty GPU list; valid types are {}", valid_names()));
        }
        if choices.len() > MAX_MATRIX {
            return Err(format!(
                "a GPU matrix of {} entries; at most {MAX_MATRIX}",
                choices.len()
            ));
        }
        for (at, choice) in choices.iter().enumerate() {
            if choices[..at].contains(choice) {
                return Err(format!("`{choice}` is twice in the GPU matrix"));
            }
        }
        Ok(GpuMatrix(choices))
    }
}

impl fmt::Display for GpuMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.entries().join("; "))
    }
}

impl FromStr for GpuMatrix {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let entries = text
            .split(';')
            .filter(|entry| !entry.trim().is_empty())
            .map(str::parse::<GpuChoice>)
            .collect::<Result<Vec<_>, _>>()?;
        GpuMatrix::new(entries)
    }
}

/// The GPU types, comma-separated, for messages and prompts.
pub fn valid_names() -> String {
    GPU_TYPES
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for GpuSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, count) = match text.split_once(':') {
            Some((name, count)) => (name.trim(), Some(count.trim())),
            None => (text, None),
        };
        let kind = GPU_TYPES
            .iter()
            .map(|(known, _)| *known)
            .find(|known| known.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "unknown GPU `{name}`; valid types are {}, optionally with `:N` for 1-{MAX_GPU_COUNT} devices",
                    valid_names()
                )
            })?;
        let count = match count {
            None => 1,
            Some(count) => count
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=MAX_GPU_COUNT).contains(n))
                .ok_or_else(|| {
                    format!(
                        "GPU count in `{text}` must be a whole number from 1 to {MAX_GPU_COUNT}"
                    )
                })?,
        };
        Ok(GpuSpec { kind, count })
    }
}

impl FromStr for GpuChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let specs = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(GpuSpec::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        if specs.is_empty() {
            return Err(format!(
                "empty GPU setting; valid types are {}",
                valid_names()
            ));
        }
        Ok(GpuChoice(specs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_counts_and_fallbacks() {
        assert_eq!("l4".parse::<GpuSpec>().unwrap().to_string(), "L4");
        assert_eq!("H100:2".parse::<GpuSpec>().unwrap().count, 2);
        let choice: GpuChoice = "H100, A100-80GB:2".parse().unwrap();
        assert_eq!(choice.to_string(), "H100, A100-80GB:2");
    }

    #[test]
    fn a_matrix_is_entries_each_with_its_fallbacks() {
        let matrix: GpuMatrix = "t4; H100:2, A100-80GB".parse().unwrap();
        assert!(matrix.is_matrix());
        assert_eq!(matrix.env_value(), "T4;H100:2,A100-80GB");
        assert_eq!(matrix.to_string(), "T4; H100:2, A100-80GB");
        assert_eq!(matrix.entries(), ["T4", "H100:2, A100-80GB"]);
        let single: GpuMatrix = "H100, A100-80GB".parse().unwrap();
        assert!(!single.is_matrix());
        assert_eq!(single.env_value(), "H100,A100-80GB");
        let listed = GpuMatrix::from_entries(&["T4".into(), "H100".into()]).unwrap();
        assert_eq!(listed.env_value(), "T4;H100");
        assert!(GpuMatrix::from_entries(&["T4; H100".into()]).is_err());
        assert!("T4; t4".parse::<GpuMatrix>().unwrap_err().contains("twice"));
        assert!(";".parse::<GpuMatrix>().is_err());
        assert!(
            "T4;L4;A10G;L40S;A100;A100-80GB;H100;H200;B200"
                .parse::<GpuMatrix>()
                .is_err()
        );
    }

    #[test]
    fn rejects_unknown_types_and_bad_counts() {
        let err = "V100".parse::<GpuSpec>().unwrap_err();
        assert!(
            err.contains("unknown GPU `V100`") && err.contains("A100-80GB"),
            "{err}"
        );
        assert!("A100:0".parse::<GpuSpec>().is_err());
        assert!("A100:9".parse::<GpuSpec>().is_err());
        assert!("".parse::<GpuChoice>().is_err());
    }
}
