//! The error a transform returns, mapped onto the WIT `error` variant that says who is at
//! fault: the config, the data, or the plugin itself.

use std::fmt;

/// Why a transform call failed, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The config is wrong: the user must fix the pipeline file.
    Config {
        /// Path of the key in the config document, e.g. `columns[2].scale` (empty: whole document).
        key: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// The input data is wrong for this transform.
    Data {
        /// Column at fault, when known.
        column: Option<String>,
        /// Row within the batch, when known.
        row: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The transform itself failed (a bug, or an unexpected state).
    Internal(String),
}

impl Error {
    /// A config error at `key` (a path such as `columns[2].scale`).
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A data error with no column or row.
    pub fn data(message: impl Into<String>) -> Self {
        Error::Data {
            column: None,
            row: None,
            message: message.into(),
        }
    }

    /// A data error in `column` at `row` (either may be unknown).
    pub fn data_at(column: Option<&str>, row: Option<u64>, message: impl Into<String>) -> Self {
        Error::Data {
            column: column.map(str::to_owned),
            row,
            message: message.into(),
        }
    }

    /// An internal failure of the transform.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    /// The same error, naming `column` when it is a data error that names none (a host
    /// kernel's error is about the column it was given, which it does not know by name).
    pub fn in_column(self, column: &str) -> Self {
        match self {
            Error::Data {
                column: None,
                row,
                message,
            } => Error::Data {
                column: Some(column.to_owned()),
                row,
                message,
            },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { key, message } => write!(f, "config `{key}`: {message}"),
            Error::Data {
                column,
                row,
                message,
            } => write!(f, "data (column {column:?}, row {row:?}): {message}"),
            Error::Internal(m) => write!(f, "internal: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<Error> for crate::bindings::quiver::transform::types::Error {
    fn from(e: Error) -> Self {
        use crate::bindings::quiver::transform::types as t;
        match e {
            Error::Config { key, message } => t::Error::Config(t::ConfigError { key, message }),
            Error::Data {
                column,
                row,
                message,
            } => t::Error::Data(t::DataError {
                column,
                row,
                message,
            }),
            Error::Internal(m) => t::Error::Internal(m),
        }
    }
}

/// A WIT error (from a host call) as an [`Error`].
#[cfg(not(feature = "contract-0-1"))]
pub(crate) fn from_wit(e: crate::bindings::quiver::transform::types::Error) -> Error {
    use crate::bindings::quiver::transform::types as t;
    match e {
        t::Error::Config(c) => Error::Config {
            key: c.key,
            message: c.message,
        },
        t::Error::Data(d) => Error::Data {
            column: d.column,
            row: d.row,
            message: d.message,
        },
        t::Error::Internal(m) => Error::Internal(m),
    }
}
