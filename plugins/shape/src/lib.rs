//! `shape`: select, drop, rename and reorder columns, and cast them to other types.
//!
//! Every key of the config names columns *as they arrive*: `select` keeps the listed
//! columns in the listed order (reordering them), `drop` removes columns, `rename` gives
//! kept columns new names and `cast` converts kept columns to another type. The whole
//! output schema is worked out at creation, so every mistake in the config (an unknown
//! column, a name clash, a cast arrow cannot do) is a config error naming its key before any
//! data flows.
//!
//! A value that cannot be cast (`"abc"` to `int64`, `300` to `int8`, `2.5` to `int32`) is
//! handled by `on_error`: `fail` (default) stops with a data error naming the column, the
//! row and the value; `null` makes that value null and adds the number of such values to the
//! host counter `cast-nulled`, so no value disappears silently.
//!
//! Under contract 0.2 no column the stage only selects, reorders or renames crosses the
//! boundary: each goes back as a reference to the input column (a rename lives in the
//! declared output schema, not in the data). A cast runs in the host (its `cast` kernel,
//! arrow-cast's safe mode, as here) and its result goes back by handle; the cast column
//! enters the plugin only to report a failing value under `on_error = "fail"`, and for a
//! float cast to an integer type, whose fractional-part rule the host has no kernel for.

mod cast;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

use types::TargetType;

/// What happens to a value that cannot be cast.
#[derive(serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum OnError {
    /// A data error naming the column, row and value.
    #[default]
    Fail,
    /// The value becomes null and the `cast-nulled` counter counts it.
    Null,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Keep only these columns, in this order.
    select: Option<Vec<String>>,
    /// Remove these columns.
    #[serde(default)]
    drop: Vec<String>,
    /// Old name → new name.
    #[serde(default)]
    rename: BTreeMap<String, String>,
    /// Column → target type.
    #[serde(default)]
    cast: BTreeMap<String, TargetType>,
    #[serde(default)]
    on_error: OnError,
}

/// One output column: where it comes from and whether it is cast.
struct OutputColumn {
    /// Index of the source column in the input.
    input: usize,
    /// Name of the source column in the input (for errors, which speak of input columns).
    name: String,
    /// Target type when cast.
    cast: Option<DataType>,
    /// Whether the cast runs in the plugin rather than the host: a float cast to an integer
    /// type, whose fractional values must fail (see `cast.rs`), which arrow-cast alone
    /// does not do.
    in_plugin: bool,
}

struct Shape {
    schema: SchemaRef,
    outputs: Vec<OutputColumn>,
    /// The input index of every output column, in output order: the projection the host
    /// applies by reference.
    kept: Vec<usize>,
    on_error: OnError,
}

fn no_column(key: String, name: &str) -> Error {
    Error::config(key, format!("no column `{name}` in the input"))
}

/// The input indices kept, in output order, from `select` and `drop`.
fn kept(config: &Config, input: &Schema) -> Result<Vec<usize>, Error> {
    let mut kept = Vec::new();
    match &config.select {
        Some(select) => {
            for (i, name) in select.iter().enumerate() {
                let idx = input
                    .index_of(name)
                    .map_err(|_| no_column(format!("select[{i}]"), name))?;
                if kept.contains(&idx) {
                    return Err(Error::config(
                        format!("select[{i}]"),
                        format!("column `{name}` is selected twice"),
                    ));
                }
                kept.push(idx);
            }
        }
        None => kept.extend(0..input.fields().len()),
    }
    let mut dropped = Vec::new();
    for (i, name) in config.drop.iter().enumerate() {
        let key = format!("drop[{i}]");
        let idx = input
            .index_of(name)
            .map_err(|_| no_column(key.clone(), name))?;
        if dropped.contains(&idx) {
            return Err(Error::config(
                key,
                format!("column `{name}` is dropped twice"),
            ));
        }
        if config.select.is_some() && kept.contains(&idx) {
            return Err(Error::config(
                key,
                format!("column `{name}` is both selected and dropped; remove it from one list"),
            ));
        }
        dropped.push(idx);
    }
    kept.retain(|i| !dropped.contains(i));
    if kept.is_empty() {
        let key = if config.select.is_some() {
            "select"
        } else {
            "drop"
        };
        return Err(Error::config(
            key,
            "no column would be left; keep at least one",
        ));
    }
    Ok(kept)
}

/// Check that `name` (a key of `rename` or `cast`) is a kept input column; its index.
fn kept_column(key: &str, name: &str, input: &Schema, kept: &[usize]) -> Result<usize, Error> {
    let key = format!("{key}.{name}");
    let idx = input
        .index_of(name)
        .map_err(|_| no_column(key.clone(), name))?;
    if !kept.contains(&idx) {
        return Err(Error::config(
            key,
            format!("column `{name}` is not in the output (dropped or not selected)"),
        ));
    }
    Ok(idx)
}

impl Transform for Shape {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        let kept = kept(&config, &input)?;

        let mut renamed: HashMap<usize, &str> = HashMap::new();
        for (old, new) in &config.rename {
            let idx = kept_column("rename", old, &input, &kept)?;
            if new.is_empty() {
                return Err(Error::config(
                    format!("rename.{old}"),
                    "the new name is empty",
                ));
            }
            renamed.insert(idx, new);
        }
        let mut casts: HashMap<usize, DataType> = HashMap::new();
        for (name, TargetType(to)) in &config.cast {
            let idx = kept_column("cast", name, &input, &kept)?;
            let from = input.field(idx).data_type();
            if !arrow_cast::can_cast_types(from, to) {
                return Err(Error::config(
                    format!("cast.{name}"),
                    format!("column `{name}` has type {from}, which cannot be cast to {to}"),
                ));
            }
            if from != to {
                casts.insert(idx, to.clone());
            }
        }

        let mut fields: Vec<Field> = Vec::with_capacity(kept.len());
        let mut outputs: Vec<OutputColumn> = Vec::with_capacity(kept.len());
        for &idx in &kept {
            let field = input.field(idx);
            let name = renamed.get(&idx).copied().unwrap_or(field.name());
            if let Some(pos) = fields.iter().position(|f| f.name() == name) {
                // Input names are unique, so a clash involves a rename: report that key.
                let other = outputs[pos].input;
                let culprit = if renamed.contains_key(&idx) {
                    idx
                } else {
                    other
                };
                return Err(Error::config(
                    format!("rename.{}", input.field(culprit).name()),
                    format!("two output columns would be named `{name}`; choose another name"),
                ));
            }
            let cast = casts.get(&idx).cloned();
            let nullable =
                field.is_nullable() || (cast.is_some() && config.on_error == OnError::Null);
            let data_type = cast.clone().unwrap_or_else(|| field.data_type().clone());
            fields.push(
                field
                    .as_ref()
                    .clone()
                    .with_name(name)
                    .with_data_type(data_type)
                    .with_nullable(nullable),
            );
            let in_plugin = cast.as_ref().is_some_and(|to| {
                to.is_integer()
                    && matches!(field.data_type(), DataType::Float32 | DataType::Float64)
            });
            outputs.push(OutputColumn {
                input: idx,
                name: field.name().clone(),
                cast,
                in_plugin,
            });
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()));
        Ok(Self {
            schema,
            outputs,
            kept,
            on_error: config.on_error,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // Every output column starts as a reference to its input column; only cast columns
        // are replaced.
        let mut out = batch.output().project(&self.kept)?;
        let mut nulled = 0u64;
        for (pos, column) in self.outputs.iter().enumerate() {
            let Some(to) = &column.cast else {
                continue;
            };
            if column.in_plugin {
                let (result, failed) =
                    self.cast_here(column, to, batch.try_column(column.input)?)?;
                nulled += failed;
                out = out.set(pos, result)?;
                continue;
            }
            let input = batch.host(column.input)?;
            // Safe mode turns exactly the values that do not cast into nulls, so the
            // failures are the nulls the result has beyond the input's.
            let host = input
                .cast(to, true)
                .map(|result| {
                    let failed = result.null_count().saturating_sub(input.null_count());
                    (result, failed as u64)
                })
                .ok();
            match host {
                Some((result, failed)) if failed == 0 || self.on_error == OnError::Null => {
                    nulled += failed;
                    out = out.set_host(pos, result)?;
                }
                // A failing value under `fail`, or a cast the host refused: cast here, so the
                // error (row, value, message) or the result is exactly this plugin's own.
                _ => {
                    let (result, failed) =
                        self.cast_here(column, to, batch.try_column(column.input)?)?;
                    nulled += failed;
                    out = out.set(pos, result)?;
                }
            }
        }
        if nulled > 0 {
            quiver_sdk::host::counter_add("cast-nulled", nulled);
        }
        Ok(out)
    }
}

impl Shape {
    /// Cast `input` (the values of `column`) to `to` in the plugin: the result and how many
    /// values became null.
    ///
    /// # Errors
    /// With `on_error = "fail"`, a data error naming the first value that does not cast.
    fn cast_here(
        &self,
        column: &OutputColumn,
        to: &DataType,
        input: &ArrayRef,
    ) -> Result<(ArrayRef, u64), Error> {
        let (result, failed) = cast::cast(input, to).map_err(|e| {
            Error::data_at(
                Some(&column.name),
                None,
                format!("cannot cast to {to}: {e}"),
            )
        })?;
        if self.on_error == OnError::Fail
            && let Some(f) = cast::first(input, &failed)
        {
            return Err(Error::data_at(
                Some(&column.name),
                Some(f.row as u64),
                format!(
                    "value `{}` cannot be cast from {} to {to}; fix the data or set \
                     on_error = \"null\" to turn such values into nulls",
                    f.value,
                    input.data_type()
                ),
            ));
        }
        Ok((result, failed.len() as u64))
    }
}

quiver_sdk::export_plugin!(Shape);
