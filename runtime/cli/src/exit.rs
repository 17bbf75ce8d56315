//! Exit codes of the `quiver` command (documented in the README), chosen from the error.
//!
//! 0 success; 1 a test or data failure (a plugin failed on the data); 2 usage (clap);
//! 65 bad input data; 69 a dependency unavailable; 70 internal error; 78 bad configuration;
//! 130 cancelled (Ctrl-C or SIGTERM; nothing committed).

use std::process::ExitCode;

use quiver_host::{ErrorKind, LoadError, PluginError};
use quiver_pipeline::RunError;

/// An error that already knows its exit code (e.g. a pipeline file that does not parse).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    /// The exit code.
    pub code: u8,
    /// What failed, where, and what to do.
    pub message: String,
}

impl Coded {
    /// Bad configuration (78).
    pub fn config(message: impl Into<String>) -> anyhow::Error {
        Coded {
            code: 78,
            message: message.into(),
        }
        .into()
    }
}

/// The exit code for `e`, from the first error in its chain that decides one.
pub fn code(e: &anyhow::Error) -> ExitCode {
    ExitCode::from(code_of(e))
}

/// [`code`] as a number.
pub fn code_of(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        if let Some(l) = cause.downcast_ref::<LoadError>() {
            return match l {
                LoadError::Io { .. } => 78,
                LoadError::Engine(_) => 70,
                _ => 65,
            };
        }
        if let Some(io) = cause.downcast_ref::<quiver_io::IoError>() {
            return io.exit_code();
        }
        if let Some(RunError::Cancelled) = cause.downcast_ref::<RunError>() {
            return 130;
        }
        if let Some(p) = cause.downcast_ref::<PluginError>() {
            return plugin_code(p);
        }
        if let Some(RunError::Stage { error, .. }) = cause.downcast_ref::<RunError>() {
            return plugin_code(error);
        }
    }
    70
}

/// A plugin's failure: the pipeline's config (78), the data (65), or the plugin (1).
fn plugin_code(p: &PluginError) -> u8 {
    match p.kind {
        ErrorKind::Config { .. } => 78,
        ErrorKind::Data { .. } | ErrorKind::InvalidInput { .. } => 65,
        _ => 1,
    }
}
