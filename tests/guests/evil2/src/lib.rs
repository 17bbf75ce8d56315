//! `evil2`: a deliberately hostile contract 0.2 plugin, for the tests of what a plugin can
//! make the **host** keep (counters, logs, error texts, metadata) and of the 0.2 shapes
//! (forged and stale handles, bad selections, nesting bombs).
//!
//! Its config selects one attack (`mode`, with optional `count` and `len`). Until the attack
//! triggers it passes every batch through by keeping its columns, so a test can show that the
//! batch after an attack comes out right. A `process` attack triggers on a batch whose boolean
//! column `attack` holds a true value, or on every batch when the input has no such column.
//! Modes that declare a different output schema are refused at `create`/`output-schema`.
//!
//! Built a second time with `QUIVER_EVIL2_SCHEMA_BYTES=N` (by `tests/build.rs`), its
//! `metadata()` declares a config schema of N bytes — metadata cannot depend on config.
//!
//! It is written against the raw WIT bindings (`quiver_sdk::bindings`, generated once for
//! every guest) because the SDK refuses to send what most modes exist to send. See
//! `README.md` for every mode and what the host must do about it.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};

use quiver_sdk::bindings::exports::quiver::transform::transform::{
    Guest, GuestTransformer, OutColumn, Output, Selection, Transformer,
};
use quiver_sdk::bindings::quiver::transform::columns::{Batch, Column, from_data};
use quiver_sdk::bindings::quiver::transform::compute::{self, Operand, Scalar};
use quiver_sdk::bindings::quiver::transform::host::{Level, counter_add, log};
use quiver_sdk::bindings::quiver::transform::types::{
    DataError, Error, Field, Node, PluginMetadata, Schema, TypeNode,
};
use serde::Deserialize;

/// Every attack the plugin knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    /// Bump `count` (64) counters per call whose names are `len` (4 MiB) bytes long.
    LongCounterNames,
    /// Bump `count` (1,024) counters with names never used before, on every call.
    ManyCounterNames,
    /// One log record with an empty message and `count` (1,000,000) empty fields per call.
    LogEmptyFields,
    /// `count` (1,000,000) log records with an empty message and no field per call.
    LogManyEmpty,
    /// Fail with a data error naming no row, whose message is `len` (100 MB) bytes, or
    /// `text` when it is given.
    DataError,
    /// Declare an output column with an empty name.
    EmptyColumnName,
    /// Declare an extra output column whose name is random per instance, so parallel
    /// instances disagree on their output schema.
    SchemaPerInstance,
    /// Return a column handle the host never made.
    ForgedHandle,
    /// Keep a column handle from the first batch and return it on an attack batch.
    StaleHandle,
    /// Select input rows past the end of the batch.
    IndicesOutOfRange,
    /// Select `count` (10,000,000) rows (row 0 again and again) from a small batch.
    IndicesTooMany,
    /// A selection mask `count` (1 MiB) bytes longer than the batch's rows need, every bit set.
    MaskTooLong,
    /// An output whose columns have different lengths: an input column kept, and a host
    /// column of one row more.
    MixedLengths,
    /// Declare an extra output column that is a list of lists `count` (10,000) deep.
    DeepList,
    /// Declare an extra output column that is a struct of `count` (100,000) fields.
    WideStruct,
    /// Return one binary value of `len` (130 MiB) bytes: past wasmtime's per-call copy limit.
    HugeOutput,
    /// Ask for `count` (70,000) handles to the same column and keep them all.
    HoardHandles,
    /// Pass `count` (100,000) borrows of one column to `filter-many`, which would make a
    /// handle for each.
    FilterManyFlood,
    /// Grow host memory through kernels: `count` (1,000) times concatenate column `x` (cast
    /// to utf8) with a `len` (1 MiB) string, keeping every result.
    KernelHog,
    /// Match column `x` (cast to utf8) against a regex whose compiled form is huge
    /// (`(a{1000}){1000}`), and return what the host says.
    RegexBomb,
    /// Hash column `x` (cast to utf8) with `hmac-sha256` under the key file `text` (any
    /// path, escapes included) and fail with an internal error carrying the first token,
    /// or with the host's error.
    KeyFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
    count: Option<usize>,
    len: Option<usize>,
    text: Option<String>,
}

/// One stream: the attack, its sizes, the input schema and what the attack keeps.
struct Attack {
    mode: Mode,
    count: usize,
    len: usize,
    /// The message of `data-error`, instead of `len` bytes of `E`.
    text: Option<String>,
    /// Input columns (top-level).
    columns: u32,
    /// Index of the boolean `attack` column, when there is one.
    trigger: Option<u32>,
    /// The output schema this instance declares.
    output: Schema,
    /// Calls so far (`many-counter-names` makes new names from it).
    calls: RefCell<u64>,
    /// The handle `stale-handle` keeps from an earlier call.
    kept: RefCell<Option<Column>>,
}

struct Evil2;

/// Config schema size of the oversized-metadata build (0: the real schema).
const SCHEMA_BYTES: &str = match option_env!("QUIVER_EVIL2_SCHEMA_BYTES") {
    Some(n) => n,
    None => "0",
};

impl Guest for Evil2 {
    type Transformer = Attack;

    fn metadata() -> PluginMetadata {
        let bytes: usize = SCHEMA_BYTES.parse().unwrap_or(0);
        let config_schema = if bytes == 0 {
            include_str!("../config.schema.json").to_owned()
        } else {
            // Valid JSON of exactly the asked size: a string of spaces.
            format!("\"{}\"", " ".repeat(bytes.saturating_sub(2)))
        };
        PluginMetadata {
            name: "evil2".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: env!("CARGO_PKG_DESCRIPTION").into(),
            config_schema,
        }
    }
}

fn config_error(message: String) -> Error {
    Error::Config(
        quiver_sdk::bindings::quiver::transform::types::ConfigError {
            key: String::new(),
            message,
        },
    )
}

fn internal(message: impl Into<String>) -> Error {
    Error::Internal(message.into())
}

/// Top-level columns of a pre-order schema, and the index of the top-level boolean column
/// named `attack`.
fn top_level(schema: &Schema) -> (u32, Option<u32>) {
    let mut columns = 0;
    let mut trigger = None;
    let mut pending = 0usize;
    for f in &schema.fields {
        if pending == 0 {
            if f.name == "attack" && matches!(f.data_type, TypeNode::Boolean) {
                trigger = Some(columns);
            }
            columns += 1;
        } else {
            pending -= 1;
        }
        pending += children(&f.data_type);
    }
    (columns, trigger)
}

fn children(t: &TypeNode) -> usize {
    match t {
        TypeNode::List
        | TypeNode::LargeList
        | TypeNode::FixedSizeList(_)
        | TypeNode::Map(_)
        | TypeNode::Dictionary(_) => 1,
        TypeNode::Struct(n) => *n as usize,
        _ => 0,
    }
}

fn field(name: impl Into<String>, data_type: TypeNode) -> Field {
    Field {
        name: name.into(),
        data_type,
        nullable: true,
    }
}

/// A random number from the host's random source, different in every instance.
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

impl Attack {
    fn output_schema_for(mode: Mode, count: usize, input: &Schema) -> Schema {
        let mut fields = input.fields.clone();
        match mode {
            Mode::EmptyColumnName => fields.push(field("", TypeNode::Int64)),
            Mode::SchemaPerInstance => {
                fields.push(field(
                    format!("instance_{:016x}", random()),
                    TypeNode::Int64,
                ));
            }
            Mode::DeepList => {
                fields.push(field("deep", TypeNode::List));
                fields.extend((1..count).map(|_| field("item", TypeNode::List)));
                fields.push(field("item", TypeNode::Int64));
            }
            Mode::WideStruct => {
                let n = u32::try_from(count).unwrap_or(u32::MAX);
                fields.push(field("wide", TypeNode::Struct(n)));
                fields.extend((0..count).map(|i| field(format!("f{i}"), TypeNode::Int64)));
            }
            Mode::HugeOutput => fields.push(field("blob", TypeNode::Binary)),
            _ => {}
        }
        Schema {
            fields,
            metadata: input.metadata.clone(),
        }
    }

    /// Whether this batch triggers the attack.
    fn triggered(&self, batch: &Batch) -> Result<bool, Error> {
        let Some(i) = self.trigger else {
            return Ok(true);
        };
        let nodes = batch.read(i)?;
        let node = nodes.first().ok_or_else(|| internal("no node"))?;
        let rows = node.len as usize;
        let valid = |r: usize| {
            node.validity
                .as_ref()
                .is_none_or(|v| v.get(r / 8).is_some_and(|b| b >> (r % 8) & 1 == 1))
        };
        Ok((0..rows).any(|r| {
            valid(r)
                && node
                    .values
                    .get(r / 8)
                    .is_some_and(|b| b >> (r % 8) & 1 == 1)
        }))
    }

    /// The batch passed through: every input column kept, plus the extra column of the modes
    /// that declare one (zeros, or empty binary values).
    fn pass_through(&self, rows: u64) -> Vec<Output> {
        let mut columns: Vec<OutColumn> = (0..self.columns).map(OutColumn::Keep).collect();
        let n = rows as usize;
        match self.mode {
            Mode::SchemaPerInstance => columns.push(OutColumn::Data(vec![Node {
                len: rows,
                validity: None,
                offsets: None,
                values: vec![0; n * 8],
            }])),
            Mode::HugeOutput => columns.push(OutColumn::Data(vec![Node {
                len: rows,
                validity: None,
                offsets: Some(vec![0; (n + 1) * 4]),
                values: Vec::new(),
            }])),
            _ => {}
        }
        vec![Output {
            num_rows: rows,
            selection: None,
            columns,
        }]
    }

    fn attack(&self, batch: &Batch, rows: u64) -> Result<Vec<Output>, Error> {
        let n = rows as usize;
        let keep_all = || (0..self.columns).map(OutColumn::Keep).collect::<Vec<_>>();
        match self.mode {
            Mode::LongCounterNames => {
                let mut name = "n".repeat(self.len.max(8));
                for i in 0..self.count {
                    // A new name each time, in the same buffer.
                    name.replace_range(..8, &format!("{i:08x}"));
                    counter_add(&name, 1);
                }
                Ok(self.pass_through(rows))
            }
            Mode::ManyCounterNames => {
                let call = *self.calls.borrow();
                for i in 0..self.count {
                    counter_add(&format!("c-{call}-{i}"), 1);
                }
                Ok(self.pass_through(rows))
            }
            Mode::LogEmptyFields => {
                let fields = vec![(String::new(), String::new()); self.count];
                log(Level::Info, "", &fields);
                Ok(self.pass_through(rows))
            }
            Mode::LogManyEmpty => {
                for _ in 0..self.count {
                    log(Level::Info, "", &[]);
                }
                Ok(self.pass_through(rows))
            }
            Mode::DataError => Err(Error::Data(DataError {
                column: None,
                row: None,
                message: self.text.clone().unwrap_or_else(|| "E".repeat(self.len)),
            })),
            Mode::ForgedHandle => {
                // SAFETY: not safe at all, on purpose: an index this instance never got from
                // the host. The canonical ABI must refuse it.
                let forged = unsafe { Column::from_handle(0x00ff_fff0) };
                let mut columns = keep_all();
                columns[0] = OutColumn::Handle(forged);
                Ok(vec![Output {
                    num_rows: rows,
                    selection: None,
                    columns,
                }])
            }
            Mode::StaleHandle => {
                let kept = self.kept.borrow_mut().take();
                let Some(kept) = kept else {
                    return Err(internal(
                        "stale-handle: no handle kept from an earlier batch",
                    ));
                };
                let mut columns = keep_all();
                columns[0] = OutColumn::Handle(kept);
                Ok(vec![Output {
                    num_rows: rows,
                    selection: None,
                    columns,
                }])
            }
            Mode::IndicesOutOfRange => {
                let idx = vec![0, u32::try_from(n).unwrap_or(u32::MAX).saturating_add(5)];
                Ok(vec![Output {
                    num_rows: idx.len() as u64,
                    selection: Some(Selection::Indices(idx)),
                    columns: keep_all(),
                }])
            }
            Mode::IndicesTooMany => {
                let idx = vec![0u32; self.count];
                Ok(vec![Output {
                    num_rows: idx.len() as u64,
                    selection: Some(Selection::Indices(idx)),
                    columns: keep_all(),
                }])
            }
            Mode::MaskTooLong => Ok(vec![Output {
                num_rows: rows,
                selection: Some(Selection::Mask(vec![0xff; n.div_ceil(8) + self.count])),
                columns: keep_all(),
            }]),
            Mode::MixedLengths => {
                let longer = from_data(
                    &[field("", TypeNode::Int64)],
                    &[Node {
                        len: rows + 1,
                        validity: None,
                        offsets: None,
                        values: vec![0; (n + 1) * 8],
                    }],
                )?;
                let mut columns = keep_all();
                columns[0] = OutColumn::Handle(longer);
                Ok(vec![Output {
                    num_rows: rows,
                    selection: None,
                    columns,
                }])
            }
            Mode::HugeOutput => {
                let mut columns = keep_all();
                let mut offsets = Vec::with_capacity((n + 1) * 4);
                offsets.extend_from_slice(&0i32.to_le_bytes());
                let len = i32::try_from(self.len).unwrap_or(i32::MAX);
                for _ in 0..n {
                    offsets.extend_from_slice(&len.to_le_bytes());
                }
                columns.push(OutColumn::Data(vec![Node {
                    len: rows,
                    validity: None,
                    offsets: Some(offsets),
                    values: vec![b'x'; len as usize],
                }]));
                Ok(vec![Output {
                    num_rows: rows,
                    selection: None,
                    columns,
                }])
            }
            Mode::KernelHog => {
                let x = batch.column(0)?;
                let text = compute::cast(&x, &[field("x", TypeNode::Utf8)], true)?;
                let pad = "k".repeat(self.len);
                let mut kept = Vec::with_capacity(self.count);
                for _ in 0..self.count {
                    kept.push(compute::concat(
                        &[
                            Operand::Column(&text),
                            Operand::Scalar(Scalar::Utf8(pad.clone())),
                        ],
                        "",
                    )?);
                }
                Err(internal(format!("kept {} kernel results", kept.len())))
            }
            Mode::RegexBomb => {
                let x = batch.column(0)?;
                let text = compute::cast(&x, &[field("x", TypeNode::Utf8)], true)?;
                compute::regex_match(&text, "(a{1000}){1000}")?;
                Err(internal("the host compiled the regex bomb".to_owned()))
            }
            Mode::KeyFile => {
                let x = batch.column(0)?;
                let text = compute::cast(&x, &[field("x", TypeNode::Utf8)], true)?;
                let path = self.text.clone().unwrap_or_default();
                let tokens = compute::hmac_sha256(&text, &path, compute::Encoding::Hex)?;
                let first = compute::slice(&tokens, 0, 1)?;
                let data = first.read();
                let token = data
                    .first()
                    .map(|n| String::from_utf8_lossy(&n.values).into_owned())
                    .unwrap_or_default();
                Err(internal(format!("token {token}")))
            }
            Mode::HoardHandles => {
                let mut hoard = Vec::with_capacity(self.count);
                for _ in 0..self.count {
                    hoard.push(batch.column(0)?);
                }
                Err(internal(format!("hoarded {} handles", hoard.len())))
            }
            Mode::FilterManyFlood => {
                let x = batch.column(0)?;
                let mask = compute::is_not_null(&x)?;
                let inputs = vec![&x; self.count];
                let got = compute::filter_many(&inputs, &mask)?;
                Err(internal(format!("filter-many made {} handles", got.len())))
            }
            // Refused before any batch (their output schema).
            Mode::EmptyColumnName | Mode::SchemaPerInstance | Mode::DeepList | Mode::WideStruct => {
                Ok(self.pass_through(rows))
            }
        }
    }
}

impl GuestTransformer for Attack {
    fn create(config: String, input: Schema) -> Result<Transformer, Error> {
        let c: Config = serde_json::from_str(&config).map_err(|e| config_error(e.to_string()))?;
        let (count, len) = match c.mode {
            Mode::LongCounterNames => (64, 4 << 20),
            Mode::ManyCounterNames => (1024, 0),
            Mode::LogEmptyFields | Mode::LogManyEmpty => (1_000_000, 0),
            Mode::DataError => (0, 100_000_000),
            Mode::IndicesTooMany => (10_000_000, 0),
            Mode::MaskTooLong => (1 << 20, 0),
            Mode::DeepList => (10_000, 0),
            Mode::WideStruct => (100_000, 0),
            Mode::HugeOutput => (0, 130 << 20),
            Mode::HoardHandles => (70_000, 0),
            Mode::FilterManyFlood => (100_000, 0),
            Mode::KernelHog => (1_000, 1 << 20),
            _ => (0, 0),
        };
        let (columns, trigger) = top_level(&input);
        let (count, len) = (c.count.unwrap_or(count), c.len.unwrap_or(len));
        let output = Attack::output_schema_for(c.mode, count, &input);
        Ok(Transformer::new(Attack {
            mode: c.mode,
            count,
            len,
            text: c.text,
            columns,
            trigger,
            output,
            calls: RefCell::new(0),
            kept: RefCell::new(None),
        }))
    }

    fn output_schema(&self) -> Schema {
        self.output.clone()
    }

    fn process(&self, batch: &Batch) -> Result<Vec<Output>, Error> {
        let rows = batch.num_rows();
        *self.calls.borrow_mut() += 1;
        if self.mode == Mode::StaleHandle && self.kept.borrow().is_none() {
            // The first batch lends the handle to keep; the batch itself passes through.
            *self.kept.borrow_mut() = Some(batch.column(0)?);
            return Ok(self.pass_through(rows));
        }
        if self.triggered(batch)? {
            self.attack(batch, rows)
        } else {
            Ok(self.pass_through(rows))
        }
    }

    fn finish(&self) -> Result<Vec<Output>, Error> {
        Ok(Vec::new())
    }
}

quiver_sdk::bindings::__export_plugin_world!(Evil2 with_types_in quiver_sdk::bindings);
