//! [`StreamError`]: what failed on the way to or from NATS, and whose fault it is.
//!
//! Every message names the server (its URL without credentials), the stream, subject or
//! consumer involved, and what was being done; credentials are never part of a message.

use quiver_fault::{Fault, HasFault};

/// A failure of a stream source or sink, or of the distributed run's task protocol.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The pipeline's stream settings are wrong (`field` is the dotted path below the
    /// source or sink table).
    #[error("`{field}`: {message}")]
    Config {
        /// The setting at fault (`source.nats.consumer`).
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The server cannot be reached, or refused an operation.
    #[error("{what} ({server}): {message}")]
    Unavailable {
        /// What was being done (`connecting`, `publishing to subject out`).
        what: String,
        /// The server's URL, without credentials.
        server: String,
        /// What the client said.
        message: String,
    },
    /// A message's payload cannot be read with the declared format and schema.
    #[error("message {at}: {message}")]
    Data {
        /// Which message (`stream events, sequence 17`).
        at: String,
        /// What is wrong with it.
        message: String,
    },
    /// A bug in Quiver.
    #[error("internal error: {0}")]
    Internal(String),
}

impl StreamError {
    /// A configuration problem at `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        StreamError::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `error` while doing `what` on `server`.
    pub fn unavailable(
        what: impl Into<String>,
        server: &str,
        error: impl std::fmt::Display,
    ) -> Self {
        StreamError::Unavailable {
            what: what.into(),
            server: server.to_owned(),
            message: error.to_string(),
        }
    }
}

impl HasFault for StreamError {
    fn fault(&self) -> Fault {
        match self {
            StreamError::Config { .. } => Fault::Config,
            StreamError::Unavailable { .. } => Fault::Unavailable,
            StreamError::Data { .. } => Fault::Data,
            StreamError::Internal(_) => Fault::Internal,
        }
    }
}
