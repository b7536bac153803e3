//! The settings a person chose for this command, as the plan reads them: each overrides
//! `[tool.gpu-ci]`. The command line fills it (`cli::ChoiceArgs`, converted there), and so can
//! a command itself (`run`'s own flags); the plan knows nothing of how they were given.

/// Every choice a command line can make; `Default` is "nothing chosen".
#[derive(Debug, Default, Clone)]
pub struct Choices {
    /// GPU specs; more than one is a matrix.
    pub gpu: Vec<String>,
    pub shards: Option<u32>,
    /// `max-cost` in USD.
    pub max_cost: Option<f64>,
    /// `cache`: on or off; `None` when not chosen.
    pub cache: Option<bool>,
    /// `cache` paths (turn the cache on).
    pub cache_paths: Vec<String>,
    pub python: Option<String>,
    pub test_path: Option<String>,
    pub pytest_args: Option<String>,
    pub label: Option<String>,
    /// At most one of the three install sources.
    pub group: Option<String>,
    pub extra: Option<String>,
    pub requirements: Option<String>,
    pub fork_prs: bool,
    pub framework: Option<String>,
    pub keep_selection: bool,
    /// CI system names, as given.
    pub ci: Vec<String>,
    // The image recipe's keys.
    pub packages: Vec<String>,
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// `NAME=VALUE` pairs, as given.
    pub env: Vec<String>,
    pub modal_secrets: Vec<String>,
    pub setup: Vec<String>,
    pub apt: Vec<String>,
    /// With or without submodules; `None` when not chosen.
    pub submodules: Option<bool>,
    pub cuda: Option<String>,
}
