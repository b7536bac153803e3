//! GitHub Actions: the reusable workflow that runs the Modal runner, and the two workflows that
//! call it (a pull-request label; pushes and manual dispatch).

use std::collections::BTreeMap;

use serde::Serialize;

use super::shared::{ModalClient, TREE_UNDER_TEST, job_timeout_minutes};
use super::{GeneratedFile, Header, RunSettings};
use crate::pins::PINNED_ACTIONS;
use crate::plan::TestPlan;

pub const REUSABLE_WORKFLOW: GeneratedFile = GeneratedFile {
    path: ".github/workflows/_modal-gpu-tests.yml",
    template: "github/_modal-gpu-tests.yml.j2",
};
pub const LABEL_WORKFLOW: GeneratedFile = GeneratedFile {
    path: ".github/workflows/label-gpu-tests.yml",
    template: "github/label-gpu-tests.yml.j2",
};
pub const RUN_WORKFLOW: GeneratedFile = GeneratedFile {
    path: ".github/workflows/run-gpu-tests.yml",
    template: "github/run-gpu-tests.yml.j2",
};
pub const FILES: [GeneratedFile; 3] = [REUSABLE_WORKFLOW, LABEL_WORKFLOW, RUN_WORKFLOW];

/// The login of the author of comments made with a workflow's `GITHUB_TOKEN`.
pub const BOT_LOGIN: &str = "github-actions[bot]";

#[derive(Debug, Serialize)]
pub struct Context {
    header: Header,
    #[serde(flatten)]
    run: RunSettings,
    label: String,
    branch: String,
    fork_prs: bool,
    /// The GitHub environment of the GPU job, if any.
    environment: Option<String>,
    tree_under_test: &'static str,
    bot_login: &'static str,
    job_timeout_minutes: u32,
    /// `uses:` values by action key: `owner/repo@<sha> # vX.Y.Z`.
    actions: BTreeMap<&'static str, String>,
    #[serde(flatten)]
    client: ModalClient,
}

pub fn context(plan: &TestPlan) -> Context {
    Context {
        header: Header::new(plan),
        run: RunSettings::new(plan),
        label: plan.label.value.clone(),
        branch: plan.branch.value.clone(),
        fork_prs: plan.fork_prs.value,
        environment: plan.environment.value.clone(),
        tree_under_test: TREE_UNDER_TEST,
        bot_login: BOT_LOGIN,
        job_timeout_minutes: job_timeout_minutes(plan),
        actions: PINNED_ACTIONS
            .iter()
            .map(|action| {
                let pin = plan.pin(action);
                (
                    action.key,
                    format!("{}@{} # {}", action.repo, pin.sha, pin.version),
                )
            })
            .collect(),
        client: ModalClient::pinned(),
    }
}
