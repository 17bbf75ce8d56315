//! Shared helpers of the integration tests: where the compiled plugins are, a runtime with
//! a private cache directory, and the one `check` helper most tests use.

#![deny(missing_docs)]

use std::path::Path;

use arrow_array::RecordBatch;
use quiver_host::{Plugin, Runtime, RuntimeConfig, Sandbox};

pub mod moto;
pub mod nats;

/// Paths of the compiled guest plugins (built by `build.rs`).
pub mod plugins {
    include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
}

/// The program `name` of the tests' virtualenv (moto's server, the OpenAPI validator),
/// installed by `scripts/install-test-deps.sh`. The virtualenv is `QUIVER_TEST_VENV`, else
/// `$CARGO_TARGET_DIR/test-venv`, else the first `target/test-venv` above this crate.
///
/// # Panics
/// When it is not installed, saying what to run.
pub fn test_venv_bin(name: &str) -> std::path::PathBuf {
    use std::path::PathBuf;
    let bin = |venv: PathBuf| venv.join("bin").join(name);
    let mut candidates = Vec::new();
    if let Some(venv) = std::env::var_os("QUIVER_TEST_VENV") {
        candidates.push(bin(PathBuf::from(venv)));
    } else {
        // This crate is at the workspace root's `tests/`; look there and above.
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        for dir in manifest.ancestors() {
            if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
                candidates.push(bin(dir.join(target).join("test-venv")));
            }
            candidates.push(bin(dir.join("target").join("test-venv")));
        }
    }
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{name} not found (looked at {candidates:#?}); run \
                 scripts/install-test-deps.sh from the workspace root first (or point \
                 QUIVER_TEST_VENV at a virtualenv made by it)"
            )
        })
}

/// A runtime whose compiled-plugin cache lives in `cache_dir`.
///
/// # Panics
/// When the engine cannot be created (the machine cannot run any test then).
pub fn runtime(cache_dir: &Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(cache_dir.to_owned()),
        ..RuntimeConfig::default()
    })
    .expect("creating the runtime")
}

/// Load a compiled plugin.
///
/// # Panics
/// When the plugin does not load: a test failure.
pub fn load(runtime: &Runtime, path: &str) -> Plugin {
    runtime
        .load_file(Path::new(path))
        .unwrap_or_else(|e| panic!("loading {path}: {e}"))
}

/// Run `inputs` through a fresh transformer of `plugin` with `config`, then `finish`, and
/// return every output batch in order.
///
/// # Panics
/// On any plugin error: a test failure.
pub fn run(plugin: &Plugin, config: &str, inputs: &[RecordBatch]) -> Vec<RecordBatch> {
    let schema = inputs.first().expect("at least one input batch").schema();
    let mut t = plugin
        .transformer(config, schema, &Sandbox::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for b in inputs {
        out.extend(t.process(b).unwrap_or_else(|e| panic!("{e}")));
    }
    out.extend(t.finish().unwrap_or_else(|e| panic!("{e}")));
    out
}

/// Assert that running `inputs` through `plugin` with `config` yields exactly `expected`
/// (same batches, same schema, same values, nulls included).
///
/// # Panics
/// When the output differs: a test failure, printing both.
pub fn check(plugin: &Plugin, config: &str, inputs: &[RecordBatch], expected: &[RecordBatch]) {
    let got = run(plugin, config, inputs);
    assert_eq!(got.len(), expected.len(), "number of output batches");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g, e, "output batch {i} differs");
    }
}

/// The batch the `evil` plugin is attacked with: `x` (Int64 with a null), `s` (Utf8) and
/// the boolean `attack` column, true in every row when `attack` is set (which sets the
/// plugin's attack off) and false otherwise (it passes the batch through).
pub fn evil_input(rows: usize, attack: bool) -> RecordBatch {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Int64Array, StringArray};

    let x: Int64Array = (0..rows as i64)
        .map(|i| (i % 7 != 3).then_some(i))
        .collect();
    let s: StringArray = (0..rows).map(|i| Some(format!("row-{i}"))).collect();
    let a = BooleanArray::from(vec![attack; rows]);
    // Every column nullable, whatever the row count, so every size has one schema.
    RecordBatch::try_from_iter_with_nullable([
        ("x", Arc::new(x) as ArrayRef, true),
        ("s", Arc::new(s) as ArrayRef, true),
        ("attack", Arc::new(a) as ArrayRef, true),
    ])
    .expect("a valid batch")
}

/// Resident set size of this process, in bytes (from `/proc/self/status`).
///
/// # Panics
/// When `/proc` is not available (not Linux): the leak tests need it.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}
