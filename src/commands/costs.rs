//! `gpu-ci costs` (issue 26): what the GPU runs of a repository cost, from the cost ledger each
//! run leaves in its `gpu-test-outputs` artifact, read through GitHub's API: runs, GPU time and
//! estimated cost per trigger, per GPU and per month, against Modal's monthly free credit.
//! Reads only; an artifact it cannot read is listed with why, never fatal.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::CostsArgs;
use crate::costs::{LEDGER_FILE, MODAL_MONTHLY_CREDIT, Report, Sums, ledger_from_zip};
use crate::error::{Error, ExitStatus, Result};
use crate::github::GitHub;
use crate::github::artifacts::ZIP_LIMIT;
use crate::github::client::iso_time;
use crate::github::repo::Repo;
use crate::plan::gpu::GPU_PRICES_DATE;
use crate::ui;

/// The most days `--since` reaches back (GitHub keeps artifacts 90 days at most by default;
/// the workflows keep theirs 30).
const MAX_DAYS: u32 = 400;

/// `--since`: `30d`, or a date `2026-11-01`, as the UTC stamp the listing is compared with.
pub fn since_stamp(text: &str, now_epoch: i64) -> Result<String> {
    let text = text.trim();
    let refuse = || {
        Error::usage(format!(
            "--since `{text}` is neither a number of days nor a date"
        ))
        .with_help(format!(
            "pass --since 30d (1 to {MAX_DAYS} days) or --since 2026-11-01"
        ))
    };
    if let Some(days) = text.strip_suffix('d') {
        let days: u32 = days.parse().map_err(|_| refuse())?;
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(refuse());
        }
        return Ok(iso_time(now_epoch - i64::from(days) * 86_400));
    }
    let stamp = format!("{text}T00:00:00Z");
    let valid = crate::costs::is_utc_stamp(&stamp)
        && matches!(text[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(text[8..10].parse::<u8>(), Ok(1..=31));
    if valid { Ok(stamp) } else { Err(refuse()) }
}

pub fn run(args: &CostsArgs, root: &Path) -> Result<ExitStatus> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let since = since_stamp(&args.since, now)?;
    let credit = args.credit.unwrap_or(MODAL_MONTHLY_CREDIT);
    let repo = match &args.repo {
        Some(text) => Repo::parse(text)?,
        None => Repo::from_git(root)?,
    };
    let github = GitHub::from_env()?;
    if !github.has_token() {
        return Err(Error::usage(
            "`gpu-ci costs` reads the runs' artifacts, which GitHub gives only to a token",
        )
        .with_help(
            "set GITHUB_TOKEN or GH_TOKEN to a token that may read the repository's Actions (`GITHUB_TOKEN=$(gh auth token)`)",
        ));
    }
    let listing = github.artifacts_since(&repo, &since)?;
    let mut report = Report::default();
    let mut without_ledger = 0;
    let mut refused: Vec<(u64, String)> = Vec::new();
    for artifact in &listing.artifacts {
        if artifact.size_in_bytes > ZIP_LIMIT as u64 {
            refused.push((
                artifact.id,
                format!(
                    "it is {} bytes, more than {} MiB",
                    artifact.size_in_bytes,
                    ZIP_LIMIT >> 20
                ),
            ));
            continue;
        }
        let zip = match github.artifact_zip(&repo, artifact.id) {
            Ok(zip) => zip,
            Err(err) => {
                refused.push((artifact.id, err.to_string()));
                continue;
            }
        };
        match ledger_from_zip(&zip) {
            Ok(Some(ledger)) => report.add(&ledger),
            Ok(None) => without_ledger += 1,
            Err(why) => refused.push((artifact.id, why)),
        }
    }

    if args.json {
        let mut json = report.json(credit);
        json["repo"] = serde_json::json!(repo.to_string());
        json["since"] = serde_json::json!(since);
        json["artifacts"] = serde_json::json!(listing.artifacts.len());
        json["without_ledger"] = serde_json::json!(without_ledger);
        json["truncated"] = serde_json::json!(listing.truncated);
        json["prices_date"] = serde_json::json!(GPU_PRICES_DATE);
        json["refused"] = refused
            .iter()
            .map(|(id, why)| serde_json::json!({ "artifact": id, "reason": why }))
            .collect();
        let text = serde_json::to_string_pretty(&json).expect("the report serialises");
        ui::out(&ui::escaped_json(&text));
    } else {
        print_report(&repo, &since, &report, credit);
    }
    if listing.truncated {
        ui::warning("only the newest 1000 artifacts were read; pass a shorter --since");
    }
    if without_ledger > 0 {
        ui::note(&format!(
            "{without_ledger} artifact(s) had no {LEDGER_FILE}: runs before gpu-ci wrote one, not counted"
        ));
    }
    for (id, why) in &refused {
        ui::warning(&format!("artifact {id} was not counted: {why}"));
    }
    Ok(ExitStatus::Success)
}

/// `45 s`, `12 min`, `3.4 h`.
fn duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

fn cost(sums: &Sums) -> String {
    let unknown = if sums.unknown > 0 { "+?" } else { "" };
    format!("${:.2}{unknown}", sums.cost_usd)
}

fn print_report(repo: &Repo, since: &str, report: &Report, credit: f64) {
    let total = &report.total;
    ui::out(&ui::escaped(&format!(
        "GPU runs of {repo} since {}: {} runs, GPU time {}, estimated cost {}",
        &since[..10],
        total.count,
        duration(total.gpu_seconds),
        cost(total)
    )));
    let table = |title: &str, count: &str, rows: &std::collections::BTreeMap<String, Sums>| {
        ui::out("");
        ui::out(&format!(
            "{title:<20} {count:>9} {:>10} {:>10}",
            "GPU time", "cost"
        ));
        for (name, sums) in rows {
            ui::out(&ui::escaped(&format!(
                "{name:<20} {:>9} {:>10} {:>10}",
                sums.count,
                duration(sums.gpu_seconds),
                cost(sums)
            )));
        }
    };
    table("trigger", "runs", &report.by_trigger);
    table("GPU", "sandboxes", &report.by_gpu);
    ui::out("");
    ui::out(&format!(
        "{:<20} {:>9} {:>10} {:>10}  of Modal's ${credit:.0} monthly credit",
        "month", "runs", "GPU time", "cost"
    ));
    for (month, sums) in &report.by_month {
        ui::out(&ui::escaped(&format!(
            "{month:<20} {:>9} {:>10} {:>10}  {:.0}%",
            sums.count,
            duration(sums.gpu_seconds),
            cost(sums),
            sums.cost_usd / credit * 100.0
        )));
    }
    ui::note(&format!(
        "costs are gpu-ci's estimates of GPU time at Modal's prices of {GPU_PRICES_DATE}; CPU and memory are billed on top, and Modal's own bill is the reference"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_days_or_a_date() {
        // 2026-12-07T06:00:00Z
        let now = 1_796_623_200;
        assert_eq!(iso_time(now), "2026-12-07T06:00:00Z");
        assert_eq!(since_stamp("30d", now).unwrap(), "2026-11-07T06:00:00Z");
        assert_eq!(
            since_stamp("2026-11-01", now).unwrap(),
            "2026-11-01T00:00:00Z"
        );
        for bad in [
            "0d",
            "401d",
            "30",
            "d",
            "2026-13-01",
            "2026-1-01",
            "yesterday",
            "-3d",
        ] {
            assert!(since_stamp(bad, now).is_err(), "{bad}");
        }
    }
}
