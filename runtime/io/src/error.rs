//! [`IoError`]: the one error type of this crate. Each variant says who is at fault (the
//! configuration, the data, the storage, or Quiver itself): its [`Fault`] class, which the
//! binaries turn into exit codes and HTTP statuses, so they never inspect messages.

use std::fmt;

use quiver_fault::{Fault, HasFault};

/// Everything that can go wrong reading a source or writing a sink.
///
/// Every message names what failed, where (a display name that never contains credentials or
/// query strings), and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// An input that was asked for does not exist (a path, an object, or a glob that matched
    /// nothing). The configuration is at fault.
    #[error(
        "{location} does not exist ({detail}); check the path, or that the glob matches at least one object"
    )]
    NotFound {
        /// What was looked for: a display name or a glob pattern.
        location: String,
        /// What the storage said, or why nothing matched.
        detail: String,
    },

    /// An input is not valid in its format, or does not fit the schema. The data is at fault.
    #[error("bad data in {location}{}: {message}; fix or remove the offending input", position(*.line, .column.as_deref()))]
    BadData {
        /// Display name of the input.
        location: String,
        /// Line (CSV, 1-based, counting the header) or record (NDJSON, IPC, Parquet: 1-based row
        /// of the file) where the problem is, when the reader says.
        line: Option<u64>,
        /// The column at fault, when the reader says.
        column: Option<String>,
        /// What is wrong, in the reader's words.
        message: String,
    },

    /// The output exists and the sink's mode is `error_if_exists`.
    #[error(
        "{location} already exists; remove it, choose another path, or set mode = \"overwrite\""
    )]
    Exists {
        /// Display name of the output.
        location: String,
    },

    /// A spec value is invalid or cannot be used (unknown scheme, unsupported format for the
    /// location, bad delimiter, storage configuration the builder rejects).
    #[error("invalid `{key}`: {message}")]
    Config {
        /// The spec key at fault, as written in the pipeline file (`path`, `csv.delimiter`, ...).
        key: String,
        /// What is wrong and what would be accepted.
        message: String,
    },

    /// The storage could not be used: unreachable, refused the credentials or the permission,
    /// or kept failing after every retry. Running again later, or fixing access, may help.
    #[error(
        "storage unavailable for {location}: {message}; check connectivity, credentials and permissions, then retry"
    )]
    Unavailable {
        /// Display name of the location.
        location: String,
        /// What the storage said.
        message: String,
    },

    /// A bug in Quiver or in a library it uses: nothing the user can fix.
    #[error("internal error: {message}; this is a bug, please report it")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl HasFault for IoError {
    /// `Config` for `NotFound`, `Exists` and `Config`; `Data` for `BadData`; `Unavailable`;
    /// `Internal`.
    fn fault(&self) -> Fault {
        match self {
            IoError::NotFound { .. } | IoError::Exists { .. } | IoError::Config { .. } => {
                Fault::Config
            }
            IoError::BadData { .. } => Fault::Data,
            IoError::Unavailable { .. } => Fault::Unavailable,
            IoError::Internal { .. } => Fault::Internal,
        }
    }
}

fn position(line: Option<u64>, column: Option<&str>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at line {line}, column {column:?}"),
        (Some(line), None) => format!(" at line {line}"),
        (None, Some(column)) => format!(" in column {column:?}"),
        (None, None) => String::new(),
    }
}

impl IoError {
    /// A [`IoError::Config`] for `key`.
    pub(crate) fn config(key: impl Into<String>, message: impl fmt::Display) -> Self {
        IoError::Config {
            key: key.into(),
            message: message.to_string(),
        }
    }

    /// A [`IoError::BadData`] without position.
    pub(crate) fn bad_data(location: impl Into<String>, message: impl fmt::Display) -> Self {
        IoError::BadData {
            location: location.into(),
            line: None,
            column: None,
            message: message.to_string(),
        }
    }

    /// A [`IoError::Internal`].
    pub(crate) fn internal(message: impl fmt::Display) -> Self {
        IoError::Internal {
            message: message.to_string(),
        }
    }

    /// Classifies an `object_store` error about `location` (a display name).
    ///
    /// Messages pass through [`without_queries`]: storage errors quote request URLs, whose
    /// query strings may hold signatures or SAS tokens.
    pub(crate) fn from_store(location: &str, error: object_store::Error) -> Self {
        use object_store::Error as E;
        let location = location.to_string();
        match error {
            E::NotFound { source, .. } => IoError::NotFound {
                location,
                detail: without_queries(&source.to_string()),
            },
            E::AlreadyExists { .. } => IoError::Exists { location },
            E::InvalidPath { source } => IoError::config(
                "path",
                format!("{location} cannot be used as an object path: {source}"),
            ),
            E::UnknownConfigurationKey { key, store } => IoError::config(
                "path",
                format!("{store} rejected configuration key {key:?} for {location}"),
            ),
            E::NotSupported { source } => IoError::config(
                "path",
                format!("the storage of {location} does not support this: {source}"),
            ),
            E::NotImplemented {
                operation,
                implementer,
            } => IoError::internal(format!(
                "{implementer} does not implement {operation} (for {location})"
            )),
            E::JoinError { source } => {
                IoError::internal(format!("a storage task for {location} failed: {source}"))
            }
            // Generic (network, retries exhausted, server errors), PermissionDenied,
            // Unauthenticated, Precondition, NotModified and future variants: the storage
            // refused or failed, not the data or the spec.
            other => IoError::Unavailable {
                location,
                message: without_queries(&other.to_string()),
            },
        }
    }

    /// Classifies a local filesystem error about `location` (a display name).
    pub(crate) fn from_fs(location: &str, action: &str, error: std::io::Error) -> Self {
        let location = location.to_string();
        match error.kind() {
            std::io::ErrorKind::NotFound => IoError::NotFound {
                location,
                detail: format!("{action}: {error}"),
            },
            std::io::ErrorKind::AlreadyExists => IoError::Exists { location },
            _ => IoError::Unavailable {
                location,
                message: format!("{action}: {error}"),
            },
        }
    }
}

/// `text` with the query string of every URL in it replaced by `?…`.
fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_url = false;
    let mut in_query = false;
    let mut previous = [' ', ' ', ' '];
    for c in text.chars() {
        let ends = c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ',');
        if ends {
            in_url = false;
            in_query = false;
        } else if previous == [':', '/', '/'] {
            in_url = true;
        }
        if in_url && !in_query && c == '?' {
            in_query = true;
            out.push_str("?…");
        }
        if !in_query {
            out.push(c);
        }
        previous = [previous[1], previous[2], c];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_strings() {
        assert_eq!(
            without_queries(
                "Error performing GET https://a.blob.core.windows.net/c/k?sig=secret&se=1 in 1s"
            ),
            "Error performing GET https://a.blob.core.windows.net/c/k?… in 1s"
        );
        assert_eq!(without_queries("why? no url"), "why? no url");
    }

    #[test]
    fn bad_data_message_names_position() {
        let error = IoError::BadData {
            location: "in.csv".into(),
            line: Some(3),
            column: Some("price".into()),
            message: "not a number".into(),
        };
        let text = error.to_string();
        assert!(
            text.contains("in.csv at line 3, column \"price\": not a number"),
            "{text}"
        );
        assert_eq!(error.fault(), Fault::Data);
    }

    #[test]
    fn each_variant_has_its_fault_class() {
        assert_eq!(IoError::config("path", "x").fault(), Fault::Config);
        let exists = IoError::Exists {
            location: "o".into(),
        };
        assert_eq!(exists.fault(), Fault::Config);
        let missing = IoError::NotFound {
            location: "i".into(),
            detail: "d".into(),
        };
        assert_eq!(missing.fault(), Fault::Config);
        let down = IoError::Unavailable {
            location: "s3://b/k".into(),
            message: "m".into(),
        };
        assert_eq!(down.fault(), Fault::Unavailable);
        assert_eq!(IoError::internal("x").fault(), Fault::Internal);
    }
}
