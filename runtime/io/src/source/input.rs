//! The inputs of a source: the one object a path names, or every object a glob matches
//! (listed under the glob's longest literal directory prefix, matched with `globset`,
//! sorted by key), or stdin.

use std::path::Path;
use std::sync::Arc;

use futures::TryStreamExt;
use globset::GlobBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::location::{Location, local_store, object_path};
use crate::{Format, IoError};

/// One file or object to read.
pub(crate) struct Input {
    /// Display name: a local path, a URL without credentials or query, or `stdin`.
    pub(crate) name: String,
    /// Its format.
    pub(crate) format: Format,
    /// Where its bytes come from.
    pub(crate) reader: Reader,
}

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
/// extension's).
///
/// # Errors
///
/// [`IoError::NotFound`] when the path does not exist or the glob matches nothing;
/// [`IoError::Config`] for a bad glob, a directory, or an unknown format; storage errors.
pub(crate) async fn resolve(
    location: &Location,
    format: Option<Format>,
) -> Result<Vec<Input>, IoError> {
    let found = match location {
        Location::Stdio => {
            return Ok(vec![Input {
                name: "stdin".into(),
                format: Format::for_stdio(format, "stdin")?,
                reader: Reader::Stdin,
            }]);
        }
        Location::Local(path) => {
            let text = path.to_string_lossy();
            if is_glob(&text) {
                let (dir, pattern) = split_glob(&text);
                let dir = Path::new(if dir.is_empty() { "/" } else { dir });
                let prefix = ObjectPath::from_absolute_path(dir).map_err(|error| {
                    IoError::config(
                        "path",
                        format!("{} cannot be listed: {error}", dir.display()),
                    )
                })?;
                let shown = |rest: &str| dir.join(rest).display().to_string();
                list(local_store(), &prefix, pattern, &text, shown).await?
            } else {
                if tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir()) {
                    return Err(IoError::config(
                        "path",
                        format!(
                            "{} is a directory; name its files with a glob such as {}/*.parquet",
                            path.display(),
                            path.display()
                        ),
                    ));
                }
                let Some((store, object)) = location.object()? else {
                    return Err(IoError::internal("a local location without an object path"));
                };
                vec![head(store, object, path.display().to_string()).await?]
            }
        }
        Location::Object(object) => {
            let key = object.key();
            let shown_pattern = location.to_string();
            if is_glob(key) {
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
                    pattern,
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
        .map(|(name, reader)| {
            Ok(Input {
                format: Format::resolve(format, &name)?,
                name,
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
) -> Result<(String, Reader), IoError> {
    let meta = store
        .head(&path)
        .await
        .map_err(|error| IoError::from_store(&name, error))?;
    let size = meta.size;
    Ok((name, Reader::Object { store, path, size }))
}

/// Lists `prefix` and keeps the objects whose key below it matches `pattern`.
///
/// Hidden objects (a name starting with `.`, such as a sink's `.name.<random>.partial`
/// temporary file) never match: a glob never reads another run's unfinished output.
async fn list(
    store: Arc<dyn ObjectStore>,
    prefix: &ObjectPath,
    pattern: &str,
    shown_pattern: &str,
    shown: impl Fn(&str) -> String,
) -> Result<Vec<(String, Reader)>, IoError> {
    let matcher = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|error| {
            IoError::config(
                "path",
                format!("{shown_pattern} is not a valid glob: {error}"),
            )
        })?
        .compile_matcher();
    let listed: Vec<_> = match store.list(Some(prefix)).try_collect().await {
        Ok(listed) => listed,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(error) => return Err(IoError::from_store(shown_pattern, error)),
    };
    let mut found: Vec<(String, Reader)> = Vec::new();
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
        if hidden || !matcher.is_match(rest) {
            continue;
        }
        found.push((
            shown(rest),
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
            detail: "no file matches the glob".into(),
        });
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

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
