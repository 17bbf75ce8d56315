//! The `tagger` test plugin's builds (`plugins::TAGGER_VERSIONS`, made by `tests/build.rs`
//! for the server's hot-swap tests): one plugin name, four versions, each writing its own
//! version into `tagged_by`, and 3.0.0 broken with an extra output column.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use quiver_host::Sandbox;
use quiver_tests::{load, plugins, run, runtime};

/// A batch of `rows` rows: `x` (Int64 with a null) and `s` (Utf8).
fn input(rows: usize) -> RecordBatch {
    let x: Int64Array = (0..rows as i64)
        .map(|i| (i % 5 != 2).then_some(i))
        .collect();
    let s: StringArray = (0..rows).map(|i| Some(format!("row-{i}"))).collect();
    RecordBatch::try_from_iter_with_nullable([
        ("x", Arc::new(x) as ArrayRef, true),
        ("s", Arc::new(s) as ArrayRef, true),
    ])
    .expect("a valid batch")
}

#[test]
fn the_default_build_is_version_1_0_0() {
    assert_eq!(
        plugins::TAGGER_VERSIONS
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>(),
        ["1.0.0", "2.0.0", "3.0.0", "4.0.0"]
    );
    assert_eq!(plugins::TAGGER, plugins::TAGGER_VERSIONS[0].1);
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::TAGGER);
    assert_eq!(plugin.name(), "tagger");
    assert_eq!(plugin.version(), "1.0.0");
}

#[test]
fn every_version_tags_each_row_with_its_own_version() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let inputs = [input(5), input(0), input(1000)];
    let plain = Schema::new(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("tagged_by", DataType::Utf8, false),
    ]);
    let mut hashes = BTreeSet::new();
    for &(version, path) in plugins::TAGGER_VERSIONS {
        let plugin = load(&rt, path);
        assert_eq!(plugin.name(), "tagger", "{path}");
        assert_eq!(plugin.version(), version, "{path}");
        assert!(
            hashes.insert(plugin.sha256().to_owned()),
            "{version}: same component as another version"
        );

        let broken = version == "3.0.0";
        let mut expected = plain.clone();
        if broken {
            let mut fields = plain.fields().to_vec();
            fields.push(Arc::new(Field::new("tagged_broken", DataType::Utf8, false)));
            expected = Schema::new(fields);
        }
        let t = plugin
            .transformer("{}", inputs[0].schema(), &Sandbox::default())
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(*t.output_schema(), expected, "{version}: declared schema");

        let out = run(&plugin, "{}", &inputs);
        assert_eq!(out.len(), inputs.len(), "{version}: one batch per batch");
        for (o, i) in out.iter().zip(&inputs) {
            assert_eq!(*o.schema(), expected, "{version}: batch schema");
            assert_eq!(o.num_rows(), i.num_rows());
            assert_eq!(
                o.columns()[..2],
                i.columns()[..],
                "{version}: input columns kept"
            );
            let tags = o.column_by_name("tagged_by").unwrap().as_string::<i32>();
            assert_eq!(tags.null_count(), 0);
            assert!(
                tags.iter().all(|t| t == Some(version)),
                "{version}: tagged_by {tags:?}"
            );
        }
    }
    assert_eq!(hashes.len(), 4);
}

#[test]
fn an_input_with_a_tagged_by_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::TAGGER);
    let batch = RecordBatch::try_from_iter([(
        "tagged_by",
        Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
    )])
    .unwrap();
    let Err(err) = plugin.transformer("{}", batch.schema(), &Sandbox::default()) else {
        panic!("a duplicate column is an error");
    };
    let err = err.to_string();
    assert!(err.contains("tagged_by"), "{err}");
}
