//! The host's checks on what goes into a transformer.

use std::sync::Arc;

use arrow_array::*;
use bytesize::ByteSize;
use quiver_host::{ErrorKind, Limits, Sandbox, TrapKind};
use quiver_tests::{load, plugins, runtime};

#[test]
fn a_batch_with_another_schema_is_refused_before_it_reaches_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::PASSTHROUGH);
    let a = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
        .unwrap();
    let b =
        RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)])
            .unwrap();
    let mut t = plugin
        .transformer("{}", a.schema(), &Sandbox::default())
        .unwrap();
    let err = t.process(&b).unwrap_err();
    assert!(
        matches!(&err.kind, ErrorKind::InvalidInput { column: Some(c), .. } if c == "x"),
        "{err}"
    );
    assert_eq!(err.batch, Some(0));
    assert_eq!(t.process(&a).unwrap(), vec![a]);
}

#[test]
fn errors_name_plugin_version_hash_call_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::MAP);
    let ok = RecordBatch::try_from_iter([("v", Arc::new(Int16Array::from(vec![1])) as ArrayRef)])
        .unwrap();
    let bad =
        RecordBatch::try_from_iter([("v", Arc::new(Int16Array::from(vec![30_000])) as ArrayRef)])
            .unwrap();
    let mut t = plugin
        .transformer(
            r#"{"columns":[{"column":"v","scale":2}]}"#,
            ok.schema(),
            &Sandbox::default(),
        )
        .unwrap();
    t.process(&ok).unwrap();
    let err = t.process(&bad).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("plugin map@0.1.0 (sha256 "), "{msg}");
    assert!(msg.contains("failed in process of batch 1"), "{msg}");
    assert!(msg.contains("column `v` at row 0"), "{msg}");
    assert_eq!(err.plugin.sha256, plugin.sha256());
}

#[test]
fn unknown_config_keys_are_rejected_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::PASSTHROUGH);
    let a = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
        .unwrap();
    let err = plugin
        .transformer(r#"{"unexpected": 1}"#, a.schema(), &Sandbox::default())
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Config { .. }), "{err}");
}

#[test]
fn after_a_trap_the_next_batch_runs_on_a_fresh_instance_with_correct_output() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::DEDUPE);
    // 4 MiB is enough to instantiate and to de-duplicate small batches, not to receive a
    // batch of ~16 MiB: the guest's allocation fails, the instance traps.
    let sandbox = Sandbox::with_limits(Limits {
        memory: ByteSize::mib(4),
        ..Limits::default()
    });
    let small = |ids: Vec<i64>| {
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(ids)) as ArrayRef)]).unwrap()
    };
    let huge = small((0..2_000_000).collect());
    let mut t = plugin
        .transformer(r#"{"keys":["id"]}"#, huge.schema(), &sandbox)
        .unwrap();
    assert_eq!(
        t.process(&small(vec![1, 2, 1])).unwrap(),
        vec![small(vec![1, 2])]
    );

    let err = t.process(&huge).unwrap_err();
    assert!(
        matches!(
            err.kind,
            ErrorKind::Trap {
                trap: TrapKind::OutOfMemory,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.batch, Some(1));

    // The trapped instance is gone; a fresh one (with fresh state) serves the next batch.
    assert_eq!(
        t.process(&small(vec![1, 3, 3])).unwrap(),
        vec![small(vec![1, 3])]
    );
    assert_eq!(t.instances_created(), 2);
}

/// A stream outlives wasmtime's per-store limit of 100,000 live component handles: the
/// batch a 0.2 plugin gets is lent per call and leaves nothing behind (it once left one
/// host-table entry per call, and every 0.2 stream failed at batch ~100,000 with "store
/// handle limit exceeded"). A plugin that fetches and returns column handles (`map`) and
/// one that keeps every column (`passthrough`) both go past the limit.
#[test]
fn a_stream_of_more_batches_than_the_store_handle_limit_runs_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let batch = RecordBatch::try_from_iter([(
        "x",
        Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
    )])
    .unwrap();
    for (plugin, config) in [
        (plugins::PASSTHROUGH, "{}"),
        (
            plugins::MAP,
            r#"{"columns": [{"column": "x", "scale": 2.0, "offset": 0.0}]}"#,
        ),
    ] {
        let mut t = load(&rt, plugin)
            .transformer(config, batch.schema(), &Sandbox::default())
            .unwrap();
        for i in 0..100_100 {
            let out = t
                .process(&batch)
                .unwrap_or_else(|e| panic!("{plugin}, batch {i}: {e}"));
            assert_eq!(out[0].num_rows(), 2);
        }
        t.finish().unwrap();
    }
}

#[test]
fn starting_an_instance_is_timed_apart_from_the_stream_s_calls() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::PASSTHROUGH);
    let batch =
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
            .unwrap();
    let mut t = plugin
        .transformer("{}", batch.schema(), &Sandbox::default())
        .unwrap();
    // Creating the transformer started an instance: instantiate, `create`, `output-schema`.
    let started = t.usage().clone();
    assert_eq!(started.instances_created, 1);
    assert!(started.startup > std::time::Duration::ZERO);
    assert_eq!(started.busy, std::time::Duration::ZERO);
    t.process(&batch).unwrap();
    t.finish().unwrap();
    let done = t.usage();
    assert!(done.busy > std::time::Duration::ZERO);
    assert_eq!(
        done.startup, started.startup,
        "no instance was started for the calls"
    );
}
