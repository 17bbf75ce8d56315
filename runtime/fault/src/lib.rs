//! Fault classes: every error a Quiver library returns can say whose fault it is, and only
//! the binaries turn that into a number.
//!
//! Libraries (`quiver-host`, `quiver-io`, `quiver-pipeline`, `quiver-spec`, `quiver-job`)
//! implement [`HasFault`] on their error types; they never know exit codes or HTTP
//! statuses. The `quiver` command maps a [`Fault`] to an exit code in one table
//! (`runtime/cli/src/exit.rs`), the server to an HTTP status in one table
//! (`runtime/server/src/error.rs`). A new failure therefore needs one decision — its fault
//! class, made where the failure is understood — and both front ends follow.

#![deny(missing_docs)]

use std::fmt;

/// Whose fault a failure is, and therefore what the person who sees it should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The configuration is wrong: a pipeline document, a plugin config, a missing file, an
    /// output that already exists. Fix the configuration.
    Config,
    /// The input data is wrong: a corrupt file, a value that does not parse, a row a plugin
    /// refuses. Fix or route the data.
    Data,
    /// A plugin failed on its own account: trapped, broke the contract, ran out of its
    /// limits. Report it to the plugin's author (or raise its limits).
    Plugin,
    /// Something the run depends on is unavailable (storage unreachable after retries, a
    /// server draining). Retrying later may succeed.
    Unavailable,
    /// A bug in Quiver or a library it uses: nothing the user can fix.
    Internal,
    /// The run was cancelled (Ctrl-C, SIGTERM, an API cancel): nothing was committed.
    Cancelled,
}

impl Fault {
    /// A stable lowercase name (`config`, `data`, `plugin`, `unavailable`, `internal`,
    /// `cancelled`), for reports and API bodies.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Config => "config",
            Fault::Data => "data",
            Fault::Plugin => "plugin",
            Fault::Unavailable => "unavailable",
            Fault::Internal => "internal",
            Fault::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error that knows its fault class.
pub trait HasFault {
    /// Whose fault this error is.
    fn fault(&self) -> Fault;
}

/// A plain error with a fault class and a message that says what failed, where, and what to
/// do: for failures that need no richer type (a file that cannot be read, a flag that makes
/// no sense together with another).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Whose fault it is.
    pub fault: Fault,
    /// What failed, where, and what to do.
    pub message: String,
}

impl Failure {
    /// A failure of class `fault`.
    pub fn new(fault: Fault, message: impl Into<String>) -> Self {
        Failure {
            fault,
            message: message.into(),
        }
    }

    /// A configuration failure.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Fault::Config, message)
    }
}

impl HasFault for Failure {
    fn fault(&self) -> Fault {
        self.fault
    }
}
