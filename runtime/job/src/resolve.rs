//! Plugin resolution: from a stage's [`PluginRef`] to a loaded [`Plugin`], the same way in
//! `quiver run`, `validate`, `test` and `serve`.
//!
//! A path names a component file (relative to the pipeline file). A name is looked up in
//! the [`Resolver`]'s sources, **in this order**:
//!
//! 1. the plugin path: folders of components (`--plugin-path` / `QUIVER_PLUGIN_PATH`); a
//!    file is a candidate for `name` when its stem is `name`, or starts with `name@` or
//!    `name-` followed by a digit (`dedupe.wasm`, `dedupe-0.2.0.wasm`); its declared name
//!    and version decide;
//! 2. the first-party plugins built into this binary ([`quiver_firstparty`]);
//! 3. on a server, its catalogue of uploaded plugins ([`Catalogue`]).
//!
//! `name` resolves to the **newest version** any source has; `name@version` to exactly that
//! version. When two sources have the same version, the earlier source wins, so a plugin
//! path can stand in for a first-party plugin of the same version (a local rebuild, or an SDK
//! port tested against the first-party golden cases).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quiver_fault::Fault;
use quiver_host::{LoadError, Metering, Plugin, Runtime};
use quiver_spec::PluginRef;
use semver::Version;

/// Where an available plugin version comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A component file in a plugin-path folder (or named by path).
    File(PathBuf),
    /// Built into this binary.
    FirstParty,
    /// The server's catalogue of uploads.
    Catalogue,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::FirstParty => f.write_str("first-party (built in)"),
            Origin::Catalogue => f.write_str("catalogue"),
        }
    }
}

/// One version of a plugin that a source can load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    /// The plugin's declared name.
    pub name: String,
    /// Its declared version.
    pub version: Version,
    /// sha256 of the component (hex), when known without loading it.
    pub sha256: Option<String>,
    /// Where it comes from.
    pub origin: Origin,
}

/// A server's store of uploaded plugins, as a source of plugin versions. Blocking: called
/// from threads that are not an async runtime's own.
pub trait Catalogue: Send + Sync {
    /// Every stored version of `name`.
    ///
    /// # Errors
    /// The store cannot be read (a message naming it).
    fn versions(&self, name: &str) -> Result<Vec<Available>, String>;
    /// Every stored plugin version (for listings).
    ///
    /// # Errors
    /// As [`Catalogue::versions`].
    fn all(&self) -> Result<Vec<Available>, String>;
    /// Load a version [`Catalogue::versions`] returned.
    ///
    /// # Errors
    /// The component cannot be read or compiled.
    fn load(&self, version: &Available, metering: Metering) -> Result<Plugin, ResolveError>;
}

/// Why a plugin reference cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No source has the name (or the pinned version).
    #[error("{0}")]
    NotFound(String),
    /// The component was found but does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A source could not be read (e.g. the server's store).
    #[error("{0}")]
    Unavailable(String),
}

impl quiver_fault::HasFault for ResolveError {
    fn fault(&self) -> Fault {
        match self {
            ResolveError::NotFound(_) => Fault::Config,
            ResolveError::Load(e) => e.fault(),
            ResolveError::Unavailable(_) => Fault::Unavailable,
        }
    }
}

/// One entry of [`Resolver::list`]: an available version and whether it loads.
pub type Listed = (Available, Result<Plugin, LoadError>);

/// A plugin resolved and loaded, with where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The loaded plugin.
    pub plugin: Plugin,
    /// Where it came from.
    pub origin: Origin,
}

/// Resolves plugin references against its sources, in the documented order.
#[derive(Clone)]
pub struct Resolver {
    /// The runtime plugins are loaded into.
    runtime: Arc<Runtime>,
    /// Plugin-path folders, searched first, in order.
    plugin_path: Vec<PathBuf>,
    /// Whether the first-party plugins built into the binary are offered.
    first_party: bool,
    /// The server's catalogue, searched last.
    catalogue: Option<Arc<dyn Catalogue>>,
    /// How many plugin instances a pipeline may ask for.
    ceiling: InstanceCeiling,
}

/// How many plugin instances a pipeline may ask for: checked by [`crate::check`] before any
/// instance exists, so one pipeline cannot take the runtime's whole instance pool (a stage
/// over the ceiling is a configuration problem naming `stage.N.parallelism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceCeiling {
    /// Most `parallelism` of one stage.
    pub per_stage: usize,
    /// Most instances of one run: the sum of its stages' `parallelism`. Never more than the
    /// runtime's pool (`RuntimeConfig::max_instances`).
    pub per_run: usize,
}

impl InstanceCeiling {
    /// The default: 32 instances per stage, a run as many as the pool holds.
    pub const DEFAULT_PER_STAGE: usize = 32;
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("plugin_path", &self.plugin_path)
            .field("first_party", &self.first_party)
            .field("catalogue", &self.catalogue.is_some())
            .finish_non_exhaustive()
    }
}

/// Candidate file stems for `name` in a plugin-path folder.
fn is_candidate(stem: &str, name: &str) -> bool {
    match stem.strip_prefix(name) {
        Some("") => true,
        Some(rest) => {
            rest.starts_with('@')
                || (rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_ascii_digit()))
        }
        None => false,
    }
}

impl Resolver {
    /// A resolver over `runtime` with the first-party plugins and no plugin path.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Resolver {
            runtime,
            plugin_path: Vec::new(),
            first_party: true,
            catalogue: None,
            ceiling: InstanceCeiling {
                per_stage: InstanceCeiling::DEFAULT_PER_STAGE,
                per_run: usize::MAX,
            },
        }
    }

    /// Refuse pipelines that ask for more instances than `ceiling`.
    pub fn with_instance_ceiling(mut self, ceiling: InstanceCeiling) -> Self {
        self.ceiling = ceiling;
        self
    }

    /// The instance ceiling in force: as set, with a run never above the runtime's pool.
    pub fn instance_ceiling(&self) -> InstanceCeiling {
        let pool = usize::try_from(self.runtime.config().max_instances).unwrap_or(usize::MAX);
        InstanceCeiling {
            per_stage: self.ceiling.per_stage.min(pool),
            per_run: self.ceiling.per_run.min(pool),
        }
    }

    /// Search these folders first.
    pub fn with_plugin_path(mut self, dirs: Vec<PathBuf>) -> Self {
        self.plugin_path = dirs;
        self
    }

    /// Offer the first-party plugins (default) or not.
    pub fn with_first_party(mut self, yes: bool) -> Self {
        self.first_party = yes;
        self
    }

    /// Search `catalogue` last.
    pub fn with_catalogue(mut self, catalogue: Arc<dyn Catalogue>) -> Self {
        self.catalogue = Some(catalogue);
        self
    }

    /// The runtime plugins are loaded into.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Component files of the plugin path that may hold `name` (every one when `None`).
    fn path_files(&self, name: Option<&str>) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for dir in &self.plugin_path {
            let Ok(entries) = std::fs::read_dir(dir) else {
                tracing::warn!(dir = %dir.display(), "plugin path folder cannot be read");
                continue;
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|e| e == "wasm")
                        && p.file_stem()
                            .and_then(|s| s.to_str())
                            .is_some_and(|s| name.is_none_or(|n| is_candidate(s, n)))
                })
                .collect();
            here.sort();
            files.extend(here);
        }
        files
    }

    /// Every version of `name` the sources have, in source order.
    ///
    /// # Errors
    /// A source that cannot be read (the catalogue's store).
    pub fn versions(&self, name: &str) -> Result<Vec<Available>, ResolveError> {
        let mut out = Vec::new();
        for file in self.path_files(Some(name)) {
            // Loading reads the declared name and version (from the cache after the first
            // time); a file that does not load is reported when it is the one chosen.
            match self.runtime.load_file(&file) {
                Ok(p) if p.name() == name => {
                    if let Ok(version) = Version::parse(p.version()) {
                        out.push(Available {
                            name: name.to_owned(),
                            version,
                            sha256: Some(p.id().sha256.clone()),
                            origin: Origin::File(file),
                        });
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(file = %file.display(), "skipping plugin file: {e}"),
            }
        }
        if self.first_party {
            for p in quiver_firstparty::PLUGINS.iter().filter(|p| p.name == name) {
                if let Ok(version) = Version::parse(p.version) {
                    out.push(Available {
                        name: name.to_owned(),
                        version,
                        sha256: Some(p.sha256.to_owned()),
                        origin: Origin::FirstParty,
                    });
                }
            }
        }
        if let Some(c) = &self.catalogue {
            out.extend(c.versions(name).map_err(ResolveError::Unavailable)?);
        }
        Ok(out)
    }

    /// Every plugin version every source has (`quiver plugin list`), in source order.
    ///
    /// # Errors
    /// A source that cannot be read.
    pub fn list(&self) -> Result<Vec<Listed>, ResolveError> {
        let mut out = Vec::new();
        for file in self.path_files(None) {
            let loaded = self.runtime.load_file(&file);
            let (name, version, sha256) = match &loaded {
                Ok(p) => (
                    p.name().to_owned(),
                    Version::parse(p.version()).unwrap_or_else(|_| Version::new(0, 0, 0)),
                    Some(p.id().sha256.clone()),
                ),
                Err(_) => (
                    file.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    Version::new(0, 0, 0),
                    None,
                ),
            };
            out.push((
                Available {
                    name,
                    version,
                    sha256,
                    origin: Origin::File(file),
                },
                loaded,
            ));
        }
        if self.first_party {
            for p in quiver_firstparty::PLUGINS {
                let a = Available {
                    name: p.name.to_owned(),
                    version: Version::parse(p.version).unwrap_or_else(|_| Version::new(0, 0, 0)),
                    sha256: Some(p.sha256.to_owned()),
                    origin: Origin::FirstParty,
                };
                let loaded = load_first_party(&self.runtime, p, Metering::Epoch);
                out.push((a, loaded));
            }
        }
        if let Some(c) = &self.catalogue {
            for a in c.all().map_err(ResolveError::Unavailable)? {
                let loaded = c.load(&a, Metering::Epoch).map_err(|e| match e {
                    ResolveError::Load(l) => l,
                    other => LoadError::Engine(other.to_string()),
                });
                out.push((a, loaded));
            }
        }
        Ok(out)
    }

    /// Which available version `plugin` (a name) means.
    ///
    /// # Errors
    /// Nothing has the name or the pinned version (the message lists what there is).
    pub fn choose(&self, name: &str, pin: Option<&Version>) -> Result<Available, ResolveError> {
        let versions = self.versions(name)?;
        let chosen = match pin {
            Some(v) => versions.iter().find(|a| &a.version == v),
            // The newest; among equal versions the earliest source (max_by keeps the last
            // maximum, so compare in reverse source order).
            None => versions
                .iter()
                .rev()
                .max_by(|a, b| a.version.cmp(&b.version)),
        };
        chosen.cloned().ok_or_else(|| {
            let wanted = match pin {
                Some(v) => format!("{name}@{v}"),
                None => name.to_owned(),
            };
            let have: Vec<String> = versions.iter().map(|a| a.version.to_string()).collect();
            ResolveError::NotFound(if have.is_empty() {
                if self.catalogue.is_some() {
                    format!(
                        "no plugin named `{wanted}`: not in the plugin path ({}), not a \
                         first-party plugin, not uploaded; upload it first (POST /v1/plugins)",
                        self.describe_path()
                    )
                } else {
                    format!(
                        "no plugin named `{wanted}`: not in the plugin path ({}), not a \
                         first-party plugin; `quiver plugin list` shows what is available",
                        self.describe_path()
                    )
                }
            } else {
                format!(
                    "no version {} of `{name}`; available: {}",
                    pin.map(Version::to_string).unwrap_or_default(),
                    have.join(", ")
                )
            })
        })
    }

    fn describe_path(&self) -> String {
        if self.plugin_path.is_empty() {
            "none set; --plugin-path or QUIVER_PLUGIN_PATH".into()
        } else {
            self.plugin_path
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        }
    }

    /// Load an available version for `metering`.
    ///
    /// # Errors
    /// The component does not load.
    pub fn load(&self, a: &Available, metering: Metering) -> Result<Plugin, ResolveError> {
        match &a.origin {
            Origin::File(path) => Ok(self.runtime.load_file_metered(path, metering)?),
            Origin::FirstParty => {
                let p = quiver_firstparty::PLUGINS
                    .iter()
                    .find(|p| p.name == a.name && p.version == a.version.to_string())
                    .ok_or_else(|| {
                        ResolveError::NotFound(format!("no first-party plugin {}", a.name))
                    })?;
                Ok(load_first_party(&self.runtime, p, metering)?)
            }
            Origin::Catalogue => match &self.catalogue {
                Some(c) => c.load(a, metering),
                None => Err(ResolveError::NotFound(format!(
                    "{} is in a catalogue this resolver does not have",
                    a.name
                ))),
            },
        }
    }

    /// Resolve and load `plugin` for `metering`; relative paths start at `base`.
    ///
    /// # Errors
    /// Nothing matches, or the component does not load.
    pub fn resolve(
        &self,
        plugin: &PluginRef,
        base: &Path,
        metering: Metering,
    ) -> Result<Resolved, ResolveError> {
        match plugin {
            PluginRef::Path(p) => {
                let path = if p.is_absolute() {
                    p.clone()
                } else {
                    base.join(p)
                };
                Ok(Resolved {
                    plugin: self.runtime.load_file_metered(&path, metering)?,
                    origin: Origin::File(path),
                })
            }
            PluginRef::Name { name, version } => {
                let a = self.choose(name, version.as_ref())?;
                Ok(Resolved {
                    plugin: self.load(&a, metering)?,
                    origin: a.origin,
                })
            }
        }
    }
}

/// Load an embedded plugin: from the compile cache by its known sha256, decompressing it
/// only the first time.
fn load_first_party(
    runtime: &Runtime,
    p: &quiver_firstparty::Embedded,
    metering: Metering,
) -> Result<Plugin, LoadError> {
    runtime.load_known(p.sha256, &first_party_origin(p.name), metering, || {
        p.bytes().map_err(|e| e.to_string())
    })
}

/// How a first-party plugin's origin reads in errors.
fn first_party_origin(name: &str) -> String {
    format!("first-party plugin `{name}`")
}

#[cfg(test)]
mod tests {
    use super::is_candidate;

    #[test]
    fn candidate_files_are_the_name_or_the_name_with_a_version() {
        assert!(is_candidate("map", "map"));
        assert!(is_candidate("map@0.2.0", "map"));
        assert!(is_candidate("map-0.2.0", "map"));
        assert!(!is_candidate("map-extra", "map"));
        assert!(!is_candidate("mapper", "map"));
        assert!(!is_candidate("ma", "map"));
    }
}
