//! The run report: what ran, on what, with what result — the run's lineage record (every
//! input and output, every plugin's name, version and sha256). `quiver run --report` writes
//! it; the server keeps it with each finished run.

use std::time::Instant;

use quiver_pipeline::StageStats;
use serde::Serialize;

/// The run report.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The pipeline (its file, or its name on the server).
    pub pipeline: String,
    /// Every input read, in order (a glob expands to many; no credentials).
    pub inputs: Vec<String>,
    /// Every output committed (one file, or the parts of a directory).
    pub outputs: Vec<String>,
    /// Bytes committed to the outputs.
    pub bytes_written: u64,
    /// The dead-letter outputs, when any row was dead-lettered.
    pub dead_letter: Vec<String>,
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows committed to the sink.
    pub rows_written: u64,
    /// Rows dropped by `skip` stages.
    pub rows_skipped: u64,
    /// Rows written to the dead-letter sink.
    pub rows_dead_lettered: u64,
    /// Whether the run was drained before its source ended (a server stop): the output
    /// holds exactly what was read until then.
    pub stopped_early: bool,
    /// Wall-clock time of the run.
    pub elapsed_ms: f64,
    /// Peak resident memory of this process (Linux `VmHWM`), when known.
    pub peak_rss_bytes: Option<u64>,
    /// Per stage, in order: rows, batches, busy time, errors, counters, plugin lineage.
    pub stages: Vec<StageStats>,
    /// A stream run's checkpoints (absent for other runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamReport>,
}

/// What a stream run committed and acknowledged.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    /// Checkpoints taken (commits followed by acknowledgements), the final one included.
    pub checkpoints: u64,
    /// Source messages acknowledged.
    pub messages_acked: u64,
    /// Messages a JetStream sink published that the stream dropped as duplicates (ids it
    /// had stored before a restart).
    pub duplicates_dropped: u64,
}

impl RunReport {
    /// The report of a committed run.
    pub fn new(
        pipeline: String,
        inputs: Vec<String>,
        committed: quiver_io::Committed,
        dead_lettered: Option<quiver_io::Committed>,
        outcome: quiver_pipeline::RunOutcome,
        started: Instant,
    ) -> Self {
        RunReport {
            pipeline,
            inputs,
            outputs: committed.outputs,
            bytes_written: committed.bytes,
            dead_letter: dead_lettered.map(|c| c.outputs).unwrap_or_default(),
            rows_read: outcome.rows_read,
            rows_written: outcome.rows_written,
            rows_skipped: outcome.stages.iter().map(|s| s.rows_skipped).sum(),
            rows_dead_lettered: outcome.rows_dead_lettered,
            stopped_early: outcome.stopped_early,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
            peak_rss_bytes: peak_rss_bytes(),
            stages: outcome.stages,
            stream: None,
        }
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux only).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
