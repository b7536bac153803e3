//! GitHub's REST API: one client (`client`: the environment, retries, rate limits, the body
//! cap, the deadline, errors), the calls behind `gpu-ci pin` (`tags`) and those behind
//! `gpu-ci github setup` and `gpu-ci doctor` (`repo`), and those behind `gpu-ci costs`
//! (`artifacts`).

pub mod artifacts;
pub mod client;
pub mod repo;
pub mod tags;

pub use client::GitHub;
