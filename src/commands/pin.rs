//! `gpu-ci pin`: resolve every action the workflows use to a commit SHA through GitHub's API.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::PinArgs;
use crate::commands::regenerate_files;
use crate::error::{Error, ExitStatus, Result};
use crate::generate::OnEdited;
use crate::github::GitHub;
use crate::github::tags::semver;
use crate::pins::{ActionPin, PINNED_ACTIONS};
use crate::plan::build::{Setup, load_set_up};
use crate::ui;

fn major_of(repo: &str, version: &str) -> Result<u64> {
    semver(version).map(|v| v.0).ok_or_else(|| {
        Error::usage(format!(
            "cannot resolve `{repo}`: its version `{version}` is not a vX.Y.Z release"
        ))
        .with_help("pass --upgrade to pin the latest release instead")
    })
}

pub fn run(args: &PinArgs, root: &Path) -> Result<ExitStatus> {
    let Setup {
        mut config,
        mut plan,
        ..
    } = load_set_up(root)?;
    let github = GitHub::from_env()?;

    if args.check {
        let mut outdated = Vec::new();
        let mut actions = Vec::new();
        for action in PINNED_ACTIONS {
            let current = plan.pin(action);
            let latest = github.latest_release(action.repo)?;
            let newer = semver(&latest) > semver(&current.version);
            if newer {
                outdated.push(format!("{}: {} → {latest}", action.repo, current.version));
            }
            actions.push(serde_json::json!({
                "repo": action.repo,
                "pinned": current.version,
                "latest": latest,
                "newer": newer,
            }));
        }
        if args.json {
            let up_to_date = outdated.is_empty();
            let text = serde_json::to_string_pretty(
                &serde_json::json!({ "up_to_date": up_to_date, "actions": actions }),
            )
            .expect("JSON of strings");
            ui::out(&ui::escaped_json(&text));
            return Ok(if up_to_date {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            });
        }
        if outdated.is_empty() {
            crate::ui::plain("gpu-ci: every action is pinned at its latest release");
            return Ok(ExitStatus::Success);
        }
        for line in &outdated {
            ui::out(line);
        }
        ui::error(&format!(
            "{} action{} {} a newer release",
            outdated.len(),
            if outdated.len() == 1 { "" } else { "s" },
            if outdated.len() == 1 { "has" } else { "have" }
        ));
        ui::help("run `gpu-ci pin --upgrade`");
        return Ok(ExitStatus::Failure);
    }

    // Resolve everything before writing anything: one failure changes nothing.
    let mut pins = BTreeMap::new();
    let mut report = Vec::new();
    for action in PINNED_ACTIONS {
        let current = plan.pin(action);
        let resolved = if args.upgrade {
            let tag = github.latest_release(action.repo)?;
            github.tag_commit(action.repo, &tag)?
        } else {
            github.newest_in_major(action.repo, major_of(action.repo, &current.version)?)?
        };
        if semver(&resolved.tag) < semver(&current.version) && !args.allow_downgrade {
            return Err(Error::usage(format!(
                "`{}` would move back from {} to {}: GitHub's newest {} is older than the pin",
                action.repo,
                current.version,
                resolved.tag,
                if args.upgrade {
                    "release".to_string()
                } else {
                    format!("v{}.x.y tag", major_of(action.repo, &current.version)?)
                }
            ))
            .with_help("nothing was changed; check the action's releases, and pass --allow-downgrade to pin the older version anyway"));
        }
        if resolved.tag == current.version && resolved.sha != current.sha {
            ui::warning(&format!(
                "`{}` {} now names commit {}, not {}: the tag was moved",
                action.repo, resolved.tag, resolved.sha, current.sha
            ));
            ui::help(&format!(
                "a moved tag is a re-release or a compromised repository: compare the two commits in `{}` before you commit the new pin (`git checkout -- .` keeps the old one)",
                action.repo
            ));
        }
        report.push(format!(
            "  pinned {} {} → {} ({})",
            action.repo,
            current.version,
            resolved.tag,
            &resolved.sha[..12.min(resolved.sha.len())]
        ));
        pins.insert(
            action.repo,
            ActionPin {
                sha: resolved.sha,
                version: resolved.tag,
            },
        );
    }

    plan.set_pins(pins);
    let mut raw = config.read()?;
    raw.actions = plan.to_config().actions;
    config.write(&raw)?;
    let mut changes = regenerate_files(root, &plan, OnEdited::Merge { force: false })?;
    changes.change(
        config.name,
        config.original.as_deref(),
        config.render(),
        None,
    );
    for line in &report {
        ui::plain(line);
    }
    if args.dry_run {
        return Ok(changes.show(false, args.diff));
    }
    changes.apply(root)
}
