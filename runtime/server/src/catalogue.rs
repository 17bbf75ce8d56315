//! The plugin catalogue: uploaded components checked, stored content-addressed, listed by
//! name and version, and compiled once per process. It is the last source of the server's
//! plugin resolver ([`Resolvable`]), after the plugin path and the first-party plugins:
//! `name` follows the newest version any source has, `name@1.2.0` pins one.
//!
//! An upload is checked the way `quiver plugin inspect` loads a file — it is a component,
//! it targets the WIT version this host speaks, it instantiates under the default limits and
//! its metadata is readable — before anything is stored. A name and version, once stored,
//! always mean the same bytes: uploading other bytes under them is refused (409).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use quiver_host::{Metering, Plugin, Runtime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use quiver_job::{Available, Origin, ResolveError};

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
    /// Bytes of distinct components the store may hold (the plugin-store quota).
    max_store_bytes: u64,
}

impl Catalogue {
    /// A catalogue over `store`, compiling with `runtime`, holding at most
    /// `max_store_bytes` of distinct components.
    pub fn new(store: Store, runtime: Arc<Runtime>, max_store_bytes: u64) -> Self {
        Catalogue {
            store,
            runtime,
            compiled: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
            max_store_bytes,
        }
    }

    /// Bytes of the distinct components stored, and whether `sha256` is among them.
    async fn stored_bytes(&self, sha256: &str) -> ApiResult<(u64, bool)> {
        let mut seen = std::collections::BTreeMap::new();
        for name in self.names().await? {
            for v in self.versions(&name).await? {
                seen.insert(v.sha256, v.size_bytes);
            }
        }
        Ok((seen.values().sum(), seen.contains_key(sha256)))
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
            wit: plugin.contract().to_string(),
            config_schema: m.config_schema.clone(),
            uploaded_at: Utc::now(),
        };
        if let Some(builtin) = quiver_firstparty::get(&record.name)
            && builtin.version == record.version
            && builtin.sha256 != record.sha256
        {
            return Err(ApiError::conflict(format!(
                "{}@{} is a first-party plugin built into this server, with other bytes; a \
                 version never changes: bump the version (or rename the plugin)",
                record.name, record.version
            )));
        }
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
        let (used, shared) = self.stored_bytes(&record.sha256).await?;
        if !shared && used.saturating_add(record.size_bytes) > self.max_store_bytes {
            return Err(ApiError::quota(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the plugin store quota is full: {used} of {} bytes are stored and this \
                     upload has {}; delete unused versions (DELETE /v1/plugins/{{name}}/{{version}}) \
                     or have the operator raise --max-plugin-store (QUIVER_MAX_PLUGIN_STORE)",
                    self.max_store_bytes, record.size_bytes
                ),
            ));
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

    /// The compiled plugin of `version` for `metering`, compiling it (or reading the
    /// runtime's on-disk cache) the first time. Blocks: call it off the async runtime.
    ///
    /// # Errors
    /// The component is missing from the data directory, the store cannot be read, or it
    /// does not load.
    pub fn load_blocking(
        &self,
        handle: &tokio::runtime::Handle,
        version: &PluginVersion,
        metering: Metering,
    ) -> Result<Plugin, ResolveError> {
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
            .block_on(self.store.get(&blob_key(&version.sha256)))
            .map_err(|e| ResolveError::Unavailable(e.to_string()))?
            .ok_or_else(|| {
                ResolveError::NotFound(format!(
                    "the component of {}@{} (sha256 {}) is missing from the data directory {}; \
                     upload it again",
                    version.name,
                    version.version,
                    version.sha256,
                    self.store.shown()
                ))
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

/// The catalogue as a source of `quiver-job`'s plugin resolver. Its methods block on the
/// server's runtime: the resolver is called from blocking tasks and run threads only.
pub struct Resolvable {
    /// The catalogue.
    pub catalogue: Arc<Catalogue>,
    /// The server's runtime, to read the store from a blocking thread.
    pub handle: tokio::runtime::Handle,
}

impl Resolvable {
    fn available(v: &PluginVersion) -> Option<Available> {
        Some(Available {
            name: v.name.clone(),
            version: semver::Version::parse(&v.version).ok()?,
            sha256: Some(v.sha256.clone()),
            origin: Origin::Catalogue,
        })
    }
}

impl quiver_job::Catalogue for Resolvable {
    fn versions(&self, name: &str) -> Result<Vec<Available>, String> {
        let versions = self
            .handle
            .block_on(self.catalogue.versions(name))
            .map_err(|e| e.body.message)?;
        Ok(versions.iter().filter_map(Self::available).collect())
    }

    fn all(&self) -> Result<Vec<Available>, String> {
        let mut out = Vec::new();
        for name in self
            .handle
            .block_on(self.catalogue.names())
            .map_err(|e| e.body.message)?
        {
            out.extend(self.versions(&name)?);
        }
        Ok(out)
    }

    fn load(&self, version: &Available, metering: Metering) -> Result<Plugin, ResolveError> {
        let record = self
            .handle
            .block_on(
                self.catalogue
                    .get(&version.name, &version.version.to_string()),
            )
            .map_err(|e| ResolveError::Unavailable(e.body.message))?
            .ok_or_else(|| {
                ResolveError::NotFound(format!(
                    "{}@{} is no longer in the catalogue",
                    version.name, version.version
                ))
            })?;
        self.catalogue
            .load_blocking(&self.handle, &record, metering)
    }
}
