//! The server's data directory: plugins, pipelines and finished run reports, on any
//! object store (a local folder by default, or an `s3://`, `gs://`, `az://`, `memory://`
//! URL), so a restarted server finds everything it had.
//!
//! Layout under the directory's prefix:
//!
//! ```text
//! blobs/<sha256>.wasm              plugin components, content-addressed
//! plugins/<name>/<version>.json    a version's record (sha256, metadata, upload time)
//! pipelines/<name>.json            a pipeline document, as it was accepted
//! runs/<id>.json                   a finished run's status and report
//! ```
//!
//! Every write is one `put` of a whole object (atomic on every store: the local store
//! writes a temporary file and renames it), so a crash never leaves half a record. Names
//! and versions are validated before they become keys ([`valid_name`]): no path traversal.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use quiver_io::{Location, Storage};

/// A failure of the data directory (its store unreachable, a record unreadable).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store failed.
    #[error("data directory {dir}: {key}: {source}")]
    Store {
        /// The data directory, as configured.
        dir: String,
        /// The key that failed.
        key: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A record is not valid JSON of the expected shape (edited by hand, or written by a
    /// newer server).
    #[error("data directory {dir}: {key} is not a valid record: {message}")]
    Corrupt {
        /// The data directory.
        dir: String,
        /// The record's key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The data directory's location cannot be used.
    #[error("data directory {dir}: {message}")]
    Config {
        /// The data directory.
        dir: String,
        /// What is wrong and what to do.
        message: String,
    },
}

/// Whether `name` may be a plugin or pipeline name: 1–64 characters of `a-z`, `0-9`, `-`,
/// `_`, starting with a letter or digit. Names become object keys: nothing else (no `/`,
/// `.`, `..`, spaces, upper case) gets that far.
pub use quiver_spec::valid_name;

/// The data directory.
#[derive(Clone)]
pub struct Store {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    shown: String,
}

impl Store {
    /// Open the data directory at `dir` (a local path, created if missing, or a URL).
    pub fn open(dir: &str, storage: &Storage) -> Result<Self, StoreError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
        let location =
            Location::parse_with(dir, &cwd, storage).map_err(|e| StoreError::Config {
                dir: dir.into(),
                message: e.to_string(),
            })?;
        match location {
            Location::Stdio => Err(StoreError::Config {
                dir: dir.into(),
                message: "`-` cannot hold a data directory; give a folder or a URL".into(),
            }),
            Location::Local(path) => Self::local(&path),
            Location::Object(o) => Ok(Store {
                store: Arc::clone(o.store()),
                prefix: o.key().trim_end_matches('/').to_owned(),
                shown: dir.to_owned(),
            }),
        }
    }

    fn local(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        std::fs::create_dir_all(path).map_err(|e| StoreError::Config {
            dir: shown.clone(),
            message: format!("cannot create the folder: {e}"),
        })?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(path).map_err(|e| {
            StoreError::Config {
                dir: shown.clone(),
                message: e.to_string(),
            }
        })?;
        Ok(Store {
            store: Arc::new(fs),
            prefix: String::new(),
            shown,
        })
    }

    /// The data directory as configured (for messages).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn key(&self, rel: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(rel)
        } else {
            Key::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn err(&self, rel: &str, source: object_store::Error) -> StoreError {
        StoreError::Store {
            dir: self.shown.clone(),
            key: rel.to_owned(),
            source,
        }
    }

    /// Write `bytes` at `rel`, replacing what was there.
    pub async fn put(&self, rel: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.store
            .put(&self.key(rel), PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.err(rel, e))
    }

    /// Read `rel`; `None` when it does not exist.
    pub async fn get(&self, rel: &str) -> Result<Option<Bytes>, StoreError> {
        match self.store.get(&self.key(rel)).await {
            Ok(r) => r.bytes().await.map(Some).map_err(|e| self.err(rel, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// Delete `rel` (no error when it is already gone).
    pub async fn delete(&self, rel: &str) -> Result<(), StoreError> {
        match self.store.delete(&self.key(rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// The keys under folder `rel` (recursively), relative to the data directory, sorted.
    pub async fn list(&self, rel: &str) -> Result<Vec<String>, StoreError> {
        let prefix = self.key(rel);
        let items: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.err(rel, e))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut keys: Vec<String> = items
            .into_iter()
            .filter_map(|m| m.location.as_ref().strip_prefix(&strip).map(str::to_owned))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Read and parse the JSON record at `rel`.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        rel: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get(rel).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                dir: self.shown.clone(),
                key: rel.to_owned(),
                message: e.to_string(),
            })
    }

    /// Write `value` as JSON at `rel`.
    pub async fn put_json<T: serde::Serialize>(
        &self,
        rel: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt {
            dir: self.shown.clone(),
            key: rel.to_owned(),
            message: e.to_string(),
        })?;
        self.put(rel, Bytes::from(bytes)).await
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_cannot_escape_their_folder() {
        for ok in ["map", "clean-sales", "v2_score", "0day"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../x",
            "a/b",
            "A",
            "x.y",
            "-x",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
