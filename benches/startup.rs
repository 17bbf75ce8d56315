//! Question: what does it cost to get a plugin ready — compiled from scratch, loaded from
//! the on-disk cache of compiled plugins, and instantiated warm (what creating a
//! `Transformer` costs, per stream and after every trap)?
//!
//! Subject: `plugins/passthrough` (a typical Rust SDK component, about 2 MB), on one
//! `Runtime` (pooling allocator). Rows of each group:
//! - `compile/load`: `Runtime::load_file` with an empty cache directory (compile, write the
//!   cache entry, link, probe `metadata()`); `compile/component_new`: `Component::new`
//!   alone, the compiler's share.
//! - `cached/load`: `Runtime::load_file` of a file loaded before (its identity → sha256
//!   record, the artifact deserialized by mmap, link, metadata from the cache entry);
//!   `cached/load_bytes`: `Runtime::load_bytes` of the component in memory (sha256 of the
//!   bytes, then as `load`: what the server pays for an upload it already has);
//!   `cached/deserialize_file`: `Component::deserialize_file` alone.
//! - `instantiate/transformer`: `Plugin::transformer` (store, instance from the pool,
//!   `create`, `output-schema`, drop); `instantiate/raw`: a bare `Store` +
//!   `instantiate` of the same component with its imports stubbed, dropped.
//! - `native/create`: building the native twin of a stage (schema + boxed closure): the
//!   floor, about nothing; the native side has no compile or load step at all.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use quiver_benches::{data, native};
use quiver_host::Sandbox;
use quiver_tests::plugins::PASSTHROUGH;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

fn compile(c: &mut Criterion) {
    let bytes = std::fs::read(PASSTHROUGH).expect("reading the passthrough component");
    let mut group = c.benchmark_group("startup/compile");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(20));
    group.bench_function("load", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let runtime = quiver_tests::runtime(dir.path());
                (dir, runtime)
            },
            |(dir, runtime)| {
                let plugin = runtime.load_file(Path::new(PASSTHROUGH)).expect("load");
                (plugin, runtime, dir)
            },
            BatchSize::PerIteration,
        );
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = quiver_tests::runtime(dir.path());
    group.bench_function("component_new", |b| {
        b.iter(|| Component::new(runtime.engine(), black_box(&bytes)).expect("compile"));
    });
    group.finish();
}

fn cached(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = quiver_tests::runtime(dir.path());
    // Fill the cache.
    quiver_tests::load(&runtime, PASSTHROUGH);
    let component = Component::from_file(runtime.engine(), PASSTHROUGH).expect("compile");
    let artifact = dir.path().join("passthrough.cwasm");
    std::fs::write(&artifact, component.serialize().expect("serialize")).expect("write");

    let mut group = c.benchmark_group("startup/cached");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("load", |b| {
        b.iter(|| runtime.load_file(Path::new(PASSTHROUGH)).expect("load"));
    });
    let bytes = std::fs::read(PASSTHROUGH).expect("read the component");
    group.bench_function("load_bytes", |b| {
        b.iter(|| runtime.load_bytes(&bytes, "passthrough").expect("load"));
    });
    group.bench_function("deserialize_file", |b| {
        b.iter(|| {
            // SAFETY: the artifact was serialized just above by this engine and nothing
            // else writes it while the benchmark runs.
            unsafe { Component::deserialize_file(runtime.engine(), &artifact) }
                .expect("deserialize")
        });
    });
    group.finish();
}

fn instantiate(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = quiver_tests::runtime(dir.path());
    let plugin = quiver_tests::load(&runtime, PASSTHROUGH);
    let schema = data::orders_schema();

    let engine = runtime.engine();
    let component = Component::from_file(engine, PASSTHROUGH).expect("compile");
    let mut linker = Linker::<()>::new(engine);
    linker
        .define_unknown_imports_as_traps(&component)
        .expect("stub the imports");
    let pre = linker.instantiate_pre(&component).expect("instantiate_pre");

    let mut group = c.benchmark_group("startup/instantiate");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("transformer", |b| {
        b.iter(|| {
            plugin
                .transformer("{}", schema.clone(), &Sandbox::default())
                .expect("transformer")
        });
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut store = Store::new(engine, ());
            // The engine interrupts on epochs: give the instantiation a deadline far away.
            store.set_epoch_deadline(1 << 20);
            pre.instantiate(&mut store).expect("instantiate");
            store
        });
    });
    group.bench_function("native/create", |b| {
        b.iter(|| {
            let schema = data::orders_schema();
            let stage: Box<dyn Fn(&arrow_array::RecordBatch) -> arrow_array::RecordBatch> =
                Box::new(move |batch| native::map_f64(batch, 2, 1.1, 0.5));
            (Arc::clone(&schema), stage)
        });
    });
    group.finish();
}

criterion_group!(benches, compile, cached, instantiate);
criterion_main!(benches);
