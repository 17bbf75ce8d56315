//! Write Quiver transforms in Rust.
//!
//! A transform is a type implementing [`Transform`] over arrow-rs [`RecordBatch`]es, exported
//! with [`export_plugin!`]. The SDK does everything else: it implements the
//! `quiver:transform@0.1.0` WIT world, parses and validates the JSON config into your
//! `Config` type (errors name the offending key), converts the Arrow buffers crossing the
//! boundary without copying where alignment allows, and checks what you return.
//!
//! ```ignore
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, RecordBatch, cast::AsArray, types::Float64Type};
//! use arrow_schema::SchemaRef;
//! use quiver_sdk::{Error, Transform};
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
//!     fn process(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, Error> {
//!         let x = batch.column(self.index).as_primitive::<Float64Type>();
//!         let scaled: Float64Array = x.unary(|v| v * self.config.factor);
//!         let mut columns = batch.columns().to_vec();
//!         columns[self.index] = Arc::new(scaled);
//!         Ok(vec![RecordBatch::try_new(self.schema.clone(), columns)?])
//!     }
//! }
//! quiver_sdk::export_plugin!(Scale);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`; the component is
//! `target/wasm32-wasip2/release/<crate>.wasm`. Name, version and description come from your
//! `Cargo.toml`.
//!
//! # Pitfall: checked 64-bit arithmetic in wasm
//!
//! `i64::checked_mul` (and `overflowing_mul`, and the overflow checks of debug builds)
//! compiles on wasm32 to a call into a 128-bit multiply helper and runs about 8× slower than
//! `wrapping_mul` (measured in `../shared/design/BOUNDARY.md`). In a per-row loop, prefer
//! `wrapping_*` or a float path, or check the range once per batch (e.g. from the column's
//! min/max) and then use the wrapping operation. Always build plugins with `--release`.

#![deny(missing_docs)]

mod adapter;
mod convert;
mod error;
pub mod host;
pub mod scalar;

#[doc(hidden)]
pub mod bindings {
    //! Generated bindings of the `quiver:transform/plugin` world; plugin authors never use
    //! them directly.
    wit_bindgen::generate!({
        path: "../../wit",
        world: "quiver:transform/plugin",
        pub_export_macro: true,
        default_bindings_module: "quiver_sdk::bindings",
        export_macro_name: "__export_plugin_world",
    });
}

pub use arrow_array::RecordBatch;
pub use arrow_schema::SchemaRef;
pub use error::Error;

/// The WIT package version this SDK implements.
pub const WIT_VERSION: &str = "0.1.0";

/// A stateful transform over a stream of record batches.
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

    /// Transform one batch into zero or more batches of [`Transform::output_schema`].
    ///
    /// # Errors
    /// [`Error::data`] for input the transform cannot handle, [`Error::internal`] for bugs.
    fn process(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, Error>;

    /// End of stream: return whatever the transform still holds.
    ///
    /// # Errors
    /// As [`Transform::process`].
    fn finish(&mut self) -> Result<Vec<RecordBatch>, Error> {
        Ok(Vec::new())
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
    pub use crate::adapter::{Adapter, Info};
}
