//! The contract versions a plugin may target, behind one interface for the transformer.
//!
//! A component exports `quiver:transform/transform@0.1.0` or `@0.2.0`; [`Pre`] is its
//! `InstancePre` for the version it exports and [`Guest`] an instance of it. Each method
//! does the version's own encoding of what crosses and returns the same host types, so
//! `transformer.rs` (deadlines, accounting, quarantine, replacement after traps) is written
//! once for every version:
//!
//! - 0.1.0: every column of every batch is copied into the guest (dictionaries unpacked) and
//!   every output column is copied back and validated (`convert.rs`).
//! - 0.2.0: the batch is lent as a resource of host-owned arrays; the guest reads what it
//!   uses; its outputs are input columns kept by index, host columns by handle, or new
//!   buffers (validated), with an optional row selection the host applies (`tree.rs`,
//!   `columns.rs`).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow_buffer::{BooleanBuffer, Buffer};
use arrow_schema::{Schema, SchemaRef};
use quiver_columnar::Validation;
use wasmtime::component::{Resource, ResourceAny};
use wasmtime::{Engine, Store};

use crate::bindings::{v1, v2};
use crate::columns::{BatchRes, ColumnRes, HostTrap, MAX_HANDLES};
use crate::convert::{self, Violation};
use crate::error::ErrorKind;
use crate::state::StoreState;
use crate::tree;

/// The export of each supported version.
pub(crate) const EXPORT_V1: &str = "quiver:transform/transform@0.1.0";
/// See [`EXPORT_V1`].
pub(crate) const EXPORT_V2: &str = "quiver:transform/transform@0.2.0";

/// A released version of the plugin contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ContractVersion {
    /// `quiver:transform@0.1.0`: every column crosses both ways as buffers.
    V0_1,
    /// `quiver:transform@0.2.0`: columns stay in the host; plugins read what they use.
    V0_2,
}

impl ContractVersion {
    /// The WIT package version (`0.1.0`, `0.2.0`).
    pub fn wit(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "quiver:transform@{}", self.wit())
    }
}

/// Imports resolved once per plugin version; every instance comes from here.
pub(crate) enum Pre {
    V1(v1::PluginPre<StoreState>),
    V2(v2::PluginPre<StoreState>),
}

/// One plugin instance's typed exports.
pub(crate) enum Guest {
    V1(v1::Plugin),
    V2(v2::Plugin),
}

/// What every version's `metadata()` says.
pub(crate) struct RawMetadata {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) config_schema: String,
}

/// A guest call's outcome: a trap (`Err`), the plugin's own error, or its value.
pub(crate) type Called<T> = wasmtime::Result<Result<T, ErrorKind>>;

/// What a `process`/`finish` call returned, still to be validated.
pub(crate) enum Raw {
    V1(Vec<v1::types::BatchResult>),
    V2(Vec<v2::exports::quiver::transform::transform::Output>),
}

/// A batch as the engine sends it, prepared for the guest's version.
pub(crate) enum Input {
    /// 0.1: dictionaries unpacked (the buffers are borrowed at the call).
    V1(RecordBatch),
    /// 0.2: the columns lent (views converted), and their rows.
    V2(Vec<ArrayRef>, usize),
}

impl Input {
    /// Rows and bytes (what output limits are measured against).
    pub(crate) fn size(&self) -> (u64, u64) {
        match self {
            Input::V1(b) => (b.num_rows() as u64, batch_bytes(b.columns())),
            Input::V2(c, rows) => (*rows as u64, batch_bytes(c)),
        }
    }
}

fn batch_bytes(columns: &[ArrayRef]) -> u64 {
    columns
        .iter()
        .map(|c| c.get_array_memory_size() as u64)
        .sum()
}

fn v1_error(e: v1::types::Error) -> ErrorKind {
    match e {
        v1::types::Error::Config(c) => ErrorKind::Config {
            key: c.key,
            message: c.message,
        },
        v1::types::Error::Data(d) => ErrorKind::Data {
            column: d.column,
            row: d.row,
            message: d.message,
        },
        v1::types::Error::Internal(m) => ErrorKind::Internal(m),
    }
}

fn v2_error(e: v2::types::Error) -> ErrorKind {
    match e {
        v2::types::Error::Config(c) => ErrorKind::Config {
            key: c.key,
            message: c.message,
        },
        v2::types::Error::Data(d) => ErrorKind::Data {
            column: d.column,
            row: d.row,
            message: d.message,
        },
        v2::types::Error::Internal(m) => ErrorKind::Internal(m),
    }
}

impl Pre {
    /// The `InstancePre` of a component that exports `export` (one of the supported
    /// versions).
    pub(crate) fn new(
        pre: wasmtime::component::InstancePre<StoreState>,
        export: &str,
    ) -> wasmtime::Result<Self> {
        if export == EXPORT_V2 {
            Ok(Pre::V2(v2::PluginPre::new(pre)?))
        } else {
            Ok(Pre::V1(v1::PluginPre::new(pre)?))
        }
    }

    /// The version the plugin targets.
    pub(crate) fn version(&self) -> ContractVersion {
        match self {
            Pre::V1(_) => ContractVersion::V0_1,
            Pre::V2(_) => ContractVersion::V0_2,
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        match self {
            Pre::V1(p) => p.engine(),
            Pre::V2(p) => p.engine(),
        }
    }

    pub(crate) fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Guest> {
        match self {
            Pre::V1(p) => p.instantiate(store).map(Guest::V1),
            Pre::V2(p) => p.instantiate(store).map(Guest::V2),
        }
    }
}

/// The schema a plugin of `version` sees for `input`, and whether its batches need their
/// views converted (0.2) — or `Err` naming the column that cannot cross.
pub(crate) fn boundary_input(
    version: ContractVersion,
    input: &Schema,
) -> Result<(SchemaRef, bool), Violation> {
    match version {
        ContractVersion::V0_1 => {
            let s = quiver_columnar::boundary_schema(input)
                .map_err(|(c, e)| (Some(c), e.to_string()))?;
            Ok((Arc::new(s), false))
        }
        ContractVersion::V0_2 => {
            let mut changed = false;
            let fields = input
                .fields()
                .iter()
                .map(|f| {
                    let t = tree::check_input_type(f.data_type())
                        .map_err(|e| (Some(f.name().clone()), e.to_string()))?;
                    changed |= &t != f.data_type();
                    Ok(f.as_ref().clone().with_data_type(t))
                })
                .collect::<Result<Vec<_>, Violation>>()?;
            Ok((
                Arc::new(Schema::new_with_metadata(fields, input.metadata().clone())),
                changed,
            ))
        }
    }
}

impl Guest {
    pub(crate) fn metadata(&self, store: &mut Store<StoreState>) -> wasmtime::Result<RawMetadata> {
        match self {
            Guest::V1(g) => {
                let m = g.quiver_transform_transform().call_metadata(store)?;
                Ok(RawMetadata {
                    name: m.name,
                    version: m.version,
                    description: m.description,
                    config_schema: m.config_schema,
                })
            }
            Guest::V2(g) => {
                store.data_mut().begin_call();
                let m = g.quiver_transform_transform().call_metadata(&mut *store);
                store.data_mut().end_call();
                let m = m?;
                Ok(RawMetadata {
                    name: m.name,
                    version: m.version,
                    description: m.description,
                    config_schema: m.config_schema,
                })
            }
        }
    }

    /// `transformer.create(config, input)`; `input` is the boundary schema.
    ///
    /// # Errors
    /// `Err` when the schema cannot be encoded (a column that cannot cross).
    pub(crate) fn create(
        &self,
        store: &mut Store<StoreState>,
        config: &str,
        input: &Schema,
    ) -> Result<Called<ResourceAny>, Violation> {
        match self {
            Guest::V1(g) => {
                let schema = convert::WitSchema::new(input)?;
                Ok(g.quiver_transform_transform()
                    .transformer()
                    .call_create(store, config, schema.param())
                    .map(|r| r.map_err(v1_error)))
            }
            Guest::V2(g) => {
                let schema = tree::schema_to_wit(input)?;
                store.data_mut().begin_call();
                let r = g.quiver_transform_transform().transformer().call_create(
                    &mut *store,
                    config,
                    &schema,
                );
                store.data_mut().end_call();
                Ok(r.map(|r| r.map_err(v2_error)))
            }
        }
    }

    /// `transformer.output-schema()`, validated.
    pub(crate) fn output_schema(
        &self,
        store: &mut Store<StoreState>,
        handle: ResourceAny,
    ) -> wasmtime::Result<Result<SchemaRef, Violation>> {
        match self {
            Guest::V1(g) => g
                .quiver_transform_transform()
                .transformer()
                .call_output_schema(store, handle)
                .map(convert::schema_from_wit),
            Guest::V2(g) => {
                store.data_mut().begin_call();
                let r = g
                    .quiver_transform_transform()
                    .transformer()
                    .call_output_schema(&mut *store, handle);
                store.data_mut().end_call();
                r.map(tree::schema_from_wit)
            }
        }
    }

    /// `transformer.process(batch)`.
    pub(crate) fn process(
        &self,
        store: &mut Store<StoreState>,
        handle: ResourceAny,
        input: &Input,
    ) -> Result<Called<Raw>, Violation> {
        match (self, input) {
            (Guest::V1(g), Input::V1(batch)) => {
                let encoded = convert::encode_batch(batch)?;
                let rows = u32::try_from(batch.num_rows()).map_err(|_| {
                    (
                        None,
                        format!(
                            "{} rows exceed one batch's limit of 2^32-1",
                            batch.num_rows()
                        ),
                    )
                })?;
                let columns = convert::column_params(&encoded);
                let param = v1::types::BatchParam {
                    num_rows: rows,
                    columns: &columns,
                };
                Ok(g.quiver_transform_transform()
                    .transformer()
                    .call_process(store, handle, param)
                    .map(|r| r.map(Raw::V1).map_err(v1_error)))
            }
            (Guest::V2(g), Input::V2(columns, rows)) => {
                let data = store.data_mut();
                data.begin_call();
                let batch = data
                    .table
                    .push(BatchRes {
                        columns: columns.clone(),
                        rows: *rows,
                    })
                    .map_err(|e| (None, format!("lending the batch: {e}")))?;
                let rep = batch.rep();
                // Lent as a borrow of the table's entry. Passing the own `Resource` itself
                // would make wasmtime move it into the store's host-resource table for
                // borrow tracking, an entry nothing removes: one per call, until the
                // store's 100,000-handle limit stops the stream ("store handle limit
                // exceeded" at batch ~100,000).
                let r = g.quiver_transform_transform().transformer().call_process(
                    &mut *store,
                    handle,
                    Resource::new_borrow(rep),
                );
                let _ = store
                    .data_mut()
                    .table
                    .delete(Resource::<BatchRes>::new_own(rep));
                Ok(r.map(|r| r.map(Raw::V2).map_err(v2_error)))
            }
            _ => Err((
                None,
                "internal: a batch prepared for another version".into(),
            )),
        }
    }

    /// `transformer.finish()`.
    pub(crate) fn finish(&self, store: &mut Store<StoreState>, handle: ResourceAny) -> Called<Raw> {
        match self {
            Guest::V1(g) => g
                .quiver_transform_transform()
                .transformer()
                .call_finish(store, handle)
                .map(|r| r.map(Raw::V1).map_err(v1_error)),
            Guest::V2(g) => {
                store.data_mut().begin_call();
                g.quiver_transform_transform()
                    .transformer()
                    .call_finish(&mut *store, handle)
                    .map(|r| r.map(Raw::V2).map_err(v2_error))
            }
        }
    }
}

impl Raw {
    /// Rows of every output, and how many outputs.
    pub(crate) fn shape(&self) -> (usize, u64) {
        match self {
            Raw::V1(b) => (b.len(), b.iter().map(|b| u64::from(b.num_rows)).sum()),
            Raw::V2(o) => (o.len(), o.iter().map(|o| o.num_rows).sum()),
        }
    }

    /// Validate every output against the declared `schema` and turn it into record batches.
    /// `input` is the batch the call received (`None` for `finish`).
    ///
    /// # Errors
    /// The first violation, naming the column when there is one. Handles the plugin gave
    /// back are released either way.
    pub(crate) fn settle(
        self,
        store: &mut Store<StoreState>,
        schema: &SchemaRef,
        input: Option<&Input>,
    ) -> Result<Vec<RecordBatch>, Violation> {
        match self {
            Raw::V1(batches) => batches
                .into_iter()
                .map(|b| convert::batch_from_wit(b, schema))
                .collect(),
            Raw::V2(outputs) => {
                let columns = match input {
                    Some(Input::V2(c, rows)) => Some((c.as_slice(), *rows)),
                    _ => None,
                };
                let state = store.data_mut();
                // Take every handle out of the outputs first, so each is released even when
                // an earlier output is refused.
                let mut resolved = Vec::with_capacity(outputs.len());
                let mut first_error = None;
                for o in outputs {
                    let mut cols = Vec::with_capacity(o.columns.len());
                    for c in o.columns {
                        cols.push(match c {
                            v2::exports::quiver::transform::transform::OutColumn::Keep(i) => {
                                Out::Keep(i)
                            }
                            v2::exports::quiver::transform::transform::OutColumn::Handle(h) => {
                                let got = take_handle(state, h);
                                match got {
                                    Ok(a) => Out::Array(a),
                                    Err(e) => {
                                        first_error.get_or_insert(e);
                                        Out::Array(Arc::new(arrow_array::NullArray::new(0)))
                                    }
                                }
                            }
                            v2::exports::quiver::transform::transform::OutColumn::Data(d) => {
                                Out::Data(d)
                            }
                        });
                    }
                    resolved.push((o.num_rows, o.selection, cols));
                }
                state.end_call();
                if let Some(e) = first_error {
                    return Err(e);
                }
                resolved
                    .into_iter()
                    .map(|(rows, selection, cols)| assemble(rows, selection, cols, schema, columns))
                    .collect()
            }
        }
    }
}

/// One output column with its handle resolved.
enum Out {
    Keep(u32),
    Array(ArrayRef),
    Data(Vec<v2::types::Node>),
}

/// The array of a handle the plugin returned, which it gave up: removed from its table.
fn take_handle(state: &mut StoreState, h: Resource<ColumnRes>) -> Result<ArrayRef, Violation> {
    let array = state
        .column_array(&h, "an output column")
        .map_err(|e| (None, e.to_string()))?;
    if state.table.delete(h).is_ok() {
        state.scope.live = state.scope.live.saturating_sub(1);
    }
    Ok(array)
}

/// One output batch: columns checked against the declared schema, lengths against the
/// output's rows, the selection applied.
fn assemble(
    num_rows: u64,
    selection: Option<v2::exports::quiver::transform::transform::Selection>,
    cols: Vec<Out>,
    schema: &SchemaRef,
    input: Option<(&[ArrayRef], usize)>,
) -> Result<RecordBatch, Violation> {
    use v2::exports::quiver::transform::transform::Selection;
    let num_rows =
        usize::try_from(num_rows).map_err(|_| (None, format!("an output of {num_rows} rows")))?;
    if cols.len() != schema.fields().len() {
        return Err((
            None,
            format!(
                "an output has {} columns but the declared output schema has {}",
                cols.len(),
                schema.fields().len()
            ),
        ));
    }
    if selection.is_some() && input.is_none() {
        return Err((
            None,
            "finish returned a row selection; there is no input batch to select from".into(),
        ));
    }
    // Every column's length before the selection.
    let want = match (&selection, input) {
        (Some(_), Some((_, rows))) => rows,
        _ => num_rows,
    };
    let mut arrays = Vec::with_capacity(cols.len());
    for (c, field) in cols.into_iter().zip(schema.fields()) {
        let name = || Some(field.name().clone());
        let array = match c {
            Out::Keep(i) => {
                let (columns, rows) = input.ok_or_else(|| {
                    (
                        name(),
                        "finish kept an input column; there is no input batch".to_owned(),
                    )
                })?;
                let array = columns.get(i as usize).ok_or_else(|| {
                    (
                        name(),
                        format!(
                            "keeps input column {i}; the input has {} columns",
                            columns.len()
                        ),
                    )
                })?;
                if selection.is_none() && rows != num_rows {
                    return Err((
                        name(),
                        format!(
                            "keeps input column {i} ({rows} rows) in an output of {num_rows} rows \
                             without a selection"
                        ),
                    ));
                }
                Arc::clone(array)
            }
            Out::Array(a) => a,
            Out::Data(d) => tree::nodes_to_array(field.data_type(), d, Validation::Full)
                .map_err(|e| (name(), e.to_string()))?,
        };
        if array.data_type() != field.data_type() {
            return Err((
                name(),
                format!(
                    "is {} but the declared output schema says {}",
                    array.data_type(),
                    field.data_type()
                ),
            ));
        }
        if array.len() != want {
            return Err((
                name(),
                format!("has {} rows; the output needs {want}", array.len()),
            ));
        }
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(want));
    let batch = RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)
        .map_err(|e| (None, e.to_string()))?;
    let batch = match selection {
        None => batch,
        Some(Selection::Mask(bits)) => {
            // Padding up to Arrow's 64-byte buffer alignment is tolerated; a mask longer
            // than that selects rows the input does not have.
            let most = want.div_ceil(8).next_multiple_of(64);
            if bits.len() > most {
                return Err((
                    None,
                    format!(
                        "the selection mask has {} bytes for an input of {want} rows (at most \
                         {most}): a selection cannot be longer than its batch",
                        bits.len()
                    ),
                ));
            }
            if bits.len() < want.div_ceil(8) {
                return Err((
                    None,
                    format!(
                        "the selection mask has {} bytes for {want} rows (needs {})",
                        bits.len(),
                        want.div_ceil(8)
                    ),
                ));
            }
            let mask = BooleanArray::new(BooleanBuffer::new(Buffer::from_vec(bits), 0, want), None);
            let selected = mask.true_count();
            if selected != num_rows {
                return Err((
                    None,
                    format!(
                        "the selection mask selects {selected} rows; the output says {num_rows}"
                    ),
                ));
            }
            arrow_select::filter::filter_record_batch(&batch, &mask)
                .map_err(|e| (None, format!("applying the selection: {e}")))?
        }
        Some(Selection::Indices(idx)) => {
            if idx.len() != num_rows {
                return Err((
                    None,
                    format!(
                        "the selection takes {} rows; the output says {num_rows}",
                        idx.len()
                    ),
                ));
            }
            if let Some(bad) = idx.iter().find(|&&i| i as usize >= want) {
                return Err((
                    None,
                    format!("the selection takes row {bad} of an input of {want} rows"),
                ));
            }
            let indices = UInt32Array::from(idx);
            arrow_select::take::take_record_batch(&batch, &indices)
                .map_err(|e| (None, format!("applying the selection: {e}")))?
        }
    };
    for (c, field) in batch.columns().iter().zip(schema.fields()) {
        if !field.is_nullable() && c.null_count() > 0 {
            return Err((
                Some(field.name().clone()),
                format!("{} nulls in a column declared non-nullable", c.null_count()),
            ));
        }
    }
    Ok(batch)
}

/// Whether `e` is a refusal of an invalid handle — a host function's (a handle of another
/// call) or the canonical ABI's (a forged handle: an index the instance was never given) —
/// which the contract makes an invalid output of the plugin, not a trap of its own.
pub(crate) fn invalid_handle(e: &wasmtime::Error) -> Option<String> {
    if let Some(t @ (HostTrap::StaleHandle(_) | HostTrap::TooManyHandles)) =
        e.downcast_ref::<HostTrap>()
    {
        return Some(t.to_string());
    }
    let message = format!("{e:?}");
    // wasmtime's own bound on the handles of a store (a list of borrows passed to the host
    // lends one handle each): the plugin passed or kept too many at once.
    if let Some(line) = message
        .lines()
        .find(|l| l.contains("store handle limit exceeded"))
    {
        return Some(format!(
            "too many resource handles at once ({}): a plugin may keep or pass at most \
             {MAX_HANDLES} column handles; drop them when done, pass fewer per call",
            line.trim()
        ));
    }
    let at = message.find("unknown handle index")?;
    let what = message[at..].lines().next().unwrap_or_default();
    Some(format!(
        "a forged handle ({what}): handles are only those the host gave this instance"
    ))
}
