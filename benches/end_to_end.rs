//! Question: how fast is a whole Quiver pipeline, Parquet in to Parquet out, next to the
//! same job written natively?
//!
//! The job (`src/job.rs`): read "orders" Parquet (1 Mi rows would be 1,048,576; this is
//! 1,000,000 rows, batches of 65,536) → `filter` (`qty > 2`) → `map` (`amount * 1.1 + 0.5`)
//! → `anonymise` (HMAC-SHA256 hex of `email`) → Parquet (zstd 3). `quiver` runs it through
//! `quiver_pipeline::prepare` + `run` (a source thread, one instance per stage, the sink on
//! this thread), including creating the transformers; `native` runs the same kernels in
//! arrow-rs, one thread, batch after batch. Throughput in rows read.
//!
//! The 10 M-row run, peak memory and the Polars comparison are in `peer/run.sh`, which
//! runs the same job through the `quiver` CLI, natively and in Polars, one process each.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use arrow_array::{RecordBatch, RecordBatchReader};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use quiver_benches::job;
use quiver_host::{DirGrant, Grants, Plugin, Sandbox};
use quiver_pipeline::{BatchSink, BatchSource, ErrorPolicy, Progress, StagePlan, engine::BoxError};

const ROWS: u64 = 1_000_000;

/// `target/bench-data`, shared with `peer/run.sh`.
fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("bench-data")
}

struct ParquetSink(Option<ArrowWriter<File>>);

impl BatchSink for ParquetSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        self.0.as_mut().ok_or("closed")?.write(batch)?;
        Ok(())
    }
}

fn end_to_end(c: &mut Criterion) {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("creating target/bench-data");
    let input = dir.join(format!("orders-{ROWS}.parquet"));
    if !input.is_file() {
        let partial = input.with_extension("partial");
        job::write_orders(&partial, ROWS).expect("generating the input");
        std::fs::rename(&partial, &input).expect("renaming the input");
    }
    let out = tempfile::tempdir().expect("a temporary directory");
    let output = out.path().join("out.parquet");

    let cache = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(cache.path().join("anon.key"), job::KEY).expect("writing the key");
    let runtime = quiver_tests::runtime(cache.path());
    let load = |path| quiver_tests::load(&runtime, path);
    use quiver_tests::plugins::{ANONYMISE, FILTER, MAP};
    let keys = Sandbox::with_grants(Grants {
        dirs: vec![DirGrant {
            host: cache.path().to_owned(),
            guest: "/keys".into(),
        }],
        env: Vec::new(),
    });
    let stages: Vec<(&str, Plugin, &str, Sandbox)> = vec![
        (
            "filter",
            load(FILTER),
            job::FILTER_CONFIG,
            Sandbox::default(),
        ),
        ("map", load(MAP), job::MAP_CONFIG, Sandbox::default()),
        ("anonymise", load(ANONYMISE), job::ANONYMISE_CONFIG, keys),
    ];

    let run_quiver = || -> u64 {
        let plans = stages
            .iter()
            .map(|(name, plugin, config, sandbox)| StagePlan {
                name: (*name).into(),
                plugin: plugin.clone(),
                config: (*config).into(),
                sandbox: sandbox.clone(),
                parallelism: 1,
                on_error: ErrorPolicy::Fail,
                batch_rows: None,
            })
            .collect();
        let source = job::read(&input).expect("opening the input");
        let prepared =
            quiver_pipeline::prepare(source.schema(), plans).unwrap_or_else(|e| panic!("{e:?}"));
        let writer = ArrowWriter::try_new(
            File::create(&output).expect("creating the output"),
            prepared.output_schema(),
            Some(job::writer_properties()),
        )
        .expect("a writer");
        let mut sink = ParquetSink(Some(writer));
        let source: BatchSource = Box::new(source.map(|b| b.map_err(BoxError::from)));
        let progress = Progress::new(stages.iter().map(|(n, ..)| (*n).to_owned()));
        let outcome = quiver_pipeline::run(prepared, source, &mut sink, None, &progress)
            .expect("the pipeline runs");
        sink.0
            .take()
            .expect("open")
            .close()
            .expect("closing the output");
        outcome.rows_written
    };
    let native_output = out.path().join("native.parquet");
    let run_native = || job::run_native(&input, &native_output).expect("the native job runs");

    // Both write the same rows.
    assert_eq!(
        run_quiver(),
        run_native(),
        "quiver and native row counts differ"
    );

    let mut group = c.benchmark_group("end_to_end/1M");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(ROWS));
    group.bench_function("quiver", |b| b.iter(run_quiver));
    group.bench_function("native", |b| b.iter(run_native));
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
