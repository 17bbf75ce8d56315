//! Question: what does crossing the host–plugin boundary cost, per batch and per byte?
//!
//! The identity plugin (`plugins/passthrough`) against a native deep copy of the same batch
//! (every buffer copied and validated once — the least a crossing must do; the boundary
//! itself copies in, copies out and validates on both sides).
//!
//! Axes: rows per batch (0, 1,024, 8,192, 65,536) × columns (1: Int64; 20: Int64, Float64
//! and Utf8 in turn), every column nullable with a null in every 10th row. Throughput is in
//! bytes of Arrow buffers (validity + offsets + values) per batch, so criterion reports
//! bytes/s; the fixed cost per batch is the 0-row case, the cost per byte the slope between
//! 8,192 and 65,536 rows (computed in BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quiver_benches::{data, native};
use quiver_host::Sandbox;

fn boundary(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("a temporary directory");
    let runtime = quiver_tests::runtime(cache.path());
    let plugin = quiver_tests::load(&runtime, quiver_tests::plugins::PASSTHROUGH);

    for columns in [1, 20] {
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
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = boundary
}
criterion_main!(benches);
