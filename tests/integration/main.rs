//! One integration-test binary: a module per feature, all driving the real `gpu-ci` binary.
//! The tests that need scripts/test.sh's tools live in the `tools` binary (tests/tools/).

mod architecture;
mod arguments;
mod ci_targets;
mod completions;
mod config;
mod costs;
mod docs;
mod doctor;
mod errors;
mod fake_github;
mod github_setup;
// Shared with the tools binary, which uses other parts of it.
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod hardening;
mod harness;
mod hostile_server;
mod hostile_text;
mod init;
mod isolation;
mod merge_property;
mod metadata;
mod migrate;
mod own_ci;
mod pin;
mod prompts;
mod quoting;
mod real_projects;
mod recipe;
mod run;
mod shards;
mod signals;
mod snapshots;
mod tls;
mod transaction;
mod update;
mod update_property;
mod workflows;
