//! [`Storage`]: how URLs become object stores. Credentials come from the environment (the
//! `object_store` builders' `from_env`), explicit per-store options go on top (tests point S3
//! at a local server this way, without touching the process environment), every remote
//! store retries transient failures with the same [`RetryConfig`], and stores are built once
//! per bucket/container and reused.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::memory::InMemory;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

use crate::IoError;

/// The cloud a remote location lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Cloud {
    /// `s3://bucket/key`
    S3,
    /// `gs://bucket/key`
    Gcs,
    /// `az://container/key`, `abfs[s]://container[@account.host]/key`
    Azure,
}

/// Turns remote locations into [`ObjectStore`]s: one value per pipeline (or per process).
///
/// Cloning is cheap and shares the cache of built stores.
#[derive(Clone)]
pub struct Storage {
    /// Options applied to every S3 store after the environment's (`AWS_*`).
    s3: Vec<(AmazonS3ConfigKey, String)>,
    /// Options applied to every GCS store after the environment's (`GOOGLE_*`).
    gcs: Vec<(GoogleConfigKey, String)>,
    /// Options applied to every Azure store after the environment's (`AZURE_*`).
    azure: Vec<(AzureConfigKey, String)>,
    /// Retries of every remote store.
    retry: RetryConfig,
    /// Stores already built, by `scheme://authority`. Shared between clones so that a source
    /// and a sink on the same bucket share one connection pool.
    built: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
    /// Wraps every remote and `memory://` store once built (see [`Storage::with_layer`]).
    layer: Option<StoreLayer>,
}

/// A wrapper put around stores: metrics, throttling, or a test counting the bytes fetched.
pub type StoreLayer = Arc<dyn Fn(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> + Send + Sync>;

impl Default for Storage {
    fn default() -> Self {
        Self::from_env()
    }
}

impl fmt::Debug for Storage {
    /// Names the configured keys, never their values (they may be secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("s3_options", &self.s3.len())
            .field("gcs_options", &self.gcs.len())
            .field("azure_options", &self.azure.len())
            .field("retry", &self.retry)
            .field("layer", &self.layer.is_some())
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Credentials and settings from the environment only, with [`Storage::default_retry`].
    ///
    /// For S3 this honours every `AWS_*` variable `AmazonS3Builder::from_env` knows, among
    /// them `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`
    /// and `AWS_ALLOW_HTTP`; likewise `GOOGLE_*` for GCS and `AZURE_*` for Azure.
    pub fn from_env() -> Self {
        Storage {
            s3: Vec::new(),
            gcs: Vec::new(),
            azure: Vec::new(),
            retry: Self::default_retry(),
            built: Arc::default(),
            layer: None,
        }
    }

    /// The retry policy of every remote store unless [`Storage::with_retry`] replaces it:
    /// up to 8 retries, backoff from 100 ms doubling to at most 15 s, and no retry starts
    /// later than 2 minutes after the first attempt.
    ///
    /// Why: this rides out throttling and a restart of the endpoint (a ~30 s blip) but fails a
    /// run against a dead or misconfigured endpoint within about two minutes instead of
    /// object_store's default three; it stays below the five minutes after which signed
    /// requests expire. Only transient failures are retried (connection errors, timeouts,
    /// 5xx, 429); 4xx answers such as 403 fail at once.
    pub fn default_retry() -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: 8,
            retry_timeout: Duration::from_secs(120),
        }
    }

    /// Replaces the retry policy of remote stores built from now on.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Puts `layer` around every remote (`s3://`, `gs://`, `az://`) and `memory://` store
    /// built from now on (local files are read directly). Stores already built keep
    /// whatever they had.
    pub fn with_layer(
        mut self,
        layer: impl Fn(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> + Send + Sync + 'static,
    ) -> Self {
        self.layer = Some(Arc::new(layer));
        self.built = Arc::default();
        self
    }

    /// `store` inside the layer, if there is one.
    pub(crate) fn wrap(&self, store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        match &self.layer {
            Some(layer) => layer(store),
            None => store,
        }
    }

    /// Sets an S3 option (endpoint, credentials, `allow_http`, ...) on top of the environment.
    pub fn with_s3(mut self, key: AmazonS3ConfigKey, value: impl Into<String>) -> Self {
        self.s3.push((key, value.into()));
        self
    }

    /// Sets a Google Cloud Storage option on top of the environment.
    pub fn with_gcs(mut self, key: GoogleConfigKey, value: impl Into<String>) -> Self {
        self.gcs.push((key, value.into()));
        self
    }

    /// Sets an Azure option on top of the environment.
    pub fn with_azure(mut self, key: AzureConfigKey, value: impl Into<String>) -> Self {
        self.azure.push((key, value.into()));
        self
    }

    /// The store for `scheme://authority` (`authority` is the bucket or container, possibly
    /// `container@account.host` for `abfs`), built on first use. `shown` is the display name
    /// of the location, for errors.
    pub(crate) fn remote(
        &self,
        cloud: Cloud,
        scheme: &str,
        authority: &str,
        shown: &str,
    ) -> Result<Arc<dyn ObjectStore>, IoError> {
        let url = format!("{scheme}://{authority}");
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = built.get(&url) {
            return Ok(Arc::clone(store));
        }
        install_crypto_provider();
        let failed = |error: object_store::Error| {
            IoError::config(
                "path",
                format!("cannot set up the storage client for {shown}: {error}"),
            )
        };
        let store: Arc<dyn ObjectStore> = match cloud {
            Cloud::S3 => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_url(&url)
                    .with_retry(self.retry.clone());
                for (key, value) in &self.s3 {
                    builder = builder.with_config(*key, value);
                }
                Arc::new(builder.build().map_err(failed)?)
            }
            Cloud::Gcs => {
                let mut builder = GoogleCloudStorageBuilder::from_env()
                    .with_url(&url)
                    .with_retry(self.retry.clone());
                for (key, value) in &self.gcs {
                    builder = builder.with_config(*key, value);
                }
                Arc::new(builder.build().map_err(failed)?)
            }
            Cloud::Azure => {
                let mut builder = MicrosoftAzureBuilder::from_env()
                    .with_url(&url)
                    .with_retry(self.retry.clone());
                for (key, value) in &self.azure {
                    builder = builder.with_config(*key, value);
                }
                Arc::new(builder.build().map_err(failed)?)
            }
        };
        let store = self.wrap(store);
        built.insert(url, Arc::clone(&store));
        Ok(store)
    }
}

/// The one in-memory store of the process, behind every `memory://` location: what one
/// sink writes there, any later source in the same process can read.
pub(crate) fn memory() -> Arc<dyn ObjectStore> {
    static MEMORY: OnceLock<Arc<InMemory>> = OnceLock::new();
    let store: Arc<InMemory> = Arc::clone(MEMORY.get_or_init(|| Arc::new(InMemory::new())));
    store
}

/// Makes rustls use `ring` in this process, unless some other provider was installed first.
///
/// object_store's HTTP client (reqwest) is built with `rustls-no-provider`, so that the slow
/// C build of `aws-lc-rs` is not needed; reqwest then takes the process default provider,
/// which must exist before the first client is built. Losing the race to another installer
/// is fine: any provider will do.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let storage =
            Storage::from_env().with_s3(AmazonS3ConfigKey::SecretAccessKey, "very-secret");
        let shown = format!("{storage:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("s3_options: 1"), "{shown}");
    }

    #[test]
    fn stores_are_built_once_per_bucket() {
        let storage = Storage::from_env()
            .with_s3(AmazonS3ConfigKey::Region, "us-east-1")
            .with_s3(AmazonS3ConfigKey::AccessKeyId, "a")
            .with_s3(AmazonS3ConfigKey::SecretAccessKey, "b");
        let first = storage
            .remote(Cloud::S3, "s3", "bucket", "s3://bucket")
            .expect("first build");
        let second = storage
            .clone()
            .remote(Cloud::S3, "s3", "bucket", "s3://bucket")
            .expect("second build");
        assert!(Arc::ptr_eq(&first, &second));
    }
}
