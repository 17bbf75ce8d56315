//! The on-disk cache of compiled plugins.
//!
//! Compiling a component takes seconds (1.3–2.5 s for a 2.3 MB Rust plugin, 7–9 s for Python
//! or JavaScript ones, see `../shared/design/BOUNDARY.md`); loading the precompiled artifact
//! with `deserialize_file` (mmap) takes under a millisecond. Entries are keyed by the sha256
//! of the component bytes *and* the engine's compatibility hash (wasmtime version + engine
//! settings), so a changed engine never loads a stale artifact. Entries are written to a
//! temporary file and renamed into place: a reader never sees a partial artifact. An entry
//! is written only for a component that proved a usable plugin (a refused upload leaves
//! nothing), and the cache is capped (`RuntimeConfig::cache_max_bytes`): past the cap the
//! least recently used entries are removed.
//!
//! Beside each artifact the cache keeps the plugin's validated metadata
//! (`….meta.json`, written after a successful probe), and for files loaded by path a small
//! record of the file's identity → its sha256 (`files/…`): a load of an unchanged file
//! (same device, inode, size, mtime and ctime — every write moves ctime) then neither reads
//! nor hashes the component nor instantiates it to ask its metadata. Measured on the
//! 0.8 MB `passthrough`: hashing 0.55 ms and the probe 0.1–0.4 ms of a ~1.1 ms cached load.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::compile::Compiled;
use crate::plugin::PluginMetadata;

/// Where the compiled form of a component with hash `sha256` lives for this engine.
fn entry_path(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{sha256}-{:016x}.cwasm", h.finish()))
}

/// Keep the artifact of a component that proved a usable plugin, and its metadata, then
/// evict the least recently used entries past `max_bytes`. Called only after the probe
/// succeeded, so a refused component never reaches the cache.
pub(crate) fn commit(
    engine: &Engine,
    dir: &Path,
    sha256: &str,
    compiled: Compiled,
    metadata: &PluginMetadata,
    max_bytes: u64,
) -> std::io::Result<()> {
    let path = entry_path(dir, engine, sha256);
    match compiled.artifact {
        // The worker's file: moved into place (same file system: both are under `dir`,
        // or copied when the temporary folder lives elsewhere).
        Some((_tmp, file)) => {
            if std::fs::rename(&file, &path).is_err() {
                let bytes = std::fs::read(&file)?;
                write_atomically(dir, &path, &bytes)?;
            }
        }
        None => {
            let bytes = compiled
                .component
                .serialize()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            write_atomically(dir, &path, &bytes)?;
        }
    }
    save_metadata(engine, dir, sha256, metadata);
    evict(dir, max_bytes, &path);
    Ok(())
}

/// Remove the least recently used entries (artifact and metadata together) until the
/// cache holds at most `max_bytes`; `keep` (the entry just written) is never removed.
/// Recency is the artifact's modification time, which every cache hit moves (`touch`).
pub(crate) fn evict(dir: &Path, max_bytes: u64, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut artifacts = Vec::new();
    let mut total = 0u64;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() && entry.file_name().to_string_lossy().starts_with(".compile-") {
            // A compile's temporary folder, left by a process that died mid-compile (a
            // live one is removed when its compile ends; compiles are bounded to minutes).
            let stale = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(24 * 3600));
            if stale {
                let _ = std::fs::remove_dir_all(&path);
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        total = total.saturating_add(meta.len());
        if path.extension().is_some_and(|x| x == "cwasm") {
            let used = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            artifacts.push((used, path));
        }
    }
    if total <= max_bytes {
        return;
    }
    artifacts.sort();
    for (_, artifact) in artifacts {
        if total <= max_bytes {
            break;
        }
        if artifact == keep {
            continue;
        }
        for file in [artifact.with_extension("meta.json"), artifact] {
            let size = std::fs::metadata(&file).map_or(0, |m| m.len());
            match std::fs::remove_file(&file) {
                Ok(()) => total = total.saturating_sub(size),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %file.display(), error = %e, "cannot evict a plugin cache entry")
                }
            }
        }
        tracing::debug!(total, max_bytes, "evicted a plugin cache entry");
    }
}

/// Mark an entry as just used, for eviction's least-recently-used order.
fn touch(path: &Path) {
    let _ = std::fs::File::open(path).and_then(|f| f.set_modified(std::time::SystemTime::now()));
}

/// Write `bytes` to `path` (in `dir`) through a temporary file and a rename.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn metadata_path(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
    entry_path(dir, engine, sha256).with_extension("meta.json")
}

/// Remember the validated metadata of the component `sha256` (after its probe succeeded).
fn save_metadata(engine: &Engine, dir: &Path, sha256: &str, metadata: &PluginMetadata) {
    let path = metadata_path(dir, engine, sha256);
    let written = serde_json::to_vec(metadata)
        .map_err(std::io::Error::other)
        .and_then(|bytes| write_atomically(dir, &path, &bytes));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write plugin metadata to the cache");
    }
}

/// The compiled component `sha256` and its metadata, when the cache has both and they load.
pub(crate) fn load_with_metadata(
    engine: &Engine,
    dir: &Path,
    sha256: &str,
) -> Option<(Component, PluginMetadata)> {
    let metadata: PluginMetadata =
        serde_json::from_slice(&std::fs::read(metadata_path(dir, engine, sha256)).ok()?).ok()?;
    let path = entry_path(dir, engine, sha256);
    // SAFETY: written by `commit` from `Component::serialize` (or the compile worker's
    // `Engine::precompile_component`) of this engine configuration — its compatibility hash is
    // in the file name — and renamed into place atomically; wasmtime checks the header,
    // version and engine compatibility on load.
    match unsafe { Component::deserialize_file(engine, &path) } {
        Ok(c) => {
            touch(&path);
            Some((c, metadata))
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "discarding unusable cache entry");
            None
        }
    }
}

/// What identifies a file's content without reading it: device, inode, size, and the
/// modification and status-change times in nanoseconds (any write moves ctime, and ctime
/// cannot be set back by tools that copy or touch files).
pub(crate) struct FileIdentity(String);

impl FileIdentity {
    /// The identity of the file at `path` (`None` off Unix or when it cannot be read).
    pub(crate) fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            let canonical = std::fs::canonicalize(path).ok()?;
            Some(FileIdentity(format!(
                "{}\0{}:{}:{}:{}.{}:{}.{}",
                canonical.display(),
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec()
            )))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    fn record(&self, dir: &Path) -> PathBuf {
        use sha2::Digest;
        let key = hex::encode(sha2::Sha256::digest(self.0.as_bytes()));
        dir.join("files").join(key)
    }

    /// The sha256 remembered for this identity.
    pub(crate) fn remembered_sha256(&self, dir: &Path) -> Option<String> {
        let text = std::fs::read_to_string(self.record(dir)).ok()?;
        let (identity, sha256) = text.split_once('\n')?;
        (identity == self.0 && sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| sha256.to_owned())
    }

    /// Remember `sha256` for this identity.
    pub(crate) fn remember_sha256(&self, dir: &Path, sha256: &str) {
        let path = self.record(dir);
        let dir = dir.join("files");
        let text = format!("{}\n{sha256}", self.0);
        if let Err(e) = write_atomically(&dir, &path, text.as_bytes()) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the plugin file record to the cache");
        }
    }
}
