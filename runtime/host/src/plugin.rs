//! A loaded plugin version: the compiled component, its `InstancePre` and its metadata.
//!
//! Loading checks, in order, that the bytes are a component, that it exports the
//! `quiver:transform/transform` interface of a supported version (0.1.0 or 0.2.0: the host
//! runs both, see `contract.rs`), that its imports are
//! satisfiable by the host (Quiver host imports + WASI), and that an instance created under
//! default limits answers `metadata()` with a valid name, version and JSON config schema.
//! Each failure is a distinct [`LoadError`] that says what to do.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::types::ComponentItem;

use crate::contract::{ContractVersion, EXPORT_V1, EXPORT_V2, Guest, Pre, RawMetadata};
use crate::error::{Call, ErrorKind, LoadError, PluginError, PluginId, classify_trap};
use crate::limits::{Limits, Sandbox};
use crate::runtime::{MemoryInit, Metering, Runtime};
use crate::state::StoreState;
use crate::transformer::Transformer;

/// The WIT package every plugin targets.
pub const WIT_PACKAGE: &str = "quiver:transform";
/// The versions of [`WIT_PACKAGE`] this host runs, oldest first.
pub const WIT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// What a plugin declared about itself through `metadata()`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginMetadata {
    /// Plugin name (lowercase letters, digits, `-`, `_`).
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// One paragraph for humans.
    pub description: String,
    /// JSON Schema of its config.
    pub config_schema: serde_json::Value,
}

/// Whether a load compiled the component or found it in the on-disk cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOrigin {
    /// Compiled by cranelift in this load.
    Compiled,
    /// Deserialized from the compiled-plugin cache.
    Cache,
}

/// One plugin version, compiled and ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    /// The runtime it was compiled for (instances are created in its engine).
    runtime: Runtime,
    /// What the plugin says about itself.
    metadata: PluginMetadata,
    /// Name, version and sha256 of the component bytes: the identity in lineage and errors.
    id: Arc<PluginId>,
    /// Compiled now or loaded from the cache.
    origin: LoadOrigin,
    /// Imports resolved once, for the contract version the plugin targets; every instance
    /// comes from here.
    pre: Pre,
    /// The engine it was compiled for: metered by fuel or not,
    metering: Metering,
    /// and with its memory image mapped or copied (by its size).
    memory_init: MemoryInit,
    /// Where the bytes came from (a path, an upload), for messages.
    source: String,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("metadata", &self.inner.metadata)
            .field("sha256", &self.inner.id.sha256)
            .field("origin", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

/// What `finish_load` knows of a component: its metadata (from the cache), or only the
/// fresh compile (to probe, then to cache).
enum Known {
    Yes(PluginMetadata),
    No(crate::compile::Compiled),
}

impl Runtime {
    /// Load the plugin component in the file at `path`.
    ///
    /// # Errors
    /// A [`LoadError`] saying what is wrong with the file and what to do about it.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        self.load_file_metered(path, Metering::Epoch)
    }

    /// Load the plugin component in the file at `path` for the engine of `metering`
    /// ([`Metering::Fuel`] is needed for stages with a fuel budget).
    ///
    /// # Errors
    /// A [`LoadError`] saying what is wrong with the file and what to do about it.
    pub fn load_file_metered(&self, path: &Path, metering: Metering) -> Result<Plugin, LoadError> {
        let source = path.display().to_string();
        // A file loaded before, unchanged since (same inode, size, mtime and ctime — a
        // write always moves ctime): its sha256 is remembered, and its compiled artifact and
        // metadata are in the cache, so neither reading and hashing the bytes nor the
        // metadata probe is needed.
        let dir = self.inner.config.cache_dir.as_deref();
        let identity = dir.and_then(|_| crate::cache::FileIdentity::of(path));
        if let (Some(dir), Some(identity)) = (dir, &identity)
            && let Some(sha256) = identity.remembered_sha256(dir)
            && let Ok(meta) = std::fs::metadata(path)
            && let Some(plugin) = self.load_cached(
                dir,
                &sha256,
                &source,
                (metering, self.inner.config.memory_init_for(meta.len())),
            )?
        {
            return Ok(plugin);
        }
        let bytes = std::fs::read(path).map_err(|reason| LoadError::Io {
            path: path.to_owned(),
            reason,
        })?;
        let plugin = self.load_bytes_metered(&bytes, &source, metering)?;
        if let (Some(dir), Some(identity)) = (dir, identity) {
            identity.remember_sha256(dir, plugin.sha256());
        }
        Ok(plugin)
    }

    /// The plugin whose compiled artifact and metadata the cache holds under `sha256`;
    /// `None` when either is missing or unusable (the caller then loads the bytes).
    fn load_cached(
        &self,
        dir: &Path,
        sha256: &str,
        source: &str,
        kind: (Metering, MemoryInit),
    ) -> Result<Option<Plugin>, LoadError> {
        let engines = self.engines(kind.0, kind.1)?;
        let Some((component, metadata)) =
            crate::cache::load_with_metadata(&engines.engine, dir, sha256)
        else {
            return Ok(None);
        };
        self.finish_load(
            component,
            LoadOrigin::Cache,
            sha256.to_owned(),
            source.to_owned(),
            kind,
            Known::Yes(metadata),
        )
        .map(Some)
    }

    /// Load a component whose sha256 is already known (an embedded first-party plugin):
    /// from the compile cache without touching its bytes when it was compiled before;
    /// `bytes` is called (to read or decompress them) only otherwise, and what it returns is
    /// hashed and loaded like any other bytes.
    ///
    /// # Errors
    /// `bytes` fails (as [`LoadError::Engine`]), or as [`Self::load_bytes`].
    pub fn load_known(
        &self,
        sha256: &str,
        source: &str,
        metering: Metering,
        bytes: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Plugin, LoadError> {
        // First-party plugins are Rust components far under the copy threshold; naming
        // the kind here, not reading it off bytes not yet read, keeps lookup and compile on
        // one engine.
        let kind = (metering, MemoryInit::Cow);
        if let Some(dir) = self.inner.config.cache_dir.as_deref()
            && let Some(plugin) = self.load_cached(dir, sha256, source, kind)?
        {
            return Ok(plugin);
        }
        let bytes = bytes().map_err(|e| LoadError::Engine(format!("reading {source}: {e}")))?;
        self.load_bytes_as(&bytes, source, kind)
    }

    /// Load a plugin component from memory; `source` names it in messages.
    ///
    /// # Errors
    /// A [`LoadError`] saying what is wrong with the bytes and what to do about it.
    pub fn load_bytes(&self, bytes: &[u8], source: &str) -> Result<Plugin, LoadError> {
        self.load_bytes_metered(bytes, source, Metering::Epoch)
    }

    /// [`Self::load_bytes`] for the engine of `metering`.
    ///
    /// # Errors
    /// As [`Self::load_bytes`].
    pub fn load_bytes_metered(
        &self,
        bytes: &[u8],
        source: &str,
        metering: Metering,
    ) -> Result<Plugin, LoadError> {
        let init = self.inner.config.memory_init_for(bytes.len() as u64);
        self.load_bytes_as(bytes, source, (metering, init))
    }

    /// [`Self::load_bytes`] for the engine of `kind`.
    fn load_bytes_as(
        &self,
        bytes: &[u8],
        source: &str,
        kind: (Metering, MemoryInit),
    ) -> Result<Plugin, LoadError> {
        let origin = source.to_owned();
        let sha256 = hex::encode(Sha256::digest(bytes));
        if !bytes.starts_with(b"\0asm") {
            return Err(LoadError::NotAComponent {
                origin,
                reason: "no WebAssembly magic number".into(),
            });
        }
        if let Some(dir) = self.inner.config.cache_dir.as_deref()
            && let Some(plugin) = self.load_cached(dir, &sha256, source, kind)?
        {
            return Ok(plugin);
        }
        let engines = self.engines(kind.0, kind.1)?;
        let compiled = crate::compile::compile(
            &engines.engine,
            &self.inner.config,
            kind,
            &self.inner.compile_slots,
            bytes,
            &origin,
        )?;
        let component = compiled.component.clone();
        self.finish_load(
            component,
            LoadOrigin::Compiled,
            sha256,
            origin,
            kind,
            Known::No(compiled),
        )
    }

    /// Everything after the compiled component is at hand: export and import checks,
    /// `metadata()` (probed in a throw-away instance unless `known` from the cache). After a
    /// successful probe the fresh compile's artifact and the metadata go to the cache.
    fn finish_load(
        &self,
        component: wasmtime::component::Component,
        load_origin: LoadOrigin,
        sha256: String,
        origin: String,
        (metering, memory_init): (Metering, MemoryInit),
        known: Known,
    ) -> Result<Plugin, LoadError> {
        let engines = self.engines(metering, memory_init)?;
        let engine = &engines.engine;
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
            .map(|(name, _)| name.to_owned())
            .collect();
        // The newest version a component exports wins (a component exports one).
        let Some(export) = [EXPORT_V2, EXPORT_V1]
            .into_iter()
            .find(|x| exports.iter().any(|e| e == x))
        else {
            let found = if exports.is_empty() {
                " (it exports no interface)".to_owned()
            } else if let Some(other) = exports
                .iter()
                .find(|e| e.starts_with("quiver:transform/transform@"))
            {
                format!(
                    " (it exports `{other}`: built against another contract version; this host runs {})",
                    WIT_VERSIONS.join(" and ")
                )
            } else {
                format!(" (it exports {})", exports.join(", "))
            };
            return Err(LoadError::NotAPlugin {
                origin,
                expected: format!("{EXPORT_V2} or {EXPORT_V1}"),
                found,
            });
        };
        let pre = engines
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Imports {
                origin: origin.clone(),
                reason: format!("{e}"),
            })?;
        let pre = Pre::new(pre, export).map_err(|e| LoadError::NotAPlugin {
            origin: origin.clone(),
            expected: export.into(),
            found: format!(" with the expected shape ({e})"),
        })?;

        let metadata = match known {
            Known::Yes(m) => m,
            Known::No(compiled) => {
                // Ask the plugin who it is, in a throw-away instance under default limits.
                let mut probe = Probe {
                    runtime: self,
                    pre: &pre,
                    sha256: &sha256,
                    metering,
                };
                let raw = probe.metadata().map_err(|e| LoadError::Metadata {
                    origin: origin.clone(),
                    error: Box::new(e),
                })?;
                let metadata =
                    validate_metadata(raw).map_err(|reason| LoadError::InvalidMetadata {
                        origin: origin.clone(),
                        reason,
                    })?;
                if let Some(dir) = self.inner.config.cache_dir.as_deref() {
                    let max = self.inner.config.cache_max_bytes;
                    if let Err(e) =
                        crate::cache::commit(engine, dir, &sha256, compiled, &metadata, max)
                    {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot write the plugin cache entry; continuing without it");
                    }
                }
                metadata
            }
        };
        tracing::debug!(plugin = %metadata.name, version = %metadata.version, sha256 = %sha256, origin = ?load_origin, "plugin loaded");
        Ok(Plugin {
            inner: Arc::new(PluginInner {
                runtime: self.clone(),
                id: Arc::new(PluginId {
                    name: metadata.name.clone(),
                    version: metadata.version.clone(),
                    sha256,
                    contract: pre.version(),
                }),
                metadata,
                origin: load_origin,
                pre,
                metering,
                memory_init,
                source: origin,
            }),
        })
    }
}

/// Calls `metadata()` before a [`Plugin`] exists.
struct Probe<'a> {
    runtime: &'a Runtime,
    pre: &'a Pre,
    sha256: &'a str,
    metering: Metering,
}

impl Probe<'_> {
    fn metadata(&mut self) -> Result<RawMetadata, PluginError> {
        let sandbox = Sandbox::default();
        let id = Arc::new(PluginId {
            name: "<unknown>".into(),
            version: "<unknown>".into(),
            sha256: self.sha256.to_owned(),
            contract: self.pre.version(),
        });
        let unknown = |kind, stderr| PluginError {
            plugin: Arc::clone(&id),
            call: Call::Metadata,
            batch: None,
            kind,
            stderr,
        };
        let (mut store, instance) =
            instantiate(self.runtime, self.pre, self.metering, "<loading>", &sandbox)
                .map_err(|(kind, stderr)| unknown(kind, stderr))?;
        arm(&mut store, self.runtime, &sandbox.limits);
        instance.metadata(&mut store).map_err(|e| {
            let (trap, message) = classify_trap(&e);
            unknown(
                ErrorKind::Trap { trap, message },
                store.data().stderr_tail(4096),
            )
        })
    }
}

fn validate_metadata(m: RawMetadata) -> Result<PluginMetadata, String> {
    let name_ok = !m.name.is_empty()
        && m.name.len() <= 64
        && m.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(format!(
            "name {:?} must be 1 to 64 characters of lowercase letters, digits, `-` and `_`",
            crate::text::truncate(m.name, 80)
        ));
    }
    let version_ok = !m.version.is_empty()
        && m.version.len() <= 64
        && m.version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b));
    if !version_ok {
        return Err(format!(
            "version {:?} of plugin {} is not a semantic version",
            crate::text::truncate(m.version, 80),
            m.name
        ));
    }
    // Metadata is kept (in the cache, in a server's catalogue) and shown: its size is the
    // plugin's choice, so it is bounded before anything parses or stores it.
    if m.description.len() > crate::limits::MAX_DESCRIPTION_BYTES {
        return Err(format!(
            "the description of plugin {} is {} bytes; at most {} are accepted",
            m.name,
            m.description.len(),
            crate::limits::MAX_DESCRIPTION_BYTES
        ));
    }
    if m.config_schema.len() > crate::limits::MAX_CONFIG_SCHEMA_BYTES {
        return Err(format!(
            "the config schema of plugin {} is {} bytes; at most {} are accepted",
            m.name,
            m.config_schema.len(),
            crate::limits::MAX_CONFIG_SCHEMA_BYTES
        ));
    }
    let config_schema = serde_json::from_str(&m.config_schema)
        .map_err(|e| format!("config schema of plugin {} is not JSON: {e}", m.name))?;
    Ok(PluginMetadata {
        name: m.name,
        version: m.version,
        description: m.description,
        config_schema,
    })
}

/// A fresh store and instance, in `sandbox`.
pub(crate) fn instantiate(
    runtime: &Runtime,
    pre: &Pre,
    metering: Metering,
    plugin: &str,
    sandbox: &Sandbox,
) -> Result<(Store<StoreState>, Guest), (ErrorKind, String)> {
    let engine = pre.engine();
    let state = StoreState::new(plugin, sandbox).map_err(|g| {
        (
            ErrorKind::Config {
                key: format!("grants.{}", g.key),
                message: g.message,
            },
            String::new(),
        )
    })?;
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    if metering == Metering::Fuel {
        // Instantiation runs start functions; give them the call budget too.
        let _ = store.set_fuel(sandbox.limits.fuel.unwrap_or(u64::MAX));
    }
    arm(&mut store, runtime, &sandbox.limits);
    match pre.instantiate(&mut store) {
        Ok(instance) => Ok((store, instance)),
        Err(e) => {
            let (trap, message) = classify_trap(&e);
            Err((
                ErrorKind::Trap { trap, message },
                store.data().stderr_tail(4096),
            ))
        }
    }
}

/// Arm the deadline of the next guest call: the epoch deadline for guest code, and the
/// instant host sleeps are cut short at.
pub(crate) fn arm(store: &mut Store<StoreState>, runtime: &Runtime, limits: &Limits) {
    let tick = runtime.inner.tick.as_nanos().max(1);
    let ticks = limits.deadline.as_nanos().div_ceil(tick).max(1);
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    store.data_mut().deadline_at = std::time::Instant::now().checked_add(limits.deadline);
}

impl Plugin {
    /// What the plugin declared about itself.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.inner.metadata
    }

    /// Plugin name.
    pub fn name(&self) -> &str {
        &self.inner.metadata.name
    }

    /// Plugin version.
    pub fn version(&self) -> &str {
        &self.inner.metadata.version
    }

    /// sha256 of the component bytes (hex).
    pub fn sha256(&self) -> &str {
        &self.inner.id.sha256
    }

    /// Name, version and hash together (what errors and reports carry).
    pub fn id(&self) -> &Arc<PluginId> {
        &self.inner.id
    }

    /// Whether this load compiled the component or took it from the cache.
    pub fn origin(&self) -> LoadOrigin {
        self.inner.origin
    }

    /// Where the plugin was loaded from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    pub(crate) fn pre(&self) -> &Pre {
        &self.inner.pre
    }

    /// The contract version the plugin targets.
    pub fn contract(&self) -> ContractVersion {
        self.inner.pre.version()
    }

    /// Whether this plugin runs fuel-metered.
    pub fn metering(&self) -> Metering {
        self.inner.metering
    }

    /// Whether its instances map their memory image or copy it (by the component's size).
    pub fn memory_init(&self) -> MemoryInit {
        self.inner.memory_init
    }

    /// A [`PluginError`] of this plugin.
    pub(crate) fn error(
        &self,
        call: Call,
        batch: Option<u64>,
        kind: ErrorKind,
        stderr: String,
    ) -> PluginError {
        PluginError {
            plugin: Arc::clone(&self.inner.id),
            call,
            batch,
            kind,
            stderr,
        }
    }

    /// Create a transformer for one stream of `input`, configured by the JSON `config`.
    ///
    /// Instantiates the plugin, calls `transformer.create` and `output-schema`; after this
    /// returns, [`Transformer::output_schema`] is known and no data has flowed.
    ///
    /// Every instance of the stream runs in `sandbox`: its limits (checked against the
    /// runtime's ceiling first) and its grants.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the plugin rejects the config, when a limit breaks the
    /// ceiling (key `limits.<name>`), when a grant cannot be honoured (key
    /// `grants.<name>`) or when a fuel budget is asked of a plugin not loaded with
    /// [`Metering::Fuel`]; [`ErrorKind::InvalidInput`] when a column of `input` cannot cross
    /// the boundary; or any trap.
    pub fn transformer(
        &self,
        config: &str,
        input: SchemaRef,
        sandbox: &Sandbox,
    ) -> Result<Transformer, PluginError> {
        let config_error = |key: String, message: String| {
            self.error(
                Call::Create,
                None,
                ErrorKind::Config { key, message },
                String::new(),
            )
        };
        let ceiling = &self.runtime().config().ceiling;
        if let Some(v) = sandbox.limits.violations(ceiling).into_iter().next() {
            return Err(config_error(format!("limits.{}", v.key), v.message));
        }
        if sandbox.limits.fuel.is_some() && self.metering() != Metering::Fuel {
            return Err(config_error(
                "limits.fuel".into(),
                "a fuel budget needs the plugin loaded with fuel metering \
                 (Runtime::load_file_metered with Metering::Fuel)"
                    .into(),
            ));
        }
        Transformer::new(self.clone(), config, input, sandbox.clone())
    }
}
