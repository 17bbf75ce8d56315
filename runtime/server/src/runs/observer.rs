//! The engine's events (every plugin call, failed batch and swap) turned into the run's
//! errors and swap entries, the Prometheus series and the logs.

use std::sync::Arc;

use chrono::Utc;
use quiver_pipeline::{CallEvent, ErrorEvent, ErrorPolicy, RunObserver, SwapEvent, SwapOutcome};

use super::lock;
use super::status::{Run, RunErrorEntry, SwapEntry, id_string};
use crate::metrics::{ErrorLabels, Metrics, StageLabels, SwapLabels};

/// Feeds the engine's events into the run and the metrics.
pub(super) struct Observer {
    pub(super) run: std::sync::Weak<Run>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) pipeline: String,
    pub(super) stages: Vec<String>,
}

impl Observer {
    fn labels(&self, stage: usize) -> StageLabels {
        StageLabels {
            pipeline: self.pipeline.clone(),
            stage: self.stages.get(stage).cloned().unwrap_or_default(),
        }
    }
}

impl RunObserver for Observer {
    fn call(&self, stage: usize, e: &CallEvent<'_>) {
        let l = self.labels(stage);
        self.metrics.calls.get_or_create(&l).inc();
        self.metrics.rows_in.get_or_create(&l).inc_by(e.rows_in);
        self.metrics.rows_out.get_or_create(&l).inc_by(e.rows_out);
        self.metrics
            .call_seconds
            .get_or_create(&l)
            .observe(e.duration.as_secs_f64());
        if let Some(kind) = e.error_kind {
            self.metrics
                .errors
                .get_or_create(&ErrorLabels {
                    pipeline: l.pipeline,
                    stage: l.stage,
                    plugin: e.plugin.name.clone(),
                    version: e.plugin.version.clone(),
                    kind: kind.to_owned(),
                })
                .inc();
        }
    }

    fn error(&self, stage: usize, e: &ErrorEvent<'_>) {
        let Some(run) = self.run.upgrade() else {
            return;
        };
        let outcome = if e.fatal {
            "run stopped"
        } else {
            match e.policy {
                ErrorPolicy::Skip => "skipped",
                ErrorPolicy::DeadLetter => "dead-lettered",
                ErrorPolicy::Fail => "run stopped",
            }
        };
        run.push_error(RunErrorEntry {
            at: Utc::now(),
            stage: self.stages.get(stage).cloned().unwrap_or_default(),
            plugin: Some(id_string(e.plugin)),
            kind: e.error.kind_name().to_owned(),
            message: e.error.to_string(),
            rows: e.rows,
            outcome: outcome.into(),
        });
    }

    fn swap(&self, stage: usize, e: &SwapEvent) {
        let (outcome, at_row, reason) = match &e.outcome {
            Ok(SwapOutcome::Applied { at_row, .. }) => ("applied", Some(*at_row), None),
            Ok(SwapOutcome::Superseded) => ("superseded", None, None),
            Ok(SwapOutcome::RunEnded) => ("run-ended", None, None),
            Ok(SwapOutcome::Failed(m)) => ("failed", None, Some(m.clone())),
            Err(err) => ("refused", None, Some(err.to_string())),
        };
        let l = self.labels(stage);
        self.metrics
            .swaps
            .get_or_create(&SwapLabels {
                pipeline: l.pipeline,
                stage: l.stage.clone(),
                outcome: outcome.into(),
            })
            .inc();
        tracing::info!(pipeline = %self.pipeline, stage = %l.stage, from = %id_string(&e.from), to = %id_string(&e.to), outcome, reason = ?reason, "hot swap");
        let Some(run) = self.run.upgrade() else {
            return;
        };
        let to = id_string(&e.to);
        let mut swaps = lock(&run.swaps);
        // The entry `offer` recorded as pending, or a new one.
        match swaps
            .iter_mut()
            .rev()
            .find(|s| s.stage == l.stage && s.to == to && s.outcome == "pending")
        {
            Some(entry) => {
                entry.outcome = outcome.into();
                entry.at_row = at_row;
                entry.reason = reason;
            }
            None => swaps.push(SwapEntry {
                at: Utc::now(),
                stage: l.stage,
                from: id_string(&e.from),
                to,
                outcome: outcome.into(),
                at_row,
                reason,
            }),
        }
    }
}
