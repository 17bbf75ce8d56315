//! The on-disk cache of compiled plugins.
//!
//! Compiling a component takes seconds (1.3–2.5 s for a 2.3 MB Rust plugin, 7–9 s for Python
//! or JavaScript ones, see `../shared/design/BOUNDARY.md`); loading the precompiled artifact
//! with `deserialize_file` (mmap) takes under a millisecond. Entries are keyed by the sha256
//! of the component bytes *and* the engine's compatibility hash (wasmtime version + engine
//! settings), so a changed engine never loads a stale artifact. Entries are written to a
//! temporary file and renamed into place: a reader never sees a partial artifact.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::plugin::LoadOrigin;

/// Where the compiled form of a component with hash `sha256` lives for this engine.
fn entry_path(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{sha256}-{:016x}.cwasm", h.finish()))
}

/// Load the compiled component from the cache, or compile it and store it there.
pub(crate) fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    sha256: &str,
    bytes: &[u8],
) -> Result<(Component, LoadOrigin), wasmtime::Error> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, LoadOrigin::Compiled));
    };
    let path = entry_path(dir, engine, sha256);
    if path.is_file() {
        // SAFETY: the file was written by `store` below from `Component::serialize` of this
        // very engine configuration (its compatibility hash is in the file name) and renamed
        // into place atomically, so it is a complete artifact that wasmtime produced.
        // wasmtime additionally checks the artifact's header and version on load.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok((c, LoadOrigin::Cache)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable cache entry")
            }
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(&component, dir, &path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write plugin cache entry; continuing without it");
    }
    Ok((component, LoadOrigin::Compiled))
}

fn store(component: &Component, dir: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component
        .serialize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
