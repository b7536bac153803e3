//! `cache` (issue 26): the download caches kept on a Modal Volume between runs. Its name is
//! derived from the project's name, as the Modal app's is, so every run of this repository's
//! runner (CI's and `gpu-ci run`'s) finds the same volume; the runner mounts it read-write for
//! trusted runs and read-only for a tree it must not trust (a fork's pull request).

/// The folder the volume is mounted at in the sandbox.
pub const MOUNT: &str = "/gpu-ci-cache";

/// The frameworks' cache variables and the folder of the volume each points at, with why.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "HF_HOME",
        "huggingface",
        "Hugging Face models and datasets (transformers, diffusers, datasets, hub downloads)",
    ),
    (
        "TORCH_HOME",
        "torch",
        "torch hub models and torchvision's pretrained weights",
    ),
    (
        "XDG_CACHE_HOME",
        "xdg",
        "what other tools keep under ~/.cache (triton's kernels, JAX, keras, many downloaders)",
    ),
    (
        "PIP_CACHE_DIR",
        "pip",
        "wheels pip downloads or builds in a test or at start",
    ),
    (
        "UV_CACHE_DIR",
        "uv",
        "uv's cache, for the project's install at start (`install-project = \"at-start\"`)",
    ),
];

/// `my-project` → `gpu-ci-cache-my-project`: a name Modal accepts (letters, digits, `-`, at
/// most 64 characters), the same for every run of this repository's runner.
pub fn volume_name(project_name: &str) -> String {
    named("gpu-ci-cache-", project_name)
}

/// `my-project` → `gpu-ci-ccache-my-project`: the compiler cache of the image's build steps.
pub fn ccache_volume_name(project_name: &str) -> String {
    named("gpu-ci-ccache-", project_name)
}

fn named(prefix: &str, project_name: &str) -> String {
    let slug: String = project_name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut slug = slug.trim_matches('-').to_string();
    slug.truncate(64 - prefix.len());
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("{prefix}project")
    } else {
        format!("{prefix}{slug}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_are_modal_names() {
        assert_eq!(volume_name("My_Project"), "gpu-ci-cache-my-project");
        assert_eq!(volume_name("--"), "gpu-ci-cache-project");
        assert_eq!(ccache_volume_name("My_Project"), "gpu-ci-ccache-my-project");
        let long = volume_name(&"x".repeat(100));
        assert_eq!(long.len(), 64);
        for name in [long, volume_name("a.b c/d"), volume_name("ünï")] {
            assert!(
                name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
    }
}
