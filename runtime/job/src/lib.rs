//! Turning a pipeline document into a run: plugin resolution, stage plans, the I/O bridge,
//! dead letters, the run report and fault classes — everything `quiver run`,
//! `quiver validate`, `quiver test` and `quiver serve` share.
//!
//! # Tour
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use quiver_job::{Io, Job, Resolver};
//! use quiver_pipeline::Progress;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let loaded = quiver_spec::load_file(Path::new("pipeline.toml"), &[], quiver_spec::Context::Cli)?;
//! let runtime = Arc::new(quiver_host::Runtime::new(Default::default())?);
//! let resolver = Resolver::new(runtime);                    // plugin path, first-party, catalogue
//! let io = Io::new()?;                                      // the command's tokio runtime
//! let job = Job::open("pipeline.toml", &loaded.read, &resolver, &io, &loaded.base, None)?;
//! let progress = Progress::new(job.stage_names());
//! let report = job.run(&progress)?;                          // committed, or nothing at all
//! println!("{} rows written", report.rows_written);
//! # Ok(()) }
//! ```
//!
//! # Core concepts
//!
//! - [`Resolver`]: a stage's plugin reference → a loaded plugin, from the plugin path, the
//!   first-party plugins built into the binary, and a server's [`Catalogue`], in that order.
//! - [`check`] / [`Job::open`]: the document built into running objects, every problem
//!   reported with its field; [`Job::run`]: the engine, then commit or abort.
//! - [`Io`]: the command's one tokio runtime and the blocking adapters that let the
//!   engine's threads pull quiver-io sources and drive its sinks; [`DeadLetterSink`].
//! - [`RunReport`]: the lineage record of a committed run.
//! - [`fault_of`]: the fault class of any library error, for the binaries' tables.

#![deny(missing_docs)]

mod dead_letter;
pub mod distributed;
mod fault;
mod io;
mod job;
mod output;
mod report;
mod resolve;

pub use dead_letter::{DeadLetterSink, dead_letter_schema};
pub use fault::fault_of;
pub use io::{Io, IoSink, WITHHELD, withhold_details};
pub use job::{
    ApiInput, BuiltStage, Checked, Job, JobError, base_dir, build_plans, check, instance_problems,
    source_schema,
};
/// A NATS server URL as it may be shown (no credentials).
pub use quiver_stream::shown as nats_url_shown;
pub use report::{RunReport, StreamReport, peak_rss_bytes};
pub use resolve::{
    Available, Catalogue, InstanceCeiling, Listed, Origin, ResolveError, Resolved, Resolver,
};
