//! The tests that need what scripts/test.sh installs (`.venv/`, `.tools/`): the external
//! checkers, the generated runner under the real `modal` client, and `gpu-ci run --local`.
//! A missing tool fails the test with how to install it; `cargo test --test integration`
//! runs everything else without them.

// Shared with the integration binary, which uses other parts of it.
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;

mod checkers;
mod ci_scripts;
mod completions;
mod config_schema;
mod docs;
mod fake_forge;
mod installed;
mod junit;
mod lint;
mod markdown;
mod modal_api;
mod modal_harness;
mod own_workflows;
mod pre_commit;
mod preflight;
mod project_install;
mod run_local;
mod runner;
mod shards;
mod upload;
mod wheel;
mod workflow_scripts;
