//! One stream through one plugin instance: the host side of the guest `transformer` resource.
//!
//! A [`Transformer`] owns one `Store` (one plugin instance) and the `transformer` resource
//! created in it. It checks every batch going in against the schema it was created with,
//! validates every batch coming out against the schema the plugin declared, arms a deadline
//! on every call, and after a trap discards the instance: the next batch runs on a fresh
//! instance from the same `InstancePre`, re-created with the same config.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings;
use crate::convert;
use crate::error::{Call, ErrorKind, PluginError, classify_trap};
use crate::plugin::{Plugin, instantiate, set_deadline};
use crate::state::{Limits, StoreState};

/// Bytes of guest stderr attached to an error.
const STDERR_TAIL: usize = 4096;

/// A live plugin instance holding a `transformer` resource.
struct Live {
    /// The instance's store: its memory, its WASI context, its limits.
    store: Store<StoreState>,
    /// Typed handles to the instance's exports.
    instance: bindings::Plugin,
    /// The guest `transformer` resource of this stream.
    handle: ResourceAny,
}

/// One stream of batches through one plugin instance.
pub struct Transformer {
    /// The plugin version this stream runs.
    plugin: Plugin,
    /// The config document, kept to re-create the transformer after a trap.
    config: String,
    /// Schema of the batches the caller sends (may hold dictionary columns).
    input: SchemaRef,
    /// Schema the plugin declared for its output; checked on every batch it returns.
    output: SchemaRef,
    /// Limits applied to every instance of this stream.
    limits: Limits,
    /// The current instance; `None` after a trap until the next call re-creates it.
    live: Option<Live>,
    /// Batches sent so far: the number of the next batch.
    batches: u64,
    /// Instances created for this stream (1 + restarts after traps).
    instances: u64,
    /// Counters the plugin bumped, summed over all its instances.
    counters: BTreeMap<String, u64>,
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

fn wit_error_kind(e: bindings::types::Error) -> ErrorKind {
    match e {
        bindings::types::Error::Config(c) => ErrorKind::Config {
            key: c.key,
            message: c.message,
        },
        bindings::types::Error::Data(d) => ErrorKind::Data {
            column: d.column,
            row: d.row,
            message: d.message,
        },
        bindings::types::Error::Internal(m) => ErrorKind::Internal(m),
    }
}

impl Transformer {
    pub(crate) fn new(
        plugin: Plugin,
        config: &str,
        input: SchemaRef,
        limits: Limits,
    ) -> Result<Self, PluginError> {
        let mut t = Self {
            plugin,
            config: config.to_owned(),
            input,
            output: std::sync::Arc::new(arrow_schema::Schema::empty()),
            limits,
            live: None,
            batches: 0,
            instances: 0,
            counters: BTreeMap::new(),
            finished: false,
        };
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
        self.instances
    }

    /// Counters the plugin bumped through `host.counter-add`, over all its instances.
    pub fn counters(&self) -> &BTreeMap<String, u64> {
        &self.counters
    }

    fn err(&self, call: Call, batch: Option<u64>, kind: ErrorKind, stderr: String) -> PluginError {
        self.plugin.error(call, batch, kind, stderr)
    }

    /// Instantiate, create the guest transformer and read its output schema.
    fn start(&mut self) -> Result<(Live, SchemaRef), PluginError> {
        let runtime = self.plugin.runtime().clone();
        let (mut store, instance) = instantiate(
            &runtime,
            self.plugin.pre(),
            self.plugin.name(),
            &self.limits,
        )
        .map_err(|(kind, stderr)| self.err(Call::Instantiate, None, kind, stderr))?;
        self.instances += 1;
        let schema = convert::WitSchema::new(&self.input).map_err(|(column, reason)| {
            self.err(
                Call::Create,
                None,
                ErrorKind::InvalidInput { column, reason },
                String::new(),
            )
        })?;
        let guest = instance.quiver_transform_transform().transformer();
        set_deadline(&mut store, &runtime, &self.limits);
        let handle = match guest.call_create(&mut store, &self.config, schema.param()) {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                let stderr = store.data().stderr_tail(STDERR_TAIL);
                return Err(self.err(Call::Create, None, wit_error_kind(e), stderr));
            }
            Err(e) => return Err(self.trap(Call::Create, None, &e, &store)),
        };
        set_deadline(&mut store, &runtime, &self.limits);
        let declared = guest
            .call_output_schema(&mut store, handle)
            .map_err(|e| self.trap(Call::OutputSchema, None, &e, &store))?;
        let output = convert::schema_from_wit(declared).map_err(|(column, reason)| {
            self.err(
                Call::OutputSchema,
                None,
                ErrorKind::InvalidOutput { column, reason },
                String::new(),
            )
        })?;
        let mut live = Live {
            store,
            instance,
            handle,
        };
        self.collect(&mut live);
        Ok((live, output))
    }

    fn trap(
        &self,
        call: Call,
        batch: Option<u64>,
        e: &wasmtime::Error,
        store: &Store<StoreState>,
    ) -> PluginError {
        let (trap, message) = classify_trap(e);
        self.err(
            call,
            batch,
            ErrorKind::Trap { trap, message },
            store.data().stderr_tail(STDERR_TAIL),
        )
    }

    /// Move what the plugin reported during the last call (counters, logs) to the stream.
    fn collect(&mut self, live: &mut Live) {
        let data = live.store.data_mut();
        for (k, v) in std::mem::take(&mut data.counters) {
            let c = self.counters.entry(k).or_default();
            *c = c.saturating_add(v);
        }
        data.drain_logs();
    }

    /// The live instance, re-created after a trap.
    fn live(&mut self) -> Result<Live, PluginError> {
        match self.live.take() {
            Some(live) => Ok(live),
            None => {
                let (live, output) = self.start()?;
                if output != self.output {
                    return Err(self.err(
                        Call::OutputSchema,
                        None,
                        ErrorKind::InvalidOutput {
                            column: None,
                            reason: format!(
                                "the re-created instance declared a different output schema \
                                 ({output:?}) than the first ({:?})",
                                self.output
                            ),
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
    /// one); [`ErrorKind::InvalidOutput`] when a returned batch breaks the contract.
    pub fn process(&mut self, batch: &RecordBatch) -> Result<Vec<RecordBatch>, PluginError> {
        let n = self.batches;
        self.batches += 1;
        if self.finished {
            return Err(self.err(
                Call::Process,
                Some(n),
                ErrorKind::InvalidInput {
                    column: None,
                    reason: "the stream is already finished".into(),
                },
                String::new(),
            ));
        }
        self.check_input(batch, n)?;
        let invalid = |(column, reason): convert::Violation| {
            self.err(
                Call::Process,
                Some(n),
                ErrorKind::InvalidInput { column, reason },
                String::new(),
            )
        };
        let unpacked = convert::unpack_dictionaries(batch).map_err(invalid)?;
        let encoded = convert::encode_batch(&unpacked).map_err(invalid)?;
        let rows = u32::try_from(unpacked.num_rows()).map_err(|_| {
            invalid((
                None,
                format!(
                    "{} rows exceed one batch's limit of 2^32-1",
                    unpacked.num_rows()
                ),
            ))
        })?;
        let mut live = self.live()?;
        let runtime = self.plugin.runtime().clone();
        set_deadline(&mut live.store, &runtime, &self.limits);
        let columns = convert::column_params(&encoded);
        let input = bindings::types::BatchParam {
            num_rows: rows,
            columns: &columns,
        };
        let result = live
            .instance
            .quiver_transform_transform()
            .transformer()
            .call_process(&mut live.store, live.handle, input);
        self.settle(live, Call::Process, Some(n), result)
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
        let mut live = self.live()?;
        let runtime = self.plugin.runtime().clone();
        set_deadline(&mut live.store, &runtime, &self.limits);
        let result = live
            .instance
            .quiver_transform_transform()
            .transformer()
            .call_finish(&mut live.store, live.handle);
        let out = self.settle(live, Call::Finish, None, result);
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
        result: wasmtime::Result<Result<Vec<bindings::types::BatchResult>, bindings::types::Error>>,
    ) -> Result<Vec<RecordBatch>, PluginError> {
        self.collect(&mut live);
        match result {
            Err(e) => Err(self.trap(call, batch, &e, &live.store)),
            Ok(Err(e)) => {
                let stderr = live.store.data().stderr_tail(STDERR_TAIL);
                self.live = Some(live);
                Err(self.err(call, batch, wit_error_kind(e), stderr))
            }
            Ok(Ok(batches)) => {
                let mut out = Vec::with_capacity(batches.len());
                for b in batches {
                    match convert::batch_from_wit(b, &self.output) {
                        Ok(rb) => out.push(rb),
                        Err((column, reason)) => {
                            // A plugin that broke the contract once is not trusted with the
                            // next batch: its instance is dropped here.
                            let stderr = live.store.data().stderr_tail(STDERR_TAIL);
                            return Err(self.err(
                                call,
                                batch,
                                ErrorKind::InvalidOutput { column, reason },
                                stderr,
                            ));
                        }
                    }
                }
                self.live = Some(live);
                Ok(out)
            }
        }
    }

    fn check_input(&self, batch: &RecordBatch, n: u64) -> Result<(), PluginError> {
        let got = batch.schema_ref();
        if got.fields().len() != self.input.fields().len() {
            return Err(self.err(
                Call::Process,
                Some(n),
                ErrorKind::InvalidInput {
                    column: None,
                    reason: format!(
                        "batch has {} columns, the stream was created with {}",
                        got.fields().len(),
                        self.input.fields().len()
                    ),
                },
                String::new(),
            ));
        }
        for (g, w) in got.fields().iter().zip(self.input.fields()) {
            if g.name() != w.name() || g.data_type() != w.data_type() {
                return Err(self.err(
                    Call::Process,
                    Some(n),
                    ErrorKind::InvalidInput {
                        column: Some(w.name().clone()),
                        reason: format!(
                            "batch column `{}` of type {} does not match the stream's `{}` of type {}",
                            g.name(),
                            g.data_type(),
                            w.name(),
                            w.data_type()
                        ),
                    },
                    String::new(),
                ));
            }
        }
        Ok(())
    }
}
