//! The inputs of a source: the one object a path names, every object a glob matches
//! (listed under the glob's longest literal directory prefix, matched with `globset`,
//! sorted by key), every file below a directory, or stdin. Each input carries its format,
//! its compression and the hive partition values (`key=value` directory names below the
//! listed directory) of its path.

use std::path::Path;
use std::sync::Arc;

use futures::TryStreamExt;
use globset::GlobBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::location::{Location, local_store, object_path};
use crate::{Compression, Format, IoError};

/// One file or object to read.
pub(crate) struct Input {
    /// Display name: a local path, a URL without credentials or query, or `stdin`.
    pub(crate) name: String,
    /// Its format.
    pub(crate) format: Format,
    /// Its whole-file compression.
    pub(crate) compression: Compression,
    /// Hive partition keys and values of its path (`None`: the default partition, null).
    pub(crate) partitions: Vec<(String, Option<String>)>,
    /// Where its bytes come from.
    pub(crate) reader: Reader,
}

/// A found object: display name, hive partitions, reader.
type Found = (String, Vec<(String, Option<String>)>, Reader);

/// Where an input's bytes come from.
pub(crate) enum Reader {
    /// The process's standard input.
    Stdin,
    /// An object (local files too, through `LocalFileSystem`).
    Object {
        /// Its store.
        store: Arc<dyn ObjectStore>,
        /// Its path in the store.
        path: ObjectPath,
        /// Its size in bytes, from the listing or a HEAD.
        size: u64,
    },
}

/// Characters that make a path a glob.
fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Every input `location` names, in order, each with its format (`format` if given, else its
/// extension's) and compression (likewise). A location that is a local directory, or ends
/// with `/`, names every file below it.
///
/// # Errors
///
/// [`IoError::NotFound`] when the path does not exist or the glob matches nothing;
/// [`IoError::Config`] for a bad glob, a directory, or an unknown format; storage errors.
pub(crate) async fn resolve(
    location: &Location,
    format: Option<Format>,
    compression: Option<Compression>,
) -> Result<Vec<Input>, IoError> {
    let found: Vec<Found> = match location {
        Location::Stdio => {
            let format = Format::for_stdio(format, "stdin")?;
            return Ok(vec![Input {
                name: "stdin".into(),
                format,
                compression: Compression::resolve(compression, "", format)?,
                partitions: Vec::new(),
                reader: Reader::Stdin,
            }]);
        }
        Location::Local(path) => {
            let text = path.to_string_lossy();
            let directory =
                text.ends_with('/') || tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir());
            if directory && !is_glob(&text) {
                let dir = text.trim_end_matches('/');
                let dir = Path::new(if dir.is_empty() { "/" } else { dir });
                let prefix = ObjectPath::from_absolute_path(dir).map_err(|error| {
                    IoError::config(
                        "path",
                        format!("{} cannot be listed: {error}", dir.display()),
                    )
                })?;
                let shown = |rest: &str| dir.join(rest).display().to_string();
                list(local_store(), &prefix, None, &text, shown).await?
            } else if is_glob(&text) {
                let (dir, pattern) = split_glob(&text);
                let dir = Path::new(if dir.is_empty() { "/" } else { dir });
                let prefix = ObjectPath::from_absolute_path(dir).map_err(|error| {
                    IoError::config(
                        "path",
                        format!("{} cannot be listed: {error}", dir.display()),
                    )
                })?;
                let shown = |rest: &str| dir.join(rest).display().to_string();
                list(local_store(), &prefix, Some(pattern), &text, shown).await?
            } else {
                let Some((store, object)) = location.object()? else {
                    return Err(IoError::internal("a local location without an object path"));
                };
                vec![head(store, object, path.display().to_string()).await?]
            }
        }
        Location::Object(object) => {
            let key = object.key();
            let shown_pattern = location.to_string();
            if (key.is_empty() || key.ends_with('/')) && !is_glob(key) {
                let dir = key.trim_end_matches('/');
                let prefix = object_path(dir, &object.display_key(key))?;
                let root = object.clone();
                let dir_owned = dir.to_string();
                let shown = move |rest: &str| {
                    root.display_key(&if dir_is_root(&dir_owned) {
                        rest.to_string()
                    } else {
                        format!("{dir_owned}/{rest}")
                    })
                };
                list(
                    Arc::clone(object.store()),
                    &prefix,
                    None,
                    &shown_pattern,
                    shown,
                )
                .await?
            } else if is_glob(key) {
                let (dir, pattern) = split_glob(key);
                let prefix = object_path(dir, &object.display_key(dir))?;
                let root = object.clone();
                let shown = move |rest: &str| {
                    root.display_key(&if dir_is_root(dir) {
                        rest.to_string()
                    } else {
                        format!("{dir}/{rest}")
                    })
                };
                list(
                    Arc::clone(object.store()),
                    &prefix,
                    Some(pattern),
                    &shown_pattern,
                    shown,
                )
                .await?
            } else {
                let path = object_path(key, &shown_pattern)?;
                vec![head(Arc::clone(object.store()), path, shown_pattern).await?]
            }
        }
    };
    found
        .into_iter()
        .map(|(name, partitions, reader)| {
            let format = Format::resolve(format, &name)?;
            Ok(Input {
                compression: Compression::resolve(compression, &name, format)?,
                format,
                name,
                partitions,
                reader,
            })
        })
        .collect()
}

fn dir_is_root(dir: &str) -> bool {
    dir.is_empty() || dir == "/"
}

/// Splits a glob at the last `/` before its first glob character: the literal directory
/// to list, and the pattern for the keys under it.
fn split_glob(text: &str) -> (&str, &str) {
    let first = text.find(['*', '?', '[', '{']).unwrap_or(text.len());
    match text[..first].rfind('/') {
        Some(slash) => (&text[..slash], &text[slash + 1..]),
        None => ("", text),
    }
}

async fn head(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    name: String,
) -> Result<Found, IoError> {
    let meta = store
        .head(&path)
        .await
        .map_err(|error| IoError::from_store(&name, error))?;
    let size = meta.size;
    Ok((name, Vec::new(), Reader::Object { store, path, size }))
}

/// Lists `prefix` and keeps the objects whose key below it matches `pattern`, or every
/// object when `pattern` is `None` (a directory), except names starting with `_` there
/// (`_SUCCESS` markers, `_delta_log`).
///
/// Hidden objects (a name starting with `.`, such as a sink's `.name.<random>.partial`
/// temporary file or directory) never match: a glob never reads another run's unfinished
/// output.
async fn list(
    store: Arc<dyn ObjectStore>,
    prefix: &ObjectPath,
    pattern: Option<&str>,
    shown_pattern: &str,
    shown: impl Fn(&str) -> String,
) -> Result<Vec<Found>, IoError> {
    let matcher = match pattern {
        Some(pattern) => Some(
            GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|error| {
                    IoError::config(
                        "path",
                        format!("{shown_pattern} is not a valid glob: {error}"),
                    )
                })?
                .compile_matcher(),
        ),
        None => None,
    };
    let listed: Vec<_> = match store.list(Some(prefix)).try_collect().await {
        Ok(listed) => listed,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(error) => return Err(IoError::from_store(shown_pattern, error)),
    };
    let mut found: Vec<Found> = Vec::new();
    for meta in listed {
        let key = meta.location.as_ref();
        let rest = if prefix.as_ref().is_empty() {
            key
        } else {
            match key
                .strip_prefix(prefix.as_ref())
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(rest) => rest,
                None => continue,
            }
        };
        let hidden = rest.split('/').any(|segment| segment.starts_with('.'));
        let skipped = match &matcher {
            Some(matcher) => !matcher.is_match(rest),
            None => rest.split('/').any(|segment| segment.starts_with('_')),
        };
        if hidden || skipped {
            continue;
        }
        found.push((
            shown(rest),
            partitions_of(rest),
            Reader::Object {
                store: Arc::clone(&store),
                path: meta.location.clone(),
                size: meta.size,
            },
        ));
    }
    if found.is_empty() {
        return Err(IoError::NotFound {
            location: shown_pattern.to_string(),
            detail: if matcher.is_some() {
                "no file matches the glob".into()
            } else {
                "the directory holds no file".into()
            },
        });
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The hive partitions of a key below the listed directory: its directory names of the
/// form `key=value`, values percent-decoded, `__HIVE_DEFAULT_PARTITION__` as null.
fn partitions_of(rest: &str) -> Vec<(String, Option<String>)> {
    let mut segments: Vec<&str> = rest.split('/').collect();
    segments.pop();
    segments
        .into_iter()
        .filter_map(|segment| {
            let (key, value) = segment.split_once('=')?;
            if key.is_empty() {
                return None;
            }
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let value = (value != crate::HIVE_NULL).then(|| decode(value));
            Some((decode(key), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_partitions_come_from_directory_names() {
        assert_eq!(
            partitions_of("year=2013/month=1/part-00000.parquet"),
            [
                ("year".to_string(), Some("2013".to_string())),
                ("month".to_string(), Some("1".to_string()))
            ]
        );
        assert_eq!(
            partitions_of("city=S%C3%A3o%20Paulo/x=__HIVE_DEFAULT_PARTITION__/plain/a.csv"),
            [
                ("city".to_string(), Some("São Paulo".to_string())),
                ("x".to_string(), None)
            ]
        );
        assert!(partitions_of("a=1.csv").is_empty());
    }

    #[test]
    fn globs_split_at_the_last_literal_directory() {
        assert_eq!(split_glob("/d/data/*.csv"), ("/d/data", "*.csv"));
        assert_eq!(
            split_glob("events/2026-*/x.parquet"),
            ("events", "2026-*/x.parquet")
        );
        assert_eq!(split_glob("*.csv"), ("", "*.csv"));
        assert_eq!(split_glob("a/b/{x,y}.csv"), ("a/b", "{x,y}.csv"));
    }
}
