//! The bridge between a [`Transform`] and the generated WIT exports.
//!
//! [`Adapter`] implements the generated `Guest` trait for any `Transform`; the
//! [`export_plugin!`](crate::export_plugin) macro names a concrete `Adapter<YourType, Info>`
//! so wit-bindgen can export it. The guest resource holds the transform in a `RefCell`
//! because WIT resource methods take `&self`.

use std::cell::RefCell;
use std::marker::PhantomData;

use arrow_schema::SchemaRef;

use crate::bindings::exports::quiver::transform::transform::{
    Guest, GuestTransformer, Transformer,
};
use crate::bindings::quiver::transform::types as wit;
use crate::{Error, Transform, convert};

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
    inner: RefCell<T>,
    /// Schema of incoming batches, as agreed at creation.
    input: SchemaRef,
    /// Schema of outgoing batches, as declared at creation.
    output: SchemaRef,
}

impl<T: Transform, I: Info> Guest for Adapter<T, I> {
    type Transformer = Resource<T>;

    fn metadata() -> wit::PluginMetadata {
        wit::PluginMetadata {
            name: I::NAME.to_owned(),
            version: I::VERSION.to_owned(),
            description: I::DESCRIPTION.to_owned(),
            config_schema: T::CONFIG_SCHEMA.to_owned(),
        }
    }
}

/// Parse the config document into `C`, naming the offending key on failure.
fn parse_config<C: serde::de::DeserializeOwned>(config: &str) -> Result<C, Error> {
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

impl<T: Transform> GuestTransformer for Resource<T> {
    fn create(config: String, input: wit::Schema) -> Result<Transformer, wit::Error> {
        let config = parse_config::<T::Config>(&config)?;
        let input = convert::schema_from_wit(input);
        let transform = T::new(config, input.clone())?;
        let output = transform.output_schema();
        convert::schema_to_wit(&output)?;
        Ok(Transformer::new(Resource {
            inner: RefCell::new(transform),
            input,
            output,
        }))
    }

    fn output_schema(&self) -> wit::Schema {
        // Checked to be convertible in `create`.
        convert::schema_to_wit(&self.output).unwrap_or_else(|_| wit::Schema {
            fields: Vec::new(),
            metadata: Vec::new(),
        })
    }

    fn process(&self, input: wit::Batch) -> Result<Vec<wit::Batch>, wit::Error> {
        let batch = convert::batch_from_wit(input, &self.input)?;
        let out = self.inner.borrow_mut().process(batch)?;
        Ok(out
            .iter()
            .map(|b| convert::batch_to_wit(b, &self.output))
            .collect::<Result<_, _>>()?)
    }

    fn finish(&self) -> Result<Vec<wit::Batch>, wit::Error> {
        let out = self.inner.borrow_mut().finish()?;
        Ok(out
            .iter()
            .map(|b| convert::batch_to_wit(b, &self.output))
            .collect::<Result<_, _>>()?)
    }
}
