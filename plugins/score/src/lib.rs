//! `score`: applies a trained model to each row and appends its prediction as a float64
//! column.
//!
//! The model file reaches the plugin through a read-only directory grant (config `model =
//! "/model/model.json"`) and is read once per stream, at creation. Two formats, told apart
//! by their content:
//! - an XGBoost JSON model (`Booster.save_model("model.json")`): gradient-boosted trees,
//!   predicted exactly as XGBoost's CPU predictor does (`xgboost.rs`);
//! - `quiver-linear/1`: the coefficients of a linear or logistic regression, e.g. exported
//!   from scikit-learn (`linear.rs`).
//!
//! Feature columns are matched by the model's own feature names, or listed in the config
//! (`features`) in the model's feature order. A null feature is a missing value: XGBoost
//! sends it down each split's default branch; a linear model cannot score the row, so its
//! prediction is null and the host counter `rows-unscored` counts it.
//!
//! Only the feature columns enter the plugin (contract 0.2); every input column goes back
//! to the host by reference, and the prediction column is the only data the plugin sends.

mod linear;
mod xgboost;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array};
use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Path of the model file inside the sandbox.
    model: String,
    /// The appended column.
    #[serde(default = "prediction")]
    output: String,
    /// Input columns in the model's feature order (default: the model's feature names).
    features: Option<Vec<String>>,
}

fn prediction() -> String {
    "prediction".into()
}

enum Model {
    Linear(linear::Linear),
    Xgb(xgboost::Xgb),
}

struct Score {
    schema: SchemaRef,
    model: Model,
    /// Input column per model feature.
    columns: Vec<usize>,
}

/// Read and load the model at `path`; the model and its feature names.
fn load(path: &str) -> Result<(Model, Vec<String>), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(
            "model",
            format!(
                "cannot read the model file {path}: {e}; grant its directory to the stage, e.g. \
                 grants = {{ dirs = [{{ host = \"model\", guest = \"/model\" }}] }} for /model/…"
            ),
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::config("model", format!("{path} is not JSON: {e}")))?;
    let bad = |m: String| Error::config("model", format!("{path}: {m}"));
    if value.get("learner").is_some() {
        let file: xgboost::XgbFile = parse_as(value).map_err(bad)?;
        let (m, names) = xgboost::Xgb::load(file).map_err(bad)?;
        Ok((Model::Xgb(m), names))
    } else if value.get("format").is_some() {
        let file: linear::LinearFile = parse_as(value).map_err(bad)?;
        let (m, names) = linear::Linear::load(file).map_err(bad)?;
        Ok((Model::Linear(m), names))
    } else {
        Err(bad(
            "neither an XGBoost JSON model (no `learner`) nor a quiver-linear/1 model (no `format`)"
                .into(),
        ))
    }
}

/// Deserialize `value` into `T`; the message names the path inside the file.
fn parse_as<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        format!(
            "not a model this plugin reads: at `{}`: {}",
            e.path(),
            e.inner()
        )
    })
}

impl Transform for Score {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        let (model, names) = load(&config.model)?;
        let expected = match &model {
            Model::Xgb(m) => m.num_features,
            Model::Linear(_) => names.len(),
        };
        let (columns_key, wanted): (&str, Vec<String>) = match config.features {
            Some(list) => {
                if list.len() != expected {
                    return Err(Error::config(
                        "features",
                        format!(
                            "the model reads {expected} features; {} columns are listed",
                            list.len()
                        ),
                    ));
                }
                ("features", list)
            }
            None if names.is_empty() => {
                return Err(Error::config(
                    "features",
                    format!(
                        "the model file names no features; list the {expected} input columns in \
                         the model's feature order"
                    ),
                ));
            }
            None => ("model", names),
        };
        let mut columns = Vec::with_capacity(wanted.len());
        for (j, name) in wanted.iter().enumerate() {
            let key = if columns_key == "features" {
                format!("features[{j}]")
            } else {
                "model".to_owned()
            };
            let index = input.index_of(name).map_err(|_| {
                Error::config(
                    key.clone(),
                    format!(
                        "the model's feature {j} is `{name}`, but the input has no such column \
                         (rename it with shape, or list the columns in `features`)"
                    ),
                )
            })?;
            let t = input.field(index).data_type();
            if !(t.is_integer() || t.is_floating() || t == &DataType::Boolean) {
                return Err(Error::config(
                    key,
                    format!(
                        "feature column `{name}` has type {t}; a model reads numbers (cast it with shape)"
                    ),
                ));
            }
            columns.push(index);
        }
        if config.output.is_empty() || input.index_of(&config.output).is_ok() {
            return Err(Error::config(
                "output",
                format!(
                    "`{}` is empty or already a column; choose another name",
                    config.output
                ),
            ));
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(&config.output, DataType::Float64, true));
        let schema = Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()));
        Ok(Self {
            schema,
            model,
            columns,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        let features: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|&i| Ok(arrow_cast::cast(batch.try_column(i)?, &DataType::Float64)?))
            .collect::<Result<_, Error>>()?;
        let features: Vec<&Float64Array> = features
            .iter()
            .map(|a| a.as_primitive::<Float64Type>())
            .collect();
        let rows = batch.num_rows();
        let predictions: Float64Array = match &self.model {
            Model::Xgb(m) => {
                let mut row = vec![0f32; features.len()];
                (0..rows)
                    .map(|r| {
                        for (x, f) in row.iter_mut().zip(&features) {
                            *x = if f.is_null(r) {
                                f32::NAN
                            } else {
                                f.value(r) as f32
                            };
                        }
                        Some(f64::from(m.predict(&row)))
                    })
                    .collect()
            }
            Model::Linear(m) => {
                let mut row = vec![0f64; features.len()];
                let mut unscored = 0u64;
                let out = (0..rows)
                    .map(|r| {
                        for (x, f) in row.iter_mut().zip(&features) {
                            *x = if f.is_null(r) { f64::NAN } else { f.value(r) };
                        }
                        if row.iter().any(|x| x.is_nan()) {
                            unscored += 1;
                            None
                        } else {
                            Some(m.predict(&row))
                        }
                    })
                    .collect();
                if unscored > 0 {
                    quiver_sdk::host::counter_add("rows-unscored", unscored);
                }
                out
            }
        };
        batch.output().push(Arc::new(predictions))
    }
}

quiver_sdk::export_plugin!(Score);
