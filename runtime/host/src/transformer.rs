//! One stream through one plugin instance: the host side of the guest `transformer` resource.
//!
//! A [`Transformer`] owns one `Store` (one plugin instance) and the `transformer` resource
//! created in it. Around every guest call it arms the deadline (and the fuel budget of a
//! metered plugin), and afterwards it accounts for what the call used ([`Usage`]). It checks
//! every batch going in against the schema it was created with, and every batch coming out
//! against the schema the plugin declared and the output-size limits. After a trap or an
//! invalid output it discards the instance: the next batch runs on a fresh instance from the
//! same `InstancePre`, re-created with the same config — until the stage has failed
//! `limits.max_consecutive_failures` times in a row, when it is quarantined for the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::contract::{self, Called, ContractVersion, Guest, Input, Raw};
use crate::convert;
use crate::error::{
    Call, ErrorKind, PluginError, TrapKind, classify_trap, copy_limit, panic_message,
};
use crate::limits::{MAX_BATCHES_PER_CALL, Sandbox};
use crate::plugin::{Plugin, arm, instantiate};
use crate::runtime::Metering;
use crate::state::StoreState;

/// Bytes of guest stderr attached to an error.
const STDERR_TAIL: usize = 4096;

/// What one stream used, summed over all its instances and calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Guest calls made (instantiation excluded).
    pub calls: u64,
    /// Wall-clock time inside `process` and `finish` calls, and settling what they returned
    /// (checking the output, resolving handles, applying a returned selection): the
    /// stream's work, however the plugin splits it between its own code and the host's.
    pub busy: Duration,
    /// Wall-clock time starting instances: instantiation, `create` and `output-schema`
    /// (once per instance; an interpreter-based plugin pays milliseconds here, touching its
    /// pre-initialised heap, that it does not pay again per batch).
    pub startup: Duration,
    /// Fuel burned, when the plugin runs metered.
    pub fuel_consumed: Option<u64>,
    /// Largest linear memory any instance grew to, in bytes.
    pub peak_memory_bytes: u64,
    /// Instances created (1, plus one per restart after a failure).
    pub instances_created: u64,
    /// Failed calls by kind (`deadline`, `out-of-memory`, `invalid-output`, `data`, …).
    pub errors: BTreeMap<&'static str, u64>,
    /// Bytes the plugin wrote to stdout (all of them; only a tail is kept).
    pub stdout_bytes: u64,
    /// Bytes the plugin wrote to stderr (all of them; only a tail is kept).
    pub stderr_bytes: u64,
    /// Log records over a log limit (records or bytes per call, fields per record, key or
    /// value length, bytes per run), counted and dropped.
    pub logs_dropped: u64,
    /// Counter bumps refused (a new name over `limits.counters`, or a name longer than
    /// `limits.counter_name`), counted and dropped.
    pub counters_dropped: u64,
    /// Capabilities the plugin asked for and was refused.
    pub capability_denials: u64,
    /// Whether the stage was quarantined.
    pub quarantined: bool,
}

/// Which clock of [`Usage`] a guest call's time goes to.
#[derive(Clone, Copy)]
enum Phase {
    /// `create` and `output-schema`: [`Usage::startup`].
    Startup,
    /// `process` and `finish`: [`Usage::busy`].
    Stream,
}

/// One plugin instance.
struct Inst {
    /// The instance's store: its memory, its WASI context, its limits.
    store: Store<StoreState>,
    /// Typed handles to the instance's exports, for the contract version it targets.
    instance: Guest,
    /// stdout/stderr bytes of this instance already added to the usage.
    seen_output: (u64, u64),
    /// Capabilities refused during the last call.
    denied: Vec<String>,
}

/// A live plugin instance holding a `transformer` resource.
struct Live {
    /// The instance.
    inst: Inst,
    /// The guest `transformer` resource of this stream.
    handle: ResourceAny,
}

/// One stream of batches through one plugin instance.
pub struct Transformer {
    /// The plugin version this stream runs.
    plugin: Plugin,
    /// The config document, kept to re-create the transformer after a trap.
    config: String,
    /// Schema of the batches the caller sends (may hold dictionary and view columns).
    input: SchemaRef,
    /// The schema the plugin sees: 0.1 unpacks dictionaries, 0.2 converts views.
    boundary: SchemaRef,
    /// Whether batches need converting to [`Self::boundary`] before they cross.
    convert_input: bool,
    /// Schema the plugin declared for its output; checked on every batch it returns.
    output: SchemaRef,
    /// Limits and grants applied to every instance of this stream.
    sandbox: Sandbox,
    /// The current instance; `None` after a trap until the next call re-creates it.
    live: Option<Live>,
    /// Batches sent so far: the number of the next batch.
    batches: u64,
    /// Rows and bytes sent so far (the input a `finish` is measured against).
    input_totals: (u64, u64),
    /// Failures (traps, invalid outputs) since the last successful call.
    consecutive_failures: u32,
    /// Counters the plugin bumped, summed over all its instances (lent to the instance during
    /// a call: see `StoreState::take_counters`).
    counters: BTreeMap<String, u64>,
    /// Log bytes the stage may still keep this run (`limits.log_per_run`), shared by every
    /// instance of the stage once [`Self::share_log_budget`] joined them.
    log_budget: Arc<AtomicU64>,
    /// What the stream used.
    usage: Usage,
    /// Set once `finish` has run.
    finished: bool,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("plugin", &self.plugin.name())
            .field("output", &self.output)
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

/// Whether the counters a `process`/`finish` call added are kept: when it succeeded, and
/// when it failed with a data error naming a row. That error isolates the row (the engine
/// re-sends the rows around it and hands the row itself to the error policy), so the
/// contract with plugins is: a call that fails that way counts only what it says about the
/// failing row — e.g. `validate` adds 1 to the counter of the rule that failed — and what
/// it counted for any other row is its own double count. Every other failed call's counters
/// are dropped with its output.
fn keeps_counters<T>(result: &Called<T>) -> bool {
    match result {
        Ok(Ok(_)) => true,
        Ok(Err(ErrorKind::Data { row, .. })) => row.is_some(),
        _ => false,
    }
}

/// Whether a failure means the instance cannot be trusted with another call.
fn discards_instance(kind: &ErrorKind) -> bool {
    match kind {
        ErrorKind::Trap { .. } | ErrorKind::InvalidOutput { .. } => true,
        ErrorKind::CapabilityDenied { cause, .. } => discards_instance(cause),
        _ => false,
    }
}

impl Transformer {
    pub(crate) fn new(
        plugin: Plugin,
        config: &str,
        input: SchemaRef,
        sandbox: Sandbox,
    ) -> Result<Self, PluginError> {
        let (boundary, convert_input) = match contract::boundary_input(plugin.contract(), &input) {
            Ok(b) => b,
            Err((column, reason)) => {
                return Err(plugin.error(
                    Call::Create,
                    None,
                    ErrorKind::InvalidInput { column, reason },
                    String::new(),
                ));
            }
        };
        let sandbox_log_per_run = sandbox.limits.log_per_run.0;
        let mut t = Self {
            plugin,
            config: config.to_owned(),
            input,
            boundary,
            convert_input,
            output: Arc::new(arrow_schema::Schema::empty()),
            sandbox,
            live: None,
            batches: 0,
            input_totals: (0, 0),
            consecutive_failures: 0,
            counters: BTreeMap::new(),
            log_budget: Arc::new(AtomicU64::new(sandbox_log_per_run)),
            usage: Usage::default(),
            finished: false,
        };
        if t.plugin.metering() == Metering::Fuel {
            t.usage.fuel_consumed = Some(0);
        }
        let (live, output) = t.start()?;
        t.live = Some(live);
        t.output = output;
        Ok(t)
    }

    /// The schema of every batch this transformer returns.
    pub fn output_schema(&self) -> SchemaRef {
        self.output.clone()
    }

    /// The schema this transformer accepts.
    pub fn input_schema(&self) -> SchemaRef {
        self.input.clone()
    }

    /// The plugin this transformer runs.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Instances created for this stream so far (1, plus one per restart after a trap).
    pub fn instances_created(&self) -> u64 {
        self.usage.instances_created
    }

    /// What this stream used so far: time, fuel, memory, instances, errors by kind.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Counters the plugin bumped through `host.counter-add`, over all its instances. The
    /// counters of a `process` or `finish` call that failed are not kept, except when it
    /// failed with a data error naming a row: those describe that one row, which the engine
    /// isolates and sends to the error policy (see [`keeps_counters`]).
    pub fn counters(&self) -> &BTreeMap<String, u64> {
        &self.counters
    }

    /// The error of a stage whose instances disagree: this one declared another output
    /// schema than `first`, another instance of the same stage. Parallel instances must
    /// produce the same schema (the stages after them were negotiated against one), so the
    /// plugin is at fault: an invalid output naming the first column that differs.
    pub fn disagrees_with(&self, first: &Transformer) -> PluginError {
        let (mine, theirs) = (self.output.fields(), first.output.fields());
        let column = mine
            .iter()
            .zip(theirs.iter())
            .find(|(a, b)| a != b)
            .map(|(a, _)| a.name().clone());
        let show = |s: &SchemaRef| {
            let names: Vec<String> = s
                .fields()
                .iter()
                .take(8)
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect();
            let more = s.fields().len().saturating_sub(8);
            if more > 0 {
                format!("[{}, … {more} more]", names.join(", "))
            } else {
                format!("[{}]", names.join(", "))
            }
        };
        let reason = format!(
            "instances of one stage declared different output schemas ({} and {}); every \
             instance of a stage must produce the same schema",
            show(&first.output),
            show(&self.output)
        );
        self.plugin.error(
            Call::OutputSchema,
            None,
            ErrorKind::InvalidOutput { column, reason },
            String::new(),
        )
    }

    /// Make this transformer draw its log budget for the run (`limits.log_per_run`) from the
    /// same pool as `other`'s: the engine joins the instances of one stage, so the budget
    /// is the stage's, not each instance's. Instances running at the same moment may
    /// together overshoot it by at most one call's `limits.log` each.
    pub fn share_log_budget(&mut self, other: &Transformer) {
        self.log_budget = Arc::clone(&other.log_budget);
    }

    /// Whether the stage failed too often in a row and refuses further calls.
    pub fn is_quarantined(&self) -> bool {
        self.usage.quarantined
    }

    /// Build an error of this plugin and count it; failures that discard the instance count
    /// towards quarantine.
    fn fail(
        &mut self,
        call: Call,
        batch: Option<u64>,
        kind: ErrorKind,
        stderr: String,
    ) -> PluginError {
        *self.usage.errors.entry(kind.name()).or_default() += 1;
        if discards_instance(&kind) {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if self.consecutive_failures >= self.sandbox.limits.max_consecutive_failures {
                self.usage.quarantined = true;
                tracing::error!(
                    plugin = %self.plugin.name(),
                    failures = self.consecutive_failures,
                    "plugin quarantined for the rest of the run"
                );
            }
        }
        self.plugin.error(call, batch, kind, stderr)
    }

    /// The error every call gets once the stage is quarantined.
    fn quarantined(&self, call: Call, batch: Option<u64>) -> PluginError {
        self.plugin.error(
            call,
            batch,
            ErrorKind::Quarantined {
                failures: self.consecutive_failures,
            },
            String::new(),
        )
    }

    /// Arm the deadline and fuel budget, run `f` against the live instance, and account for
    /// the time, fuel and memory it used.
    fn guest_call<R>(
        &mut self,
        live: &mut Inst,
        phase: Phase,
        f: impl FnOnce(&mut Inst) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        let runtime = self.plugin.runtime().clone();
        let limits = &self.sandbox.limits;
        let budget = limits.fuel.unwrap_or(u64::MAX);
        let metered = self.plugin.metering() == Metering::Fuel;
        if metered {
            // Cannot fail: the engine consumes fuel.
            let _ = live.store.set_fuel(budget);
            live.store.data_mut().fuel_budget = Some(budget);
        }
        arm(&mut live.store, &runtime, limits);
        live.store.data_mut().take_denials();
        // What the stage may still log: its shared budget, less what this instance kept
        // since the last `collect_call` (which charges it to the budget).
        let data = live.store.data_mut();
        data.log_run_left = self
            .log_budget
            .load(Ordering::Relaxed)
            .saturating_sub(data.log_bytes);
        // Lend the stream's counters so the instance can tell a new name from a known one
        // (`collect_call` takes them back).
        live.store
            .data_mut()
            .known_counters
            .append(&mut self.counters);
        let started = Instant::now();
        let result = f(live);
        match phase {
            Phase::Startup => self.usage.startup += started.elapsed(),
            Phase::Stream => self.usage.busy += started.elapsed(),
        }
        self.usage.calls += 1;
        let (denied, n) = live.store.data_mut().take_denials();
        self.usage.capability_denials += n;
        live.denied = denied;
        if metered {
            let left = live.store.get_fuel().unwrap_or(0);
            // Guest instructions, plus what the call's host kernels were charged.
            let used = budget
                .saturating_sub(left)
                .saturating_add(live.store.data().scope.fuel);
            let total = self.usage.fuel_consumed.get_or_insert(0);
            *total = total.saturating_add(used);
        }
        result
    }

    /// Instantiate, create the guest transformer and read its output schema.
    fn start(&mut self) -> Result<(Live, SchemaRef), PluginError> {
        let runtime = self.plugin.runtime().clone();
        let started = Instant::now();
        let instantiated = instantiate(
            &runtime,
            self.plugin.pre(),
            self.plugin.metering(),
            self.plugin.name(),
            &self.sandbox,
        );
        self.usage.startup += started.elapsed();
        let (store, instance) = match instantiated {
            Ok(pair) => pair,
            Err((kind, stderr)) => return Err(self.fail(Call::Instantiate, None, kind, stderr)),
        };
        self.usage.instances_created += 1;
        let mut live = Inst {
            store,
            instance,
            seen_output: (0, 0),
            denied: Vec::new(),
        };
        let boundary = self.boundary.clone();
        let config = self.config.clone();
        let created = self.guest_call(&mut live, Phase::Startup, |l| {
            match l.instance.create(&mut l.store, &config, &boundary) {
                Ok(called) => called,
                Err(violation) => Ok(Err(ErrorKind::InvalidInput {
                    column: violation.0,
                    reason: violation.1,
                })),
            }
        });
        let handle = match created {
            Ok(Ok(h)) => h,
            Ok(Err(kind)) => {
                self.collect(&mut live);
                return Err(self.guest_error(&live, Call::Create, None, kind));
            }
            Err(e) => {
                self.collect(&mut live);
                return Err(self.trap(Call::Create, None, &e, &live));
            }
        };
        let declared = self.guest_call(&mut live, Phase::Startup, |l| {
            l.instance.output_schema(&mut l.store, handle)
        });
        self.collect(&mut live);
        let declared = match declared {
            Ok(d) => d,
            Err(e) => return Err(self.trap(Call::OutputSchema, None, &e, &live)),
        };
        let output = match declared {
            Ok(o) => o,
            Err((column, reason)) => {
                return Err(self.fail(
                    Call::OutputSchema,
                    None,
                    ErrorKind::InvalidOutput { column, reason },
                    String::new(),
                ));
            }
        };
        Ok((Live { inst: live, handle }, output))
    }

    /// The error of a call that returned `Err`: the plugin's own report, or "capability
    /// denied" when it had just been refused one.
    fn guest_error(
        &mut self,
        live: &Inst,
        call: Call,
        batch: Option<u64>,
        kind: ErrorKind,
    ) -> PluginError {
        let stderr = live.store.data().stderr_tail(STDERR_TAIL);
        let max = usize::try_from(self.sandbox.limits.error_message.0).unwrap_or(usize::MAX);
        let kind = with_denials(live, kind.truncated(max));
        self.fail(call, batch, kind, stderr)
    }

    fn trap(
        &mut self,
        call: Call,
        batch: Option<u64>,
        e: &wasmtime::Error,
        live: &Inst,
    ) -> PluginError {
        if let Some(reason) = contract::invalid_handle(e).or_else(|| copy_limit(e)) {
            let stderr = live.store.data().stderr_tail(STDERR_TAIL);
            return self.fail(
                call,
                batch,
                ErrorKind::InvalidOutput {
                    column: None,
                    reason,
                },
                stderr,
            );
        }
        let (trap, mut message) = classify_trap(e);
        let stderr = live.store.data().stderr_tail(STDERR_TAIL);
        if trap == TrapKind::Panic
            && let Some(panic) = panic_message(&stderr)
        {
            message = format!("panicked: {panic}");
        }
        let kind = with_denials(live, ErrorKind::Trap { trap, message });
        self.fail(call, batch, kind, stderr)
    }

    /// Move what the plugin reported or used during the last call (counters, logs, output
    /// bytes, memory) to the stream.
    fn collect(&mut self, live: &mut Inst) {
        self.collect_call(live, true);
    }

    /// [`Self::collect`], dropping the call's counters unless `keep_counters`: the counters
    /// of a `process`/`finish` call that failed are discarded with its output (but see
    /// [`keeps_counters`]), so a re-run of the same rows is not counted twice.
    fn collect_call(&mut self, live: &mut Inst, keep_counters: bool) {
        let data = live.store.data_mut();
        let (counters, mut known) = data.take_counters();
        known.append(&mut self.counters);
        self.counters = known;
        for (k, v) in counters.into_iter().filter(|_| keep_counters) {
            let c = self.counters.entry(k).or_default();
            *c = c.saturating_add(v);
        }
        self.usage.counters_dropped += std::mem::take(&mut data.counters_dropped);
        let kept = data.log_bytes;
        data.drain_logs();
        // Cannot fail: the closure always returns `Some`.
        let _ = self
            .log_budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(kept))
            });
        self.usage.logs_dropped += std::mem::take(&mut data.logs_dropped);
        let (out, err) = (data.stdout.total(), data.stderr.total());
        // What the plugin printed goes to the logs too (the kept tail of it), a line each.
        let logged = tracing::enabled!(target: "quiver::plugin", tracing::Level::INFO);
        for (stream, pipe, seen) in [
            ("stdout", &data.stdout, live.seen_output.0),
            ("stderr", &data.stderr, live.seen_output.1),
        ] {
            if !logged {
                break;
            }
            let new = pipe.written_since(seen);
            for line in String::from_utf8_lossy(&new).lines() {
                let line = crate::text::printable(line, false);
                tracing::info!(target: "quiver::plugin", plugin = %data.plugin, stream, "{line}");
            }
        }
        self.usage.stdout_bytes += out - live.seen_output.0;
        self.usage.stderr_bytes += err - live.seen_output.1;
        live.seen_output = (out, err);
        self.usage.peak_memory_bytes = self
            .usage
            .peak_memory_bytes
            .max(data.limiter.peak_memory as u64);
    }

    /// The live instance, re-created after a trap.
    fn live(&mut self) -> Result<Live, PluginError> {
        match self.live.take() {
            Some(live) => Ok(live),
            None => {
                let (live, output) = self.start()?;
                if output != self.output {
                    let reason = format!(
                        "the re-created instance declared a different output schema ({output:?}) \
                         than the first ({:?})",
                        self.output
                    );
                    return Err(self.fail(
                        Call::OutputSchema,
                        None,
                        ErrorKind::InvalidOutput {
                            column: None,
                            reason,
                        },
                        String::new(),
                    ));
                }
                Ok(live)
            }
        }
    }

    /// Send one batch through the plugin and return what it produced (zero or more batches
    /// of [`Self::output_schema`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `batch` does not have the input schema; whatever the
    /// plugin reports; a trap (the instance is then discarded and the next call starts a new
    /// one); [`ErrorKind::InvalidOutput`] when a returned batch breaks the contract or the
    /// output limits; [`ErrorKind::Quarantined`] once the stage failed too often in a row.
    pub fn process(&mut self, batch: &RecordBatch) -> Result<Vec<RecordBatch>, PluginError> {
        let n = self.batches;
        self.batches += 1;
        if self.finished {
            return Err(self.plugin.error(
                Call::Process,
                Some(n),
                ErrorKind::InvalidInput {
                    column: None,
                    reason: "the stream is already finished".into(),
                },
                String::new(),
            ));
        }
        if self.usage.quarantined {
            return Err(self.quarantined(Call::Process, Some(n)));
        }
        self.check_input(batch, n)?;
        let input = match self.prepare_input(batch) {
            Ok(i) => i,
            Err((column, reason)) => {
                return Err(self.plugin.error(
                    Call::Process,
                    Some(n),
                    ErrorKind::InvalidInput { column, reason },
                    String::new(),
                ));
            }
        };
        let size = input.size();
        self.input_totals.0 += size.0;
        self.input_totals.1 += size.1;
        let mut live = self.live()?;
        let handle = live.handle;
        let result = self.guest_call(&mut live.inst, Phase::Stream, |l| {
            match l.instance.process(&mut l.store, handle, &input) {
                Ok(called) => called,
                Err((column, reason)) => Ok(Err(ErrorKind::InvalidInput { column, reason })),
            }
        });
        let settling = Instant::now();
        let out = self.settle(live, Call::Process, Some(n), size, Some(&input), result);
        self.usage.busy += settling.elapsed();
        out
    }

    /// `batch` as the plugin's contract version takes it: 0.1 unpacks dictionaries, 0.2
    /// converts views (nothing when the schema has neither).
    fn prepare_input(&self, batch: &RecordBatch) -> Result<Input, convert::Violation> {
        match self.plugin.contract() {
            ContractVersion::V0_1 => {
                let unpacked = convert::unpack_dictionaries(batch)?;
                if u32::try_from(unpacked.num_rows()).is_err() {
                    return Err((
                        None,
                        format!(
                            "{} rows exceed one batch's limit of 2^32-1",
                            unpacked.num_rows()
                        ),
                    ));
                }
                Ok(Input::V1(unpacked))
            }
            ContractVersion::V0_2 => {
                let columns = if self.convert_input {
                    batch
                        .columns()
                        .iter()
                        .zip(self.input.fields())
                        .map(|(c, f)| {
                            quiver_columnar::tree::normalize(c)
                                .map_err(|e| (Some(f.name().clone()), e.to_string()))
                        })
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    batch.columns().to_vec()
                };
                Ok(Input::V2(columns, batch.num_rows()))
            }
        }
    }

    /// End of stream: return what the plugin still holds, then release the instance.
    ///
    /// # Errors
    /// As [`Self::process`].
    pub fn finish(&mut self) -> Result<Vec<RecordBatch>, PluginError> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.finished = true;
        if self.usage.quarantined {
            return Err(self.quarantined(Call::Finish, None));
        }
        let mut live = self.live()?;
        let handle = live.handle;
        let result = self.guest_call(&mut live.inst, Phase::Stream, |l| {
            l.instance.finish(&mut l.store, handle)
        });
        let totals = self.input_totals;
        let settling = Instant::now();
        let out = self.settle(live, Call::Finish, None, totals, None, result);
        self.usage.busy += settling.elapsed();
        // The stream is over: drop the instance (and with it the resource and its memory).
        self.live = None;
        out
    }

    /// Turn the raw result of a `process`/`finish` call into validated batches, keeping the
    /// instance when it is still trustworthy and discarding it otherwise.
    fn settle(
        &mut self,
        mut live: Live,
        call: Call,
        batch: Option<u64>,
        input_size: (u64, u64),
        input: Option<&Input>,
        result: Called<Raw>,
    ) -> Result<Vec<RecordBatch>, PluginError> {
        self.collect_call(&mut live.inst, keeps_counters(&result));
        let out = match result {
            Err(e) => Err(self.trap(call, batch, &e, &live.inst)),
            Ok(Err(kind)) => {
                let err = self.guest_error(&live.inst, call, batch, kind);
                live.inst.store.data_mut().end_call();
                if !discards_instance(&err.kind) {
                    self.live = Some(live);
                }
                return Err(err);
            }
            Ok(Ok(raw)) => {
                let (outputs, rows) = raw.shape();
                let refused = self.oversized_shape(outputs, rows, input_size.0);
                let settled = match refused {
                    Some(reason) => Err((None, reason)),
                    None => raw.settle(&mut live.inst.store, &self.output, input),
                };
                match settled.and_then(|out| {
                    self.oversized_bytes(&out, input, input_size.1)
                        .map_or(Ok(out), |reason| Err((None, reason)))
                }) {
                    Ok(out) => {
                        self.consecutive_failures = 0;
                        live.inst.store.data_mut().end_call();
                        self.live = Some(live);
                        return Ok(out);
                    }
                    Err((column, reason)) => {
                        // A plugin that broke the contract once is not trusted with the
                        // next batch: its instance is dropped here.
                        let stderr = live.inst.store.data().stderr_tail(STDERR_TAIL);
                        Err(self.fail(
                            call,
                            batch,
                            ErrorKind::InvalidOutput { column, reason },
                            stderr,
                        ))
                    }
                }
            }
        };
        live.inst.store.data_mut().end_call();
        out
    }

    /// Why a result of `outputs` outputs and `rows` rows, for a call that received
    /// `input_rows`, is more than the limits allow; `None` when it fits.
    fn oversized_shape(&self, outputs: usize, rows: u64, input_rows: u64) -> Option<String> {
        let limits = &self.sandbox.limits;
        if outputs > MAX_BATCHES_PER_CALL {
            return Some(format!(
                "returned {outputs} batches from one call; at most {MAX_BATCHES_PER_CALL} are \
                 accepted (return fewer, larger batches)"
            ));
        }
        let max_rows = limits.max_output_rows(input_rows);
        if rows > max_rows {
            return Some(format!(
                "returned {rows} rows for {input_rows} input rows; limits.output_rows_ratio = {} \
                 allows at most {max_rows} (raise it if this plugin legitimately multiplies rows)",
                limits.output_rows_ratio
            ));
        }
        None
    }

    /// Why the new memory of `out` (every array that is not an input column passed
    /// through) is more than the limits allow for `input_bytes` in.
    fn oversized_bytes(
        &self,
        out: &[RecordBatch],
        input: Option<&Input>,
        input_bytes: u64,
    ) -> Option<String> {
        let kept: Vec<*const ()> = match input {
            Some(Input::V2(columns, _)) => columns
                .iter()
                .map(|c| Arc::as_ptr(c).cast::<()>())
                .collect(),
            _ => Vec::new(),
        };
        let bytes: u64 = out
            .iter()
            .flat_map(|b| b.columns())
            .filter(|c| !kept.contains(&Arc::as_ptr(c).cast::<()>()))
            .map(|c| c.get_array_memory_size() as u64)
            .sum();
        let limits = &self.sandbox.limits;
        let max_bytes = limits.max_output_bytes(input_bytes);
        (bytes > max_bytes).then(|| {
            format!(
                "returned {bytes} bytes for {input_bytes} input bytes; \
                 limits.output_bytes_ratio = {} allows at most {max_bytes}",
                limits.output_bytes_ratio
            )
        })
    }

    fn check_input(&self, batch: &RecordBatch, n: u64) -> Result<(), PluginError> {
        let got = batch.schema_ref();
        let invalid = |column: Option<String>, reason: String| {
            self.plugin.error(
                Call::Process,
                Some(n),
                ErrorKind::InvalidInput { column, reason },
                String::new(),
            )
        };
        if got.fields().len() != self.input.fields().len() {
            return Err(invalid(
                None,
                format!(
                    "batch has {} columns, the stream was created with {}",
                    got.fields().len(),
                    self.input.fields().len()
                ),
            ));
        }
        for (g, w) in got.fields().iter().zip(self.input.fields()) {
            if g.name() != w.name() || g.data_type() != w.data_type() {
                return Err(invalid(
                    Some(w.name().clone()),
                    format!(
                        "batch column `{}` of type {} does not match the stream's `{}` of type {}",
                        g.name(),
                        g.data_type(),
                        w.name(),
                        w.data_type()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `kind`, or "capability denied" wrapping it when the failed call had been refused a
/// capability just before.
fn with_denials(live: &Inst, kind: ErrorKind) -> ErrorKind {
    let denials = &live.denied;
    if denials.is_empty() {
        return kind;
    }
    ErrorKind::CapabilityDenied {
        capability: denials.join("; "),
        cause: Box::new(kind),
    }
}
