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

fn step_named<'a>(job: &'a Value, name: &str) -> &'a Value {
    steps(job)
        .into_iter()
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step `{name}`"))
}

const UV_STEP: &str = "Install uv (pinned, hash-checked)";
const CLIENT_STEP: &str = "Install the Modal client from its hashed closure";

/// The CPU job installs uv and the Modal client, from hashes, and nothing else (issue 12).
#[test]
fn cpu_job_installs_only_the_modal_client_from_hashes() {
    let installs = [
        "\"$PYTHON\" -I -m pip install --quiet --disable-pip-version-check --no-deps \\",
        "\"$uv\" pip install --no-config --python \"$RUNNER_TEMP/modal-client/bin/python\" \\",
    ];
    for (case, project) in all_generated() {
        let workflow = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
        for (job_name, job) in jobs(&workflow) {
            for step in steps(job) {
                let Some(script) = step["run"].as_str() else {
                    continue;
                };
                for line in script
                    .lines()
                    .filter(|l| l.contains("install") || l.contains("uv ") || l.contains("poetry"))
                {
                    assert!(
                        installs.contains(&line.trim()),
                        "{case} job {job_name}: {line}"
                    );
                    assert!(
                        script.contains("--require-hashes --only-binary"),
                        "{case} job {job_name}: an install without hashes"
                    );
                }
            }
        }
    }
}

/// The requirements the workflow writes are exactly the closure gpu-ci embeds: every line
/// `==`-pinned with its hashes, and uv named by URL and hash (issue 12).
#[test]
fn rendered_requirements_are_the_embedded_closure() {
    use gpu_ci::pins::{MODAL_CLIENT_CLOSURE, MODAL_CLIENT_PYTHON, MODAL_CLIENT_VERSION, UV_WHEEL};
    let project = Project::initialised("uv-groups-src");
    let workflow = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
    let job = &workflow["jobs"]["gpu-tests"];

    let requirements = step_named(job, CLIENT_STEP)["env"]["MODAL_CLIENT_REQUIREMENTS"]
        .as_str()
        .unwrap();
    let mut rendered = Vec::new();
    for line in requirements.lines() {
        let mut words = line.split(' ');
        let pin = words.next().unwrap();
        let (name, version) = pin
            .split_once("==")
            .unwrap_or_else(|| panic!("not ==-pinned: {line}"));
        assert!(
            !version.is_empty() && !version.contains(['*', '<', '>', ',']),
            "{line}"
        );
        let hashes: Vec<&str> = words
            .map(|w| {
                let hash = w
                    .strip_prefix("--hash=sha256:")
                    .unwrap_or_else(|| panic!("not a hash: `{w}` in {line}"));
                assert!(hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()));
                hash
            })
            .collect();
        assert!(!hashes.is_empty(), "no hash: {line}");
        rendered.push((name.to_string(), version.to_string(), hashes));
    }
    let embedded: Vec<(String, String, Vec<&str>)> = MODAL_CLIENT_CLOSURE
        .iter()
        .map(|r| (r.name.to_string(), r.version.to_string(), r.sha256.to_vec()))
        .collect();
    assert_eq!(rendered, embedded);
    assert!(
        rendered.contains(&(
            "modal".into(),
            MODAL_CLIENT_VERSION.into(),
            MODAL_CLIENT_CLOSURE
                .iter()
                .find(|r| r.name == "modal")
                .unwrap()
                .sha256
                .to_vec()
        ))
    );

    let uv = step_named(job, UV_STEP)["env"]["UV_REQUIREMENT"]
        .as_str()
        .unwrap();
    assert_eq!(
        uv,
        format!("uv @ {} --hash=sha256:{}", UV_WHEEL.url, UV_WHEEL.sha256)
    );
    assert_eq!(
        step_named(job, "Set up Python for the Modal client")["with"]["python-version"],
        Value::String(MODAL_CLIENT_PYTHON.into())
    );
}

/// The first step names the missing secrets and where to add them, before checkout and
/// install (issue 12).
#[test]
fn missing_modal_secrets_fail_first_and_say_where_to_add_them() {
    for (case, project) in all_generated() {
        let workflow = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
        let first = steps(&workflow["jobs"]["gpu-tests"])[0];
        let script = first["run"].as_str().unwrap();
        for needle in [
            "MODAL_TOKEN_ID",
            "MODAL_TOKEN_SECRET",
            "Settings → Secrets and variables → Actions",
            "exit 1",
        ] {
            assert!(script.contains(needle), "{case}: {needle} in {script}");
        }
        // The step learns whether each secret is set, never its value.
        assert_eq!(
            first["env"]["HAS_TOKEN_ID"],
            Value::String("${{ secrets.MODAL_TOKEN_ID != '' }}".into()),
            "{case}"
        );
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
fn fork_mode_tests_the_labelled_commit_after_the_gate() {
    let project = Project::fixture("uv-groups-src");
    project.gpu_ci(&["init", "--fork-prs"]).success();
    let label = parse(&project.read(".github/workflows/label-gpu-tests.yml"));
    assert_eq!(
        label["on"]["pull_request_target"]["types"],
        serde_json::json!(["labeled", "synchronize"])
    );
    assert!(label["on"].get("pull_request").is_none());
    let call = &label["jobs"]["gpu-tests"];
    assert_eq!(call["needs"], Value::String("gate".into()));
    assert_eq!(
        call["with"]["ref"],
        Value::String("${{ github.event.pull_request.head.sha }}".into())
    );
    assert_eq!(
        call["with"]["repository"],
        Value::String("${{ github.event.pull_request.head.repo.full_name }}".into())
    );
    // The gate holds no secret and can write nothing.
    let gate = &label["jobs"]["gate"];
    assert_eq!(
        gate["permissions"],
        serde_json::json!({"pull-requests": "read"})
    );
    assert!(!serde_json::to_string(gate).unwrap().contains("secrets."));
    let check = step_named(gate, "Check that the labeller has write access");
    assert_eq!(
        check["env"]["LABELLER"],
        Value::String("${{ github.event.sender.login }}".into())
    );
    assert!(
        check["run"]
            .as_str()
            .unwrap()
            .contains("collaborators/$user/permission")
    );
}

/// One layout for every trigger (issue 12): the runner comes from a checkout with neither
/// `ref` nor `repository`, so it is always the workflow's own commit; the commit under test,
/// the only thing an input or the event chooses, is checked out into a data folder which
/// only the Modal client reads, as GPU_CI_PROJECT_DIR. A dispatch of `refs/pull/N/head`
/// therefore never runs that ref's runner.
#[test]
fn every_trigger_runs_the_trusted_runner_with_the_tested_commit_as_data() {
    for (case, project) in all_generated() {
        let reusable = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
        let job = &reusable["jobs"]["gpu-tests"];
        let checkouts: Vec<&Value> = steps(job)
            .into_iter()
            .filter(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
            })
            .collect();
        assert_eq!(checkouts.len(), 2, "{case}");
        let (runner, data) = (checkouts[0], checkouts[1]);
        assert_eq!(
            runner["with"],
            serde_json::json!({"persist-credentials": false}),
            "{case}: the runner's checkout must name no ref and no repository"
        );
        // `submodules` (issue 21) adds only `submodules: recursive`, credentials still not kept.
        let mut expected = serde_json::json!({
            "repository": "${{ inputs.repository || github.repository }}",
            "ref": "${{ inputs.ref }}",
            "path": "tree-under-test",
            "persist-credentials": false,
        });
        if case.contains("--submodules") {
            expected["submodules"] = "recursive".into();
        }
        assert_eq!(data["with"], expected, "{case}");
        // What the caller chooses reaches nothing but the data checkout.
        for step in steps(job) {
            if std::ptr::eq(step, data) {
                continue;
            }
            let text = serde_json::to_string(step).unwrap();
            for chosen in ["inputs.ref", "inputs.repository", "tree-under-test/"] {
                assert!(!text.contains(chosen), "{case}: {chosen} in {text}");
            }
            assert!(step.get("working-directory").is_none(), "{case}");
        }
        let run = step_named(job, "Run the tests on a Modal GPU");
        assert_eq!(
            run["env"]["GPU_CI_PROJECT_DIR"],
            Value::String("tree-under-test".into()),
            "{case}"
        );
        assert!(
            run["run"]
                .as_str()
                .unwrap()
                .contains("modal run .modal/test_runner.py --test-path=\"$TEST_PATH\" --pytest-args=\"$PYTEST_ARGS\""),
            "{case}"
        );
        // Both callers only say which commit to test.
        for (file, refs) in [
            (
                "label-gpu-tests.yml",
                "${{ github.event.pull_request.head.sha }}",
            ),
            ("run-gpu-tests.yml", "${{ inputs.ref || github.sha }}"),
        ] {
            let caller = parse(&project.read(&format!(".github/workflows/{file}")));
            assert_eq!(
                caller["jobs"]["gpu-tests"]["with"]["ref"],
                Value::String(refs.into()),
                "{case} {file}"
            );
            assert!(
                caller["jobs"]["gpu-tests"]["uses"]
                    .as_str()
                    .unwrap()
                    .starts_with("./.github/workflows/_modal-gpu-tests.yml"),
                "{case} {file}"
            );
        }
    }
}

/// The tests' output cannot issue workflow commands: the Modal run sits between a
/// `::stop-commands::` with a fresh random token and the token that ends it (issue 12).
#[test]
fn the_modal_run_is_fenced_from_workflow_commands() {
    for (case, project) in all_generated() {
        let reusable = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
        let run = step_named(
            &reusable["jobs"]["gpu-tests"],
            "Run the tests on a Modal GPU",
        );
        let script = run["run"].as_str().unwrap();
        let at = |needle: &str| {
            script
                .find(needle)
                .unwrap_or_else(|| panic!("{case}: no `{needle}` in {script}"))
        };
        assert!(at("fence=\"$(openssl rand -hex 16)\"") < at("echo \"::stop-commands::$fence\""));
        assert!(at("echo \"::stop-commands::$fence\"") < at("modal run "));
        assert!(at("modal run ") < at("echo \"::$fence::\""));
        assert_eq!(
            run["env"]["MODAL_ENVIRONMENT"],
            Value::String("${{ vars.MODAL_ENVIRONMENT }}".into()),
            "{case}"
        );
    }
}

/// A label is any text GitHub accepts: quoted in YAML and in expressions, URL-encoded in API
/// paths (issue 12: `ci: gpu` failed init with invalid YAML).
#[test]
fn any_label_github_accepts_renders_as_valid_yaml() {
    for label in [
        "ci: gpu",
        "it's \"gpu\" \\ ci",
        "gpu # tests",
        "- gpu",
        "🚀 run: gpu?",
        "{gpu}",
        "100%",
    ] {
        for fork in [false, true] {
            let project = Project::fixture("extras-flat");
            // `--label=…`: a label may start with `-`.
            let flag = format!("--label={label}");
            let mut args = vec!["init", "--yes", &flag];
            if fork {
                args.push("--fork-prs");
            }
            project.gpu_ci(&args).success();
            let workflow = parse(&project.read(".github/workflows/label-gpu-tests.yml"));
            let literal = format!("'{}'", label.replace('\'', "''"));
            let gate = if fork { "gate" } else { "gpu-tests" };
            let condition = workflow["jobs"][gate]["if"].as_str().unwrap();
            assert!(
                condition.contains(&format!("github.event.label.name == {literal}")),
                "{label}: {condition}"
            );
            for (name, job) in jobs(&workflow) {
                for step in steps(job) {
                    if let Some(value) = step["env"].get("LABEL") {
                        assert_eq!(value, &Value::String(label.into()), "{label} {name}");
                        let script = step["run"].as_str().unwrap();
                        assert!(
                            script.contains("jq -rn --arg l \"$LABEL\" '$l|@uri'"),
                            "{label} {name}: the label reaches a path unencoded"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn labels_no_api_path_can_name_are_refused() {
    let project = Project::fixture("extras-flat");
    for (label, message) in [
        (".", "error: label `.` cannot be named in a URL path"),
        ("..", "error: label `..` cannot be named in a URL path"),
        (" gpu", "error: label ` gpu` starts or ends with a space"),
        ("gpu ", "error: label `gpu ` starts or ends with a space"),
    ] {
        project
            .gpu_ci(&["init", "--yes", "--label", label])
            .code(2)
            .stderr(predicates::str::contains(message));
    }
    let long = "x".repeat(51);
    project
        .gpu_ci(&["init", "--yes", "--label", &long])
        .code(2)
        .stderr(predicates::str::contains(
            "longer than GitHub's 50 characters",
        ));
    assert!(!project.path(".github").exists());
}

/// `environment = "NAME"` puts the GPU job behind a GitHub environment (issue 12).
#[test]
fn the_environment_setting_gates_the_gpu_job() {
    let project = Project::fixture("uv-groups-src");
    crate::common::add_config(&project, "environment = \"GPU tests: Modal\"\n");
    project.gpu_ci(&["init", "--yes", "--fork-prs"]).success();
    let reusable = parse(&project.read(".github/workflows/_modal-gpu-tests.yml"));
    let job = &reusable["jobs"]["gpu-tests"];
    assert_eq!(job["environment"], Value::String("GPU tests: Modal".into()));
    let first = steps(job)[0];
    assert_eq!(
        first["env"]["ENVIRONMENT"],
        Value::String("GPU tests: Modal".into())
    );
    assert!(
        first["run"]
            .as_str()
            .unwrap()
            .contains("Settings → Environments")
    );
    assert!(
        project
            .read("pyproject.toml")
            .contains("environment = \"GPU tests: Modal\"")
    );
    let json: Value = serde_json::from_slice(
        &project
            .gpu_ci(&["config", "--json"])
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        json["environment"]["value"],
        Value::String("GPU tests: Modal".into())
    );
    assert_eq!(
        json["environment"]["source"]["kind"],
        Value::String("config".into())
    );

    let plain = Project::initialised("uv-groups-src");
    let reusable = parse(&plain.read(".github/workflows/_modal-gpu-tests.yml"));
    assert!(reusable["jobs"]["gpu-tests"].get("environment").is_none());

    let bad = Project::fixture("uv-groups-src");
    crate::common::add_config(&bad, "environment = \" prod\"\n");
    bad.gpu_ci(&["init", "--yes"])
        .code(2)
        .stderr(predicates::str::contains(
            "error: environment ` prod` starts or ends with a space",
        ));
}

/// Every suppression sits on its line with its reason: `dangerous-triggers` in fork mode, and
/// `self-repository` on each call of the reusable workflow.
#[test]
fn inline_suppressions_are_counted_and_explained() {
    for (case, project) in all_generated() {
        let fork = case.contains("--fork-prs");
        let mut found = Vec::new();
        for path in project.workflows() {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                if let Some((_, rest)) = line.split_once("zizmor: ignore[") {
                    let (audit, reason) = rest.split_once(']').unwrap();
                    assert!(
                        reason.trim().len() > 20,
                        "{case}: suppression without a reason: {line}"
                    );
                    found.push(audit.to_string());
                }
                assert!(
                    !line.contains("actionlint:") && !line.contains("noqa"),
                    "{case}: {line}"
                );
            }
        }
        found.sort();
        let mut expected = vec!["self-repository", "self-repository"];
        if fork {
            expected.insert(0, "dangerous-triggers");
        }
        assert_eq!(found, expected, "{case}: unexpected suppressions");
    }
}

/// zizmor's `undocumented-permissions` wants a reason beside each permission (or, for the
/// workflow's empty default, on the line above).
#[test]
fn every_permission_has_its_reason_beside_it() {
    for (case, project) in all_generated() {
        for path in project.workflows() {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let trimmed = line.trim_start();
                if trimmed == "permissions:" {
                    continue; // a block's header: each entry under it carries its reason
                }
                let in_block = i > 0
                    && lines[..i]
                        .iter()
                        .rev()
                        .find(|l| l.len() - l.trim_start().len() < line.len() - trimmed.len())
                        .is_some_and(|parent| parent.trim_start().starts_with("permissions:"));
                let reason_above = i > 0 && lines[i - 1].trim_start().starts_with("# ");
                if trimmed.starts_with("permissions:") || in_block {
                    assert!(
                        line.contains(" # ") || reason_above,
                        "{case} {}: `{}` has no reason",
                        path.display(),
                        trimmed
                    );
                }
            }
        }
    }
}

/// A branch is any name `check_branch` admits, and stays a string in every CI file: `1.10`,
/// `true` or `null` written bare would be a number, a boolean or nothing to a YAML reader.
#[test]
fn a_branch_that_reads_as_a_yaml_scalar_stays_a_string() {
    for branch in ["1.10", "true", "null", "0x1F"] {
        let project = Project::fixture("uv-groups-src");
        crate::common::add_config(&project, &format!("branch = \"{branch}\"\n"));
        project
            .gpu_ci(&["init", "--yes", "--ci", "github,gitlab,bitbucket"])
            .success();
        let run = parse(&project.read(".github/workflows/run-gpu-tests.yml"));
        assert_eq!(
            run["on"]["push"]["branches"],
            serde_json::json!([branch]),
            "{branch}"
        );
        let bitbucket = parse(&project.read("bitbucket-pipelines.yml"));
        assert!(
            bitbucket["pipelines"]["branches"][branch].is_array(),
            "{branch}"
        );
        let gitlab = parse(&project.read(".gitlab/gpu-ci.yml"));
        assert_eq!(
            gitlab["gpu-tests"]["rules"][1]["if"],
            Value::String(format!(
                "$CI_PIPELINE_SOURCE == \"push\" && $CI_COMMIT_BRANCH == \"{branch}\""
            )),
            "{branch}"
        );
    }
}

/// Issue 20, item 9: who can cancel a GPU run. Every event of the label workflow (any label,
/// by anyone with Triage; a push in fork mode) is a run of its own at the workflow level; only
/// the `gpu-tests` job, which an admitted run alone reaches (after the gate in fork mode, under
/// its label `if:` otherwise), shares one group per pull request, so only a newer admitted run
/// of the same PR replaces it. On the push/dispatch workflow a push replaces an older push's run
/// only: a dispatched test (of a PR's commit, say) has a group of its own. Fork mode's
/// `pull_request_target` only fires for PRs into the configured branch.
#[test]
fn only_a_newer_admitted_run_of_the_same_pr_cancels_a_gpu_run() {
    for fork in [false, true] {
        for branch in ["main", "develop"] {
            let case = format!("fork-prs {fork}, branch {branch}");
            let project = Project::fixture("uv-groups-src");
            crate::common::add_config(&project, &format!("branch = \"{branch}\"\n"));
            let mut args = vec!["init", "--yes"];
            if fork {
                args.push("--fork-prs");
            }
            project.gpu_ci(&args).success();

            let label = parse(&project.read(".github/workflows/label-gpu-tests.yml"));
            assert_eq!(
                label["concurrency"],
                serde_json::json!({
                    "group": "gpu-tests-label-${{ github.run_id }}",
                    "cancel-in-progress": false
                }),
                "{case}: each event of the label workflow is a group of its own"
            );
            for (name, job) in jobs(&label) {
                if name != "gpu-tests" {
                    assert!(job.get("concurrency").is_none(), "{case}: job {name}");
                }
            }
            let call = &label["jobs"]["gpu-tests"];
            assert_eq!(
                call["concurrency"],
                serde_json::json!({
                    "group": "gpu-tests-pr-${{ github.event.pull_request.number }}",
                    "cancel-in-progress": true
                }),
                "{case}"
            );
            if fork {
                // Reached only through the gate, which checks the labeller and the commit.
                assert_eq!(call["needs"], Value::String("gate".into()), "{case}");
                assert!(call.get("if").is_none(), "{case}");
                let gate_if = label["jobs"]["gate"]["if"].as_str().unwrap();
                assert!(
                    gate_if.contains("github.event.action == 'labeled'")
                        && gate_if.contains("github.event.label.name == 'gpu-tests'"),
                    "{case}: {gate_if}"
                );
                assert_eq!(
                    label["on"]["pull_request_target"]["branches"],
                    serde_json::json!([branch]),
                    "{case}"
                );
            } else {
                let call_if = call["if"].as_str().unwrap();
                assert!(
                    call_if.contains("github.event.label.name == 'gpu-tests'"),
                    "{case}: {call_if}"
                );
            }

            let run = parse(&project.read(".github/workflows/run-gpu-tests.yml"));
            assert_eq!(
                run["concurrency"],
                serde_json::json!({
                    "group": "${{ github.event_name == 'push' && format('gpu-tests-push-{0}', github.ref) || format('gpu-tests-dispatch-{0}', github.run_id) }}",
                    "cancel-in-progress": true
                }),
                "{case}"
            );
            assert_eq!(run["on"]["push"]["branches"], serde_json::json!([branch]));
            for (name, job) in jobs(&run) {
                assert!(job.get("concurrency").is_none(), "{case}: job {name}");
            }
        }
    }
}
