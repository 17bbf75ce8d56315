//! [`Location`]: where a source reads or a sink writes, parsed from the string a user wrote
//! in a pipeline file. A local path (relative to a base directory, or absolute), a `file://`,
//! `s3://`, `gs://`, `az://`/`abfs[s]://` or `memory://` URL, or `-` for stdin/stdout.
//!
//! A location may hold glob characters (`*`, `?`, `[...]`, `{a,b}`); only sources expand
//! them. In URLs, `?` starts the query string, which is ignored: write `%3F` for the `?`
//! wildcard. The display form of a location never shows credentials or query strings.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use percent_encoding::percent_decode_str;
use url::Url;

use crate::IoError;
use crate::storage::{self, Cloud, Storage};

/// An object store and a path in it.
pub type StoredObject = (Arc<dyn ObjectStore>, ObjectPath);

/// A parsed location.
#[derive(Clone)]
pub enum Location {
    /// `-`: stdin for sources, stdout for sinks (streaming formats only).
    Stdio,
    /// A local file or directory: absolute, with `.` and `..` resolved lexically.
    Local(PathBuf),
    /// A key (or key pattern) in an object store.
    Object(ObjectLocation),
}

/// A key in an object store, with the store that holds it.
#[derive(Clone)]
pub struct ObjectLocation {
    /// The store: one per bucket/container (shared through [`Storage`]), or the process's
    /// in-memory store.
    store: Arc<dyn ObjectStore>,
    /// The key, percent-decoded, without leading `/`; may hold glob characters.
    key: String,
    /// `scheme://authority/`, what the display form puts before the key.
    root: String,
}

impl ObjectLocation {
    /// The store holding the key.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key as written (percent-decoded), without leading `/`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The display name of another key of the same store.
    pub fn display_key(&self, key: &str) -> String {
        format!("{}{key}", self.root)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Stdio => f.write_str("-"),
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Object(object) => write!(f, "{}{}", object.root, object.key),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

impl Location {
    /// Parses `text`, resolving local paths against `base`, building remote stores from the
    /// environment only.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `path`) for an empty string, an unknown scheme, credentials in
    /// the URL, or a store the environment cannot configure.
    pub fn parse(text: &str, base: &Path) -> Result<Location, IoError> {
        Self::parse_with(text, base, &Storage::from_env())
    }

    /// Like [`Location::parse`], with remote stores from `storage`.
    ///
    /// # Errors
    ///
    /// As [`Location::parse`].
    pub fn parse_with(text: &str, base: &Path, storage: &Storage) -> Result<Location, IoError> {
        if text.is_empty() {
            return Err(IoError::config("path", "the path is empty"));
        }
        if text == "-" {
            return Ok(Location::Stdio);
        }
        let Some((scheme, rest)) = split_scheme(text) else {
            return Ok(Location::Local(absolute(base, Path::new(text))));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "memory" {
            let key = decode(rest.split(['?', '#']).next().unwrap_or_default())?;
            return Ok(Location::Object(ObjectLocation {
                store: storage.wrap(storage::memory()),
                key: key.trim_start_matches('/').to_string(),
                root: "memory://".into(),
            }));
        }
        let url = Url::parse(text).map_err(|error| {
            IoError::config("path", format!("not a valid {scheme}:// URL: {error}"))
        })?;
        if url.password().is_some() {
            return Err(IoError::config(
                "path",
                format!(
                    "the {scheme}:// URL holds a password; credentials never go in paths: set \
                     them in the environment instead"
                ),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            tracing::warn!(scheme = %scheme, "query string and fragment of the location ignored");
        }
        if scheme == "file" {
            return file_url(&url, base);
        }
        let cloud = match scheme.as_str() {
            "s3" => Cloud::S3,
            "gs" => Cloud::Gcs,
            "az" | "abfs" | "abfss" => Cloud::Azure,
            other => {
                return Err(IoError::config(
                    "path",
                    format!(
                        "unsupported scheme {other:?}; use a local path, file://, s3://, gs://, \
                         az://, abfs://, memory:// or -"
                    ),
                ));
            }
        };
        let host = url.host_str().unwrap_or_default();
        if host.is_empty() {
            return Err(IoError::config(
                "path",
                format!("the {scheme}:// URL names no bucket or container"),
            ));
        }
        // Only abfs URLs carry a user part, and it is the container (`container@account.host`).
        let authority = match (cloud, url.username()) {
            (_, "") => host.to_string(),
            (Cloud::Azure, container) if scheme != "az" => format!("{container}@{host}"),
            _ => {
                return Err(IoError::config(
                    "path",
                    format!(
                        "the {scheme}:// URL has a user part; credentials never go in paths: set \
                         them in the environment instead"
                    ),
                ));
            }
        };
        let root = format!("{scheme}://{authority}/");
        let store = storage.remote(cloud, &scheme, &authority, &root)?;
        let key = decode(url.path())?;
        Ok(Location::Object(ObjectLocation {
            store,
            key: key.trim_start_matches('/').to_string(),
            root,
        }))
    }

    /// Whether this is `-`.
    pub fn is_stdio(&self) -> bool {
        matches!(self, Location::Stdio)
    }

    /// The store and object path this location names; `None` for stdio.
    ///
    /// Local files are served by a [`LocalFileSystem`] rooted at `/`.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `path`) when the key cannot be an `object_store` path (for
    /// instance it holds glob characters, or an empty segment).
    pub fn object(&self) -> Result<Option<StoredObject>, IoError> {
        match self {
            Location::Stdio => Ok(None),
            Location::Local(path) => {
                let object = ObjectPath::from_absolute_path(path).map_err(|error| {
                    IoError::config(
                        "path",
                        format!(
                            "{} cannot be read through object_store: {error}",
                            path.display()
                        ),
                    )
                })?;
                Ok(Some((local_store(), object)))
            }
            Location::Object(object) => {
                let path = object_path(&object.key, &self.to_string())?;
                Ok(Some((Arc::clone(&object.store), path)))
            }
        }
    }

    /// The file name (last segment), if any.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Location::Stdio => None,
            Location::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Object(object) => object
                .key
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|name| !name.is_empty())
                .map(str::to_string),
        }
    }
}

/// The process's local filesystem store.
pub(crate) fn local_store() -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new())
}

/// `key` as an `object_store` path; `shown` names it in errors.
pub(crate) fn object_path(key: &str, shown: &str) -> Result<ObjectPath, IoError> {
    ObjectPath::parse(key).map_err(|error| {
        IoError::config(
            "path",
            format!("{shown} is not a usable object key: {error}"),
        )
    })
}

/// `scheme` and the rest when `text` starts like `scheme://`.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

fn decode(text: &str) -> Result<String, IoError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| IoError::config("path", "the URL's path is not valid UTF-8 once decoded"))
}

fn file_url(url: &Url, base: &Path) -> Result<Location, IoError> {
    match url.host_str() {
        None | Some("") | Some("localhost") => {}
        Some(host) => {
            return Err(IoError::config(
                "path",
                format!("file:// URLs must name a local file, not one on host {host:?}"),
            ));
        }
    }
    let path = url
        .to_file_path()
        .map_err(|()| IoError::config("path", "the file:// URL is not a valid local path"))?;
    Ok(Location::Local(absolute(base, &path)))
}

/// `path` resolved against `base` (itself made absolute against the working directory), with
/// `.` and `..` removed lexically.
///
/// Lexical `..` differs from the kernel's only under a symlinked directory; in exchange a
/// path need not exist yet (sinks) and `object_store`, which rejects `..`, can serve it.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    let joined = base.join(path);
    let joined = std::path::absolute(&joined).unwrap_or(joined);
    let mut clean = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    // `components` drops a trailing `/`, which marks a directory of parts for sinks.
    if path.as_os_str().to_string_lossy().ends_with('/') {
        clean.push("");
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_fault::{Fault, HasFault};

    fn parse(text: &str) -> Location {
        Location::parse(text, Path::new("/base/dir")).expect("parses")
    }

    #[test]
    fn local_paths_resolve_against_base() {
        assert_eq!(parse("in.csv").to_string(), "/base/dir/in.csv");
        assert_eq!(parse("../x/./in.csv").to_string(), "/base/x/in.csv");
        assert_eq!(parse("/abs/in.csv").to_string(), "/abs/in.csv");
        assert_eq!(parse("file:///abs/a%20b.csv").to_string(), "/abs/a b.csv");
        assert_eq!(parse("out/").to_string(), "/base/dir/out/");
        assert!(parse("-").is_stdio());
    }

    #[test]
    fn memory_keys_keep_everything_after_the_scheme() {
        let location = parse("memory://dir/a.parquet");
        assert_eq!(location.to_string(), "memory://dir/a.parquet");
        assert_eq!(location.file_name().as_deref(), Some("a.parquet"));
    }

    #[test]
    fn display_hides_queries_and_refuses_credentials() {
        let location = parse("memory://k.csv?token=secret");
        assert_eq!(location.to_string(), "memory://k.csv");
        for text in ["s3://user:secret@bucket/key", "s3://user@bucket/key"] {
            let error = Location::parse(text, Path::new("/")).expect_err("refused");
            assert!(!error.to_string().contains("secret"), "{error}");
            assert_eq!(error.fault(), Fault::Config);
        }
    }

    #[test]
    fn unknown_schemes_are_config_errors() {
        let error = Location::parse("ftp://host/x", Path::new("/")).expect_err("refused");
        assert!(error.to_string().contains("unsupported scheme"), "{error}");
    }

    #[test]
    fn s3_urls_decode_keys_and_drop_queries() {
        let storage =
            Storage::from_env().with_s3(object_store::aws::AmazonS3ConfigKey::Region, "us-east-1");
        let location = Location::parse_with(
            "s3://bucket/events/2026-%7Ba,b%7D.parquet?versionId=secret",
            Path::new("/"),
            &storage,
        )
        .expect("parses");
        assert_eq!(
            location.to_string(),
            "s3://bucket/events/2026-{a,b}.parquet"
        );
    }
}
