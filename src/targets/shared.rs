//! What the GitLab and Bitbucket targets share: one job that checks out nothing it runs from
//! the commit under test, installs only the Modal client from gpu-ci's hashed closure, and
//! runs the Modal runner (`templates/shared/ci_steps.j2` renders its script).

use serde::Serialize;

use super::RunSettings;
use crate::pins::{
    MODAL_CLIENT_CLOSURE, MODAL_CLIENT_PYTHON, MODAL_CLIENT_VERSION, UV_WHEEL, requirements_file,
};
use crate::plan::TestPlan;

/// Where every CI target puts the commit under test when it names another commit (GitHub's
/// `ref`, GitLab's and Bitbucket's `REF`): data the Modal client uploads, beside the
/// pipeline's own checkout, which provides the runner.
pub const TREE_UNDER_TEST: &str = "tree-under-test";

/// What the job leaves for the results note or comment: the tested commit and the exit code.
pub const RUN_RECORD: &str = "gpu-ci-run";

/// The job's container: the Python the Modal client's closure is resolved for, Debian slim.
pub fn job_image() -> String {
    format!("python:{MODAL_CLIENT_PYTHON}-slim")
}

/// The test timeout plus time to build the image and wait for a GPU: every CI job's limit.
pub fn job_timeout_minutes(plan: &TestPlan) -> u32 {
    plan.timeout.value.div_ceil(60) + 30
}

/// The Modal client every CI job installs, and only it: uv by hash, then the pinned closure.
#[derive(Debug, Serialize)]
pub struct ModalClient {
    pub modal_client_version: &'static str,
    /// The Python of the Modal client, which its closure is resolved for.
    pub client_python: &'static str,
    /// The requirements line that installs uv, hash-checked.
    pub uv_requirement: String,
    /// The Modal client's requirements file: every distribution pinned, every wheel hashed.
    pub modal_client_requirements: String,
}

impl ModalClient {
    pub fn pinned() -> ModalClient {
        ModalClient {
            modal_client_version: MODAL_CLIENT_VERSION,
            client_python: MODAL_CLIENT_PYTHON,
            uv_requirement: UV_WHEEL.line(),
            modal_client_requirements: requirements_file(MODAL_CLIENT_CLOSURE),
        }
    }
}

/// The settings of the GPU job, for the shared script.
#[derive(Debug, Serialize)]
pub struct RunContext {
    #[serde(flatten)]
    pub run: RunSettings,
    pub image: String,
    pub tree_under_test: &'static str,
    pub run_record: &'static str,
    /// The test timeout plus time to build the image and wait for a GPU.
    pub job_timeout_minutes: u32,
    #[serde(flatten)]
    pub client: ModalClient,
}

impl RunContext {
    pub fn new(plan: &TestPlan) -> RunContext {
        RunContext {
            run: RunSettings::new(plan),
            image: job_image(),
            tree_under_test: TREE_UNDER_TEST,
            run_record: RUN_RECORD,
            job_timeout_minutes: job_timeout_minutes(plan),
            client: ModalClient::pinned(),
        }
    }
}
