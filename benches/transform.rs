//! Question: how much slower is a transform run as a Rust plugin than the same Rust code run
//! natively on the host, and how does the gap move with batch size?
//!
//! Kernels (each as a plugin and as its native twin in `src/native.rs`, on the same
//! "orders" batch: id, qty, amount, email, name — every column crosses the boundary, as in
//! a pipeline):
//! - `map_f64`: `plugins/map`, `amount * 1.1 + 0.5` (float64, nulls);
//! - `map_i64`: `plugins/map`, `qty * 3 + 1` (int64, exact i128 arithmetic, nulls);
//! - `trim_lower`: `tests/guests/bench-kernels`, trim + lowercase of `name` (utf8);
//! - `filter`: `plugins/filter`, `qty > 2`, nulls dropped (about 70% of rows kept);
//! - `hash`: `plugins/anonymise`, HMAC-SHA256 hex token of `email` (the anonymisation case).
//!
//! Axis: rows per batch (1,024, 8,192, 65,536). Throughput in rows; the plugin/native ratio
//! per size is in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use arrow_array::RecordBatch;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quiver_benches::{data, job, native};
use quiver_host::{DirGrant, Grants, Plugin, Sandbox};

type Native = Box<dyn Fn(&RecordBatch) -> RecordBatch>;

fn transform(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("a temporary directory");
    let keys = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(keys.path().join("anon.key"), job::KEY).expect("writing the key");
    let runtime = quiver_tests::runtime(cache.path());
    let load = |path| quiver_tests::load(&runtime, path);
    let granted = Sandbox::with_grants(Grants {
        dirs: vec![DirGrant {
            host: keys.path().to_owned(),
            guest: "/keys".into(),
        }],
        env: Vec::new(),
    });

    use quiver_tests::plugins::{ANONYMISE, BENCH_KERNELS, FILTER, MAP};
    let kernels: Vec<(&str, Plugin, &str, Sandbox, Native)> = vec![
        (
            "map_f64",
            load(MAP),
            r#"{"columns": [{"column": "amount", "scale": 1.1, "offset": 0.5}]}"#,
            Sandbox::default(),
            Box::new(|b| native::map_f64(b, 2, 1.1, 0.5)),
        ),
        (
            "map_i64",
            load(MAP),
            r#"{"columns": [{"column": "qty", "scale": 3, "offset": 1}]}"#,
            Sandbox::default(),
            Box::new(|b| native::map_i64(b, 1, 3, 1)),
        ),
        (
            "trim_lower",
            load(BENCH_KERNELS),
            r#"{"kernel": "trim_lower", "column": "name"}"#,
            Sandbox::default(),
            Box::new(|b| native::trim_lower(b, 4)),
        ),
        (
            "filter",
            load(FILTER),
            job::FILTER_CONFIG,
            Sandbox::default(),
            Box::new(|b| native::filter_gt_i64(b, 1, 2)),
        ),
        (
            "hash",
            load(ANONYMISE),
            job::ANONYMISE_CONFIG,
            granted,
            Box::new(|b| native::hmac_hex(b, 3, job::KEY)),
        ),
    ];

    for (name, plugin, config, sandbox, native) in &kernels {
        let mut group = c.benchmark_group(format!("transform/{name}"));
        for rows in [1024, 8192, 65_536] {
            let batch = data::orders(0, rows);
            group.throughput(Throughput::Elements(rows as u64));
            let mut t = plugin
                .transformer(config, batch.schema(), sandbox)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // The two must agree, or the comparison is meaningless.
            let out = t.process(&batch).unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected = native(&batch);
            assert_eq!(out.len(), 1, "{name}: one batch out");
            assert_eq!(
                out[0].columns(),
                expected.columns(),
                "{name}: plugin and native differ"
            );
            group.bench_with_input(BenchmarkId::new("plugin", rows), &batch, |b, batch| {
                b.iter(|| t.process(black_box(batch)).expect("process"));
            });
            group.bench_with_input(BenchmarkId::new("native", rows), &batch, |b, batch| {
                b.iter(|| native(black_box(batch)));
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
    targets = transform
}
criterion_main!(benches);
