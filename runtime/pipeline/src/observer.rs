//! Hooks into a running pipeline: every plugin call, every failed batch, every hot swap.
//!
//! A [`RunObserver`] is attached to a run's [`Progress`](crate::Progress) with
//! [`Progress::with_observer`](crate::Progress::with_observer) and is called synchronously
//! on the thread where the event happened (a stage's worker thread for calls, errors and
//! swaps that take effect or end with the stream; the caller of
//! [`Progress::swap`](crate::Progress::swap) for refused and superseded swaps — a request
//! before the run started or for a stage that does not exist is not reported). It must be
//! quick and must not block: it runs between plugin calls, on the critical path. Since it may
//! run inside `Progress::swap`, a caller must not hold a lock the observer takes while it
//! calls `swap`. A run without an observer pays one `Option` check per call.

use std::sync::Arc;
use std::time::Duration;

use quiver_host::{PluginError, PluginId};

use crate::plan::ErrorPolicy;
use crate::swap::{SwapError, SwapOutcome};

/// Receives the events of a run. Every method has an empty default: implement only what you
/// need. Stages are given by their index in the pipeline (from 0).
pub trait RunObserver: Send + Sync {
    /// After every `process`/`finish` call of stage `stage`, on the worker thread.
    fn call(&self, _stage: usize, _event: &CallEvent<'_>) {}

    /// A failed call whose rows went to the stage's error policy (skip/dead-letter), or the
    /// failure that stops the run (`fatal`).
    fn error(&self, _stage: usize, _event: &ErrorEvent<'_>) {}

    /// A hot swap took effect, or was refused, superseded or abandoned.
    fn swap(&self, _stage: usize, _event: &SwapEvent) {}
}

/// One `process` or `finish` call of a plugin instance.
#[derive(Debug, Clone)]
pub struct CallEvent<'a> {
    /// The plugin version that ran the call.
    pub plugin: &'a PluginId,
    /// Whether it was `finish` (end of stream, or the old version's flush before a swap).
    pub finish: bool,
    /// Wall-clock time of the call, host-side checks included.
    pub duration: Duration,
    /// Rows sent in (0 for `finish`).
    pub rows_in: u64,
    /// Rows returned (0 when the call failed).
    pub rows_out: u64,
    /// The short kind name of the error when the call failed (`data`, `panic`, `deadline`,
    /// …: the keys of the report's `errors`, [`PluginError::kind_name`]).
    pub error_kind: Option<&'static str>,
}

/// A failed call whose rows went to the error policy, or the failure that stops the run.
#[derive(Debug, Clone)]
pub struct ErrorEvent<'a> {
    /// The plugin version that failed.
    pub plugin: &'a PluginId,
    /// The error.
    pub error: &'a PluginError,
    /// Rows handed to the error policy; when the run stops, the rows of the failed call
    /// (0 for `finish`).
    pub rows: u64,
    /// Position of the first of those rows in the stage's input stream (0 for `finish`).
    pub first_row: u64,
    /// What happened to the rows: [`ErrorPolicy::Skip`] (dropped and counted),
    /// [`ErrorPolicy::DeadLetter`] (sent to the dead-letter sink) or [`ErrorPolicy::Fail`]
    /// (the run stops; `fatal` is then set).
    pub policy: ErrorPolicy,
    /// Whether this failure stops the run (the `fail` policy, a quarantined stage, a failing
    /// `finish`).
    pub fatal: bool,
}

/// A hot swap of one stage: what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapEvent {
    /// The version running before the switch point.
    pub from: Arc<PluginId>,
    /// The version asked for.
    pub to: Arc<PluginId>,
    /// How it ended, as its [`SwapTicket`](crate::SwapTicket) reports it; `Err` when
    /// [`Progress::swap`](crate::Progress::swap) refused it (nothing changed).
    pub outcome: Result<SwapOutcome, SwapError>,
}
