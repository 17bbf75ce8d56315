//! Write Quiver transforms in Rust.
//!
//! A transform is a type implementing [`Transform`], exported with [`export_plugin!`]. The
//! SDK does everything else: it implements the `quiver:transform@0.2.0` WIT world, parses and
//! validates the JSON config into your `Config` type (errors name the offending key), and
//! moves as little data as the transform's work needs:
//!
//! - the input is a [`Batch`] of the host's columns: [`Batch::column`] copies a column into
//!   the plugin the first time it is read, so a column the transform never reads never
//!   crosses;
//! - the output is built from the input by reference ([`Batch::output`], then
//!   [`Output::set`], [`Output::push`], [`Output::filter`], …) or returned as any arrow-rs
//!   [`RecordBatch`]: arrays taken from the batch are recognised and go back by reference,
//!   a row selection is applied by the host, and only arrays the plugin made are copied out;
//! - [`compute`] runs the host's Arrow kernels on host columns ([`Batch::host`]): data that is
//!   only transformed never enters the plugin at all.
//!
//! ```ignore
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, cast::AsArray, types::Float64Type};
//! use arrow_schema::SchemaRef;
//! use quiver_sdk::{Batch, Error, Output, Transform};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config { column: String, factor: f64 }
//!
//! struct Scale { config: Config, schema: SchemaRef, index: usize }
//!
//! impl Transform for Scale {
//!     type Config = Config;
//!     fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
//!         let index = input.index_of(&config.column).map_err(|_| Error::config("column", "no such column"))?;
//!         Ok(Scale { config, schema: input, index })
//!     }
//!     fn output_schema(&self) -> SchemaRef { self.schema.clone() }
//!     fn process(&mut self, batch: Batch<'_>) -> Result<impl quiver_sdk::IntoOutputs, Error> {
//!         let x = batch.column(self.index).as_primitive::<Float64Type>();   // the one column read
//!         let scaled: Float64Array = x.unary(|v| v * self.config.factor);
//!         batch.output().set(self.index, Arc::new(scaled))                  // the rest by reference
//!     }
//! }
//! quiver_sdk::export_plugin!(Scale);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`; the component is
//! `target/wasm32-wasip2/release/<crate>.wasm`. Name, version and description come from your
//! `Cargo.toml`.
//!
//! # Moving a 0.1 plugin to 0.2
//!
//! Change `process(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, Error>` to
//! `process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error>` (and `finish`
//! likewise) and rebuild: `Batch` reads like a `RecordBatch`, and a `Vec<RecordBatch>` is
//! still a valid return. Then, to stop copying columns you do not change, return
//! `batch.output()` with only your columns set instead of rebuilding the whole batch, and
//! return a selection (`batch.filter(&mask)`) instead of filtering every column yourself.
//! The `contract-0-1` feature builds the same code as a 0.1 component (for hosts that only
//! run 0.1; compute kernels are not available there).
//!
//! # Pitfall: checked 64-bit arithmetic in wasm
//!
//! `i64::checked_mul` (and `overflowing_mul`, and the overflow checks of debug builds)
//! compiles on wasm32 to a call into a 128-bit multiply helper and runs about 8× slower than
//! `wrapping_mul` (measured in `../shared/design/BOUNDARY.md`). In a per-row loop, prefer
//! `wrapping_*` or a float path, or check the range once per batch (e.g. from the column's
//! min/max) and then use the wrapping operation — or let the host do it:
//! [`compute::Column::mul`] is checked and native. Always build plugins with `--release`.

#![deny(missing_docs)]

#[cfg(not(feature = "contract-0-1"))]
mod adapter;
mod batch;
#[cfg(not(feature = "contract-0-1"))]
pub mod compute;
mod error;
mod export;
pub mod host;
mod output;
pub mod scalar;
#[cfg(not(feature = "contract-0-1"))]
mod tree;
#[cfg(feature = "contract-0-1")]
mod v1 {
    //! Contract 0.1: every column crosses both ways.
    pub(crate) mod adapter;
    pub(crate) mod convert;
}

#[doc(hidden)]
#[cfg(not(feature = "contract-0-1"))]
pub mod bindings {
    //! Generated bindings of the `quiver:transform@0.2.0` `plugin` world; plugin authors
    //! never use them directly. Exactly one contract version is compiled into a plugin: two
    //! would put both worlds in the component.
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "quiver:transform/plugin",
        pub_export_macro: true,
        default_bindings_module: "quiver_sdk::bindings",
        export_macro_name: "__export_plugin_world",
    });
}

#[doc(hidden)]
#[cfg(feature = "contract-0-1")]
pub mod bindings {
    //! Generated bindings of the `quiver:transform@0.1.0` `plugin` world (the
    //! `contract-0-1` feature); plugin authors never use them directly.
    wit_bindgen::generate!({
        path: "../../wit/0.1.0",
        world: "quiver:transform/plugin",
        pub_export_macro: true,
        default_bindings_module: "quiver_sdk::bindings",
        export_macro_name: "__export_plugin_world",
    });
}

pub use arrow_array::RecordBatch;
pub use arrow_schema::SchemaRef;
pub use batch::Batch;
pub use error::Error;
pub use output::{IntoOutputs, OutColumn, Output, Selection};

/// The WIT package version this build of the SDK implements.
#[cfg(not(feature = "contract-0-1"))]
pub const WIT_VERSION: &str = "0.2.0";
/// The WIT package version this build of the SDK implements.
#[cfg(feature = "contract-0-1")]
pub const WIT_VERSION: &str = "0.1.0";

/// A stateful transform over a stream of batches.
///
/// The host creates one value per stream with [`Transform::new`], asks for its
/// [`Transform::output_schema`] once before any data flows, calls [`Transform::process`] for
/// every batch in order and [`Transform::finish`] once at the end.
pub trait Transform: Sized + 'static {
    /// The config, deserialized from the stage's JSON config document. Use
    /// `#[serde(deny_unknown_fields)]` so typos are errors; use [`NoConfig`] for none.
    type Config: serde::de::DeserializeOwned;

    /// JSON Schema of `Config`, shown by `quiver plugin inspect` and used by tools.
    const CONFIG_SCHEMA: &'static str = r#"{"type": "object"}"#;

    /// Validate `config` against `input` and build the transform.
    ///
    /// # Errors
    /// [`Error::config`] naming the offending key when the config does not fit the input.
    fn new(config: Self::Config, input: SchemaRef) -> Result<Self, Error>;

    /// The schema of every batch this transform returns.
    fn output_schema(&self) -> SchemaRef;

    /// Transform one batch into zero or more outputs of [`Transform::output_schema`]:
    /// [`Output`]s, arrow-rs [`RecordBatch`]es, or nothing (see [`IntoOutputs`]).
    ///
    /// # Errors
    /// [`Error::data`] for input the transform cannot handle, [`Error::internal`] for bugs.
    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error>;

    /// End of stream: return whatever the transform still holds (outputs without input
    /// columns or selections: there is no input batch).
    ///
    /// # Errors
    /// As [`Transform::process`].
    fn finish(&mut self) -> Result<impl IntoOutputs, Error> {
        Ok(Vec::<Output>::new())
    }
}

/// The config of a transform that takes none: accepts only `{}` (or `null`).
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// Export a [`Transform`] as the plugin of this crate.
///
/// The plugin's name, version and description are taken from the crate's `Cargo.toml`
/// (`name`, `version`, `description`).
///
/// `export_plugin!(Type, version = EXPR)` overrides the version with `EXPR`, a
/// `&'static str` constant expression. It is for one crate built as several versions, e.g.
/// from a variable read with `option_env!` at build time (the test plugin `tagger` does this
/// for the hot-swap tests):
///
/// ```ignore
/// const VERSION: &str = match option_env!("MY_PLUGIN_VERSION") {
///     Some(v) => v,
///     None => env!("CARGO_PKG_VERSION"),
/// };
/// quiver_sdk::export_plugin!(MyTransform, version = VERSION);
/// ```
///
/// The host refuses a plugin whose version is not semver-shaped (1 to 64 ASCII letters,
/// digits, `.`, `-` and `+`).
#[macro_export]
macro_rules! export_plugin {
    ($transform:ty, version = $version:expr $(,)?) => {
        const _: () = {
            struct __QuiverInfo;
            impl $crate::__private::Info for __QuiverInfo {
                const NAME: &'static str = env!("CARGO_PKG_NAME");
                const VERSION: &'static str = $version;
                const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");
            }
            type __QuiverExport = $crate::__private::Adapter<$transform, __QuiverInfo>;
    $crate::bindings::__export_plugin_world!(__QuiverExport with_types_in $crate::bindings);
        };
    };
    ($transform:ty) => {
        $crate::export_plugin!($transform, version = env!("CARGO_PKG_VERSION"));
    };
}

#[doc(hidden)]
pub mod __private {
    //! Support for [`export_plugin!`](crate::export_plugin); not a public API.
    pub use crate::export::{Adapter, Info};
}
