//! GitHub's REST API: the calls behind `gpu-ci pin` (`pins`) and those behind
//! `gpu-ci github setup` and `gpu-ci doctor` (`repo`).

pub mod pins;
pub mod repo;
