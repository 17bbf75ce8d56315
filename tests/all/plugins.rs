//! Exact expected outputs of the first plugins over several batches, and their config errors.

use std::sync::Arc;

use arrow_array::*;
use arrow_schema::{DataType, Field, Schema};
use quiver_host::{ErrorKind, Plugin, Sandbox};
use quiver_tests::{check, load, plugins, run, runtime};

/// A batch whose columns are all declared nullable, whatever they hold (so expected and
/// actual batches agree on the schema).
fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, a)| (n, a, true)))
        .unwrap()
}

fn config_error(plugin: &Plugin, config: &str, schema: &RecordBatch) -> (String, String) {
    match plugin.transformer(config, schema.schema(), &Sandbox::default()) {
        Err(e) => match e.kind {
            ErrorKind::Config { key, message } => (key, message),
            other => panic!("expected a config error, got {other}"),
        },
        Ok(_) => panic!("config {config} was accepted"),
    }
}

fn amounts(values: Vec<Option<f64>>, qty: Vec<Option<i32>>) -> RecordBatch {
    batch(vec![
        ("amount", Arc::new(Float64Array::from(values)) as ArrayRef),
        ("qty", Arc::new(Int32Array::from(qty))),
    ])
}

#[test]
fn map_scales_offsets_and_clips_floats_and_ints_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::MAP);
    let config = r#"{"columns": [
        {"column": "amount", "scale": 2.0, "offset": 1.0, "max": 100.0},
        {"column": "qty", "scale": 3, "offset": -1, "min": 0}
    ]}"#;
    let inputs = [
        amounts(
            vec![Some(1.5), None, Some(60.0)],
            vec![Some(1), Some(0), None],
        ),
        amounts(vec![], vec![]),
        amounts(vec![Some(-2.0)], vec![Some(-5)]),
    ];
    let expected = [
        amounts(
            vec![Some(4.0), None, Some(100.0)],
            vec![Some(2), Some(0), None],
        ),
        amounts(vec![], vec![]),
        amounts(vec![Some(-3.0)], vec![Some(0)]),
    ];
    check(&plugin, config, &inputs, &expected);
}

#[test]
fn map_appends_an_output_column_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::MAP);
    let input = amounts(vec![Some(10.0), None], vec![Some(1), Some(2)]);
    let out = run(
        &plugin,
        r#"{"columns": [{"column": "amount", "scale": 1.5, "output": "gross"}]}"#,
        &[input],
    );
    let schema = Arc::new(Schema::new(vec![
        Field::new("amount", DataType::Float64, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("gross", DataType::Float64, true),
    ]));
    let want = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![Some(10.0), None])),
            Arc::new(Int32Array::from(vec![Some(1), Some(2)])),
            Arc::new(Float64Array::from(vec![Some(15.0), None])),
        ],
    )
    .unwrap();
    assert_eq!(out, vec![want]);
}

#[test]
fn map_reports_integer_overflow_with_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::MAP);
    let input = batch(vec![(
        "small",
        Arc::new(Int8Array::from(vec![1, 100])) as ArrayRef,
    )]);
    let mut t = plugin
        .transformer(
            r#"{"columns":[{"column":"small","scale":2}]}"#,
            input.schema(),
            &Sandbox::default(),
        )
        .unwrap();
    let err = t.process(&input).unwrap_err();
    match &err.kind {
        ErrorKind::Data { column, row, .. } => {
            assert_eq!(column.as_deref(), Some("small"));
            assert_eq!(*row, Some(1));
        }
        other => panic!("expected a data error, got {other}"),
    }
    assert_eq!(err.batch, Some(0));
    // A data error is not a trap: the same instance goes on with the next batch.
    let ok = batch(vec![(
        "small",
        Arc::new(Int8Array::from(vec![3])) as ArrayRef,
    )]);
    assert_eq!(
        t.process(&ok).unwrap()[0].column(0).as_ref(),
        &Int8Array::from(vec![6]) as &dyn Array
    );
    assert_eq!(t.instances_created(), 1);
}

#[test]
fn map_config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::MAP);
    let input = amounts(vec![Some(1.0)], vec![Some(1)]);
    let cases = [
        (r#"{"columns":[{"column":"nope"}]}"#, "columns[0].column"),
        (
            r#"{"columns":[{"column":"amount"},{"column":"qty","scale":1.5}]}"#,
            "columns[1].scale",
        ),
        (
            r#"{"columns":[{"column":"amount","min":5,"max":1}]}"#,
            "columns[0].min",
        ),
        (
            r#"{"columns":[{"column":"amount","output":"qty"}]}"#,
            "columns[0].output",
        ),
        (
            r#"{"columns":[{"column":"amount","scael":2}]}"#,
            "columns[0].scael",
        ),
        (r#"{"colums":[]}"#, "colums"),
    ];
    for (config, key) in cases {
        let (got, message) = config_error(&plugin, config, &input);
        assert_eq!(got, key, "{config}: {message}");
    }
}

fn people(ids: Vec<Option<i64>>, names: Vec<Option<&str>>) -> RecordBatch {
    batch(vec![
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("name", Arc::new(StringArray::from(names))),
    ])
}

#[test]
fn filter_compares_and_handles_nulls_by_rule() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::FILTER);
    let inputs = [
        people(
            vec![Some(1), Some(5), None, Some(9)],
            vec![Some("a"), Some("b"), Some("c"), None],
        ),
        people(vec![], vec![]),
        people(vec![Some(7)], vec![Some("d")]),
    ];
    check(
        &plugin,
        r#"{"column":"id","op":"gt","value":4}"#,
        &inputs,
        &[
            people(vec![Some(5), Some(9)], vec![Some("b"), None]),
            people(vec![], vec![]),
            people(vec![Some(7)], vec![Some("d")]),
        ],
    );
    check(
        &plugin,
        r#"{"column":"id","op":"gt","value":4,"nulls":"keep"}"#,
        &inputs,
        &[
            people(
                vec![Some(5), None, Some(9)],
                vec![Some("b"), Some("c"), None],
            ),
            people(vec![], vec![]),
            people(vec![Some(7)], vec![Some("d")]),
        ],
    );
    check(
        &plugin,
        r#"{"column":"name","op":"is_null"}"#,
        &inputs,
        &[
            people(vec![Some(9)], vec![None]),
            people(vec![], vec![]),
            people(vec![], vec![]),
        ],
    );
    check(
        &plugin,
        r#"{"column":"name","op":"eq","value":"b"}"#,
        &inputs,
        &[
            people(vec![Some(5)], vec![Some("b")]),
            people(vec![], vec![]),
            people(vec![], vec![]),
        ],
    );
}

#[test]
fn filter_config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::FILTER);
    let input = people(vec![Some(1)], vec![Some("a")]);
    for (config, key) in [
        (r#"{"column":"nope","op":"eq","value":1}"#, "column"),
        (r#"{"column":"id","op":"eq"}"#, "value"),
        (r#"{"column":"id","op":"eq","value":"x"}"#, "value"),
        (r#"{"column":"id","op":"is_null","value":1}"#, "value"),
        (r#"{"column":"id","op":"between","value":1}"#, "op"),
        (
            r#"{"column":"id","op":"eq","value":1,"nulls":"maybe"}"#,
            "nulls",
        ),
    ] {
        let (got, message) = config_error(&plugin, config, &input);
        assert_eq!(got, key, "{config}: {message}");
    }
}

#[test]
fn dedupe_drops_repeats_across_batches_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::DEDUPE);
    let inputs = [
        people(
            vec![Some(1), Some(2), Some(1), None],
            vec![Some("a"), Some("b"), Some("a2"), Some("n")],
        ),
        people(
            vec![Some(2), Some(3), None],
            vec![Some("b2"), Some("c"), Some("n2")],
        ),
        people(vec![], vec![]),
    ];
    let mut t = plugin
        .transformer(
            r#"{"keys":["id"]}"#,
            inputs[0].schema(),
            &Sandbox::default(),
        )
        .unwrap();
    let got: Vec<RecordBatch> = inputs.iter().flat_map(|b| t.process(b).unwrap()).collect();
    assert_eq!(
        got,
        vec![
            people(
                vec![Some(1), Some(2), None],
                vec![Some("a"), Some("b"), Some("n")]
            ),
            people(vec![Some(3)], vec![Some("c")]),
            people(vec![], vec![]),
        ]
    );
    assert_eq!(t.counters().get("rows-dropped"), Some(&3));

    // With no keys, whole rows are compared.
    check(
        &plugin,
        "{}",
        &[
            people(vec![Some(1), Some(1)], vec![Some("a"), Some("b")]),
            people(vec![Some(1)], vec![Some("a")]),
        ],
        &[
            people(vec![Some(1), Some(1)], vec![Some("a"), Some("b")]),
            people(vec![], vec![]),
        ],
    );
}

#[test]
fn dedupe_config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::DEDUPE);
    let input = people(vec![Some(1)], vec![Some("a")]);
    assert_eq!(
        config_error(&plugin, r#"{"keys":["id","nope"]}"#, &input).0,
        "keys[1]"
    );
    assert_eq!(
        config_error(&plugin, r#"{"keys":["id","id"]}"#, &input).0,
        "keys[1]"
    );
    assert_eq!(config_error(&plugin, r#"{"key":["id"]}"#, &input).0, "key");
}
