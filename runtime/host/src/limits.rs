//! What one plugin stage may use and touch: its [`Limits`] (memory, time, fuel, output size,
//! captured output, logs, counters, error messages, restarts) and its [`Grants`] (read-only directories, environment
//! variables), together a [`Sandbox`].
//!
//! These are the types a pipeline spec deserializes per stage (`limits = { memory = "64MiB",
//! deadline = "5s" }`), so every field has a safe default and a unit-bearing spelling. The
//! operator's ceiling is a `Limits` too ([`crate::RuntimeConfig::ceiling`]); a stage that
//! asks for more than the ceiling is refused naming the key.

use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Limits of one plugin stage. The defaults are safe for untrusted code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Cap on the instance's linear memory (`"256MiB"`).
    #[schemars(with = "SizeSchema")]
    pub memory: ByteSize,
    /// Cap on table elements (function references) of the instance.
    pub table_elements: u32,
    /// Wall-clock deadline of any one call into the plugin: create, process, finish
    /// (`"30s"`, `"500ms"`). Host sleeps the plugin asks for are cut short at the deadline.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationSchema")]
    pub deadline: Duration,
    /// Fuel (roughly: wasm instructions) one call may burn. Off by default; when set the
    /// plugin runs metered, and the same input gets the same verdict on every machine.
    pub fuel: Option<u64>,
    /// Most rows one call may return per input row (a `finish` counts every row of the
    /// stream as its input), on top of a floor of 8,192 rows per call.
    pub output_rows_ratio: u32,
    /// Most bytes one call may return per input byte, on top of a floor of 16 MiB per call.
    pub output_bytes_ratio: u32,
    /// Bytes of stdout and of stderr kept per instance (the tail; the rest is counted).
    #[schemars(with = "SizeSchema")]
    pub captured_output: ByteSize,
    /// Bytes of log records kept per call (further records are counted, not kept). Every
    /// record costs [`LOG_RECORD_OVERHEAD`] bytes and every field [`LOG_FIELD_OVERHEAD`] on
    /// top of its text, so empty records and empty fields are paid for too.
    #[schemars(with = "SizeSchema")]
    pub log: ByteSize,
    /// Log records kept per call (further records are counted, not kept).
    pub log_records: u32,
    /// Fields one log record may carry; a record with more is dropped and counted.
    pub log_fields: u32,
    /// Longest key, and longest value, of one log field; a record with a longer one is
    /// dropped and counted.
    #[schemars(with = "SizeSchema")]
    pub log_field: ByteSize,
    /// Bytes of log records (overheads included) the stage keeps over the whole run, its
    /// instances together (a hot-swapped version starts afresh); further records are
    /// counted, not kept.
    #[schemars(with = "SizeSchema")]
    pub log_per_run: ByteSize,
    /// Distinct counter names one stream of the stage may create over the whole run (the
    /// stage's report keeps at most this many too); bumps of further names are counted in
    /// the stage's `counters_dropped`, not kept.
    pub counters: u32,
    /// Longest counter name; a bump of a longer name is counted in `counters_dropped`, not
    /// kept.
    #[schemars(with = "SizeSchema")]
    pub counter_name: ByteSize,
    /// Longest error message (and config key or column name in an error) kept from the
    /// plugin; longer ones are cut with `… [truncated, N bytes]`.
    #[schemars(with = "SizeSchema")]
    pub error_message: ByteSize,
    /// Traps (or invalid outputs) in a row after which the stage is quarantined for the
    /// rest of the run instead of being restarted again.
    pub max_consecutive_failures: u32,
}

/// A size: bytes as an integer, or a string with a unit (`"64MiB"`, `"1GB"`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum SizeSchema {
    /// Bytes.
    Bytes(u64),
    /// A number with a unit: B, KiB, MiB, GiB (powers of two) or KB, MB, GB (of ten).
    WithUnit(String),
}

/// A duration with a unit (`"500ms"`, `"30s"`, `"2m"`, `"1h 30m"`).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct DurationSchema(String);

/// Rows any call may return, whatever its input.
pub const OUTPUT_ROWS_FLOOR: u64 = 8192;
/// Bytes any call may return, whatever its input.
pub const OUTPUT_BYTES_FLOOR: u64 = 16 << 20;
/// Batches one call may return.
pub const MAX_BATCHES_PER_CALL: usize = 4096;
/// Bytes every log record counts against the log limits besides its message and fields.
pub const LOG_RECORD_OVERHEAD: u64 = 64;
/// Bytes every log field counts against the log limits besides its key and value.
pub const LOG_FIELD_OVERHEAD: u64 = 16;
/// Longest description a plugin's `metadata()` may declare.
pub const MAX_DESCRIPTION_BYTES: usize = 64 << 10;
/// Longest config schema (JSON text) a plugin's `metadata()` may declare.
pub const MAX_CONFIG_SCHEMA_BYTES: usize = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: ByteSize::mib(256),
            table_elements: 100_000,
            deadline: Duration::from_secs(30),
            fuel: None,
            output_rows_ratio: 16,
            output_bytes_ratio: 16,
            captured_output: ByteSize::kib(64),
            log: ByteSize::mib(1),
            log_records: 1_000,
            log_fields: 64,
            log_field: ByteSize::kib(4),
            log_per_run: ByteSize::mib(64),
            counters: 1_024,
            counter_name: ByteSize::b(256),
            error_message: ByteSize::kib(64),
            max_consecutive_failures: 3,
        }
    }
}

/// A limit that breaks the operator's ceiling or makes no sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitViolation {
    /// The key under `limits` (e.g. `memory`).
    pub key: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Limits {
    /// The most permissive limits an operator can set: the default ceiling.
    pub fn default_ceiling() -> Self {
        Self {
            memory: ByteSize::gib(4),
            table_elements: 10_000_000,
            deadline: Duration::from_secs(3600),
            fuel: None,
            output_rows_ratio: 1024,
            output_bytes_ratio: 1024,
            captured_output: ByteSize::mib(16),
            log: ByteSize::mib(64),
            log_records: 1_000_000,
            log_fields: 4_096,
            log_field: ByteSize::mib(1),
            log_per_run: ByteSize::gib(4),
            counters: 100_000,
            counter_name: ByteSize::kib(4),
            error_message: ByteSize::mib(16),
            max_consecutive_failures: 10_000,
        }
    }

    /// Every way these limits break `ceiling` (empty when they fit). A ceiling's `fuel`
    /// caps the stage's fuel when both are set.
    pub fn violations(&self, ceiling: &Limits) -> Vec<LimitViolation> {
        let mut v = Vec::new();
        let mut over = |key, asked: String, max: String| {
            v.push(LimitViolation {
                key,
                message: format!("{asked} exceeds the operator's ceiling of {max}"),
            });
        };
        if self.memory > ceiling.memory {
            over(
                "memory",
                self.memory.to_string(),
                ceiling.memory.to_string(),
            );
        }
        if self.table_elements > ceiling.table_elements {
            over(
                "table_elements",
                self.table_elements.to_string(),
                ceiling.table_elements.to_string(),
            );
        }
        if self.deadline > ceiling.deadline {
            over(
                "deadline",
                humantime::format_duration(self.deadline).to_string(),
                humantime::format_duration(ceiling.deadline).to_string(),
            );
        }
        if let (Some(f), Some(max)) = (self.fuel, ceiling.fuel)
            && f > max
        {
            over("fuel", f.to_string(), max.to_string());
        }
        if self.output_rows_ratio > ceiling.output_rows_ratio {
            over(
                "output_rows_ratio",
                self.output_rows_ratio.to_string(),
                ceiling.output_rows_ratio.to_string(),
            );
        }
        if self.output_bytes_ratio > ceiling.output_bytes_ratio {
            over(
                "output_bytes_ratio",
                self.output_bytes_ratio.to_string(),
                ceiling.output_bytes_ratio.to_string(),
            );
        }
        if self.captured_output > ceiling.captured_output {
            over(
                "captured_output",
                self.captured_output.to_string(),
                ceiling.captured_output.to_string(),
            );
        }
        if self.log > ceiling.log {
            over("log", self.log.to_string(), ceiling.log.to_string());
        }
        for (key, asked, max) in [
            ("log_records", self.log_records, ceiling.log_records),
            ("log_fields", self.log_fields, ceiling.log_fields),
            ("counters", self.counters, ceiling.counters),
        ] {
            if asked > max {
                over(key, asked.to_string(), max.to_string());
            }
        }
        for (key, asked, max) in [
            ("log_field", self.log_field, ceiling.log_field),
            ("log_per_run", self.log_per_run, ceiling.log_per_run),
            ("counter_name", self.counter_name, ceiling.counter_name),
            ("error_message", self.error_message, ceiling.error_message),
        ] {
            if asked > max {
                over(key, asked.to_string(), max.to_string());
            }
        }
        if self.max_consecutive_failures > ceiling.max_consecutive_failures {
            over(
                "max_consecutive_failures",
                self.max_consecutive_failures.to_string(),
                ceiling.max_consecutive_failures.to_string(),
            );
        }
        let mut zero = |key, what: &str| {
            v.push(LimitViolation {
                key,
                message: format!("{what} must be greater than zero"),
            });
        };
        if self.memory.0 == 0 {
            zero("memory", "the memory cap");
        }
        if self.deadline.is_zero() {
            zero("deadline", "the deadline");
        }
        if self.fuel == Some(0) {
            zero("fuel", "the fuel budget");
        }
        if self.max_consecutive_failures == 0 {
            zero("max_consecutive_failures", "the failure count");
        }
        if self.error_message.0 < 64 {
            v.push(LimitViolation {
                key: "error_message",
                message: "the error message limit must be at least 64 B".into(),
            });
        }
        v
    }

    /// Most rows a call with `input_rows` rows of input may return.
    pub fn max_output_rows(&self, input_rows: u64) -> u64 {
        input_rows
            .saturating_mul(u64::from(self.output_rows_ratio))
            .saturating_add(OUTPUT_ROWS_FLOOR)
    }

    /// Most bytes a call with `input_bytes` bytes of input may return.
    pub fn max_output_bytes(&self, input_bytes: u64) -> u64 {
        input_bytes
            .saturating_mul(u64::from(self.output_bytes_ratio))
            .saturating_add(OUTPUT_BYTES_FLOOR)
    }
}

/// What a plugin may touch beyond its own memory. Nothing by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Grants {
    /// Host directories the plugin may read (never write), e.g. a model directory.
    pub dirs: Vec<DirGrant>,
    /// Names of host environment variables the plugin may read; their values are taken from
    /// the host's environment when the stage starts and never printed.
    pub env: Vec<String>,
}

/// One read-only directory visible to a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the plugin sees it (an absolute path such as `/models`).
    pub guest: String,
}

/// Limits and grants of one plugin stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// Resource limits.
    pub limits: Limits,
    /// Capability grants.
    pub grants: Grants,
}

impl Sandbox {
    /// The default limits with the given grants.
    pub fn with_grants(grants: Grants) -> Self {
        Self {
            limits: Limits::default(),
            grants,
        }
    }

    /// These limits with no grants.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            grants: Grants::default(),
        }
    }
}
