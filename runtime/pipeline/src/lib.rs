//! The Quiver pipeline engine: record batches stream from a source, through an ordered chain
//! of plugin stages, to a sink.
//!
//! - [`plan`]: what a stage is ([`StagePlan`]: plugin, config, sandbox, parallelism, error
//!   policy, batch size) and schema negotiation ([`prepare`]): every transformer of every
//!   stage is created, each from the previous stage's output schema, before any data is read;
//!   every problem is reported, not just the first.
//! - [`engine`]: [`run`] moves batches over bounded channels (backpressure, bounded memory),
//!   runs each stage's instances on threads of their own (plugin code never runs on an async
//!   I/O thread), keeps output order when a stage runs several instances, applies each
//!   stage's error policy and calls `finish` on every stage in order at end of stream. Its
//!   steps are named functions there; a stage's threads (workers and the order-restoring
//!   collector) are in `worker.rs`, what flows between threads in `emitter.rs`.
//! - [`rechunk`]: batches are re-cut to a stage's target size before it sees them.
//! - [`stats`]: live per-stage counters (for progress displays and the API) and the final
//!   per-stage statistics (for the run report); [`Progress`] is also the handle that steers a
//!   running run (cancel, drain with [`Progress::stop_intake`], hot swap).
//! - [`swap`]: replacing a stage's plugin version while the run goes, at a batch boundary
//!   ([`Progress::swap`]), with the lineage of which rows which version produced.
//! - [`observer`]: hooks called on every plugin call, failed batch and swap ([`RunObserver`]).
//!
//! Sources and sinks are abstract here ([`BatchSource`], [`BatchSink`]); `quiver-io` and the
//! CLI provide the real ones.

#![deny(missing_docs)]

mod emitter;
pub mod engine;
pub mod observer;
pub mod plan;
pub mod rechunk;
pub mod stats;
pub mod swap;
mod worker;

pub use engine::{BatchSink, BatchSource, DeadLetter, IDLE_TICK, RunError, RunOutcome, run};
pub use observer::{CallEvent, ErrorEvent, RunObserver, SwapEvent};
pub use plan::{ErrorPolicy, PlanError, Prepared, StagePlan, prepare};
pub use stats::{Progress, StageCounters, StageStats};
pub use swap::{Replacement, SwapError, SwapOutcome, SwapRecord, SwapTicket};
