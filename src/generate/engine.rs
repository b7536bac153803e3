//! The minijinja environment over the embedded `templates/`, and the quoting filters that are
//! the only way a value reaches YAML, shell or Python source.

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

use crate::error::{Error, Result};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

fn filter_error(message: String) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message)
}

/// A YAML double-quoted scalar: a JSON string is one.
fn yaml(value: Value) -> Result<String, minijinja::Error> {
    serde_json::to_string(&value).map_err(|err| filter_error(err.to_string()))
}

/// A Python literal: strings and lists of them through JSON (a JSON string is a valid Python
/// string literal), booleans and `None` spelled as Python spells them.
fn py(value: Value) -> Result<String, minijinja::Error> {
    match value.kind() {
        ValueKind::Bool => Ok(if value.is_true() { "True" } else { "False" }.into()),
        ValueKind::None | ValueKind::Undefined => Ok("None".into()),
        ValueKind::Number | ValueKind::String => yaml(value),
        ValueKind::Seq => {
            let items = value.try_iter()?.map(py).collect::<Result<Vec<_>, _>>()?;
            Ok(format!("[{}]", items.join(", ")))
        }
        ValueKind::Map => {
            let mut items = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                items.push(format!("{}: {}", py(key)?, py(item)?));
            }
            Ok(format!("{{{}}}", items.join(", ")))
        }
        other => Err(filter_error(format!("no Python literal for a {other}"))),
    }
}

/// Text placed inside a double-quoted Python string literal: the literal's body, unquoted.
fn in_py_str(text: &str) -> Result<String, minijinja::Error> {
    let literal = serde_json::to_string(text).map_err(|err| filter_error(err.to_string()))?;
    Ok(literal[1..literal.len() - 1].to_string())
}

/// A string literal inside a GitHub `${{ }}` expression.
pub fn gh_str(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // `<{ }>`, `<% %>` and `<# #>` leave GitHub's `${{ }}` and shell's `${#x}` literal.
    env.set_syntax(
        SyntaxConfig::builder()
            .block_delimiters("<%", "%>")
            .variable_delimiters("<{", "}>")
            .comment_delimiters("<#", "#>")
            .build()
            .expect("the template delimiters are valid"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_loader(|name| {
        Ok(TEMPLATES
            .get_file(name)
            .and_then(|file| file.contents_utf8())
            .map(str::to_string))
    });
    env.add_filter("yaml", yaml);
    env.add_filter("py", py);
    // One POSIX shell word: bare when nothing in it is special to a shell, else single-quoted.
    env.add_filter("sh", |word: String| crate::args::quote(&word));
    env.add_filter("in_py_str", |text: String| in_py_str(&text));
    env.add_filter("gh_str", |text: String| gh_str(&text));
    env
}

/// Renders the template `id` with `context`; a failure is a bug in gpu-ci.
pub fn render(env: &Environment<'_>, id: &str, context: &serde_json::Value) -> Result<String> {
    env.get_template(id)
        .and_then(|template| template.render(Value::from_serialize(context)))
        .map_err(|err| Error::internal(format!("cannot render `{id}`: {err:#}")))
}

/// Every embedded template's id.
pub fn template_ids() -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![&TEMPLATES];
    while let Some(dir) = stack.pop() {
        for file in dir.files() {
            names.push(file.path().to_string_lossy().replace('\\', "/"));
        }
        stack.extend(dir.dirs());
    }
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_loads() {
        let env = environment();
        for id in template_ids() {
            env.get_template(&id)
                .unwrap_or_else(|err| panic!("{id}: {err:#}"));
        }
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        let sh = crate::args::quote;
        assert_eq!(sh("requirements/test.txt"), "requirements/test.txt");
        assert_eq!(sh("requirements test.txt"), "'requirements test.txt'");
        assert_eq!(sh("te st;echo hi"), "'te st;echo hi'");
        assert_eq!(sh("it's"), r#"'it'"'"'s'"#);
        assert_eq!(sh(""), "''");
    }

    #[test]
    fn python_literals_and_string_bodies() {
        let list = Value::from_serialize(["a", "b\"c"]);
        assert_eq!(py(list).unwrap(), r#"["a", "b\"c"]"#);
        assert_eq!(py(Value::from(true)).unwrap(), "True");
        let map = Value::from_serialize(std::collections::BTreeMap::from([("A", "x\"y")]));
        assert_eq!(py(map).unwrap(), r#"{"A": "x\"y"}"#);
        assert_eq!(in_py_str("a\"b\\c\n").unwrap(), r#"a\"b\\c\n"#);
    }

    #[test]
    fn expression_strings_double_their_quotes() {
        assert_eq!(gh_str("it's"), "'it''s'");
    }
}
