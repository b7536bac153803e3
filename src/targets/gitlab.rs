//! GitLab CI/CD: `.gitlab/gpu-ci.yml`, which `.gitlab-ci.yml` includes, and the script that
//! posts the results note on the merge request.

use serde::Serialize;

use super::shared::{RUN_RECORD, RunContext};
use super::{GeneratedFile, Header};
use crate::github::repo::segment;
use crate::plan::{Source, TestPlan};

pub const PIPELINE: GeneratedFile = GeneratedFile {
    path: ".gitlab/gpu-ci.yml",
    template: "gitlab/gpu-ci.yml.j2",
};
pub const NOTE_SCRIPT: GeneratedFile = GeneratedFile {
    path: ".gitlab/gpu-ci-note.py",
    template: "gitlab/gpu-ci-note.py.j2",
};
pub const FILES: [GeneratedFile; 2] = [PIPELINE, NOTE_SCRIPT];

/// The user's own pipeline file, which gpu-ci only adds an `include:` entry to.
pub const CI_FILE: &str = ".gitlab-ci.yml";

/// The CI/CD variable holding the project access token that posts the note.
pub const TOKEN_VARIABLE: &str = "GPU_CI_GITLAB_TOKEN";

#[derive(Debug, Serialize)]
pub struct Context {
    header: Header,
    run: RunContext,
    label: String,
    /// The label in an RE2 pattern: ASCII other than letters, digits, `-` and `_` as `\xHH`.
    label_pattern: String,
    /// `<!-- gpu-ci:LABEL -->`, the label percent-encoded as the GitHub comment's `jq @uri`
    /// writes it: what the note starts with.
    marker: String,
    /// The branch whose pushes run the tests; `None`: the project's default branch.
    push_branch: Option<String>,
    token_variable: &'static str,
    note_script: &'static str,
    run_record: &'static str,
    missing_token: String,
}

pub fn context(plan: &TestPlan) -> Context {
    let label = plan.label.value.clone();
    Context {
        header: Header::new(plan),
        run: RunContext::new(plan),
        label_pattern: label_pattern(&label),
        marker: format!("<!-- gpu-ci:{} -->", segment(&label)),
        label,
        push_branch: (plan.branch.source != Source::Default).then(|| plan.branch.value.clone()),
        token_variable: TOKEN_VARIABLE,
        note_script: NOTE_SCRIPT.path,
        run_record: RUN_RECORD,
        missing_token: "MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are CI/CD variables (Settings > CI/CD > Variables). Protected variables reach only pipelines of protected branches and tags: a merge request pipeline gets them only if GitLab runs it as protected. To test this merge request with the token, a maintainer runs Build > Pipelines > Run pipeline on the default branch with REF=refs/merge-requests/IID/head (IID: the merge request's number).".into(),
    }
}

/// `label` as an RE2 (and Ruby) pattern that matches exactly it: ASCII letters, digits, `-`
/// and `_` as they are, other ASCII as `\xHH`, and other characters as themselves.
pub fn label_pattern(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{:02X}", c as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_patterns_escape_every_ascii_symbol() {
        assert_eq!(label_pattern("gpu-tests"), "gpu-tests");
        assert_eq!(label_pattern("run on gpu"), r"run\x20on\x20gpu");
        assert_eq!(label_pattern("a/b$c\"d"), r"a\x2Fb\x24c\x22d");
        assert_eq!(label_pattern("gpu ✓"), r"gpu\x20✓");
    }
}
