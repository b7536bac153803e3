//! The cost ledger (issue 26): `gpu-ci-cost.json`, which the runner writes into each run's
//! `gpu-test-outputs` artifact, read back from the artifact's zip in memory, and the sums
//! `gpu-ci costs` reports.
//!
//! An artifact is untrusted bytes (anyone who can run a workflow can upload one of that name):
//! the zip is read from memory and nothing of it is ever written; an archive with more than
//! [`MAX_ENTRIES`] entries, a path that leaves its folder, a ledger over [`LEDGER_LIMIT`] or
//! compressed more than [`MAX_RATIO`] to one (a zip bomb) is refused whole, and every value of
//! the ledger is checked before it is counted.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use serde::Deserialize;
use serde_json::{Value, json};

/// The ledger's name at the top of the artifact (the runner's `LEDGER_FILE`).
pub const LEDGER_FILE: &str = "gpu-ci-cost.json";
/// The ledger schema this reader knows (the runner's `LEDGER_SCHEMA`).
pub const LEDGER_SCHEMA: u64 = 1;
/// The largest ledger read: one run of 256 sandboxes takes about 30 KB.
pub const LEDGER_LIMIT: u64 = 64 * 1024;
/// The most entries an artifact's zip may have (a run of 256 sandboxes has about 520).
pub const MAX_ENTRIES: usize = 10_000;
/// The most a ledger may be compressed: JSON deflates about 5 to 1; a bomb, thousands.
pub const MAX_RATIO: u64 = 50;
/// The most sandboxes one ledger may list (the runner starts at most 256).
const MAX_RUNS: usize = 256;
/// Modal's free credit a month on the Starter plan, in USD (<https://modal.com/pricing>,
/// as read on 2026-12-07; the Team plan's is $100: `--credit 100`).
pub const MODAL_MONTHLY_CREDIT: f64 = 30.0;

/// One sandbox of a run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SandboxCost {
    pub gpu: String,
    pub devices: u8,
    pub seconds: f64,
    pub cost_usd: Option<f64>,
}

/// One run's ledger, checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ledger {
    pub schema: u64,
    pub trigger: String,
    pub started: String,
    pub ended: String,
    pub shards: u32,
    pub gpu_seconds: f64,
    pub cost_usd: Option<f64>,
    pub runs: Vec<SandboxCost>,
}

/// Whether `text` is a UTC time as the runner writes it: `2026-12-07T06:37:58Z`.
pub fn is_utc_stamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn amount(value: f64, most: f64) -> bool {
    value.is_finite() && (0.0..=most).contains(&value)
}

impl Ledger {
    /// The ledger in `data`, every value checked: why not, otherwise.
    pub fn parse(data: &[u8]) -> Result<Ledger, String> {
        let value: Value = serde_json::from_slice(data)
            .map_err(|err| format!("{LEDGER_FILE} is not JSON: {err}"))?;
        match value.get("schema").and_then(Value::as_u64) {
            Some(LEDGER_SCHEMA) => {}
            Some(other) => {
                return Err(format!(
                    "{LEDGER_FILE} has schema {other}, which this gpu-ci does not read (it reads {LEDGER_SCHEMA}): upgrade gpu-ci"
                ));
            }
            None => return Err(format!("{LEDGER_FILE} has no schema version")),
        }
        let ledger: Ledger = serde_json::from_value(value)
            .map_err(|err| format!("{LEDGER_FILE} is not a ledger gpu-ci wrote: {err}"))?;
        let plain = |text: &str| {
            !text.is_empty()
                && text.len() <= 40
                && text
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        };
        let problem = if !plain(&ledger.trigger) {
            Some("its trigger is not a plain name")
        } else if !is_utc_stamp(&ledger.started) || !is_utc_stamp(&ledger.ended) {
            Some("its start or end is not a UTC time")
        } else if !(1..=32).contains(&ledger.shards) {
            Some("its shards are not 1 to 32")
        } else if !amount(ledger.gpu_seconds, 1e9)
            || !ledger.cost_usd.is_none_or(|c| amount(c, 1e6))
        {
            Some("its GPU time or cost is not a plain amount")
        } else if ledger.runs.len() > MAX_RUNS {
            Some("it lists more sandboxes than a run starts")
        } else if ledger.runs.iter().any(|run| {
            !plain(&run.gpu)
                || !(1..=8).contains(&run.devices)
                || !amount(run.seconds, 1e8)
                || !run.cost_usd.is_none_or(|c| amount(c, 1e6))
        }) {
            Some("a sandbox's GPU, devices, time or cost is not plain")
        } else {
            None
        };
        match problem {
            Some(why) => Err(format!("{LEDGER_FILE} was not counted: {why}")),
            None => Ok(ledger),
        }
    }
}

/// An entry name that stays inside the folder it is unpacked into: relative, no `..`, no
/// backslash or drive, no control character.
fn safe_entry_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.chars().any(char::is_control)
        && !name.split('/').any(|part| part == "..")
        && !name
            .split('/')
            .next()
            .is_some_and(|first| first.contains(':'))
}

/// The number of entries the end-of-central-directory record gives, read before the archive
/// is parsed (so a million empty entries cost nothing); `None` for a ZIP64 archive, whose
/// count the parser gives.
fn declared_entries(data: &[u8]) -> Result<Option<usize>, String> {
    let start = data.len().saturating_sub(22 + 65_535);
    let tail = &data[start..];
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or("it is not a zip archive")?;
    let count = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    Ok((count != u16::MAX).then_some(usize::from(count)))
}

/// The ledger in an artifact's zip, read in memory: `Ok(None)` when the artifact has none (a
/// run before gpu-ci wrote one); `Err` says why the artifact was refused.
pub fn ledger_from_zip(data: &[u8]) -> Result<Option<Ledger>, String> {
    if declared_entries(data)?.is_some_and(|count| count > MAX_ENTRIES) {
        return Err(format!("it has more than {MAX_ENTRIES} entries"));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|err| format!("it is not a zip archive gpu-ci reads: {err}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("it has more than {MAX_ENTRIES} entries"));
    }
    for name in archive.file_names() {
        let name = name.map_err(|err| format!("it holds a path gpu-ci cannot read: {err}"))?;
        if !safe_entry_name(&name) {
            return Err(format!(
                "it holds the path {}, which leaves the folder it unpacks into",
                crate::github::client::shown(&name)
            ));
        }
    }
    let mut entry = match archive.by_name(LEDGER_FILE) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(err) => return Err(format!("its {LEDGER_FILE} cannot be read: {err}")),
    };
    if !entry.is_file() {
        return Err(format!("its {LEDGER_FILE} is not a file"));
    }
    let (size, packed) = (entry.size(), entry.compressed_size());
    if size > LEDGER_LIMIT {
        return Err(format!(
            "its {LEDGER_FILE} is {size} bytes, more than {} KiB",
            LEDGER_LIMIT >> 10
        ));
    }
    if size > packed.max(1).saturating_mul(MAX_RATIO) {
        return Err(format!(
            "its {LEDGER_FILE} is compressed {}:1, more than {MAX_RATIO}:1 (a zip bomb)",
            size / packed.max(1)
        ));
    }
    // The sizes above are the archive's word: the read stops past the limit whatever they say.
    let mut text = Vec::new();
    (&mut entry)
        .take(LEDGER_LIMIT + 1)
        .read_to_end(&mut text)
        .map_err(|err| format!("its {LEDGER_FILE} cannot be read: {err}"))?;
    if text.len() as u64 > LEDGER_LIMIT
        || text.len() as u64 > packed.max(1).saturating_mul(MAX_RATIO)
    {
        return Err(format!(
            "its {LEDGER_FILE} unpacks to more than it says (a zip bomb)"
        ));
    }
    Ledger::parse(&text).map(Some)
}

/// Runs, GPU time and cost of a group (a trigger, a GPU, a month).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    /// Runs, or sandboxes for a GPU.
    pub count: u64,
    pub gpu_seconds: f64,
    pub cost_usd: f64,
    /// How many had no known cost (a GPU without a price).
    pub unknown: u64,
}

impl Sums {
    fn add(&mut self, gpu_seconds: f64, cost: Option<f64>) {
        self.count += 1;
        self.gpu_seconds += gpu_seconds;
        match cost {
            Some(cost) => self.cost_usd += cost,
            None => self.unknown += 1,
        }
    }

    fn json(&self, key: &str, name: &str) -> Value {
        json!({
            key: name,
            "count": self.count,
            "gpu_seconds": (self.gpu_seconds * 10.0).round() / 10.0,
            "cost_usd": (self.cost_usd * 1e4).round() / 1e4,
            "unknown_cost": self.unknown,
        })
    }
}

/// What `gpu-ci costs` reports.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub total: Sums,
    pub by_trigger: BTreeMap<String, Sums>,
    /// Per GPU type: sandboxes, and their GPU time (× devices).
    pub by_gpu: BTreeMap<String, Sums>,
    /// Per month of the run's start, `2026-12`.
    pub by_month: BTreeMap<String, Sums>,
}

impl Report {
    pub fn add(&mut self, ledger: &Ledger) {
        self.total.add(ledger.gpu_seconds, ledger.cost_usd);
        self.by_trigger
            .entry(ledger.trigger.clone())
            .or_default()
            .add(ledger.gpu_seconds, ledger.cost_usd);
        self.by_month
            .entry(ledger.started[..7].to_string())
            .or_default()
            .add(ledger.gpu_seconds, ledger.cost_usd);
        for run in &ledger.runs {
            self.by_gpu
                .entry(run.gpu.clone())
                .or_default()
                .add(run.seconds * f64::from(run.devices), run.cost_usd);
        }
    }

    pub fn json(&self, credit: f64) -> Value {
        let list = |map: &BTreeMap<String, Sums>, key: &str| -> Vec<Value> {
            map.iter()
                .map(|(name, sums)| sums.json(key, name))
                .collect()
        };
        let months: Vec<Value> = self
            .by_month
            .iter()
            .map(|(month, sums)| {
                let mut entry = sums.json("month", month);
                entry["credit_usd"] = json!(credit);
                entry["credit_used"] = json!(((sums.cost_usd / credit) * 1e4).round() / 1e4);
                entry
            })
            .collect();
        json!({
            "runs": self.total.count,
            "gpu_seconds": (self.total.gpu_seconds * 10.0).round() / 10.0,
            "cost_usd": (self.total.cost_usd * 1e4).round() / 1e4,
            "unknown_cost": self.total.unknown,
            "by_trigger": list(&self.by_trigger, "trigger"),
            "by_gpu": list(&self.by_gpu, "gpu"),
            "by_month": months,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Value {
        json!({
            "schema": 1, "trigger": "push", "started": "2026-12-01T10:00:00Z",
            "ended": "2026-12-01T10:05:00Z", "shards": 2, "deadline_seconds": 3600,
            "max_cost_usd": null, "gpu_seconds": 200.0, "cost_usd": 0.2194,
            "runs": [
                {"gpu": "H100", "devices": 2, "seconds": 50.0, "cost_usd": 0.1097},
                {"gpu": "H100", "devices": 2, "seconds": 50.0, "cost_usd": 0.1097}
            ]
        })
    }

    #[test]
    fn a_ledger_is_read_and_summed() {
        let parsed = Ledger::parse(ledger().to_string().as_bytes()).unwrap();
        let mut report = Report::default();
        report.add(&parsed);
        report.add(&parsed);
        assert_eq!(report.total.count, 2);
        assert_eq!(report.by_gpu["H100"].count, 4);
        assert!((report.by_gpu["H100"].gpu_seconds - 400.0).abs() < 1e-9);
        assert!((report.by_month["2026-12"].cost_usd - 0.4388).abs() < 1e-9);
        let json = report.json(30.0);
        assert_eq!(json["by_month"][0]["credit_used"], 0.0146);
    }

    #[test]
    fn every_value_is_checked() {
        let bad = [
            ("schema", json!(2)),
            ("trigger", json!("push\n::error::")),
            ("trigger", json!("")),
            ("started", json!("2026-12-01 10:00:00")),
            ("shards", json!(0)),
            ("gpu_seconds", json!(-1.0)),
            ("cost_usd", json!(1e12)),
            (
                "runs",
                json!([{"gpu": "<b>", "devices": 1, "seconds": 1.0, "cost_usd": 0.0}]),
            ),
            (
                "runs",
                json!([{"gpu": "T4", "devices": 9, "seconds": 1.0, "cost_usd": 0.0}]),
            ),
            ("runs", json!("none")),
        ];
        for (key, value) in bad {
            let mut ledger = ledger();
            ledger[key] = value.clone();
            assert!(
                Ledger::parse(ledger.to_string().as_bytes()).is_err(),
                "{key} = {value}"
            );
        }
        assert!(Ledger::parse(b"not json").is_err());
    }

    #[test]
    fn entry_names_that_leave_the_folder_are_caught() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\..\\x",
            "a\nb",
            "",
        ] {
            assert!(!safe_entry_name(bad), "{bad:?}");
        }
        for good in ["gpu-ci-cost.json", "runs/T4-shard-1-of-2/junit.xml", "a..b"] {
            assert!(safe_entry_name(good), "{good}");
        }
    }
}
