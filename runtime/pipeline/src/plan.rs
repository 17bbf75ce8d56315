//! Stages and schema negotiation.
//!
//! A [`StagePlan`] says what one stage runs and how; [`prepare`] creates every transformer
//! of every stage (one per parallel instance), each from the output schema of the stage
//! before, so the whole chain is known to fit before the first batch is read. It reports
//! every stage that fails, not just the first: `quiver validate` prints them all.

use arrow_schema::SchemaRef;
use quiver_host::{Plugin, PluginError, Sandbox, Transformer};
use serde::{Deserialize, Serialize};

/// What happens to a batch a stage fails on.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorPolicy {
    /// Stop the run; nothing is committed (the default).
    #[default]
    Fail,
    /// Drop the failing batch, count its rows and the error, go on.
    Skip,
    /// Write the failing batch and its error context to the dead-letter sink, go on.
    DeadLetter,
}

/// One plugin stage of a pipeline.
#[derive(Debug, Clone)]
pub struct StagePlan {
    /// Name in reports and errors (unique within the pipeline).
    pub name: String,
    /// The loaded plugin.
    pub plugin: Plugin,
    /// The plugin's config document (JSON).
    pub config: String,
    /// Limits and grants of every instance of the stage.
    pub sandbox: Sandbox,
    /// Plugin instances running side by side (output order is kept). Only for plugins that
    /// keep no state across batches: each instance sees a share of the batches.
    pub parallelism: usize,
    /// What to do with a batch the plugin fails on.
    pub on_error: ErrorPolicy,
    /// Re-cut incoming batches to this many rows (`None`: take them as they come).
    pub batch_rows: Option<usize>,
}

/// A stage that could not be prepared.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stage {index} `{name}`: {error}")]
pub struct PlanError {
    /// Position of the stage (from 0).
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Why (config rejected, schema does not fit, limit over the ceiling, …).
    pub error: PluginError,
}

/// Every stage with its transformers created and schemas negotiated.
#[derive(Debug)]
pub struct Prepared {
    pub(crate) input: SchemaRef,
    pub(crate) stages: Vec<(StagePlan, Vec<Transformer>)>,
}

impl Prepared {
    /// The schema the first stage accepts (the source's).
    pub fn input_schema(&self) -> SchemaRef {
        self.input.clone()
    }

    /// The schema of what the last stage produces (what the sink receives).
    pub fn output_schema(&self) -> SchemaRef {
        self.stages
            .last()
            .and_then(|(_, ts)| ts.first())
            .map_or_else(|| self.input.clone(), Transformer::output_schema)
    }

    /// Output schema of each stage, in order.
    pub fn stage_schemas(&self) -> Vec<(String, SchemaRef)> {
        self.stages
            .iter()
            .filter_map(|(p, ts)| ts.first().map(|t| (p.name.clone(), t.output_schema())))
            .collect()
    }
}

/// Create the transformers of every stage from `input` onwards.
///
/// # Errors
/// Every stage that failed. A stage after a failed one is still checked when the failed
/// stage's output schema is known from its declaration; otherwise checking stops there.
pub fn prepare(input: SchemaRef, plans: Vec<StagePlan>) -> Result<Prepared, Vec<PlanError>> {
    let mut errors = Vec::new();
    let mut schema = input.clone();
    let mut stages = Vec::with_capacity(plans.len());
    for (index, plan) in plans.into_iter().enumerate() {
        let mut instances = Vec::with_capacity(plan.parallelism.max(1));
        let mut failed = None;
        for _ in 0..plan.parallelism.max(1) {
            match plan
                .plugin
                .transformer(&plan.config, schema.clone(), &plan.sandbox)
            {
                Ok(t) => instances.push(t),
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        // Every instance of a stage must produce the same schema: the stages after it (and
        // the sink) were negotiated against the first one's, and an instance that disagrees
        // would otherwise be blamed on the next stage, or reach the sink as an internal
        // error.
        if failed.is_none()
            && let Some(first) = instances.first()
            && let Some(other) = instances
                .iter()
                .skip(1)
                .find(|t| t.output_schema() != first.output_schema())
        {
            failed = Some(other.disagrees_with(first));
        }
        // The stage's log budget for the run is one pool, not one per instance.
        if let Some((first, rest)) = instances.split_first_mut() {
            for t in rest {
                t.share_log_budget(first);
            }
        }
        if let Some(error) = failed {
            errors.push(PlanError {
                index,
                name: plan.name.clone(),
                error,
            });
            // Without this stage's output schema the stages after it cannot be checked.
            break;
        }
        schema = instances[0].output_schema();
        stages.push((plan, instances));
    }
    if errors.is_empty() {
        Ok(Prepared { input, stages })
    } else {
        Err(errors)
    }
}
