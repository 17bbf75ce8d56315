//! The Quiver pipeline document: one set of types for TOML pipeline files and JSON API
//! bodies, read in one pass that reports every problem with its field path.
//!
//! # Tour
//!
//! ```
//! use quiver_spec::{Context, PluginRef, Syntax, load_text};
//!
//! let toml = r#"
//! [source]
//! path = "transactions.csv"
//! [[stage]]
//! plugin = "dedupe"
//! config = { keys = ["id"] }
//! [sink]
//! path = "out/clean.parquet"
//! "#;
//! let read = load_text(toml, Syntax::Toml, &[], Context::Cli).unwrap();
//! assert!(read.problems.is_empty());
//! assert_eq!(read.pipeline.stages[0].plugin, PluginRef::name("dedupe", None));
//!
//! // The same pipeline as JSON reads the same; problems have the same field paths.
//! let bad = r#"{"source": {"path": "in.csv"}, "stage": [{"plugin": "dedupe", "on_error": "boom"}], "sink": {"path": "o.csv"}}"#;
//! let problems = load_text(bad, Syntax::Json, &[], Context::Cli).unwrap_err();
//! assert_eq!(problems[0].field, "stage.0.on_error");
//! ```
//!
//! # Core concepts
//!
//! - [`Pipeline`]: `source` ([`Source`]: quiver-io's `SourceSpec`, or the server's
//!   [`ApiSource`]), `stage`s ([`Stage`]), `sink`, `dead_letter`. Plain data: reading a
//!   document opens nothing and loads no plugin. `quiver-job` builds the running objects.
//! - [`PluginRef`]: a stage's plugin — a file path, a name, or `name@version`.
//! - [`load_file`] / [`load_text`]: text (TOML or JSON) → value tree → `--set` overrides →
//!   `${env:NAME}` values → [`read`], which reads each section on its own and checks what
//!   needs no I/O; a [`Read`] carries the problems that did not stop the pipeline from being
//!   read, for `quiver-job` to report with its own. [`Context`] says what the reader allows (the server has no stdin and
//!   takes no plugin files).
//! - [`Problem`] / [`Problems`]: what is wrong, each with its field (`stage.1.on_error`)
//!   and, in TOML files, its line.
//! - [`json_schema`]: the document's JSON Schema, from the same types.

#![deny(missing_docs)]

mod document;
mod load;
mod plugin_ref;
mod problem;
mod schema;

pub use document::{ApiSource, Context, KEYS, Pipeline, Read, Sink, Source, Stage, parse, read};
pub use load::{Loaded, Syntax, line_of, load_file, load_text, raw_value, to_value};
pub use plugin_ref::{PluginRef, valid_name};
pub use problem::{Problem, Problems};
pub use schema::json_schema;
