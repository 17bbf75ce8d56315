//! The pipeline file: its types, how it is read, and its JSON Schema (`quiver schema`).
//!
//! A pipeline file is TOML. Before it is interpreted, `--set key.path=value` overrides are
//! applied (`stage.0.config.scale=2`, `sink.path="out.csv"`) and string values that contain
//! `${env:NAME}` take that environment variable: nothing from the environment enters a
//! pipeline unless the file asks for it there. Values taken from the environment are
//! replaced by `***` in every message. Errors name the key path (and, when the file is read
//! as written, the line).

use std::path::{Path, PathBuf};

use anyhow::Result;
use quiver_host::{Grants, Limits};
use quiver_io::{SinkSpec, SourceSpec};
use quiver_pipeline::ErrorPolicy;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::exit::Coded;

/// Flags that change the pipeline file as it is read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SpecArgs {
    /// Override a value of the pipeline file: `--set stage.0.config.scale=2`,
    /// `--set sink.path='"out.csv"'` (the value is TOML; a bare word is a string).
    #[arg(
        long = "set",
        value_name = "PATH=VALUE",
        env = "QUIVER_SET",
        value_delimiter = ';'
    )]
    sets: Vec<String>,
}

/// A pipeline file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipelineSpec {
    /// Where the batches come from: a path relative to the pipeline file, a URL
    /// (`file://`, `s3://`, `gs://`, `az://`, `memory://`), a glob over many objects, or `-`
    /// for stdin; with its format and reading options.
    pub(crate) source: SourceSpec,
    /// Plugin stages, in order.
    #[serde(default, rename = "stage")]
    pub(crate) stages: Vec<StageSpec>,
    /// Where the batches go: one file, a directory of parts (path ending in `/`, or
    /// `max_rows_per_file`), or `-` for stdout; written atomically, committed only when the
    /// whole run succeeded.
    pub(crate) sink: SinkSpec,
    /// Where the rows of batches that `on_error = "dead-letter"` stages failed on go, one
    /// output row per failed row with its error context (any format; see the README).
    pub(crate) dead_letter: Option<SinkSpec>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageSpec {
    /// Stage name, for reports (defaults to the plugin's name).
    pub(crate) name: Option<String>,
    /// Plugin component, relative to the pipeline file.
    pub(crate) plugin: PathBuf,
    /// The plugin's config (any TOML table; passed to the plugin as JSON).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub(crate) config: Option<toml::Table>,
    /// Resource limits of the stage (defaults: see `quiver_host::Limits`).
    #[serde(default)]
    pub(crate) limits: Limits,
    /// Capabilities granted to the stage (default: none). Directory paths are relative to
    /// the pipeline file.
    #[serde(default)]
    pub(crate) grants: Grants,
    /// Plugin instances side by side (order is kept); only for stateless plugins.
    #[serde(default = "one")]
    pub(crate) parallelism: usize,
    /// `fail` (default), `skip` or `dead-letter`.
    #[serde(default)]
    pub(crate) on_error: ErrorPolicy,
    /// Re-cut incoming batches to this many rows.
    pub(crate) batch_rows: Option<usize>,
}

fn one() -> usize {
    1
}

/// The JSON Schema of the pipeline file, generated from the types above.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PipelineSpec)).unwrap_or_default()
}

/// Read a pipeline file, apply `args`' overrides and `${env:NAME}` values, and parse it;
/// also the directory its relative paths start from.
pub(crate) fn load_spec(path: &Path, args: &SpecArgs) -> Result<(PipelineSpec, PathBuf)> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Coded::config(format!("cannot read pipeline file {shown}: {e}")))?;
    let base = path.parent().unwrap_or(Path::new(".")).to_owned();
    if args.sets.is_empty() && !text.contains("${env:") {
        // As written: toml's errors carry the line, the column and the key.
        let spec = toml::from_str(&text)
            .map_err(|e| Coded::config(format!("pipeline file {shown}: {e}")))?;
        return Ok((spec, base));
    }
    let mut doc: toml::Table =
        toml::from_str(&text).map_err(|e| Coded::config(format!("pipeline file {shown}: {e}")))?;
    for set in &args.sets {
        apply_set(&mut doc, set).map_err(|m| Coded::config(format!("--set {set}: {m}")))?;
    }
    let mut secrets = Vec::new();
    let mut value = toml::Value::Table(doc);
    substitute_env(&mut value, &mut Vec::new(), &mut secrets)
        .map_err(|m| Coded::config(format!("pipeline file {shown}: {m}")))?;
    let spec: PipelineSpec = serde_path_to_error::deserialize(value).map_err(|e| {
        let mut message = format!("pipeline file {shown}: at `{}`: {}", e.path(), e.inner());
        for s in &secrets {
            if !s.is_empty() {
                message = message.replace(s.as_str(), "***");
            }
        }
        Coded::config(message)
    })?;
    Ok((spec, base))
}

/// Set `path=value` in `doc`: dots separate keys, numbers index arrays (`stage.0.name`).
fn apply_set(doc: &mut toml::Table, set: &str) -> Result<(), String> {
    let (path, raw) = set
        .split_once('=')
        .ok_or("expected PATH=VALUE, e.g. stage.0.config.scale=2")?;
    // The value is TOML (`2`, `true`, `"text"`, `[1, 2]`); anything else is a bare string.
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let keys: Vec<&str> = path.trim().split('.').collect();
    let mut node = doc;
    let mut at = String::new();
    let (last, parents) = keys.split_last().ok_or("empty path")?;
    let mut i = 0;
    while i < parents.len() {
        let key = parents[i];
        at = if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        };
        let mut next = node
            .entry(key.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        // Arrays are indexed by the following key.
        while let toml::Value::Array(items) = next {
            i += 1;
            let index = keys.get(i).copied().unwrap_or_default();
            let n: usize = index.parse().map_err(|_| {
                format!("`{at}` is an array: the next key must be an index, not `{index}`")
            })?;
            let len = items.len();
            at = format!("{at}.{n}");
            if i == parents.len() {
                let slot = items
                    .get_mut(n)
                    .ok_or_else(|| format!("there is no `{at}` ({len} entries)"))?;
                *slot = value;
                return Ok(());
            }
            next = items
                .get_mut(n)
                .ok_or_else(|| format!("there is no `{at}` ({len} entries)"))?;
        }
        node = next
            .as_table_mut()
            .ok_or_else(|| format!("`{at}` is not a table"))?;
        i += 1;
    }
    node.insert((*last).to_owned(), value);
    Ok(())
}

/// Replace `${env:NAME}` in every string of `value`; remember the values taken.
fn substitute_env(
    value: &mut toml::Value,
    path: &mut Vec<String>,
    taken: &mut Vec<String>,
) -> Result<(), String> {
    match value {
        toml::Value::String(s) => {
            while let Some(start) = s.find("${env:") {
                let end = s[start..]
                    .find('}')
                    .map(|e| start + e)
                    .ok_or_else(|| format!("`{}`: unclosed ${{env:", path.join(".")))?;
                let name = &s[start + 6..end];
                let v = std::env::var(name).map_err(|e| {
                    format!(
                        "`{}` asks for the environment variable {name}: {e}; set it or change \
                         the value",
                        path.join(".")
                    )
                })?;
                taken.push(v.clone());
                s.replace_range(start..=end, &v);
            }
            Ok(())
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                substitute_env(item, path, taken)?;
                path.pop();
            }
            Ok(())
        }
        toml::Value::Table(t) => {
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
