//! The plugin catalogue: uploaded components checked, stored content-addressed, listed by
//! name and version, resolved for pipelines (`name` follows the latest version,
//! `name@1.2.0` pins one) and compiled once per process.
//!
//! An upload is checked the way `quiver plugin inspect` loads a file — it is a component,
//! it targets the WIT version this host speaks, it instantiates under the default limits and
//! its metadata is readable — before anything is stored. A name and version, once stored,
//! always mean the same bytes: uploading other bytes under them is refused (409).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use quiver_host::{Metering, Plugin, Runtime, WIT_PACKAGE, WIT_VERSION};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::store::{Store, valid_name};

/// A stored plugin version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PluginVersion {
    /// The plugin's name, as it declares it.
    pub name: String,
    /// Its version (semver), as it declares it.
    pub version: String,
    /// sha256 of the component (hex): where the bytes are stored, and the lineage id.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size_bytes: u64,
    /// What the plugin says it does.
    pub description: String,
    /// The WIT package it was built against.
    pub wit: String,
    /// JSON Schema of its config.
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

/// A stage's reference to a plugin: `name` (the latest version, followed by running
/// pipelines) or `name@version` (pinned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    /// Plugin name.
    pub name: String,
    /// The pinned version, if any.
    pub version: Option<semver::Version>,
}

impl PluginRef {
    /// Parse `name` or `name@version`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, version) = match text.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        if !valid_name(name) {
            return Err(format!(
                "`{text}` is not a plugin reference: write `name` (follows the latest version) \
                 or `name@version` (pinned); names are 1-64 of a-z, 0-9, - and _"
            ));
        }
        let version = version
            .map(|v| {
                semver::Version::parse(v)
                    .map_err(|e| format!("`{v}` in `{text}` is not a semver version: {e}"))
            })
            .transpose()?;
        Ok(PluginRef {
            name: name.to_owned(),
            version,
        })
    }

    /// Whether the stage follows the latest version (is not pinned).
    pub fn follows_latest(&self) -> bool {
        self.version.is_none()
    }
}

impl std::fmt::Display for PluginRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

fn record_key(name: &str, version: &str) -> String {
    format!("plugins/{name}/{version}.json")
}

fn blob_key(sha256: &str) -> String {
    format!("blobs/{sha256}.wasm")
}

/// The catalogue.
pub struct Catalogue {
    store: Store,
    runtime: Arc<Runtime>,
    /// Compiled plugins by (sha256, metering): each component is compiled once per process
    /// (and found in the runtime's on-disk cache after a restart).
    compiled: Mutex<HashMap<(String, Metering), Plugin>>,
    /// Uploads and deletes one at a time, so "is this name@version taken" stays true
    /// until the write.
    writes: tokio::sync::Mutex<()>,
}

impl Catalogue {
    /// A catalogue over `store`, compiling with `runtime`.
    pub fn new(store: Store, runtime: Arc<Runtime>) -> Self {
        Catalogue {
            store,
            runtime,
            compiled: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        }
    }

    /// The runtime plugins run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Check and store an uploaded component. `Ok((version, true))` when it is new,
    /// `(version, false)` when exactly these bytes were already stored under its name and
    /// version.
    pub async fn upload(&self, bytes: Bytes) -> ApiResult<(PluginVersion, bool)> {
        let runtime = Arc::clone(&self.runtime);
        let body = bytes.clone();
        let plugin = tokio::task::spawn_blocking(move || runtime.load_bytes(&body, "the upload"))
            .await
            .map_err(|e| ApiError::internal(format!("checking the upload: {e}")))?
            .map_err(|e| {
                ApiError::invalid(
                    format!("the upload is not a usable plugin: {e}"),
                    vec![super::error::Problem::new("", e.to_string())],
                )
            })?;
        let m = plugin.metadata();
        if !valid_name(&m.name) {
            return Err(ApiError::invalid(
                format!(
                    "the plugin calls itself `{}`, which cannot be stored: names are 1-64 of \
                     a-z, 0-9, - and _; rename it in its Cargo.toml/pyproject/package.json",
                    m.name
                ),
                Vec::new(),
            ));
        }
        let version = semver::Version::parse(&m.version).map_err(|e| {
            ApiError::invalid(
                format!(
                    "plugin `{}` declares version `{}`, which is not semver ({e}); the server \
                     orders versions to find the latest, so give it e.g. 1.2.0",
                    m.name, m.version
                ),
                Vec::new(),
            )
        })?;
        let record = PluginVersion {
            name: m.name.clone(),
            version: version.to_string(),
            sha256: plugin.sha256().to_owned(),
            size_bytes: bytes.len() as u64,
            description: m.description.clone(),
            wit: format!("{WIT_PACKAGE}@{WIT_VERSION}"),
            config_schema: m.config_schema.clone(),
            uploaded_at: Utc::now(),
        };
        let _writing = self.writes.lock().await;
        if let Some(existing) = self.get(&record.name, &record.version).await? {
            if existing.sha256 == record.sha256 {
                return Ok((existing, false));
            }
            return Err(ApiError::conflict(format!(
                "plugin {}@{} is already stored with other bytes (sha256 {}); a version \
                 never changes once uploaded: bump the version",
                record.name, record.version, existing.sha256
            )));
        }
        // The bytes first: a record never points at a missing blob.
        self.store.put(&blob_key(&record.sha256), bytes).await?;
        self.store
            .put_json(&record_key(&record.name, &record.version), &record)
            .await?;
        self.remember(plugin, Metering::Epoch);
        tracing::info!(plugin = %record.name, version = %record.version, sha256 = %record.sha256, "plugin stored");
        Ok((record, true))
    }

    fn remember(&self, plugin: Plugin, metering: Metering) {
        self.compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((plugin.sha256().to_owned(), metering), plugin);
    }

    /// Every stored plugin name, sorted.
    pub async fn names(&self) -> ApiResult<Vec<String>> {
        let mut names: Vec<String> = self
            .store
            .list("plugins")
            .await?
            .iter()
            .filter_map(|k| {
                k.strip_prefix("plugins/")?
                    .split('/')
                    .next()
                    .map(str::to_owned)
            })
            .collect();
        names.dedup();
        Ok(names)
    }

    /// Every stored version of `name`, oldest first (semver order).
    pub async fn versions(&self, name: &str) -> ApiResult<Vec<PluginVersion>> {
        if !valid_name(name) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for key in self.store.list(&format!("plugins/{name}")).await? {
            if let Some(v) = self.store.get_json::<PluginVersion>(&key).await? {
                out.push(v);
            }
        }
        out.sort_by_key(|v| semver::Version::parse(&v.version).ok());
        Ok(out)
    }

    /// One version's record.
    pub async fn get(&self, name: &str, version: &str) -> ApiResult<Option<PluginVersion>> {
        if !valid_name(name) || semver::Version::parse(version).is_err() {
            return Ok(None);
        }
        Ok(self.store.get_json(&record_key(name, version)).await?)
    }

    /// The version `reference` means now; the message says what is missing.
    pub async fn resolve(&self, reference: &PluginRef) -> Result<PluginVersion, String> {
        let found = match &reference.version {
            Some(v) => self.get(&reference.name, &v.to_string()).await,
            None => self
                .versions(&reference.name)
                .await
                .map(|mut all| all.pop()),
        }
        .map_err(|e| e.body.message)?;
        found.ok_or_else(|| match &reference.version {
            Some(v) => format!(
                "there is no plugin {}@{v} in the store; upload it (POST /v1/plugins) or \
                 pin a stored version",
                reference.name
            ),
            None => format!(
                "there is no plugin named `{}` in the store; upload it first (POST /v1/plugins)",
                reference.name
            ),
        })
    }

    /// The compiled plugin of `version` for `metering`, compiling it (or reading the
    /// runtime's on-disk cache) the first time. Blocks: call it off the async runtime.
    pub fn load_blocking(
        &self,
        handle: &tokio::runtime::Handle,
        version: &PluginVersion,
        metering: Metering,
    ) -> anyhow::Result<Plugin> {
        let key = (version.sha256.clone(), metering);
        if let Some(p) = self
            .compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(p.clone());
        }
        let bytes = handle
            .block_on(self.store.get(&blob_key(&version.sha256)))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the component of {}@{} (sha256 {}) is missing from the data directory {}; \
                     upload it again",
                    version.name,
                    version.version,
                    version.sha256,
                    self.store.shown()
                )
            })?;
        let source = format!("{}@{}", version.name, version.version);
        let plugin = self.runtime.load_bytes_metered(&bytes, &source, metering)?;
        self.remember(plugin.clone(), metering);
        Ok(plugin)
    }

    /// Remove one version (its bytes stay if another record shares them).
    pub async fn delete(&self, name: &str, version: &str) -> ApiResult<()> {
        let _writing = self.writes.lock().await;
        let Some(record) = self.get(name, version).await? else {
            return Err(ApiError::not_found(format!(
                "there is no plugin {name}@{version}"
            )));
        };
        self.store.delete(&record_key(name, version)).await?;
        let mut shared = false;
        for other in self.names().await? {
            for v in self.versions(&other).await? {
                shared |= v.sha256 == record.sha256;
            }
        }
        if !shared {
            self.store.delete(&blob_key(&record.sha256)).await?;
        }
        Ok(())
    }
}
