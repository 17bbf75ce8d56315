//! `evil`: a deliberately hostile plugin, for the sandbox tests only.
//!
//! Its config selects one attack on the host (`mode`). Until the attack triggers it passes
//! every batch through unchanged, so a test can show that the batch after an attack comes
//! out right. A `process` attack triggers on a batch whose boolean column `attack` holds a
//! true value, or on every batch when the input has no such column; `*-create` attacks fire
//! in the constructor and `*-finish` attacks at end of stream.
//!
//! It is written against the raw WIT bindings rather than the SDK's `Transform` trait,
//! because the SDK refuses to build the malformed batches several modes exist to send. The
//! bindings are the SDK's own (`quiver_sdk::bindings`): generated once, in one module, for
//! every guest. See `README.md` for the modes and what the host must do about each.

use std::time::{Duration, Instant};

use quiver_sdk::bindings::exports::quiver::transform::transform::{
    Guest, GuestTransformer, Transformer,
};
use quiver_sdk::bindings::quiver::transform::types::{
    Batch, DataType, Error, PluginMetadata, Schema,
};
use serde::Deserialize;

/// Every attack the plugin knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    /// Infinite loop in `process`.
    LoopProcess,
    /// Infinite loop in the constructor.
    LoopCreate,
    /// Infinite loop in `finish`.
    LoopFinish,
    /// Allocate and touch memory until the allocator fails.
    MemoryBomb,
    /// Unbounded recursion on the wasm call stack.
    StackOverflow,
    /// Unbounded recursion with large frames on the data stack in linear memory (Rust's
    /// "shadow stack"), which runs off the bottom of memory.
    ShadowStackOverflow,
    /// Return the input 1000 times over.
    OutputFlood,
    /// Return a million empty batches.
    ManyBatches,
    /// Claim one row more than the columns hold.
    WrongRowCount,
    /// Point the last offset of the first utf8 column far past its values.
    OffsetsOutOfBounds,
    /// Put a byte that is never valid UTF-8 into the first utf8 column.
    InvalidUtf8,
    /// Send a validity bitmap shorter than the rows need.
    ShortValidity,
    /// Send a batch with one column more than the declared schema.
    WrongSchema,
    /// Declare an output schema the host cannot represent (a column with no name twice).
    BadDeclaredSchema,
    /// `panic!` in `process`.
    Panic,
    /// `panic!` in the constructor.
    PanicCreate,
    /// Execute `unreachable`.
    Unreachable,
    /// Read a file from the host (default `/etc/passwd`).
    ReadFile,
    /// Read an environment variable of the host (default `QUIVER_EVIL_SECRET`).
    ReadEnv,
    /// Open a TCP connection (default to 127.0.0.1:9).
    OpenSocket,
    /// Write a flood of bytes to stderr, then pass the batch through.
    StderrFlood,
    /// Write a flood of bytes to stdout, then pass the batch through.
    StdoutFlood,
    /// Sleep for an hour, forever.
    Sleep,
    /// Busy-wait on the monotonic clock for an hour.
    BusyClock,
    /// Call `exit(3)` (WASI 0.2 carries only success or failure: the host sees exit(1)).
    Exit,
    /// Not an attack: a fixed amount of arithmetic per batch, then pass through (for fuel).
    Spin,
    /// Not an attack: fail every batch with a data error that names no row, so the whole
    /// batch goes to the stage's error policy (dead-letter tests).
    RejectData,
    /// Not an attack: pass everything through.
    None,
}

/// The config document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
    path: Option<String>,
    variable: Option<String>,
    address: Option<String>,
    iterations: Option<u64>,
    bytes: Option<u64>,
}

struct Evil;

impl Guest for Evil {
    type Transformer = Attack;

    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: env!("CARGO_PKG_DESCRIPTION").into(),
            config_schema: include_str!("../config.schema.json").into(),
        }
    }
}

/// One stream under attack.
struct Attack {
    config: Config,
    schema: Schema,
    /// Index of the boolean `attack` column, if the input has one.
    trigger: Option<usize>,
}

impl GuestTransformer for Attack {
    fn create(config: String, input: Schema) -> Result<Transformer, Error> {
        let config: Config = serde_json::from_str(&config)
            .map_err(|e| Error::Config(config_error(e.to_string())))?;
        match config.mode {
            Mode::LoopCreate => spin_forever(),
            Mode::PanicCreate => panic!("evil plugin panicked on purpose in create"),
            _ => {}
        }
        let trigger = input
            .fields
            .iter()
            .position(|f| f.name == "attack" && matches!(f.data_type, DataType::Boolean));
        Ok(Transformer::new(Attack {
            config,
            schema: input,
            trigger,
        }))
    }

    fn output_schema(&self) -> Schema {
        let mut schema = self.schema.clone();
        if self.config.mode == Mode::BadDeclaredSchema {
            // Two columns with the same name: no Arrow schema the host accepts.
            if let Some(first) = schema.fields.first().cloned() {
                schema.fields.push(first);
            }
        }
        schema
    }

    fn process(&self, input: Batch) -> Result<Vec<Batch>, Error> {
        if !self.triggered(&input) {
            return Ok(vec![input]);
        }
        self.attack(input)
    }

    fn finish(&self) -> Result<Vec<Batch>, Error> {
        if self.config.mode == Mode::LoopFinish {
            spin_forever();
        }
        Ok(Vec::new())
    }
}

impl Attack {
    /// Whether this batch sets the attack off.
    fn triggered(&self, batch: &Batch) -> bool {
        let Some(i) = self.trigger else {
            return true;
        };
        let column = &batch.columns[i];
        (0..batch.num_rows as usize).any(|row| {
            let valid = column
                .validity
                .as_ref()
                .is_none_or(|v| v.get(row / 8).is_some_and(|b| b >> (row % 8) & 1 == 1));
            valid
                && column
                    .values
                    .get(row / 8)
                    .is_some_and(|b| b >> (row % 8) & 1 == 1)
        })
    }

    fn attack(&self, mut input: Batch) -> Result<Vec<Batch>, Error> {
        let c = &self.config;
        match c.mode {
            Mode::LoopProcess => spin_forever(),
            Mode::MemoryBomb => memory_bomb(),
            Mode::StackOverflow => {
                let end = c.iterations.unwrap_or(u64::MAX);
                Err(Error::Internal(format!(
                    "recursion ended: {}",
                    recurse(0, end)
                )))
            }
            Mode::ShadowStackOverflow => {
                let depth = recurse_in_memory(0);
                Err(Error::Internal(format!("recursion ended at {depth}")))
            }
            Mode::OutputFlood => Ok(vec![input; 1000]),
            Mode::ManyBatches => {
                let empty = Batch {
                    num_rows: 0,
                    columns: Vec::new(),
                };
                Ok(vec![empty; 1_000_000])
            }
            Mode::WrongRowCount => {
                input.num_rows += 1;
                Ok(vec![input])
            }
            Mode::OffsetsOutOfBounds => {
                let i = self.first_utf8()?;
                let offsets = input.columns[i].offsets.as_mut().ok_or_else(no_offsets)?;
                let n = offsets.len();
                offsets[n - 4..].copy_from_slice(&0x7fff_fff0_i32.to_le_bytes());
                Ok(vec![input])
            }
            Mode::InvalidUtf8 => {
                let i = self.first_utf8()?;
                let values = &mut input.columns[i].values;
                if values.is_empty() {
                    return Err(Error::Internal(
                        "invalid-utf8 needs a non-empty string".into(),
                    ));
                }
                values[0] = 0xff;
                Ok(vec![input])
            }
            Mode::ShortValidity => {
                if let Some(first) = input.columns.first_mut() {
                    first.validity = Some(Vec::new());
                }
                Ok(vec![input])
            }
            Mode::WrongSchema => {
                if let Some(first) = input.columns.first().cloned() {
                    input.columns.push(first);
                }
                Ok(vec![input])
            }
            Mode::Panic => panic!("evil plugin panicked on purpose in process"),
            Mode::Unreachable => core::arch::wasm32::unreachable(),
            Mode::ReadFile => {
                let path = c.path.as_deref().unwrap_or("/etc/passwd");
                Err(Error::Internal(match std::fs::read_to_string(path) {
                    Ok(text) => format!("read-file: read {} bytes of {path}: {text}", text.len()),
                    Err(e) => format!("read-file: cannot read {path}: {e}"),
                }))
            }
            Mode::ReadEnv => {
                let var = c.variable.as_deref().unwrap_or("QUIVER_EVIL_SECRET");
                Err(Error::Internal(match std::env::var(var) {
                    Ok(value) => format!("read-env: {var}={value}"),
                    Err(e) => format!("read-env: cannot read {var}: {e}"),
                }))
            }
            Mode::OpenSocket => {
                let address = c.address.as_deref().unwrap_or("127.0.0.1:9");
                Err(Error::Internal(
                    match std::net::TcpStream::connect(address) {
                        Ok(_) => format!("open-socket: connected to {address}"),
                        Err(e) => format!("open-socket: cannot connect to {address}: {e}"),
                    },
                ))
            }
            Mode::StderrFlood => {
                flood(&mut std::io::stderr(), c.bytes.unwrap_or(16 << 20));
                Ok(vec![input])
            }
            Mode::StdoutFlood => {
                flood(&mut std::io::stdout(), c.bytes.unwrap_or(16 << 20));
                Ok(vec![input])
            }
            Mode::Sleep => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            Mode::BusyClock => {
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(3600) {
                    std::hint::spin_loop();
                }
                Ok(vec![input])
            }
            Mode::Exit => std::process::exit(3),
            Mode::RejectData => Err(Error::Data(
                quiver_sdk::bindings::quiver::transform::types::DataError {
                    column: None,
                    row: None,
                    message: "every row is rejected".into(),
                },
            )),
            Mode::Spin => {
                let mut x = 0x9e37_79b9_7f4a_7c15_u64;
                for i in 0..c.iterations.unwrap_or(10_000_000) {
                    x = std::hint::black_box(x.rotate_left(7) ^ i).wrapping_mul(31);
                }
                std::hint::black_box(x);
                Ok(vec![input])
            }
            Mode::LoopCreate
            | Mode::LoopFinish
            | Mode::PanicCreate
            | Mode::BadDeclaredSchema
            | Mode::None => Ok(vec![input]),
        }
    }

    fn first_utf8(&self) -> Result<usize, Error> {
        self.schema
            .fields
            .iter()
            .position(|f| matches!(f.data_type, DataType::Utf8))
            .ok_or_else(|| Error::Internal("this mode needs a utf8 column".into()))
    }
}

fn config_error(message: String) -> quiver_sdk::bindings::quiver::transform::types::ConfigError {
    quiver_sdk::bindings::quiver::transform::types::ConfigError {
        key: String::new(),
        message,
    }
}

fn no_offsets() -> Error {
    Error::Internal("the utf8 column came without offsets".into())
}

/// Loop forever without being optimised away.
fn spin_forever() -> ! {
    let mut x = 0_u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Allocate and touch 1 MiB blocks until the allocator gives up (it aborts, or the host
/// refuses the memory grow first).
fn memory_bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0_u8; 1 << 20];
        for b in block.iter_mut().step_by(4096) {
            *b = 1;
        }
        hoard.push(std::hint::black_box(block));
    }
}

/// Recurse until the wasm stack runs out: scalar frames only, and a result combined after
/// the call so it cannot become a loop.
fn recurse(depth: u64, end: u64) -> u64 {
    if depth == end {
        return 1;
    }
    recurse(depth + 1, end).wrapping_mul(depth | 1) ^ depth
}

/// Recurse with frames that live in linear memory until they run off its bottom.
fn recurse_in_memory(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 32]);
    if depth == u64::MAX {
        return 0;
    }
    recurse_in_memory(depth + 1).wrapping_add(frame[7])
}

/// Write `bytes` bytes to `out` in 64 KiB chunks, ignoring errors (a closed stream ends it).
fn flood(out: &mut dyn std::io::Write, bytes: u64) {
    let chunk = [b'E'; 64 << 10];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if out.write_all(&chunk[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
    let _ = out.flush();
}

quiver_sdk::bindings::__export_plugin_world!(Evil with_types_in quiver_sdk::bindings);
