//! The one integration-test binary of Quiver (house style: wasmtime's `tests/all`).
//!
//! Every test here runs real plugin components compiled by `tests/build.rs`; topic modules:
//! - `roundtrip`: every supported type, with nulls, at several batch sizes, through
//!   `passthrough`, compared bit for bit;
//! - `plugins`: exact expected outputs of `map`, `filter` and `dedupe` over several
//!   batches, and each config error naming its key;
//! - `loading`: the compiled-plugin cache and the errors for files that are not plugins;
//! - `transformer`: the host's checks on what goes in;
//! - `evil`: the sandbox against every attack of `tests/guests/evil`, quarantine, fuel, grants,
//!   the operator's ceiling and accounting;
//! - `evil2`: what a plugin can make the host keep (counters, logs, error texts, dead
//!   letters, metadata) and the 0.2 shapes (handles, selections, nesting bombs, instances
//!   that disagree), each in a child process whose peak memory is bounded;
//! - `score`: the `score` plugin against XGBoost's and scikit-learn's own predictions of
//!   `examples/retail/sample.csv`, to 1e-6, with the model directory granted.
//! - `retail`: the retail demo's forecast (`examples/retail/demo-check.csv`, rows as they
//!   reach its `score` stage) against XGBoost's own predictions, to 1e-6, and its pipeline's
//!   `impute`/`features` configs against the parameters the model was trained with.
//! - `tagger`: the four builds of the `tagger` test plugin (the HTTP server's hot-swap
//!   tests use them): one name, each its own version in `tagged_by`, 3.0.0 broken.

mod evil;
mod evil2;
mod loading;
mod plugins;
mod retail;
mod roundtrip;
mod score;
mod tagger;
mod transformer;
