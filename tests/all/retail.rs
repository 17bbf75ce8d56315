//! The retail forecasting demo (`examples/retail/pipeline.toml`) against the library that
//! trained its model.
//!
//! `examples/retail/train.py` fits the parameters of the pipeline's `impute` and `features`
//! stages on training sales (`model/forecast_params.json`), writes them into the pipeline's
//! generated blocks, trains an XGBoost regressor on the features as the `features` stage
//! computes them (`model/xgb_forecast.json`), and writes `demo-check.csv`: the first demo
//! sales that pass validation, as they reach the `score` stage, with XGBoost's own
//! predictions. Here:
//! - the compiled `score` plugin scores those rows — with the column types the pipeline
//!   gives them, the model directory granted as the pipeline grants it — and every
//!   prediction must match XGBoost's to 1e-6;
//! - the pipeline's generated `impute` and `features` configs must equal the parameters the
//!   model was trained with, and the model's features must be the columns scored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int8Array, Int32Array, Int64Array, RecordBatch,
};
use arrow_schema::{DataType, Field, Schema};
use quiver_host::{DirGrant, Grants, Sandbox};
use quiver_tests::{load, plugins, runtime};
use serde_json::Value;

const PREDICTION: &str = "forecast_spend_30d";

fn retail() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .join("examples/retail")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(retail().join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn params() -> Value {
    serde_json::from_str(&read("model/forecast_params.json")).expect("forecast_params.json")
}

/// The Arrow type the pipeline gives a model input when it reaches `score`: `features`
/// appends one-hot columns as int8 and date parts as int32, `is_member` is the source's
/// boolean, the rest are float64 (`features`' float outputs and the `discount` column).
fn pipeline_type(column: &str) -> DataType {
    if column.starts_with("channel_") {
        DataType::Int8
    } else if column.starts_with("sold_at_") {
        DataType::Int32
    } else if column == "is_member" {
        DataType::Boolean
    } else {
        DataType::Float64
    }
}

/// `demo-check.csv`: the batch as `score` receives it, its feature column names, and
/// XGBoost's predictions. Written by `train.py` with plain numbers and `true`/`false`, no
/// empty cells and no quoting, so splitting on commas reads it exactly.
fn demo_check() -> (RecordBatch, Vec<String>, Vec<f64>) {
    let text = read("demo-check.csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "row {r:?}");
    }
    assert_eq!(header[0], "sale_id");
    assert_eq!(header[header.len() - 1], PREDICTION);
    let cells = |c: usize| rows.iter().map(move |r| r[c]);
    let mut fields = vec![Field::new("sale_id", DataType::Int64, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(
        cells(0).map(|v| v.parse::<i64>().expect("a sale id")),
    ))];
    let features = header[1..header.len() - 1].to_vec();
    for (i, name) in features.iter().enumerate() {
        let values = cells(i + 1);
        let ty = pipeline_type(name);
        let array: ArrayRef = match ty {
            DataType::Int8 => Arc::new(Int8Array::from_iter_values(
                values.map(|v| v.parse().expect("an int8")),
            )),
            DataType::Int32 => Arc::new(Int32Array::from_iter_values(
                values.map(|v| v.parse().expect("an int32")),
            )),
            DataType::Boolean => Arc::new(BooleanArray::from_iter(values.map(|v| match v {
                "true" => Some(true),
                "false" => Some(false),
                other => panic!("{name}: not a boolean: {other}"),
            }))),
            _ => Arc::new(Float64Array::from_iter_values(
                values.map(|v| v.parse().expect("a float")),
            )),
        };
        fields.push(Field::new(name, ty, true));
        arrays.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let expected = cells(header.len() - 1)
        .map(|v| v.parse::<f64>().expect("a prediction"))
        .collect();
    (batch, features, expected)
}

#[test]
fn retail_forecast_matches_xgboost_on_the_demo_rows_to_1e6() {
    let (batch, _, expected) = demo_check();
    assert!(batch.num_rows() >= 100, "demo-check.csv has too few rows");
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::SCORE);
    let grants = Sandbox::with_grants(Grants {
        dirs: vec![DirGrant {
            host: retail().join("model"),
            guest: "/model".into(),
        }],
        env: Vec::new(),
    });
    // The stage's config in pipeline.toml: the model's feature names pick the columns.
    let config = format!(r#"{{"model": "/model/xgb_forecast.json", "output": "{PREDICTION}"}}"#);
    let mut t = plugin
        .transformer(&config, batch.schema(), &grants)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = 64.min(batch.num_rows() - offset);
        for b in t.process(&batch.slice(offset, len)).unwrap() {
            let p = b.column_by_name(PREDICTION).expect("the prediction column");
            let p = p.as_primitive::<Float64Type>();
            assert_eq!(p.null_count(), 0, "XGBoost scores every row");
            got.extend(p.values().iter().copied());
        }
        offset += len;
    }
    assert!(t.finish().unwrap().is_empty());
    assert_eq!(got.len(), expected.len(), "number of predictions");
    for (row, (g, w)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6,
            "demo-check.csv row {row}: plugin {g}, XGBoost {w}"
        );
    }
}

/// The generated block `name` of pipeline.toml, read back as JSON: its
/// `[[stage.config.<key>]]` tables as a list of objects. `train.py` writes every value with
/// `json.dumps`, which for these values is TOML and JSON alike.
fn generated_block(pipeline: &str, name: &str, key: &str) -> Value {
    let begin = format!("# BEGIN generated by train.py: {name}");
    let end = format!("# END generated by train.py: {name}");
    let start = pipeline
        .find(&begin)
        .unwrap_or_else(|| panic!("pipeline.toml has no `{begin}`"));
    let stop = pipeline[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("pipeline.toml has no `{end}`"))
        + start;
    let header = format!("[[stage.config.{key}]]");
    let mut tables: Vec<Value> = Vec::new();
    for line in pipeline[start..stop].lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == header {
            tables.push(Value::Object(serde_json::Map::new()));
            continue;
        }
        let (k, v) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("{name} block: unexpected line {line:?}"));
        let v: Value = serde_json::from_str(v)
            .unwrap_or_else(|e| panic!("{name} block: {line:?} is not a JSON value: {e}"));
        tables
            .last_mut()
            .unwrap_or_else(|| panic!("{name} block: {line:?} before {header}"))
            .as_object_mut()
            .unwrap()
            .insert(k.to_owned(), v);
    }
    Value::Array(tables)
}

#[test]
fn retail_pipeline_uses_the_parameters_the_model_was_trained_with() {
    let params = params();
    let pipeline = read("pipeline.toml");
    assert_eq!(
        generated_block(&pipeline, "impute", "columns"),
        params["impute"],
        "pipeline.toml's impute stage differs from model/forecast_params.json: rerun train.py"
    );
    assert_eq!(
        generated_block(&pipeline, "features", "features"),
        params["features"],
        "pipeline.toml's features stage differs from model/forecast_params.json: rerun train.py"
    );
    // The model is the one the parameters were written with, and scores the checked columns.
    let model: Value =
        serde_json::from_str(&read("model/xgb_forecast.json")).expect("xgb_forecast.json");
    let names = &model["learner"]["feature_names"];
    assert_eq!(names, &params["model_features"]);
    let (_, features, _) = demo_check();
    assert_eq!(names, &Value::from(features));
    assert!(pipeline.contains(r#"model = "/model/xgb_forecast.json""#));
}
