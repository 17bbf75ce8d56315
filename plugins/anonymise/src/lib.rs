//! `anonymise`: pseudonymises, masks, drops and coarsens personal data, per column.
//!
//! Per column, a `method`:
//! - `hash`: HMAC-SHA256 under a secret key read from `key_file` (a file in a directory
//!   granted to the stage, never the config), written as hex or base64url (`hash.rs`);
//! - `mask`: all but the last `keep_last` characters replaced by `mask_char`;
//! - `drop`: the column is removed;
//! - `generalise`: dates and timestamps to their `month` or `year`, numbers to the lower
//!   bound of a bucket of `width`, text to a `prefix` of N characters (`generalise.rs`).
//!
//! Which keys a method takes, and which column types it fits, is checked at creation; the
//! key file is read then too, once per stream, so a missing grant is a config error before
//! any data flows. Nothing the plugin logs or returns contains the key.
//!
//! Only the hashed, masked and generalised columns enter the plugin and come back as new
//! arrays (contract 0.2); every column not listed goes back by reference, and a dropped
//! column is simply left out of the output: it never crosses. Text and binary columns are
//! hashed by the host's `hmac-sha256` kernel, which reads the same key file under the same
//! rule (its bytes without trailing whitespace, read once per instance) and so gives the
//! same tokens without the column entering the plugin; other types are hashed here, as the
//! text arrow prints for them, which the host kernel does not take.

mod generalise;
mod hash;

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

use generalise::Period;
use hash::{Encoding, Key};

#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum MethodName {
    Hash,
    Mask,
    Drop,
    Generalise,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnConfig {
    column: String,
    method: MethodName,
    /// hash: hex (default) or base64url.
    encoding: Option<Encoding>,
    /// mask: characters kept at the end (default 4).
    keep_last: Option<usize>,
    /// mask: the replacement character (default `*`).
    mask_char: Option<String>,
    /// generalise (dates, timestamps): month or year.
    to: Option<Period>,
    /// generalise (numbers): bucket width.
    width: Option<f64>,
    /// generalise (text): characters kept at the start.
    prefix: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Path of the key file inside the sandbox, e.g. `/keys/anon.key`.
    key_file: Option<String>,
    columns: Vec<ColumnConfig>,
}

/// What happens to one column.
enum Method {
    Hash(Encoding),
    Mask { keep_last: usize, mask: char },
    Drop,
    Period(Period),
    Bucket(f64),
    Prefix(usize),
}

struct Step {
    /// Index of the column in the input.
    index: usize,
    method: Method,
}

struct Anonymise {
    schema: SchemaRef,
    /// One entry per input column: `Some(step)` for configured ones, in input order.
    steps: Vec<Option<Step>>,
    /// Input indices of the dropped columns, highest first (so removing one does not move
    /// the next).
    dropped: Vec<usize>,
    /// The key, when some column is hashed, and the path it was read from (the host's
    /// kernel reads the same file).
    key: Option<(Key, String)>,
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8)
}

fn is_number(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

/// Build the method of column entry `i` for a column of type `t`.
fn method(i: usize, c: &ColumnConfig, t: &DataType) -> Result<Method, Error> {
    let key = |k: &str| format!("columns[{i}].{k}");
    let given = [
        ("encoding", c.encoding.is_some()),
        ("keep_last", c.keep_last.is_some()),
        ("mask_char", c.mask_char.is_some()),
        ("to", c.to.is_some()),
        ("width", c.width.is_some()),
        ("prefix", c.prefix.is_some()),
    ];
    let takes: &[&str] = match c.method {
        MethodName::Hash => &["encoding"],
        MethodName::Mask => &["keep_last", "mask_char"],
        MethodName::Drop => &[],
        MethodName::Generalise => &["to", "width", "prefix"],
    };
    for (k, present) in given {
        if present && !takes.contains(&k) {
            return Err(Error::config(
                key(k),
                format!("`{k}` does not apply to method {:?}; remove it", c.method).to_lowercase(),
            ));
        }
    }
    let name = &c.column;
    Ok(match c.method {
        MethodName::Hash => Method::Hash(c.encoding.unwrap_or_default()),
        MethodName::Drop => Method::Drop,
        MethodName::Mask => {
            if !is_text(t) {
                return Err(Error::config(
                    key("column"),
                    format!(
                        "column `{name}` has type {t}; mask works on text columns (cast it to \
                         utf8 first with the shape plugin)"
                    ),
                ));
            }
            let mask = match c.mask_char.as_deref() {
                None => '*',
                Some(s) => {
                    let mut chars = s.chars();
                    match (chars.next(), chars.next()) {
                        (Some(ch), None) => ch,
                        _ => {
                            return Err(Error::config(
                                key("mask_char"),
                                format!("`{s}` is not a single character"),
                            ));
                        }
                    }
                }
            };
            Method::Mask {
                keep_last: c.keep_last.unwrap_or(4),
                mask,
            }
        }
        MethodName::Generalise => {
            let wanted = if matches!(
                t,
                DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
            ) {
                "to"
            } else if is_number(t) {
                "width"
            } else if is_text(t) {
                "prefix"
            } else {
                return Err(Error::config(
                    key("column"),
                    format!(
                        "column `{name}` has type {t}; generalise works on dates, timestamps, \
                         numbers and text"
                    ),
                ));
            };
            for (k, present) in [
                ("to", c.to.is_some()),
                ("width", c.width.is_some()),
                ("prefix", c.prefix.is_some()),
            ] {
                if present && k != wanted {
                    return Err(Error::config(
                        key(k),
                        format!(
                            "column `{name}` has type {t}: generalise it with `{wanted}`, not `{k}`"
                        ),
                    ));
                }
            }
            let missing = || {
                Error::config(
                    key(wanted),
                    format!("generalising column `{name}` (type {t}) needs `{wanted}`"),
                )
            };
            match wanted {
                "to" => Method::Period(c.to.ok_or_else(missing)?),
                "width" => {
                    let w = c.width.ok_or_else(missing)?;
                    if !(w.is_finite() && w > 0.0) {
                        return Err(Error::config(
                            key("width"),
                            format!("{w} is not a positive width"),
                        ));
                    }
                    if t.is_integer() && (w.fract() != 0.0 || w > 9.0e18) {
                        return Err(Error::config(
                            key("width"),
                            format!(
                                "column `{name}` has type {t}; its bucket width must be a whole number, not {w}"
                            ),
                        ));
                    }
                    Method::Bucket(w)
                }
                _ => {
                    let n = c.prefix.ok_or_else(missing)?;
                    if n == 0 {
                        return Err(Error::config(
                            key("prefix"),
                            "a prefix of 0 characters keeps nothing; use method drop instead",
                        ));
                    }
                    Method::Prefix(n)
                }
            }
        }
    })
}

impl Transform for Anonymise {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        if config.columns.is_empty() {
            return Err(Error::config(
                "columns",
                "no column to anonymise; list at least one",
            ));
        }
        let mut steps: Vec<Option<Step>> = (0..input.fields().len()).map(|_| None).collect();
        for (i, c) in config.columns.iter().enumerate() {
            let index = input.index_of(&c.column).map_err(|_| {
                Error::config(
                    format!("columns[{i}].column"),
                    format!("no column `{}` in the input", c.column),
                )
            })?;
            if steps[index].is_some() {
                return Err(Error::config(
                    format!("columns[{i}].column"),
                    format!("column `{}` is listed twice", c.column),
                ));
            }
            let method = method(i, c, input.field(index).data_type())?;
            steps[index] = Some(Step { index, method });
        }
        let hashes = steps
            .iter()
            .flatten()
            .any(|s| matches!(s.method, Method::Hash(_)));
        let key = match (&config.key_file, hashes) {
            (Some(path), true) => Some((
                Key::read(path).map_err(|m| Error::config("key_file", m))?,
                path.clone(),
            )),
            (None, true) => {
                return Err(Error::config(
                    "key_file",
                    "method hash needs key_file, the path of a key file in a granted directory \
                     (e.g. /keys/anon.key); the key never goes in the config",
                ));
            }
            (_, false) => None,
        };
        let mut fields: Vec<Field> = Vec::with_capacity(input.fields().len());
        for (field, step) in input.fields().iter().zip(&steps) {
            match step.as_ref().map(|s| &s.method) {
                Some(Method::Drop) => {}
                Some(Method::Hash(_)) => {
                    fields.push(field.as_ref().clone().with_data_type(DataType::Utf8))
                }
                _ => fields.push(field.as_ref().clone()),
            }
        }
        if fields.is_empty() {
            return Err(Error::config(
                "columns",
                "every column would be dropped; keep at least one",
            ));
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()));
        let dropped = steps
            .iter()
            .flatten()
            .rev()
            .filter(|s| matches!(s.method, Method::Drop))
            .map(|s| s.index)
            .collect();
        Ok(Self {
            schema,
            steps,
            dropped,
            key,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // Every input column by reference; the configured ones replaced, then the dropped
        // ones removed (positions are still the input's until then).
        let mut out = batch.output();
        for step in self.steps.iter().flatten() {
            if let Method::Hash(encoding) = step.method
                && hash::in_host(batch.schema_ref().field(step.index).data_type())
            {
                let (_, path) = self
                    .key
                    .as_ref()
                    .ok_or_else(|| Error::internal("hash without a key"))?;
                let tokens = batch.host(step.index)?.hmac_sha256(path, encoding.wit())?;
                out = out.set_host(step.index, tokens)?;
                continue;
            }
            // A dropped column is never read.
            let column = match step.method {
                Method::Drop => continue,
                _ => batch.try_column(step.index)?,
            };
            let name = batch.schema_ref().field(step.index).name().clone();
            let at = |(row, message): generalise::Failure| {
                Error::data_at(Some(&name), Some(row as u64), message)
            };
            let result = match &step.method {
                Method::Drop => continue,
                Method::Hash(encoding) => {
                    let (key, _) = self
                        .key
                        .as_ref()
                        .ok_or_else(|| Error::internal("hash without a key"))?;
                    hash::hash(column, key, *encoding)?
                }
                Method::Mask { keep_last, mask } => generalise::mask(column, *keep_last, *mask),
                Method::Period(p) => generalise::period(column, *p).map_err(at)?,
                Method::Bucket(w) => generalise::bucket(column, *w).map_err(at)?,
                Method::Prefix(n) => generalise::prefix(column, *n),
            };
            out = out.set(step.index, result)?;
        }
        for &index in &self.dropped {
            out = out.remove(index)?;
        }
        Ok(out)
    }
}

quiver_sdk::export_plugin!(Anonymise);
