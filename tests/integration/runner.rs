//! The generated Modal runner: it compiles, passes ruff, and imports under the real `modal` client.

use std::process::Command;

use crate::common::{FIXTURES, Project, describe, python, tool};

#[test]
fn runner_compiles_lints_and_imports_under_modal() {
    for fixture in FIXTURES {
        for options in [&[][..], &["--fork-prs", "--gpu", "H100,A100-80GB"][..]] {
            let project = Project::fixture(fixture);
            let mut args = vec!["init", "--yes"];
            args.extend_from_slice(options);
            project.gpu_ci(&args).success();
            let runner = project.path(".modal/test_runner.py");

            let compile = Command::new(python())
                .args(["-m", "py_compile"])
                .arg(&runner)
                .output()
                .unwrap();
            assert!(
                compile.status.success(),
                "{fixture}: {}",
                describe(&compile)
            );

            let ruff = Command::new(tool("ruff"))
                .args(["check", "--no-cache", "--isolated", "--line-length", "120"])
                .arg(&runner)
                .output()
                .unwrap();
            assert!(ruff.status.success(), "{fixture}: {}", describe(&ruff));

            // Importing builds the app and its image definition, as `modal run` does first.
            let import = Command::new(python())
                .current_dir(&project.root)
                .args([
                    "-c",
                    "import runpy; ns = runpy.run_path('.modal/test_runner.py'); \
                     print(type(ns['app']).__name__, type(ns['run_tests']).__name__)",
                ])
                .output()
                .unwrap();
            assert!(import.status.success(), "{fixture}: {}", describe(&import));
            assert_eq!(
                String::from_utf8_lossy(&import.stdout).trim(),
                "App Function"
            );
        }
    }
}
