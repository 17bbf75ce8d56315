//! Question: what does crossing the host–plugin boundary cost, per batch and per byte?
//!
//! The identity plugin (`plugins/passthrough`) against a native deep copy of the same batch
//! (every buffer copied and validated once — the least a crossing must do; the boundary
//! itself copies in, copies out and validates on both sides).
//!
//! Axes: rows per batch (0, 1,024, 8,192, 65,536) × columns (1: Int64; 20 and 100: Int64, Float64
//! and Utf8 in turn), every column nullable with a null in every 10th row. Throughput is in
//! bytes of Arrow buffers (validity + offsets + values) per batch, so criterion reports
//! bytes/s; the fixed cost per batch is the 0-row case, the cost per byte the slope between
//! 8,192 and 65,536 rows (computed in BENCHMARKS.md). Under contract 0.2 `passthrough` keeps
//! every column by handle, so `plugin` here is the fixed cost of a call whatever the width.
//!
//! Second group, `width/map_f64_8192rows`: `plugins/map` on one Float64 column of batches
//! 1, 20 and 100 columns wide (8,192 rows), against the native kernel on the same batch: the
//! width curve of a plugin that reads one column and keeps the rest by handle.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quiver_benches::{data, native};
use quiver_host::Sandbox;

fn boundary(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("a temporary directory");
    let runtime = quiver_tests::runtime(cache.path());
    let plugin = quiver_tests::load(&runtime, quiver_tests::plugins::PASSTHROUGH);

    for columns in [1, 20, 100] {
        let mut group = c.benchmark_group(format!("boundary/{columns}col"));
        for rows in [0, 1024, 8192, 65_536] {
            let batch = data::mixed(rows, columns);
            group.throughput(Throughput::Bytes(data::buffer_bytes(&batch)));

            let mut t = plugin
                .transformer("{}", batch.schema(), &Sandbox::default())
                .expect("a passthrough transformer");
            // Correctness first: the identity must be the identity.
            let out = t.process(&batch).expect("passthrough");
            assert!(
                rows == 0 || out == [batch.clone()],
                "passthrough changed the batch"
            );
            group.bench_with_input(BenchmarkId::new("plugin", rows), &batch, |b, batch| {
                b.iter(|| t.process(black_box(batch)).expect("passthrough"));
            });
            group.bench_with_input(BenchmarkId::new("native", rows), &batch, |b, batch| {
                b.iter(|| native::deep_copy(black_box(batch)));
            });
        }
        group.finish();
    }

    // The width curve of contract 0.2: `map` reads one Float64 column and keeps the others
    // by handle, so its cost should not grow with the columns it does not touch.
    let map = quiver_tests::load(&runtime, quiver_tests::plugins::MAP);
    let mut group = c.benchmark_group("width/map_f64_8192rows");
    for columns in [1usize, 20, 100] {
        let wide = data::mixed(8192, columns.max(2));
        // The Float64 column `c1` first, then the other columns up to `columns` in all.
        let order: Vec<usize> = std::iter::once(1)
            .chain((0..wide.num_columns()).filter(|&i| i != 1))
            .take(columns)
            .collect();
        let batch = wide.project(&order).expect("a projection");
        group.throughput(Throughput::Elements(8192));
        let mut t = map
            .transformer(
                r#"{"columns": [{"column": "c1", "scale": 1.1, "offset": 0.5}]}"#,
                batch.schema(),
                &Sandbox::default(),
            )
            .expect("a map transformer");
        let out = t.process(&batch).expect("map");
        assert_eq!(
            out[0].columns(),
            native::map_f64(&batch, 0, 1.1, 0.5).columns(),
            "plugin and native differ"
        );
        group.bench_with_input(BenchmarkId::new("plugin", columns), &batch, |b, batch| {
            b.iter(|| t.process(black_box(batch)).expect("map"));
        });
        group.bench_with_input(BenchmarkId::new("native", columns), &batch, |b, batch| {
            b.iter(|| native::map_f64(black_box(batch), 0, 1.1, 0.5));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = boundary
}
criterion_main!(benches);
