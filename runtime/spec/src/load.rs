//! Reading a pipeline document from text: TOML (pipeline files) or JSON (API bodies, or
//! `.json` files), both into one JSON value tree that [`crate::parse`] then reads.
//!
//! Before the tree is read, `--set key.path=value` overrides are applied
//! (`stage.0.config.scale=2`, `sink.path=out.csv`) and string values that contain
//! `${env:NAME}` take that environment variable: nothing from the environment enters a
//! pipeline unless the document asks for it there. Values taken from the environment are
//! replaced by `***` in every problem. Problems of a TOML file carry the line of the field
//! they are about.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::document::{Context, Read, read};
use crate::problem::{Problem, Problems};

/// The syntax of a pipeline document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// TOML (pipeline files).
    Toml,
    /// JSON (API bodies; `.json` pipeline files).
    Json,
}

impl Syntax {
    /// The syntax of a file, from its extension (`.json` is JSON, anything else TOML).
    pub fn of_path(path: &Path) -> Syntax {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Syntax::Json,
            _ => Syntax::Toml,
        }
    }
}

/// A pipeline read from a file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The pipeline, and the problems found in it that did not stop it from being read
    /// (see [`Read`]: it must not run while there are any).
    pub read: Read,
    /// The directory its relative paths start from (the file's own).
    pub base: PathBuf,
    /// What problems are about: `pipeline file <path>`.
    pub subject: String,
}

/// Read the pipeline file at `path`, apply `sets` and `${env:NAME}` values, and read it.
///
/// # Errors
/// The file cannot be read, does not parse, or has problems: every one, with its field.
pub fn load_file(path: &Path, sets: &[String], context: Context) -> Result<Loaded, Problems> {
    let subject = format!("pipeline file {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems::one(
            subject.clone(),
            Problem::new("", format!("cannot read it: {e}")),
        )
    })?;
    let read = load_text(&text, Syntax::of_path(path), sets, context)
        .map_err(|problems| Problems::new(subject.clone(), problems))?;
    Ok(Loaded {
        read,
        base: path.parent().unwrap_or(Path::new(".")).to_owned(),
        subject,
    })
}

/// Read a pipeline from text in `syntax`, with overrides.
///
/// # Errors
/// Every problem found when the pipeline cannot be read at all, each with its field (and,
/// for TOML, its line). Problems that did not stop it from being read are in the [`Read`].
pub fn load_text(
    text: &str,
    syntax: Syntax,
    sets: &[String],
    context: Context,
) -> Result<Read, Vec<Problem>> {
    let mut value = to_value(text, syntax)?;
    for set in sets {
        apply_set(&mut value, set)
            .map_err(|m| vec![Problem::new("", format!("--set {set}: {m}"))])?;
    }
    let mut secrets = Vec::new();
    substitute_env(&mut value, &mut Vec::new(), &mut secrets)?;
    let annotate = |problems: &mut Vec<Problem>| {
        for p in problems {
            for s in secrets.iter().filter(|s| !s.is_empty()) {
                p.message = p.message.replace(s.as_str(), "***");
            }
            if syntax == Syntax::Toml && sets.is_empty() {
                p.line = line_of(text, &p.field);
            }
        }
    };
    match read(&value, context) {
        Ok(mut r) => {
            annotate(&mut r.problems);
            Ok(r)
        }
        Err(mut problems) => {
            annotate(&mut problems);
            Err(problems)
        }
    }
}

/// The value tree of a document with `sets` applied and `${env:NAME}` values left as
/// written: what a distributed run sends its workers, which fill them from their own
/// environment (no secret travels in a task).
///
/// # Errors
/// A syntax error; a `--set` that does not apply.
pub fn raw_value(text: &str, syntax: Syntax, sets: &[String]) -> Result<Value, Vec<Problem>> {
    let mut value = to_value(text, syntax)?;
    for set in sets {
        apply_set(&mut value, set)
            .map_err(|m| vec![Problem::new("", format!("--set {set}: {m}"))])?;
    }
    Ok(value)
}

/// The value tree of a document.
///
/// # Errors
/// A syntax error (with its line and column, as the parser reports them).
pub fn to_value(text: &str, syntax: Syntax) -> Result<Value, Vec<Problem>> {
    match syntax {
        Syntax::Json => serde_json::from_str(text).map_err(|e| {
            vec![Problem::new(
                "",
                format!(
                    "not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )]
        }),
        Syntax::Toml => {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| vec![Problem::new("", format!("not valid TOML: {e}"))])?;
            toml_to_json(toml::Value::Table(table), &mut Vec::new())
        }
    }
}

/// TOML → JSON: datetimes become strings (RFC 3339, as written), every other value keeps
/// its meaning. Floats JSON cannot hold (NaN, infinities) are problems.
fn toml_to_json(value: toml::Value, path: &mut Vec<String>) -> Result<Value, Vec<Problem>> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| {
                vec![Problem::new(
                    path.join("."),
                    format!("{f} is not a number a pipeline can hold"),
                )]
            })?,
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.push(i.to_string());
                out.push(toml_to_json(item, path)?);
                path.pop();
            }
            Value::Array(out)
        }
        toml::Value::Table(t) => {
            let mut out = Map::new();
            for (k, v) in t {
                path.push(k.clone());
                out.insert(k, toml_to_json(v, path)?);
                path.pop();
            }
            Value::Object(out)
        }
    })
}

/// The 1-based line of `field` (dotted path) in TOML `text`, or of the nearest enclosing
/// field that is written there.
pub fn line_of(text: &str, field: &str) -> Option<usize> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table = Some(doc.get_ref());
    let mut value: Option<&toml::de::DeValue<'_>> = None;
    for key in field.split('.').filter(|k| !k.is_empty()) {
        let next = match (table, value) {
            (Some(t), _) => t
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key)
                .map(|(k, v)| (k.span(), v)),
            (None, Some(toml::de::DeValue::Array(items))) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((at, v)) = next else { break };
        span = Some(at);
        match v.get_ref() {
            toml::de::DeValue::Table(t) => {
                table = Some(t);
                value = None;
            }
            other => {
                table = None;
                value = Some(other);
            }
        }
    }
    let start = span?.start;
    Some(text[..start.min(text.len())].matches('\n').count() + 1)
}

/// Set `path=value` in `doc`: dots separate keys, numbers index arrays (`stage.0.name`).
/// The value is TOML (`2`, `true`, `"text"`, `[1, 2]`); anything else is a bare string.
fn apply_set(doc: &mut Value, set: &str) -> Result<(), String> {
    let (path, raw) = set
        .split_once('=')
        .ok_or("expected PATH=VALUE, e.g. stage.0.config.scale=2")?;
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let value = toml_to_json(value, &mut Vec::new()).map_err(|p| {
        p.into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err("empty key in the path".into());
    }
    let mut node = doc;
    let mut at = String::new();
    let (last, parents) = keys.split_last().ok_or("empty path")?;
    for key in parents {
        at = if at.is_empty() {
            (*key).to_owned()
        } else {
            format!("{at}.{key}")
        };
        node = match node {
            Value::Object(map) => map
                .entry((*key).to_owned())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => {
                let len = items.len();
                let n: usize = key
                    .parse()
                    .map_err(|_| format!("`{at}`: an array is indexed by number, not `{key}`"))?;
                items
                    .get_mut(n)
                    .ok_or_else(|| format!("there is no `{at}` ({len} entries)"))?
            }
            _ => return Err(format!("`{at}` is not a table")),
        };
    }
    match node {
        Value::Object(map) => {
            map.insert((*last).to_owned(), value);
        }
        Value::Array(items) => {
            let len = items.len();
            let n: usize = last
                .parse()
                .map_err(|_| format!("`{path}`: an array is indexed by number, not `{last}`"))?;
            let slot = items
                .get_mut(n)
                .ok_or_else(|| format!("there is no `{path}` ({len} entries)"))?;
            *slot = value;
        }
        _ => return Err(format!("`{at}` is not a table")),
    }
    Ok(())
}

/// Replace `${env:NAME}` in every string of `value`; remember the values taken.
fn substitute_env(
    value: &mut Value,
    path: &mut Vec<String>,
    taken: &mut Vec<String>,
) -> Result<(), Vec<Problem>> {
    match value {
        Value::String(s) => {
            while let Some(start) = s.find("${env:") {
                let end = s[start..]
                    .find('}')
                    .map(|e| start + e)
                    .ok_or_else(|| vec![Problem::new(path.join("."), "unclosed ${env:")])?;
                let name = &s[start + 6..end];
                let v = std::env::var(name).map_err(|e| {
                    vec![Problem::new(
                        path.join("."),
                        format!(
                            "asks for the environment variable {name}: {e}; set it or change \
                             the value"
                        ),
                    )]
                })?;
                taken.push(v.clone());
                s.replace_range(start..=end, &v);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                substitute_env(item, path, taken)?;
                path.pop();
            }
            Ok(())
        }
        Value::Object(t) => {
            for (k, v) in t.iter_mut() {
                path.push(k.clone());
                substitute_env(v, path, taken)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[source]
path = "in.csv"

[[stage]]
plugin = "map"

[[stage]]
plugin = "filter"
on_error = "explode"

[sink]
path = "out.csv"
colour = "red"
"#;

    #[test]
    fn toml_problems_carry_their_lines() {
        let problems = load_text(TOML, Syntax::Toml, &[], Context::Cli).unwrap_err();
        let got: Vec<(&str, Option<usize>)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [("stage.1.on_error", Some(10)), ("sink.colour", Some(14))]
        );
    }

    #[test]
    fn the_same_document_in_json_has_the_same_problems() {
        let json = r#"{"source": {"path": "in.csv"},
            "stage": [{"plugin": "map"}, {"plugin": "filter", "on_error": "explode"}],
            "sink": {"path": "out.csv", "colour": "red"}}"#;
        let strip = |ps: Vec<Problem>| {
            ps.into_iter()
                .map(|p| (p.field, p.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(load_text(TOML, Syntax::Toml, &[], Context::Cli).unwrap_err()),
            strip(load_text(json, Syntax::Json, &[], Context::Cli).unwrap_err())
        );
    }

    #[test]
    fn sets_override_values_and_index_arrays() {
        let sets = [
            "stage.1.on_error=skip".to_owned(),
            "sink.path=elsewhere.csv".to_owned(),
        ];
        let text = TOML.replace("colour = \"red\"\n", "");
        let p = load_text(&text, Syntax::Toml, &sets, Context::Cli)
            .unwrap()
            .pipeline;
        assert_eq!(p.sink.io().unwrap().path, "elsewhere.csv");
        assert_eq!(p.stages[1].on_error, quiver_pipeline::ErrorPolicy::Skip);
        let err = load_text(
            &text,
            Syntax::Toml,
            &["stage.5.name=x".into()],
            Context::Cli,
        )
        .unwrap_err();
        assert!(err[0].message.contains("there is no `stage.5`"), "{err:?}");
    }
}
