//! Shared pieces of the Quiver benchmarks: the synthetic data ([`data`]), the native twins
//! of the plugin kernels ([`native`]) and the Parquet helpers of the end-to-end job
//! ([`job`]). The benchmark files themselves (`benches/*.rs`) say what each one measures.

#![deny(missing_docs)]

pub mod data;
pub mod job;
pub mod native;
