//! `features`: feature engineering with parameters fixed in the config, appended as new
//! columns.
//!
//! Operations (`op`): `standardise` (`(x - mean) / std`), `min_max` (`(x - min) / (max -
//! min)`, optionally clipped to [0, 1]), `log1p`, `bucketise` (index of the bucket between
//! `boundaries`), `one_hot` (one 0/1 column per given category plus `<col>_other`),
//! `date_parts` (year, month, day, day of week, hour) and `length` (characters of a string).
//!
//! Like `impute`, the plugin never fits anything: means, deviations, ranges, boundaries and
//! categories come from the config — computed on training data — so a row's features never
//! depend on the other rows of its batch, and training and serving compute the same thing.
//! Input columns are kept; drop them afterwards with `shape` if needed. Every output name is
//! worked out at creation and checked not to clash.
//!
//! Input columns go back to the host by reference and only the features are added
//! (contract 0.2). `standardise`, an unclipped `min_max`, `date_parts` and the `length` of a
//! utf8 column run in the host (its `cast`, `arith`, `date_part` and `str_unary` kernels, the
//! same arithmetic as `ops.rs`), so neither their input column nor their result enters the
//! plugin. The other operations read their input column and send their new columns.

mod ops;

use std::sync::Arc;

use arrow_array::timezone::Tz;
use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::compute::{ArithOp, Column, StrOp};
use quiver_sdk::{Batch, Error, IntoOutputs, Output, SchemaRef, Transform};

use ops::Part;

#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum OpName {
    Standardise,
    MinMax,
    Log1p,
    Bucketise,
    OneHot,
    DateParts,
    Length,
}

impl OpName {
    fn as_str(self) -> &'static str {
        match self {
            OpName::Standardise => "standardise",
            OpName::MinMax => "min_max",
            OpName::Log1p => "log1p",
            OpName::Bucketise => "bucketise",
            OpName::OneHot => "one_hot",
            OpName::DateParts => "date_parts",
            OpName::Length => "length",
        }
    }

    /// The optional keys the operation takes.
    fn keys(self) -> &'static [&'static str] {
        match self {
            OpName::Standardise => &["mean", "std", "output"],
            OpName::MinMax => &["min", "max", "clip", "output"],
            OpName::Log1p | OpName::Length => &["output"],
            OpName::Bucketise => &["boundaries", "output"],
            OpName::OneHot => &["categories"],
            OpName::DateParts => &["parts"],
        }
    }

    /// The suffix of the default output name.
    fn suffix(self) -> &'static str {
        match self {
            OpName::Standardise => "z",
            OpName::MinMax => "scaled",
            OpName::Log1p => "log1p",
            OpName::Bucketise => "bucket",
            OpName::Length => "length",
            OpName::OneHot | OpName::DateParts => "",
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureConfig {
    column: String,
    op: OpName,
    output: Option<String>,
    mean: Option<f64>,
    std: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    clip: Option<bool>,
    boundaries: Option<Vec<f64>>,
    categories: Option<Vec<serde_json::Value>>,
    parts: Option<Vec<Part>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    features: Vec<FeatureConfig>,
}

/// One operation, ready to run.
enum Op {
    Standardise { mean: f64, std: f64 },
    MinMax { min: f64, max: f64, clip: bool },
    Log1p,
    Bucketise(Vec<f64>),
    OneHot(Vec<String>),
    DateParts(Vec<Part>),
    Length,
}

struct Feature {
    /// Index of the input column.
    input: usize,
    /// Name of the input column, for errors.
    name: String,
    /// Type of the input column.
    data_type: DataType,
    op: Op,
}

struct Features {
    schema: SchemaRef,
    features: Vec<Feature>,
}

fn is_number(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8)
}

/// A required finite number of feature `i`.
fn number(v: Option<f64>, key: String, what: &str) -> Result<f64, Error> {
    let v = v.ok_or_else(|| Error::config(key.clone(), format!("needs {what}")))?;
    if !v.is_finite() {
        return Err(Error::config(key, format!("{v} is not a finite number")));
    }
    Ok(v)
}

/// The op of feature `i` and the fields it appends.
fn build(i: usize, c: &FeatureConfig, t: &DataType) -> Result<(Op, Vec<Field>), Error> {
    let key = |k: &str| format!("features[{i}].{k}");
    let given = [
        ("output", c.output.is_some()),
        ("mean", c.mean.is_some()),
        ("std", c.std.is_some()),
        ("min", c.min.is_some()),
        ("max", c.max.is_some()),
        ("clip", c.clip.is_some()),
        ("boundaries", c.boundaries.is_some()),
        ("categories", c.categories.is_some()),
        ("parts", c.parts.is_some()),
    ];
    for (k, present) in given {
        if present && !c.op.keys().contains(&k) {
            return Err(Error::config(
                key(k),
                format!("`{k}` does not apply to op {}; remove it", c.op.as_str()),
            ));
        }
    }
    let name = &c.column;
    let wrong_type = |wants: &str| {
        Error::config(
            key("column"),
            format!(
                "column `{name}` has type {t}; op {} needs {wants}",
                c.op.as_str()
            ),
        )
    };
    let single = |data_type: DataType| {
        let out = c
            .output
            .clone()
            .unwrap_or_else(|| format!("{name}_{}", c.op.suffix()));
        vec![Field::new(out, data_type, true)]
    };
    Ok(match c.op {
        OpName::Standardise | OpName::MinMax | OpName::Log1p | OpName::Bucketise
            if !is_number(t) =>
        {
            return Err(wrong_type("a number column"));
        }
        OpName::Standardise => {
            let mean = number(c.mean, key("mean"), "the mean (computed offline)")?;
            let std = number(
                c.std,
                key("std"),
                "the standard deviation (computed offline)",
            )?;
            if std <= 0.0 {
                return Err(Error::config(
                    key("std"),
                    format!("{std} is not a positive deviation"),
                ));
            }
            (Op::Standardise { mean, std }, single(DataType::Float64))
        }
        OpName::MinMax => {
            let min = number(c.min, key("min"), "the minimum (computed offline)")?;
            let max = number(c.max, key("max"), "the maximum (computed offline)")?;
            if max <= min {
                return Err(Error::config(
                    key("max"),
                    format!("max {max} is not above min {min}"),
                ));
            }
            let clip = c.clip.unwrap_or(false);
            (Op::MinMax { min, max, clip }, single(DataType::Float64))
        }
        OpName::Log1p => (Op::Log1p, single(DataType::Float64)),
        OpName::Bucketise => {
            let b = c
                .boundaries
                .clone()
                .ok_or_else(|| Error::config(key("boundaries"), "needs the bucket boundaries"))?;
            if b.is_empty() {
                return Err(Error::config(
                    key("boundaries"),
                    "needs at least one boundary",
                ));
            }
            if let Some(j) = (1..b.len()).find(|&j| b[j] <= b[j - 1]) {
                return Err(Error::config(
                    format!("features[{i}].boundaries[{j}]"),
                    format!(
                        "{} is not above the boundary before it; list boundaries in increasing order",
                        b[j]
                    ),
                ));
            }
            if let Some(j) = b.iter().position(|v| !v.is_finite()) {
                return Err(Error::config(
                    format!("features[{i}].boundaries[{j}]"),
                    "not a finite number",
                ));
            }
            (Op::Bucketise(b), single(DataType::Int32))
        }
        OpName::OneHot => {
            if !(is_text(t) || t.is_integer() || t == &DataType::Boolean) {
                return Err(wrong_type(
                    "a text, integer or boolean column (bucketise floats first)",
                ));
            }
            let given = c
                .categories
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    Error::config(key("categories"), "needs a non-empty list of categories")
                })?;
            let mut categories: Vec<String> = Vec::with_capacity(given.len());
            for (j, v) in given.iter().enumerate() {
                let k = format!("features[{i}].categories[{j}]");
                let text = match (v, t) {
                    (serde_json::Value::String(s), t) if is_text(t) => s.clone(),
                    (serde_json::Value::Number(n), t)
                        if t.is_integer() && (n.is_i64() || n.is_u64()) =>
                    {
                        n.to_string()
                    }
                    (serde_json::Value::Bool(b), DataType::Boolean) => b.to_string(),
                    _ => {
                        return Err(Error::config(
                            k,
                            format!("{v} is not a category of a {t} column"),
                        ));
                    }
                };
                if categories.contains(&text) {
                    return Err(Error::config(k, format!("category {v} is listed twice")));
                }
                categories.push(text);
            }
            let mut fields: Vec<Field> = categories
                .iter()
                .map(|c| Field::new(format!("{name}_{c}"), DataType::Int8, true))
                .collect();
            fields.push(Field::new(format!("{name}_other"), DataType::Int8, true));
            (Op::OneHot(categories), fields)
        }
        OpName::DateParts => {
            let is_date = matches!(t, DataType::Date32 | DataType::Date64);
            if !is_date && !matches!(t, DataType::Timestamp(_, _)) {
                return Err(wrong_type("a date or timestamp column"));
            }
            if let DataType::Timestamp(_, Some(zone)) = t
                && zone.parse::<Tz>().is_err()
            {
                return Err(wrong_type(
                    "a known time zone (an IANA name such as Europe/Paris, or an offset such as +02:00)",
                ));
            }
            let parts = c.parts.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
                Error::config(
                    key("parts"),
                    "needs a non-empty list of parts (year, month, day, day_of_week, hour)",
                )
            })?;
            for (j, p) in parts.iter().enumerate() {
                if parts[..j].contains(p) {
                    return Err(Error::config(
                        format!("features[{i}].parts[{j}]"),
                        format!("part {} is listed twice", p.as_str()),
                    ));
                }
                if is_date && *p == Part::Hour {
                    return Err(Error::config(
                        format!("features[{i}].parts[{j}]"),
                        format!("column `{name}` is a date: it has no hour"),
                    ));
                }
            }
            let fields = parts
                .iter()
                .map(|p| Field::new(format!("{name}_{}", p.as_str()), DataType::Int32, true))
                .collect();
            (Op::DateParts(parts), fields)
        }
        OpName::Length => {
            if !is_text(t) {
                return Err(wrong_type("a text column"));
            }
            (Op::Length, single(DataType::Int32))
        }
    })
}

impl Transform for Features {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        if config.features.is_empty() {
            return Err(Error::config("features", "no feature; list at least one"));
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut features = Vec::with_capacity(config.features.len());
        for (i, c) in config.features.iter().enumerate() {
            let index = input.index_of(&c.column).map_err(|_| {
                Error::config(
                    format!("features[{i}].column"),
                    format!("no column `{}` in the input", c.column),
                )
            })?;
            let (op, new) = build(i, c, input.field(index).data_type())?;
            for f in new {
                if f.name().is_empty() || fields.iter().any(|g| g.name() == f.name()) {
                    let k = if c.output.is_some() {
                        "output"
                    } else {
                        "column"
                    };
                    return Err(Error::config(
                        format!("features[{i}].{k}"),
                        format!(
                            "the output column `{}` is empty or already exists; {}",
                            f.name(),
                            if c.op.keys().contains(&"output") {
                                "set another `output` name"
                            } else {
                                "rename the clashing column first (shape)"
                            }
                        ),
                    ));
                }
                fields.push(f);
            }
            features.push(Feature {
                input: index,
                name: c.column.clone(),
                data_type: input.field(index).data_type().clone(),
                op,
            });
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()));
        Ok(Self { schema, features })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        // Every input column by reference; the features appended in config order.
        let mut out = batch.output();
        for f in &self.features {
            out = f.append(&batch, out)?;
        }
        Ok(out)
    }
}

impl Feature {
    /// `out` with this feature's columns appended, computed from `batch`.
    fn append(&self, batch: &Batch<'_>, out: Output) -> Result<Output, Error> {
        let in_column = |e: Error| e.in_column(&self.name);
        match &self.op {
            Op::Standardise { mean, std } => {
                let z = self
                    .shift_and_scale(batch, *mean, *std)
                    .map_err(in_column)?;
                return Ok(out.push_host(z));
            }
            // f64::clamp keeps -0.0 where the host's `clip` gives 0.0 (it orders -0.0 below
            // 0.0), so a clipped min_max stays in the plugin.
            Op::MinMax {
                min,
                max,
                clip: false,
            } => {
                let y = self
                    .shift_and_scale(batch, *min, *max - *min)
                    .map_err(in_column)?;
                return Ok(out.push_host(y));
            }
            Op::DateParts(parts) => {
                let x = batch.host(self.input)?;
                let mut out = out;
                for p in parts {
                    // `None`: on the wall clock of the column's own zone, as `ops.rs` reads it.
                    out = out.push_host(x.date_part(p.host(), None).map_err(in_column)?);
                }
                return Ok(out);
            }
            // The host's length is int64 for large-utf8, where this plugin declares int32.
            Op::Length if self.data_type == DataType::Utf8 => {
                let n = batch
                    .host(self.input)?
                    .str_unary(StrOp::Length)
                    .map_err(in_column)?;
                return Ok(out.push_host(n));
            }
            _ => {}
        }
        let x = batch.try_column(self.input)?;
        Ok(match &self.op {
            Op::MinMax { min, max, clip } => {
                let (lo, span, clip) = (*min, *max - *min, *clip);
                out.push(ops::map(x, |v| {
                    let y = (v - lo) / span;
                    if clip { y.clamp(0.0, 1.0) } else { y }
                })?)?
            }
            Op::Log1p => out.push(
                ops::log1p(x)?
                    .map_err(|(row, m)| Error::data_at(Some(&self.name), Some(row as u64), m))?,
            )?,
            Op::Bucketise(b) => out.push(ops::bucketise(x, b)?)?,
            Op::OneHot(categories) => {
                let mut out = out;
                for c in ops::one_hot(x, categories)? {
                    out = out.push(c)?;
                }
                out
            }
            Op::Length => out.push(ops::length(x))?,
            Op::Standardise { .. } | Op::DateParts(_) => {
                return Err(Error::internal("a host feature computed in the plugin"));
            }
        })
    }

    /// `(x - shift) / scale` as float64, in the host: the column cast to float64 as
    /// `ops::map` does, then the same two IEEE operations (unchecked: floats do not trap).
    fn shift_and_scale(&self, batch: &Batch<'_>, shift: f64, scale: f64) -> Result<Column, Error> {
        let x = batch.host(self.input)?;
        let x = if self.data_type == DataType::Float64 {
            x
        } else {
            x.cast(&DataType::Float64, false)?
        };
        x.arith(ArithOp::Subtract, shift, false)?
            .arith(ArithOp::Divide, scale, false)
    }
}

quiver_sdk::export_plugin!(Features);
