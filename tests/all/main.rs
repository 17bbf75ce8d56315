//! The one integration-test binary of Quiver (house style: wasmtime's `tests/all`).
//!
//! Every test here runs real plugin components compiled by `tests/build.rs`; topic modules:
//! - `roundtrip`: every supported type, with nulls, at several batch sizes, through
//!   `passthrough`, compared bit for bit;
//! - `plugins`: exact expected outputs of `map`, `filter` and `dedupe` over several
//!   batches, and each config error naming its key;
//! - `loading`: the compiled-plugin cache and the errors for files that are not plugins;
//! - `transformer`: the host's checks on what goes in;
//! - `evil`: the sandbox against every attack of `plugins/evil`, quarantine, fuel, grants,
//!   the operator's ceiling and accounting.

mod evil;
mod loading;
mod plugins;
mod roundtrip;
mod transformer;
