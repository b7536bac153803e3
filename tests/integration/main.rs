//! One integration-test binary: a module per feature, all driving the real `gpu-ci` binary.

mod architecture;
mod checkers;
mod common;
mod config;
mod errors;
mod init;
mod pin;
mod prompts;
mod quoting;
mod run;
mod runner;
mod snapshots;
mod update;
mod update_property;
mod workflows;
