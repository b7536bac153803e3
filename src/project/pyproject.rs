//! The parts of `pyproject.toml` that decide how tests are installed and run.

use toml_edit::{DocumentMut, Item, TomlError};

use super::requirements::normalise;
use crate::error::{Error, Result};

/// The pytest settings gpu-ci reads, as pyproject.toml writes them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PytestOptions {
    pub testpaths: Vec<String>,
    pub python_files: Vec<String>,
    /// Marker lines, as `gpu: needs a GPU`.
    pub markers: Vec<String>,
    /// `addopts`, a string or a list of strings, joined with spaces.
    pub addopts: String,
    /// `required_plugins`: distributions pytest refuses to start without, as `pytest-xdist>=3`.
    pub required_plugins: Vec<String>,
}

#[derive(Debug, Default)]
pub struct PyProject {
    pub name: Option<String>,
    pub has_project_table: bool,
    /// `[project] dynamic`: the fields the build backend (setup.py, setup.cfg) fills in.
    pub dynamic: Vec<String>,
    pub requires_python: Option<String>,
    /// PEP 735 `[dependency-groups]` names.
    pub dependency_groups: Vec<String>,
    /// `[project.optional-dependencies]` names.
    pub extras: Vec<String>,
    /// `[tool.poetry.group.<name>]` names.
    pub poetry_groups: Vec<String>,
    pub poetry_python: Option<String>,
    /// `[tool.pytest.ini_options]`, when the table is there.
    pub pytest: Option<PytestOptions>,
    /// `[build-system]` is declared.
    pub has_build_system: bool,
    /// Every distribution the file names anywhere, normalised.
    pub dependency_names: Vec<String>,
    /// The names each dependency table lists: `project`, `extra:NAME`, `group:NAME`, `poetry`,
    /// `poetry-group:NAME`; to tell whether the chosen install brings the GPU framework.
    pub tables: Vec<(String, Vec<String>)>,
    /// The requirements each of `tables` lists as written (PEP 508, markers kept); Poetry's
    /// tables: the names of those without a condition (`python`, `markers`, `optional`), since
    /// a check of what is installed must never count a conditional one as missing.
    pub requirements: Vec<(String, Vec<String>)>,
    /// `[build-system] requires`, as written.
    pub build_requires: Vec<String>,
    /// `[build-system] build-backend`.
    pub build_backend: Option<String>,
}

/// The error for a TOML file that does not parse, with its line and column.
pub fn syntax_error(file: &str, text: &str, err: &TomlError) -> Error {
    let offset = err.span().map_or(0, |span| span.start);
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    let reason = err
        .message()
        .lines()
        .next()
        .unwrap_or("invalid TOML")
        .trim()
        .to_string();
    Error::Toml {
        file: file.to_string(),
        line,
        column,
        reason,
    }
}

fn strings(item: Option<&Item>) -> Vec<String> {
    match item {
        Some(Item::Value(value)) => match value.as_array() {
            Some(array) => array
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            None => value
                .as_str()
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
        },
        _ => Vec::new(),
    }
}

fn keys(item: Option<&Item>) -> Vec<String> {
    item.and_then(Item::as_table_like)
        .map(|table| table.iter().map(|(key, _)| key.to_string()).collect())
        .unwrap_or_default()
}

/// The names of a Poetry dependency table whose entries hold no condition: a version string,
/// or a table without `python`, `markers`, `platform` or `optional` (never `python` itself).
fn unconditional(item: Option<&Item>) -> Vec<String> {
    let Some(table) = item.and_then(Item::as_table_like) else {
        return Vec::new();
    };
    table
        .iter()
        .filter(|(name, _)| *name != "python")
        .filter(|(_, value)| match value.as_table_like() {
            Some(spec) => ["python", "markers", "platform", "optional"]
                .iter()
                .all(|key| spec.get(key).is_none()),
            // A list holds several conditional specs.
            None => value.as_str().is_some(),
        })
        .map(|(name, _)| name.to_string())
        .collect()
}

fn requirement_name(spec: &str) -> Option<String> {
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    (!name.is_empty()).then(|| normalise(name))
}

impl PyProject {
    pub fn parse(text: &str) -> Result<PyProject> {
        let doc: DocumentMut = text
            .parse()
            .map_err(|err| syntax_error("pyproject.toml", text, &err))?;
        let project = doc.get("project");
        let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
        let poetry_deps = poetry.and_then(|p| p.get("dependencies"));

        let specs = |item: Option<&Item>| -> Vec<String> {
            strings(item)
                .iter()
                .filter_map(|spec| requirement_name(spec))
                .collect()
        };
        let dependencies = project.and_then(|p| p.get("dependencies"));
        let mut tables: Vec<(String, Vec<String>)> = vec![("project".into(), specs(dependencies))];
        let mut requirements: Vec<(String, Vec<String>)> =
            vec![("project".into(), strings(dependencies))];
        let optional = project.and_then(|p| p.get("optional-dependencies"));
        let groups = doc.get("dependency-groups");
        for (prefix, table) in [("extra", optional), ("group", groups)] {
            if let Some(table) = table.and_then(Item::as_table_like) {
                for (name, list) in table.iter() {
                    tables.push((format!("{prefix}:{name}"), specs(Some(list))));
                    requirements.push((format!("{prefix}:{name}"), strings(Some(list))));
                }
            }
        }
        let poetry_group_table = poetry.and_then(|p| p.get("group"));
        tables.push((
            "poetry".into(),
            keys(poetry_deps).iter().map(|k| normalise(k)).collect(),
        ));
        requirements.push(("poetry".into(), unconditional(poetry_deps)));
        for group in keys(poetry_group_table) {
            let deps = poetry_group_table
                .and_then(|t| t.get(&group))
                .and_then(|g| g.get("dependencies"));
            tables.push((
                format!("poetry-group:{group}"),
                keys(deps).iter().map(|k| normalise(k)).collect(),
            ));
            requirements.push((format!("poetry-group:{group}"), unconditional(deps)));
        }
        let mut names: Vec<String> = tables.iter().flat_map(|(_, n)| n.clone()).collect();
        names.retain(|name| name != "python");
        let build_system = doc.get("build-system");

        let pytest = doc
            .get("tool")
            .and_then(|t| t.get("pytest"))
            .and_then(|p| p.get("ini_options"))
            .filter(|o| o.is_table_like())
            .map(|options| {
                // pytest splits string values of list settings on whitespace.
                let list = |key: &str| {
                    let items = strings(options.get(key));
                    if matches!(options.get(key), Some(Item::Value(v)) if v.is_str()) {
                        items
                            .iter()
                            .flat_map(|s| s.split_whitespace().map(str::to_string))
                            .collect()
                    } else {
                        items
                    }
                };
                PytestOptions {
                    testpaths: list("testpaths"),
                    python_files: list("python_files"),
                    markers: strings(options.get("markers")),
                    addopts: strings(options.get("addopts")).join(" "),
                    required_plugins: list("required_plugins"),
                }
            });

        Ok(PyProject {
            name: project
                .and_then(|p| p.get("name"))
                .and_then(Item::as_str)
                .map(str::to_string),
            has_project_table: project.is_some_and(Item::is_table_like),
            dynamic: strings(project.and_then(|p| p.get("dynamic"))),
            requires_python: project
                .and_then(|p| p.get("requires-python"))
                .and_then(Item::as_str)
                .map(str::to_string),
            dependency_groups: keys(groups),
            extras: keys(optional),
            poetry_groups: keys(poetry_group_table),
            poetry_python: poetry_deps
                .and_then(|d| d.get("python"))
                .and_then(Item::as_str)
                .map(str::to_string),
            pytest,
            has_build_system: build_system.is_some_and(Item::is_table_like),
            build_requires: strings(build_system.and_then(|b| b.get("requires"))),
            build_backend: build_system
                .and_then(|b| b.get("build-backend"))
                .and_then(Item::as_str)
                .map(str::to_string),
            dependency_names: names,
            tables,
            requirements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups_extras_and_poetry() {
        let py = PyProject::parse(
            r#"
[project]
name = "demo"
requires-python = ">=3.10"
dependencies = ["torch>=2", "numpy"]
[project.optional-dependencies]
test = ["pytest"]
[dependency-groups]
dev = ["ruff", {include-group = "test"}]
[tool.poetry.group.tests.dependencies]
cupy-cuda12x = "^13"
"#,
        )
        .unwrap();
        assert_eq!(py.extras, ["test"]);
        assert_eq!(py.dependency_groups, ["dev"]);
        assert_eq!(py.poetry_groups, ["tests"]);
        assert!(py.dependency_names.contains(&"torch".to_string()));
        assert!(py.dependency_names.contains(&"cupy-cuda12x".to_string()));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let text = "[project]\nname = \"x\"\nversion = = 1\n";
        let err = PyProject::parse(text).unwrap_err();
        assert!(err.to_string().contains("line 3, column 11"), "{err}");
    }
}
