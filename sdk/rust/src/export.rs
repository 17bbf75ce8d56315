//! What every contract version's adapter shares: the plugin's identity ([`Info`]), the
//! adapter and resource types `export_plugin!` names, and config parsing with key paths.
//! The version-specific `Guest` implementations are in `adapter.rs` (0.2) and
//! `v1/adapter.rs` (0.1, the `contract-0-1` feature).

use std::cell::RefCell;
use std::marker::PhantomData;

use arrow_schema::SchemaRef;

use crate::Error;

/// Name, version and description of the plugin crate, filled in by `export_plugin!`.
pub trait Info: 'static {
    /// `CARGO_PKG_NAME` of the plugin crate.
    const NAME: &'static str;
    /// `CARGO_PKG_VERSION` of the plugin crate.
    const VERSION: &'static str;
    /// `CARGO_PKG_DESCRIPTION` of the plugin crate.
    const DESCRIPTION: &'static str;
}

/// Implements the WIT exports for the transform `T`.
pub struct Adapter<T, I>(PhantomData<(T, I)>);

/// The guest side of one `transformer` resource.
pub struct Resource<T> {
    /// The user's transform.
    pub(crate) inner: RefCell<T>,
    /// Schema of incoming batches, as agreed at creation.
    pub(crate) input: SchemaRef,
    /// Schema of outgoing batches, as declared at creation.
    pub(crate) output: SchemaRef,
}

/// Parse the config document into `C`, naming the offending key on failure.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned>(config: &str) -> Result<C, Error> {
    let text = if config.trim().is_empty() {
        "{}"
    } else {
        config
    };
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        Error::config(key, e.into_inner().to_string())
    })
}

/// What `metadata()` says, for any version: name, version, description, config schema.
pub(crate) fn metadata<T: crate::Transform, I: Info>() -> (String, String, String, String) {
    (
        I::NAME.to_owned(),
        I::VERSION.to_owned(),
        I::DESCRIPTION.to_owned(),
        T::CONFIG_SCHEMA.to_owned(),
    )
}
