//! One integration-test binary: a module per feature, all driving the real `gpu-ci` binary.

mod checkers;
mod common;
mod init;
mod pin;
mod prompts;
mod run;
mod runner;
mod snapshots;
mod update;
mod update_property;
mod workflows;
