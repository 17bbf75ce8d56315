//! The fault class of any error a Quiver library returns, found by walking its source chain:
//! the one place that knows which library error types carry a class. The `quiver` command
//! turns the class into an exit code, the server into an HTTP status.

use std::error::Error;

use quiver_fault::{Failure, Fault, HasFault};
use quiver_host::{LoadError, PluginError};
use quiver_io::IoError;
use quiver_pipeline::RunError;
use quiver_spec::Problems;

use crate::job::JobError;
use crate::resolve::ResolveError;

/// Whose fault `e` is: the class of the first error in its source chain that has one
/// ([`Fault::Internal`] when none does: an error nobody classified is a bug).
pub fn fault_of(e: &(dyn Error + 'static)) -> Fault {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(f) = class(c) {
            return f;
        }
        cause = c.source();
    }
    Fault::Internal
}

fn class(e: &(dyn Error + 'static)) -> Option<Fault> {
    if let Some(f) = e.downcast_ref::<Failure>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<Problems>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<IoError>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<LoadError>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<PluginError>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<crate::distributed::DistributedError>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<quiver_stream::StreamError>() {
        return Some(f.fault());
    }
    if let Some(f) = e.downcast_ref::<ResolveError>() {
        return Some(f.fault());
    }
    if let Some(r) = e.downcast_ref::<RunError>() {
        return run_class(r);
    }
    // `JobError::Run` is transparent: its `source()` skips the `RunError` itself.
    if let Some(j) = e.downcast_ref::<JobError>() {
        return match j {
            JobError::Run(r) => run_class(r),
            JobError::Commit { error, .. } => Some(error.fault()),
        };
    }
    None
}

/// A source, sink or dead-letter failure is classed by its cause (storage, data): `None`
/// walks on down the chain.
fn run_class(r: &RunError) -> Option<Fault> {
    match r {
        RunError::Stage { error, .. } => Some(error.fault()),
        RunError::Internal(_) => Some(Fault::Internal),
        RunError::Cancelled => Some(Fault::Cancelled),
        RunError::Source(_) | RunError::Sink(_) | RunError::DeadLetter(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boxed_storage_error_under_a_sink_failure_is_unavailable() {
        let io = IoError::Unavailable {
            location: "s3://b/k".into(),
            message: "connection refused".into(),
        };
        let run = RunError::Sink(Box::new(io));
        assert_eq!(fault_of(&run), Fault::Unavailable);
        assert_eq!(fault_of(&RunError::Cancelled), Fault::Cancelled);
        let unknown = std::io::Error::other("?");
        assert_eq!(fault_of(&unknown), Fault::Internal);
    }
}
