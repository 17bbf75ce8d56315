//! Shared helpers of the integration tests: where the compiled plugins are, a runtime with
//! a private cache directory, and the one `check` helper most tests use.

#![deny(missing_docs)]

use std::path::Path;

use arrow_array::RecordBatch;
use quiver_host::{Limits, Plugin, Runtime, RuntimeConfig};

/// Paths of the compiled guest plugins (built by `build.rs`).
pub mod plugins {
    include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
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
        .transformer(config, schema, &Limits::default())
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
