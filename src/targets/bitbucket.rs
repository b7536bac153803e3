//! Bitbucket Pipelines: `bitbucket-pipelines.yml` (Bitbucket reads no other file), with a
//! manual `custom: gpu-tests` pipeline and one for pushes to the branch, and the script that
//! posts the results comment on a pull request.

use serde::Serialize;

use super::shared::{RUN_RECORD, RunContext};
use super::{GeneratedFile, Header};
use crate::plan::TestPlan;

pub const PIPELINES: GeneratedFile = GeneratedFile {
    path: "bitbucket-pipelines.yml",
    template: "bitbucket/bitbucket-pipelines.yml.j2",
};
pub const COMMENT_SCRIPT: GeneratedFile = GeneratedFile {
    path: ".bitbucket/gpu-ci-comment.py",
    template: "bitbucket/gpu-ci-comment.py.j2",
};
pub const FILES: [GeneratedFile; 2] = [PIPELINES, COMMENT_SCRIPT];

/// The secured repository variable holding the repository access token that comments.
pub const TOKEN_VARIABLE: &str = "GPU_CI_BITBUCKET_TOKEN";

/// The name of the manual pipeline.
pub const CUSTOM_PIPELINE: &str = "gpu-tests";

/// What the results comment starts with: a Markdown link definition, which Bitbucket shows as
/// nothing (its Markdown escapes HTML, so an HTML comment would show).
pub const MARKER: &str = "[gpu-ci]: # (gpu-ci results)";

#[derive(Debug, Serialize)]
pub struct Context {
    header: Header,
    run: RunContext,
    branch: String,
    custom_pipeline: &'static str,
    token_variable: &'static str,
    comment_script: &'static str,
    run_record: &'static str,
    marker: &'static str,
    missing_token: &'static str,
}

pub fn context(plan: &TestPlan) -> Context {
    Context {
        header: Header::new(plan),
        run: RunContext::new(plan),
        branch: plan.branch.value.clone(),
        custom_pipeline: CUSTOM_PIPELINE,
        token_variable: TOKEN_VARIABLE,
        comment_script: COMMENT_SCRIPT.path,
        run_record: RUN_RECORD,
        marker: MARKER,
        missing_token: "Add MODAL_TOKEN_ID and MODAL_TOKEN_SECRET as secured repository variables (Repository settings > Pipelines > Repository variables). Pipelines of pull requests from forks never get secured variables.",
    }
}
