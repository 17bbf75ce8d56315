//! Hot-swap offers: a new plugin version uploaded, or a pipeline replaced with another pin
//! or config, is offered to every running stage it concerns. The replacement (compiled
//! plugin, one transformer per instance, created for the stage's input schema) goes to the
//! engine (`Progress::swap`), which checks it against the stage's schemas and switches at
//! the next batch boundary. Every attempt, refused or applied, is recorded on the run, in
//! the metrics and in the logs.

use std::sync::Arc;

use chrono::Utc;
use quiver_host::Plugin;
use quiver_pipeline::Replacement;
use quiver_spec::{Pipeline, PluginRef};
use serde::Serialize;
use utoipa::ToSchema;

use super::status::{Run, RunErrorEntry, SwapEntry, id_string};
use super::{Runs, lock};
use crate::catalogue::PluginVersion;
use crate::metrics::SwapLabels;

/// What a swap offer did for one run's stage (returned to the uploader).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SwapOffer {
    /// Run id.
    pub run: String,
    /// Stage name.
    pub stage: String,
    /// `pending` (accepted; switches at the next batch boundary) or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

impl Runs {
    /// Offer `version` to every running stage that follows its name (when newer than what
    /// the stage runs). Blocking.
    pub fn offer_new_version(&self, version: &PluginVersion) -> Vec<SwapOffer> {
        let Ok(new) = semver::Version::parse(&version.version) else {
            return Vec::new();
        };
        let mut offers = Vec::new();
        for run in self.active() {
            for (i, stage) in run.stages.iter().enumerate() {
                let follows = matches!(
                    &stage.follows,
                    PluginRef::Name { name, version: None } if *name == version.name
                );
                if !follows {
                    continue;
                }
                let current = run.plugin_of(i);
                let newer = semver::Version::parse(&current.version).map_or(true, |c| new > c);
                if !newer || current.sha256 == version.sha256 {
                    continue;
                }
                let to = format!("{}@{}", version.name, version.version);
                let plugin = self
                    .catalogue
                    .load_blocking(&self.handle, version, stage.metering)
                    .map_err(|e| e.to_string());
                offers.push(self.offer(&run, i, &to, plugin, &stage.config));
            }
        }
        offers
    }

    /// Offer the stages of `name`'s running runs what `pipeline` now says (a changed pin
    /// or config). Stages are matched by name. Blocking.
    pub fn offer_pipeline(&self, name: &str, pipeline: &Pipeline) -> Vec<SwapOffer> {
        let mut offers = Vec::new();
        for run in self.active().into_iter().filter(|r| r.pipeline() == name) {
            for (spec, stage_name) in pipeline.stages.iter().zip(pipeline.stage_names()) {
                let Some(i) = run.stages.iter().position(|s| s.name == stage_name) else {
                    continue;
                };
                let config = spec.config_json();
                let metering = run.stages[i].metering;
                let resolved = match self.resolver.resolve(&spec.plugin, &self.workdir, metering) {
                    Ok(r) => r.plugin,
                    Err(reason) => {
                        offers.push(SwapOffer {
                            run: run.id().to_owned(),
                            stage: stage_name,
                            outcome: "refused".into(),
                            reason: Some(reason.to_string()),
                        });
                        continue;
                    }
                };
                let current = run.plugin_of(i);
                if current.sha256 == resolved.id().sha256 && config == run.stages[i].config {
                    continue;
                }
                let to = id_string(resolved.id());
                offers.push(self.offer(&run, i, &to, Ok(resolved), &config));
            }
        }
        offers
    }

    /// Build the replacement for stage `i` of `run` and hand it to the engine.
    fn offer(
        &self,
        run: &Arc<Run>,
        i: usize,
        to: &str,
        plugin: Result<Plugin, String>,
        config: &str,
    ) -> SwapOffer {
        let stage = &run.stages[i];
        let from = id_string(&run.plugin_of(i));
        let to = to.to_owned();
        // Recorded before the engine can apply it (the observer updates this entry).
        lock(&run.swaps).push(SwapEntry {
            at: Utc::now(),
            stage: stage.name.clone(),
            from: from.clone(),
            to: to.clone(),
            outcome: "pending".into(),
            at_row: None,
            reason: None,
        });
        let offer = |outcome: &str, reason: Option<String>| SwapOffer {
            run: run.id().to_owned(),
            stage: stage.name.clone(),
            outcome: outcome.into(),
            reason,
        };
        // Nothing changed: the entry, the run's errors, the log (and the metric, unless the
        // engine's observer counted the refusal already).
        let refuse = |reason: String, count: bool| {
            if let Some(entry) = lock(&run.swaps)
                .iter_mut()
                .rev()
                .find(|s| s.stage == stage.name && s.to == to && s.outcome == "pending")
            {
                entry.outcome = "refused".into();
                entry.reason = Some(reason.clone());
            }
            run.push_error(RunErrorEntry {
                at: Utc::now(),
                stage: stage.name.clone(),
                plugin: Some(to.clone()),
                kind: "swap".into(),
                message: format!("hot swap {from} → {to} refused, {from} keeps running: {reason}"),
                rows: 0,
                outcome: "nothing changed".into(),
            });
            if count {
                self.metrics
                    .swaps
                    .get_or_create(&SwapLabels {
                        pipeline: run.pipeline().to_owned(),
                        stage: stage.name.clone(),
                        outcome: "refused".into(),
                    })
                    .inc();
            }
            tracing::warn!(run = %run.id(), stage = %stage.name, %from, %to, "hot swap refused: {reason}");
            offer("refused", Some(reason))
        };
        let replacement = plugin.and_then(|plugin| {
            let transformers = (0..stage.parallelism.max(1))
                .map(|_| plugin.transformer(config, Arc::clone(&stage.input), &stage.sandbox))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            Ok(Replacement {
                plugin,
                transformers,
            })
        });
        match replacement.map(|r| run.progress().swap(i, r)) {
            Err(e) => refuse(e, true),
            Ok(Err(e)) => refuse(e.to_string(), false),
            Ok(Ok(_ticket)) => offer("pending", None),
        }
    }
}
