//! What a pipeline check returns over the API. Pipeline documents are `quiver-spec`'s
//! (the same types and the same field paths as pipeline files, read with
//! [`quiver_spec::Context::Server`]: no stdin/stdout, no plugin files) and are checked by
//! `quiver-job` exactly as `quiver validate` checks a file: plugins resolved and loaded, the
//! source's schema read, transformers created, schemas negotiated through every stage.

use serde::Serialize;
use utoipa::ToSchema;

/// What a check found: the plugin versions the stages resolve to and the schema after
/// every stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Checked {
    /// Per stage, in order: its name, plugin version and output columns.
    pub stages: Vec<CheckedStage>,
    /// The source's columns.
    pub source_columns: Vec<String>,
}

/// One stage as the check resolved it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckedStage {
    /// Stage name.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// The version the stage resolves to now.
    pub version: String,
    /// sha256 of that version.
    pub sha256: String,
    /// Where the plugin comes from (`catalogue`, `first-party (built in)`, or a plugin-path
    /// file).
    pub origin: String,
    /// `name: type` of each output column.
    pub output: Vec<String>,
}

impl Checked {
    /// The API's view of `quiver-job`'s check.
    pub fn new(checked: &quiver_job::Checked) -> Self {
        Checked {
            stages: checked
                .stages
                .iter()
                .map(|s| CheckedStage {
                    name: s.name.clone(),
                    plugin: s.plugin.name.clone(),
                    version: s.plugin.version.clone(),
                    sha256: s.plugin.sha256.clone(),
                    origin: s.origin.to_string(),
                    output: columns(&s.output),
                })
                .collect(),
            source_columns: columns(&checked.source_schema),
        }
    }
}

/// `name: type` for each column.
pub fn columns(schema: &arrow_schema::Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let null = if f.is_nullable() { "" } else { " not null" };
            format!("{}: {}{null}", f.name(), f.data_type())
        })
        .collect()
}

/// Read a stored or posted pipeline document the server's way (the problems that did not
/// stop it from being read are in the [`quiver_spec::Read`], for the check to report).
///
/// # Errors
/// Every problem, each with its field, when it cannot be read at all.
pub fn parse(doc: &serde_json::Value) -> Result<quiver_spec::Read, Vec<quiver_spec::Problem>> {
    quiver_spec::read(doc, quiver_spec::Context::Server)
}
