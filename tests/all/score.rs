//! The `score` plugin against the libraries that trained its models.
//!
//! `examples/retail/train.py` trained an XGBoost regressor and classifier and a scikit-learn
//! linear and logistic regression, exported them to `examples/retail/model/`, and wrote
//! `examples/retail/sample.csv`: held-out rows (some features missing) with each library's
//! own predictions. Here the compiled plugin scores the same rows, with the model directory
//! granted read-only as a pipeline would grant it, and every prediction must match the
//! library's to 1e-6 — a null where the library had none (the linear models cannot score
//! rows with a missing feature, and their expected cells are empty).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use quiver_host::{DirGrant, ErrorKind, Grants, Sandbox};
use quiver_tests::{load, plugins, runtime};

const FEATURES: [&str; 5] = [
    "basket_items",
    "unit_price",
    "days_since_last",
    "is_member",
    "discount",
];

fn retail() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .join("examples/retail")
}

/// `sample.csv`: the feature batch and the library's predictions by column name.
///
/// The file is written by `train.py` with plain numbers and empty cells for missing values
/// (no quoting), so splitting on commas reads it exactly.
/// Predictions by column name, `None` where the library gave none.
type Predictions = Vec<(String, Vec<Option<f64>>)>;

fn sample() -> (RecordBatch, Predictions) {
    let text = std::fs::read_to_string(retail().join("sample.csv")).expect("reading sample.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let mut cells: Vec<Vec<Option<f64>>> = vec![Vec::new(); header.len()];
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        assert_eq!(row.len(), header.len(), "row {line}");
        for (c, v) in cells.iter_mut().zip(row) {
            c.push((!v.is_empty()).then(|| v.parse::<f64>().expect("a number")));
        }
    }
    let column = |name: &str| {
        let i = header.iter().position(|h| *h == name).expect(name);
        cells[i].clone()
    };
    let mut fields = vec![Field::new("id", DataType::Int64, false)];
    let ids: Vec<i64> = column("id").iter().map(|v| v.unwrap() as i64).collect();
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(ids))];
    for f in FEATURES {
        fields.push(Field::new(f, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(column(f))));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let predictions = ["xgb_spend", "xgb_churn", "linear_spend", "logistic_churn"]
        .iter()
        .map(|p| (p.to_string(), column(p)))
        .collect();
    (batch, predictions)
}

fn model_grant() -> Sandbox {
    Sandbox::with_grants(Grants {
        dirs: vec![DirGrant {
            host: retail().join("model"),
            guest: "/model".into(),
        }],
        env: Vec::new(),
    })
}

/// Score `batch` in slices of 7 rows (so several batches cross) with `model`; the
/// predictions in row order.
fn score(model: &str, batch: &RecordBatch) -> Vec<Option<f64>> {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::SCORE);
    let config = format!(r#"{{"model": "/model/{model}", "output": "predicted"}}"#);
    let mut t = plugin
        .transformer(&config, batch.schema(), &model_grant())
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = 7.min(batch.num_rows() - offset);
        for b in t.process(&batch.slice(offset, len)).unwrap() {
            assert_eq!(b.schema().field(b.num_columns() - 1).name(), "predicted");
            let p = b.column(b.num_columns() - 1).as_primitive::<Float64Type>();
            out.extend((0..p.len()).map(|i| p.is_valid(i).then(|| p.value(i))));
        }
        offset += len;
    }
    assert!(t.finish().unwrap().is_empty());
    out
}

#[test]
fn score_matches_xgboost_and_scikit_learn_predictions_to_1e6() {
    let (batch, expected) = sample();
    for (column, file) in [
        ("xgb_spend", "xgb_spend.json"),
        ("xgb_churn", "xgb_churn.json"),
        ("linear_spend", "linear_spend.json"),
        ("logistic_churn", "logistic_churn.json"),
    ] {
        let want = &expected.iter().find(|(c, _)| c == column).unwrap().1;
        let got = score(file, &batch);
        assert_eq!(got.len(), want.len(), "{file}: number of predictions");
        for (row, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w) {
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-6,
                    "{file} row {row}: plugin {g}, library {w}"
                ),
                (None, None) => {}
                _ => panic!("{file} row {row}: plugin {g:?}, library {w:?}"),
            }
        }
    }
    // The sample exercises missing values: XGBoost scores those rows, the linear models not.
    let linear = &expected
        .iter()
        .find(|(c, _)| c == "linear_spend")
        .unwrap()
        .1;
    assert!(linear.iter().any(Option::is_none));
}

#[test]
fn score_without_the_model_grant_is_a_config_error_naming_model() {
    let (batch, _) = sample();
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::SCORE);
    let err = plugin
        .transformer(
            r#"{"model": "/model/xgb_spend.json"}"#,
            batch.schema(),
            &Sandbox::default(),
        )
        .expect_err("the model cannot be read without its grant");
    match err.kind {
        ErrorKind::Config { key, message } => {
            assert_eq!(key, "model");
            assert!(message.contains("cannot read the model file"), "{message}");
        }
        other => panic!("expected a config error, got {other}"),
    }
}
