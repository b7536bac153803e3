//! Structural checks on every generated workflow: what the security model promises.

use serde_json::Value;

use crate::common::{Project, all_generated};

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn jobs(workflow: &Value) -> Vec<(&String, &Value)> {
    workflow["jobs"].as_object().unwrap().iter().collect()
}

fn steps(job: &Value) -> Vec<&Value> {
    job["steps"]
        .as_array()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

#[test]
fn workflows_hold_the_security_model() {
    for (case, project) in all_generated() {
        for path in project.workflows() {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            let workflow = parse(&text);
            assert_eq!(
                workflow["permissions"],
                serde_json::json!({}),
                "{case} {name}"
            );
            assert!(!text.contains("secrets: inherit"), "{case} {name}");
            for (job_name, job) in jobs(&workflow) {
                let at = format!("{case} {name} job {job_name}");
                assert!(job.get("permissions").is_some(), "{at}: no permissions");
                if job.get("uses").is_none() {
                    assert!(
                        job["timeout-minutes"].as_u64().is_some(),
                        "{at}: no timeout"
                    );
                }
                for step in steps(job) {
                    if let Some(script) = step["run"].as_str() {
                        assert!(
                            !script.contains("${{"),
                            "{at}: expression inside run: {script}"
                        );
                    }
                    if let Some(uses) = step["uses"].as_str() {
                        assert!(!uses.starts_with("./"));
                        let (_, sha) = uses.split_once('@').unwrap();
                        assert!(
                            sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                            "{at}: {uses} is not pinned by SHA"
                        );
                        if uses.starts_with("actions/checkout@") {
                            assert_eq!(
                                step["with"]["persist-credentials"],
                                Value::Bool(false),
                                "{at}"
                            );
                        }
                    }
                }
            }
            // Every pinned `uses:` carries its version beside it.
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("uses: ") && !l.contains("./"))
            {
                assert!(line.contains(" # v"), "{case} {name}: {line}");
            }
        }
    }
}

#[test]
fn cpu_job_installs_only_the_modal_client() {
    for (case, project) in all_generated() {
        let workflow = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
        for (job_name, job) in jobs(&workflow) {
            for step in steps(job) {
                let Some(script) = step["run"].as_str() else {
                    continue;
                };
                let installs: Vec<&str> = script
                    .lines()
                    .filter(|l| l.contains("install") || l.contains("uv ") || l.contains("poetry"))
                    .collect();
                for line in installs {
                    assert_eq!(
                        line.trim(),
                        "python -m pip install --disable-pip-version-check \"modal==1.6.4\"",
                        "{case} job {job_name}"
                    );
                }
            }
        }
    }
}

#[test]
fn gpu_precedence_is_dispatch_then_variable_then_config() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--gpu", "A10G"]).success();
    let reusable = project.read(".github/workflows/_modal-gpu-tests.yml");
    assert!(reusable.contains("MODAL_GPU: ${{ inputs.gpu || vars.MODAL_GPU || 'A10G' }}"));
    let dispatch = parse(&project.read(".github/workflows/run-gpu-tests.yml"));
    assert_eq!(
        dispatch["jobs"]["gpu-tests"]["with"]["gpu"],
        Value::String("${{ inputs.gpu }}".into())
    );
}

#[test]
fn parity_with_the_reference_setup() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init"]).success();
    let reusable = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
    let call = &reusable["on"]["workflow_call"];
    for input in ["ref", "gpu", "python_version", "test_path", "pytest_args"] {
        assert!(call["inputs"].get(input).is_some(), "input {input}");
    }
    for secret in ["MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"] {
        assert_eq!(call["secrets"][secret]["required"], Value::Bool(true));
    }
    let upload = steps(&reusable["jobs"]["gpu-tests"])
        .into_iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .unwrap();
    assert_eq!(upload["with"]["retention-days"], Value::from(30));

    let label = parse(&project.read(".github/workflows/label-gpu-tests.yml"));
    assert_eq!(
        label["on"]["pull_request"]["types"],
        serde_json::json!(["labeled"])
    );
    let label_jobs: Vec<&String> = jobs(&label).into_iter().map(|(n, _)| n).collect();
    for job in ["gpu-tests", "comment", "remove-label"] {
        assert!(label_jobs.contains(&&job.to_string()), "{job}");
    }
    let run = parse(&project.read(".github/workflows/run-gpu-tests.yml"));
    assert_eq!(run["on"]["push"]["branches"], serde_json::json!(["main"]));
    assert!(
        run["on"]["workflow_dispatch"]["inputs"]
            .get("gpu")
            .is_some()
    );
}

#[test]
fn fork_mode_tests_the_labelled_commit_from_base_branch_code() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--fork-prs"]).success();
    let label = parse(&project.read(".github/workflows/label-gpu-tests.yml"));
    assert_eq!(
        label["on"]["pull_request_target"]["types"],
        serde_json::json!(["labeled", "synchronize"])
    );
    assert!(label["on"].get("pull_request").is_none());
    let call = &label["jobs"]["gpu-tests"];
    assert_eq!(call["needs"], Value::String("verify-head".into()));
    assert_eq!(
        call["with"]["ref"],
        Value::String("${{ github.event.pull_request.head.sha }}".into())
    );
    let reusable = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
    let checkout = steps(&reusable["jobs"]["gpu-tests"]);
    // The first checkout (the runner) is the base branch: no ref, no repository.
    assert!(checkout[0]["with"].get("ref").is_none());
    assert_eq!(checkout[1]["with"]["path"], Value::String("pr-tree".into()));
    let run_step = checkout
        .iter()
        .find(|s| s["env"].get("GPU_CI_PROJECT_DIR").is_some())
        .unwrap();
    assert_eq!(
        run_step["env"]["GPU_CI_PROJECT_DIR"],
        Value::String("pr-tree".into())
    );
}

#[test]
fn inline_suppressions_are_counted_and_explained() {
    for (case, project) in all_generated() {
        let fork = case.contains("--fork-prs");
        let mut count = 0;
        for path in project.workflows() {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                if let Some((_, rest)) = line.split_once("zizmor: ignore[") {
                    count += 1;
                    let reason = rest.split_once(']').unwrap().1.trim();
                    assert!(
                        reason.len() > 20,
                        "{case}: suppression without a reason: {line}"
                    );
                }
                assert!(
                    !line.contains("actionlint") && !line.contains("noqa"),
                    "{case}: {line}"
                );
            }
        }
        assert_eq!(count, usize::from(fork), "{case}: unexpected suppressions");
    }
}
