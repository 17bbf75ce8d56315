//! Distributed runs on NATS JetStream: a coordinator splits a file pipeline into one task
//! per input file (per run of row groups of a large Parquet file) and commits the output
//! only when every task is in ([`coordinate`]); workers on any machine pull tasks, run
//! them as ordinary jobs and commit each task's output as its own parts ([`work`]). The
//! protocol on the wire is `quiver_stream::work`; which stages cannot be split is
//! [`stateful_reason`].

mod coordinator;
mod stateful;
mod worker;

use quiver_fault::{Fault, HasFault};
use quiver_spec::Problems;
use quiver_stream::StreamError;

pub use coordinator::{Cluster, DEFAULT_TASK_BYTES, DistributedReport, coordinate};
pub use stateful::stateful_reason;
pub use worker::{WorkerMetrics, WorkerOptions, work};

/// Why a distributed run (or a worker) stopped.
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    /// The pipeline cannot run, or cannot be distributed (each problem says why).
    #[error(transparent)]
    Problems(#[from] Problems),
    /// NATS failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A task failed on a worker; nothing was committed.
    #[error("task {index} ({input}) failed on worker {worker}: {message}; nothing was committed")]
    Task {
        /// The task.
        index: usize,
        /// Its input.
        input: String,
        /// The worker.
        worker: String,
        /// `fault: message`.
        message: String,
    },
    /// Moving the parts into place failed.
    #[error("committing the output at {path}")]
    Commit {
        /// Where.
        path: String,
        /// What the file system said.
        #[source]
        error: std::io::Error,
    },
    /// Cancelled: the tasks were withdrawn and nothing was committed.
    #[error(
        "the distributed run was cancelled; its tasks were withdrawn and nothing was committed"
    )]
    Cancelled,
}

impl HasFault for DistributedError {
    fn fault(&self) -> Fault {
        match self {
            DistributedError::Problems(p) => p.fault(),
            DistributedError::Stream(e) => e.fault(),
            DistributedError::Task { message, .. } => match message.split(':').next() {
                Some("config") => Fault::Config,
                Some("data") => Fault::Data,
                Some("plugin") => Fault::Plugin,
                Some("unavailable") => Fault::Unavailable,
                _ => Fault::Internal,
            },
            DistributedError::Commit { .. } => Fault::Unavailable,
            DistributedError::Cancelled => Fault::Cancelled,
        }
    }
}
