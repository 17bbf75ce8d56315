//! Question: what does one `process` call of each language's `map` port cost, by rows, once
//! the instance is warm — the fixed cost an interpreter adds per call, apart from the
//! instance start and the first calls' warm-up that a 1M-row `quiver run` also counts?
//!
//! In process, one warm transformer per case, the same batch every iteration (the ports'
//! columns: id int64, customer utf8, amount float64 with a null every 97 rows, qty int64),
//! config `amount * 1.19, min 0, appended as gross`. Rows: 0 (the fixed cost), 8,192 (the
//! default batch) and 65,536. `floor-python` and `floor-js` are a Python and a JavaScript
//! plugin that return their batch unchanged: the least a componentize-py or a StarlingMonkey
//! call costs.
//!
//! The C, Python and JavaScript components are the ones `benches/ports.sh` builds into
//! `PORTS_DIR` (default `/tmp/quiver-ports-bench`: run ports.sh first), which also builds the
//! floor plugins from `benches/floor-python/` and `benches/floor-js/` into the same folder.
//! Missing components are skipped with a note. The Rust one is `plugins/map`.
//!
//! Second group, `calls/orders`: the Python SDK README's example (`orders`: keep `qty > 2`,
//! add `gross = clip(amount * 1.19, 0)`) in one Python call, against the same job as the Rust
//! `filter` then `map` plugins (two calls, the second on the first's output), at 8,192
//! rows. (At 65,536 the Python plugin of that time ran out of memory: componentize-py never
//! freed a returned selection mask. The SDK now filters with host kernels instead; this
//! group was measured before that change and stays at 8,192 rows.)

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use quiver_host::Sandbox;

const CONFIG: &str =
    r#"{"columns": [{"column": "amount", "scale": 1.19, "min": 0.0, "output": "gross"}]}"#;

fn batch(rows: usize) -> RecordBatch {
    let names = ["ann", "bob", "cy", "dee", "eve"];
    let n = i64::try_from(rows).expect("rows fit i64");
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
        ),
        (
            "customer",
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| names[i % 5]),
            )),
        ),
        (
            "amount",
            Arc::new(Float64Array::from_iter((0..n).map(|i| {
                (i % 97 != 0).then_some((i % 1000) as f64 * 1.3 - 100.0)
            }))),
        ),
        (
            "qty",
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 550 - 50))),
        ),
    ])
    .expect("a batch")
}

fn calls(c: &mut Criterion) {
    let ports = std::env::var_os("PORTS_DIR")
        .map_or_else(|| PathBuf::from("/tmp/quiver-ports-bench"), PathBuf::from);
    let cache = tempfile::tempdir().expect("a temporary directory");
    let runtime = quiver_tests::runtime(cache.path());
    let mut plugins = vec![("rust", quiver_tests::plugins::MAP.to_owned(), CONFIG)];
    for (name, file, config) in [
        ("c", "map-c.wasm", CONFIG),
        ("python", "map-python.wasm", CONFIG),
        ("js", "map-js.wasm", CONFIG),
        ("floor-python", "floor-python.wasm", "{}"),
        ("floor-js", "floor-js.wasm", "{}"),
    ] {
        let path = ports.join(file);
        if path.is_file() {
            plugins.push((name, path.display().to_string(), config));
        } else {
            eprintln!(
                "skipping {name}: {} not built (run benches/ports.sh)",
                path.display()
            );
        }
    }
    let mut group = c.benchmark_group("calls/map");
    for rows in [0, 8192, 65_536] {
        let b = batch(rows);
        for (name, path, config) in &plugins {
            let plugin = quiver_tests::load(&runtime, path);
            let mut t = plugin
                .transformer(config, b.schema(), &Sandbox::default())
                .expect("a transformer");
            // Warm: the first calls touch the interpreter's heap for the first time.
            for _ in 0..50 {
                t.process(&b).expect("a call");
            }
            group.bench_with_input(BenchmarkId::new(*name, rows), &b, |bench, b| {
                bench.iter(|| t.process(std::hint::black_box(b)).expect("a call"));
            });
        }
    }
    group.finish();

    let orders = ports.join("orders-python.wasm");
    if !orders.is_file() {
        eprintln!(
            "skipping calls/orders: {} not built (run benches/ports.sh)",
            orders.display()
        );
        return;
    }
    let python = quiver_tests::load(&runtime, &orders.display().to_string());
    let filter = quiver_tests::load(&runtime, quiver_tests::plugins::FILTER);
    let map = quiver_tests::load(&runtime, quiver_tests::plugins::MAP);
    let mut group = c.benchmark_group("calls/orders");
    for rows in [8192] {
        let b = batch(rows);
        let sandbox = Sandbox::default();
        let mut py = python
            .transformer("{}", b.schema(), &sandbox)
            .expect("a transformer");
        let mut f = filter
            .transformer(
                r#"{"column": "qty", "op": "gt", "value": 2}"#,
                b.schema(),
                &sandbox,
            )
            .expect("a transformer");
        let mut m = map
            .transformer(CONFIG, f.output_schema(), &sandbox)
            .expect("a transformer");
        let mut rust = |b: &RecordBatch| -> Vec<RecordBatch> {
            f.process(b)
                .expect("filter")
                .iter()
                .flat_map(|o| m.process(o).expect("map"))
                .collect()
        };
        // The two do the same job: the same rows and values come out.
        assert_eq!(py.process(&b).expect("orders"), rust(&b));
        for _ in 0..50 {
            py.process(&b).expect("orders");
            rust(&b);
        }
        group.bench_with_input(BenchmarkId::new("python", rows), &b, |bench, b| {
            bench.iter(|| py.process(std::hint::black_box(b)).expect("orders"));
        });
        group.bench_with_input(BenchmarkId::new("rust-filter-map", rows), &b, |bench, b| {
            bench.iter(|| rust(std::hint::black_box(b)));
        });
    }
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
