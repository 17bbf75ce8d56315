//! The host side of `quiver:transform/compute@0.2.0`: the host's Arrow kernels
//! (`quiver-kernels`) on column handles, bounded like guest code.
//!
//! Each call resolves its handles (stale ones trap as invalid outputs, see `columns.rs`),
//! checks the call's budgets before any work, runs the kernel natively, and hands back a new
//! handle. The bounds, documented in `docs/kernels.md`:
//!
//! - **Memory**: a result's bytes count against the stage's memory limit together with the
//!   guest's linear memory and the call's other host columns; a kernel whose output would not
//!   fit is refused before it allocates where its size is known (`Budget::max_output_bytes`)
//!   and after otherwise, as the out-of-memory trap kind.
//! - **Time**: a kernel is linear in its input. Before it starts, its rows × a per-row cost
//!   (generous estimates per family, [`cost`]) must fit in what is left of the call's
//!   deadline; otherwise the call traps as a deadline. The kernel's wall time then counts
//!   toward the deadline like guest code.
//! - **Fuel**: metered plugins are charged `FUEL_PER_ROW × rows × family weight` per kernel
//!   call; a call whose kernels would use more fuel than its budget traps as out of fuel.
//! - **Regexes** compile under `Budget::max_regex_bytes` (1 MiB): over it is a config error.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Array, ArrayRef, BooleanArray};
use arrow_schema::TimeUnit;
use quiver_kernels as k;
use wasmtime::component::Resource;

use crate::bindings::v2::compute::{
    AggOp, ArithOp, CmpOp, DecimalValue, Encoding, Host, LogicOp, Operand, Scalar, StrMatchOp,
    StrOp, TemporalPart, TimestampValue, UnaryOp,
};
use crate::bindings::v2::types::{
    ConfigError, DataError, Error as WitError, Field, TimeUnit as WitUnit,
};
use crate::columns::{ColumnRes, HostTrap, MAX_HANDLES};
use crate::state::StoreState;
use crate::tree::field_nodes_to_type;

/// Fuel charged per input row of a kernel call (× the family's weight, [`cost`]): about
/// what a tight guest loop burns per row for the same work.
pub const FUEL_PER_ROW: u64 = 4;

/// Largest compiled regex a plugin may ask for (bytes of the compiled program).
pub const MAX_REGEX_BYTES: usize = 1 << 20;

/// Largest HMAC key file a kernel reads.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Fewest bytes an HMAC key may have, trailing whitespace not counted: 128 bits.
pub const MIN_KEY_BYTES: usize = 16;

/// Key files an instance keeps once read; a plugin naming more has the others read on
/// every call.
pub(crate) const MAX_KEYS_KEPT: usize = 8;

/// How heavy a kernel family is per row: the time estimate (ns) and the fuel weight.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Nanoseconds per row this family may take at most on a slow machine.
    pub ns_per_row: u64,
    /// Multiplier of [`FUEL_PER_ROW`].
    pub fuel_weight: u64,
}

/// Per-row cost of each kernel family (generous: they only refuse calls that cannot fit).
pub const fn cost(family: Family) -> Cost {
    match family {
        Family::Numeric => Cost {
            ns_per_row: 4,
            fuel_weight: 1,
        },
        Family::String => Cost {
            ns_per_row: 40,
            fuel_weight: 8,
        },
        Family::Regex => Cost {
            ns_per_row: 400,
            fuel_weight: 64,
        },
        Family::Hash => Cost {
            ns_per_row: 2000,
            fuel_weight: 256,
        },
    }
}

/// Kernel families by per-row cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Arithmetic, comparisons, logic, nulls, casts of numbers, selection, aggregates.
    Numeric,
    /// String kernels, casts to and from strings, temporal parts.
    String,
    /// Regular expressions.
    Regex,
    /// SHA-256 and HMAC.
    Hash,
}

/// A kernel's refusal as the guest sees it (data, config) or a trap (limits).
fn refusal(e: k::KernelError) -> wasmtime::Result<WitError> {
    match e {
        k::KernelError::Data { row, message } => Ok(WitError::Data(DataError {
            column: None,
            row,
            message,
        })),
        k::KernelError::Invalid { message } => Ok(WitError::Config(ConfigError {
            key: String::new(),
            message,
        })),
        k::KernelError::Limit { message } => {
            Err(wasmtime::Error::new(HostTrap::OutOfMemory(message)))
        }
    }
}

fn unit(u: WitUnit) -> TimeUnit {
    match u {
        WitUnit::Second => TimeUnit::Second,
        WitUnit::Millisecond => TimeUnit::Millisecond,
        WitUnit::Microsecond => TimeUnit::Microsecond,
        WitUnit::Nanosecond => TimeUnit::Nanosecond,
    }
}

fn wit_unit(u: TimeUnit) -> WitUnit {
    match u {
        TimeUnit::Second => WitUnit::Second,
        TimeUnit::Millisecond => WitUnit::Millisecond,
        TimeUnit::Microsecond => WitUnit::Microsecond,
        TimeUnit::Nanosecond => WitUnit::Nanosecond,
    }
}

fn scalar(s: Scalar) -> k::Scalar {
    match s {
        Scalar::Null => k::Scalar::Null,
        Scalar::Boolean(b) => k::Scalar::Boolean(b),
        Scalar::Int64(v) => k::Scalar::Int64(v),
        Scalar::Uint64(v) => k::Scalar::UInt64(v),
        Scalar::Float64(v) => k::Scalar::Float64(v),
        Scalar::Utf8(v) => k::Scalar::Utf8(v),
        Scalar::Binary(v) => k::Scalar::Binary(v),
        Scalar::Date32(v) => k::Scalar::Date32(v),
        Scalar::Timestamp(t) => k::Scalar::Timestamp {
            value: t.value,
            unit: unit(t.unit),
            timezone: t.timezone,
        },
        Scalar::Decimal128(d) => k::Scalar::Decimal128 {
            value: (i128::from(d.high) << 64) | i128::from(d.low),
            precision: d.precision,
            scale: d.scale,
        },
    }
}

fn wit_scalar(s: k::Scalar) -> Scalar {
    match s {
        k::Scalar::Null => Scalar::Null,
        k::Scalar::Boolean(b) => Scalar::Boolean(b),
        k::Scalar::Int64(v) => Scalar::Int64(v),
        k::Scalar::UInt64(v) => Scalar::Uint64(v),
        k::Scalar::Float64(v) => Scalar::Float64(v),
        k::Scalar::Utf8(v) => Scalar::Utf8(v),
        k::Scalar::Binary(v) => Scalar::Binary(v),
        k::Scalar::Date32(v) => Scalar::Date32(v),
        k::Scalar::Timestamp {
            value,
            unit,
            timezone,
        } => Scalar::Timestamp(TimestampValue {
            value,
            unit: wit_unit(unit),
            timezone,
        }),
        k::Scalar::Decimal128 {
            value,
            precision,
            scale,
        } => Scalar::Decimal128(DecimalValue {
            // The low 64 bits, as stored; the high ones carry the sign.
            low: value as u64,
            high: (value >> 64) as i64,
            precision,
            scale,
        }),
    }
}

/// A resolved operand: the array behind a handle, or a scalar.
enum Arg {
    Column(ArrayRef),
    Scalar(k::Scalar),
}

impl Arg {
    fn operand(&self) -> k::Operand<'_> {
        match self {
            Arg::Column(a) => k::Operand::Column(a),
            Arg::Scalar(s) => k::Operand::Scalar(s.clone()),
        }
    }

    fn rows(&self) -> usize {
        match self {
            Arg::Column(a) => a.len(),
            Arg::Scalar(_) => 1,
        }
    }
}

impl StoreState {
    fn arg(&self, o: Operand, what: &str) -> wasmtime::Result<Arg> {
        Ok(match o {
            Operand::Column(h) => Arg::Column(self.column_array(&h, what)?),
            Operand::Scalar(s) => Arg::Scalar(scalar(s)),
        })
    }

    /// The kernel budget of this call: what is left of the memory limit.
    fn budget(&self) -> k::Budget {
        let used = self.scope.bytes.saturating_add(self.limiter.current_memory);
        k::Budget {
            max_output_bytes: self.memory_cap.saturating_sub(used),
            max_regex_bytes: MAX_REGEX_BYTES,
        }
    }

    /// Refuse a kernel of `rows` rows of `family` that cannot fit in what is left of the
    /// call's deadline or fuel; charge its fuel.
    fn admit(&mut self, what: &str, rows: usize, family: Family) -> wasmtime::Result<()> {
        let c = cost(family);
        let rows = rows as u64;
        if let Some(deadline) = self.deadline_at {
            let needs = Duration::from_nanos(rows.saturating_mul(c.ns_per_row));
            let left = deadline.saturating_duration_since(Instant::now());
            if needs > left {
                return Err(wasmtime::Error::new(HostTrap::Deadline(format!(
                    "{what} over {rows} rows may take up to {needs:?}; the call has {left:?} left"
                ))));
            }
        }
        if let Some(budget) = self.fuel_budget {
            let fuel = rows
                .saturating_mul(FUEL_PER_ROW)
                .saturating_mul(c.fuel_weight);
            self.scope.fuel = self.scope.fuel.saturating_add(fuel);
            if self.scope.fuel > budget {
                return Err(wasmtime::Error::new(HostTrap::OutOfFuel(format!(
                    "{what} over {rows} rows costs {fuel} fuel; this call's kernels have used \
                     {} of its {budget}",
                    self.scope.fuel
                ))));
            }
        }
        Ok(())
    }

    /// Hand a kernel's result to the guest as a new handle (its bytes charged).
    fn give(
        &mut self,
        result: Result<ArrayRef, k::KernelError>,
    ) -> wasmtime::Result<Result<Resource<ColumnRes>, WitError>> {
        match result {
            Ok(array) => self.charged_column(array).map(Ok),
            Err(e) => refusal(e).map(Err),
        }
    }

    /// A handle to a kernel's output, its bytes charged to the plugin's memory.
    fn charged_column(&mut self, array: ArrayRef) -> wasmtime::Result<Resource<ColumnRes>> {
        let bytes = array.get_array_memory_size();
        self.new_column(array, bytes)
    }

    /// One kernel over one column: resolve, admit, run, give.
    fn unary_kernel(
        &mut self,
        what: &str,
        input: Resource<ColumnRes>,
        family: Family,
        f: impl FnOnce(&ArrayRef, &k::Budget) -> Result<ArrayRef, k::KernelError>,
    ) -> wasmtime::Result<Result<Resource<ColumnRes>, WitError>> {
        let a = self.column_array(&input, what)?;
        self.admit(what, a.len(), family)?;
        let budget = self.budget();
        let r = f(&a, &budget);
        self.give(r)
    }

    /// The key in a key file inside one of the stage's granted directories: its bytes
    /// without trailing whitespace (a key written by `openssl rand -hex 32 > anon.key`
    /// ends with a newline), at least [`MIN_KEY_BYTES`] of them. `path` is as the guest
    /// sees it; `..` and symlinks that leave the grant are refused. Read once per instance
    /// (up to [`MAX_KEYS_KEPT`] files). No message contains any part of the key.
    fn key(&mut self, path: &str) -> Result<Arc<[u8]>, String> {
        if let Some((_, key)) = self.keys.iter().find(|(p, _)| p == path) {
            return Ok(Arc::clone(key));
        }
        let mut bytes = self.key_file(path)?;
        while bytes.last().is_some_and(u8::is_ascii_whitespace) {
            bytes.pop();
        }
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key in key file {path} has {} bytes (trailing whitespace not counted); \
                 use at least {MIN_KEY_BYTES} random bytes (e.g. `openssl rand -hex 32 > anon.key`)",
                bytes.len()
            ));
        }
        let key: Arc<[u8]> = bytes.into();
        if self.keys.len() < MAX_KEYS_KEPT {
            self.keys.push((path.to_owned(), Arc::clone(&key)));
        }
        Ok(key)
    }

    /// The bytes of a key file inside one of the stage's granted directories.
    fn key_file(&self, path: &str) -> Result<Vec<u8>, String> {
        let wanted = Path::new(path);
        let grant = self
            .grants
            .dirs
            .iter()
            .find(|g| wanted.starts_with(&g.guest))
            .ok_or_else(|| {
                format!(
                    "key file {path} is not inside a granted directory; grant its folder \
                     with `grants.dirs`"
                )
            })?;
        let rel = wanted.strip_prefix(&grant.guest).unwrap_or(Path::new(""));
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(format!(
                "key file {path}: `..` and the like are not allowed"
            ));
        }
        let root = std::fs::canonicalize(&grant.host)
            .map_err(|e| format!("key file {path}: the granted directory: {e}"))?;
        let host: PathBuf = std::fs::canonicalize(root.join(rel))
            .map_err(|e| format!("cannot read key file {path}: {e}"))?;
        if !host.starts_with(&root) {
            return Err(format!("key file {path} leaves its granted directory"));
        }
        let meta = std::fs::metadata(&host).map_err(|e| format!("key file {path}: {e}"))?;
        if meta.len() > MAX_KEY_BYTES {
            return Err(format!(
                "key file {path} has {} bytes; a key file holds at most {MAX_KEY_BYTES}",
                meta.len()
            ));
        }
        std::fs::read(&host).map_err(|e| format!("cannot read key file {path}: {e}"))
    }
}

type Handle = wasmtime::Result<Result<Resource<ColumnRes>, WitError>>;

fn arith_op(op: ArithOp) -> k::ArithOp {
    match op {
        ArithOp::Add => k::ArithOp::Add,
        ArithOp::Subtract => k::ArithOp::Subtract,
        ArithOp::Multiply => k::ArithOp::Multiply,
        ArithOp::Divide => k::ArithOp::Divide,
        ArithOp::Modulo => k::ArithOp::Modulo,
        ArithOp::Power => k::ArithOp::Power,
    }
}

fn encoding(e: Encoding) -> k::Encoding {
    match e {
        Encoding::Hex => k::Encoding::Hex,
        Encoding::Base64url => k::Encoding::Base64Url,
        Encoding::Raw => k::Encoding::Raw,
    }
}

/// A typed kernel result as a column.
fn arr<A: Array + 'static>(r: Result<A, k::KernelError>) -> Result<ArrayRef, k::KernelError> {
    r.map(|a| Arc::new(a) as ArrayRef)
}

/// A boolean column behind a handle (masks, filters).
fn boolean(a: &ArrayRef, what: &str) -> Result<BooleanArray, k::KernelError> {
    a.as_any()
        .downcast_ref::<BooleanArray>()
        .cloned()
        .ok_or_else(|| k::KernelError::Invalid {
            message: format!("{what} needs a boolean column, got {}", a.data_type()),
        })
}

impl Host for StoreState {
    fn arith(&mut self, op: ArithOp, left: Operand, right: Operand, checked: bool) -> Handle {
        let (l, r) = (self.arg(left, "arith")?, self.arg(right, "arith")?);
        self.admit("arith", l.rows().max(r.rows()), Family::Numeric)?;
        let out = k::arith(arith_op(op), l.operand(), r.operand(), checked);
        self.give(out)
    }

    fn affine(
        &mut self,
        input: Resource<ColumnRes>,
        scale: Scalar,
        offset: Scalar,
        min: Option<Scalar>,
        max: Option<Scalar>,
    ) -> Handle {
        let (scale, offset) = (scalar(scale), scalar(offset));
        let (min, max) = (min.map(scalar), max.map(scalar));
        self.unary_kernel("affine", input, Family::Numeric, |a, _| {
            k::affine(a, &scale, &offset, min.as_ref(), max.as_ref())
        })
    }

    fn unary(&mut self, op: UnaryOp, input: Resource<ColumnRes>) -> Handle {
        let op = match op {
            UnaryOp::Negate => k::UnaryOp::Negate,
            UnaryOp::Abs => k::UnaryOp::Abs,
            UnaryOp::Sqrt => k::UnaryOp::Sqrt,
            UnaryOp::Exp => k::UnaryOp::Exp,
            UnaryOp::Ln => k::UnaryOp::Ln,
            UnaryOp::Log10 => k::UnaryOp::Log10,
            UnaryOp::Log2 => k::UnaryOp::Log2,
            UnaryOp::Floor => k::UnaryOp::Floor,
            UnaryOp::Ceil => k::UnaryOp::Ceil,
            UnaryOp::Sign => k::UnaryOp::Sign,
        };
        self.unary_kernel("unary", input, Family::Numeric, |a, _| k::unary(op, a))
    }

    fn round(&mut self, input: Resource<ColumnRes>, decimals: i32) -> Handle {
        self.unary_kernel("round", input, Family::Numeric, |a, _| {
            k::round(a, decimals)
        })
    }

    fn clip(
        &mut self,
        input: Resource<ColumnRes>,
        min: Option<Scalar>,
        max: Option<Scalar>,
    ) -> Handle {
        let (min, max) = (min.map(scalar), max.map(scalar));
        self.unary_kernel("clip", input, Family::Numeric, |a, _| k::clip(a, min, max))
    }

    fn compare(&mut self, op: CmpOp, left: Operand, right: Operand) -> Handle {
        let op = match op {
            CmpOp::Eq => k::CmpOp::Eq,
            CmpOp::Ne => k::CmpOp::Ne,
            CmpOp::Lt => k::CmpOp::Lt,
            CmpOp::Le => k::CmpOp::Le,
            CmpOp::Gt => k::CmpOp::Gt,
            CmpOp::Ge => k::CmpOp::Ge,
        };
        let (l, r) = (self.arg(left, "compare")?, self.arg(right, "compare")?);
        self.admit("compare", l.rows().max(r.rows()), Family::Numeric)?;
        let out =
            k::compare(op, l.operand(), r.operand()).map(|b| std::sync::Arc::new(b) as ArrayRef);
        self.give(out)
    }

    fn logic(
        &mut self,
        op: LogicOp,
        left: Resource<ColumnRes>,
        right: Resource<ColumnRes>,
    ) -> Handle {
        let op = match op {
            LogicOp::And => k::LogicOp::And,
            LogicOp::Or => k::LogicOp::Or,
            LogicOp::Xor => k::LogicOp::Xor,
            LogicOp::AndNot => k::LogicOp::AndNot,
        };
        let (l, r) = (
            self.column_array(&left, "logic")?,
            self.column_array(&right, "logic")?,
        );
        self.admit("logic", l.len(), Family::Numeric)?;
        let out = arr(k::logic(op, k::Operand::Column(&l), k::Operand::Column(&r)));
        self.give(out)
    }

    fn not(&mut self, input: Resource<ColumnRes>) -> Handle {
        self.unary_kernel("not", input, Family::Numeric, |a, _| arr(k::not(a)))
    }

    fn is_null(&mut self, input: Resource<ColumnRes>) -> Handle {
        self.unary_kernel("is-null", input, Family::Numeric, |a, _| arr(k::is_null(a)))
    }

    fn is_not_null(&mut self, input: Resource<ColumnRes>) -> Handle {
        self.unary_kernel("is-not-null", input, Family::Numeric, |a, _| {
            arr(k::is_not_null(a))
        })
    }

    fn fill_null(&mut self, input: Resource<ColumnRes>, value: Operand) -> Handle {
        let v = self.arg(value, "fill-null")?;
        self.unary_kernel("fill-null", input, Family::Numeric, |a, b| {
            k::fill_null(a, v.operand(), b)
        })
    }

    fn coalesce(&mut self, parts: Vec<Operand>) -> Handle {
        let args = parts
            .into_iter()
            .map(|p| self.arg(p, "coalesce"))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let rows = args.iter().map(Arg::rows).max().unwrap_or(0);
        self.admit("coalesce", rows.saturating_mul(args.len()), Family::Numeric)?;
        let operands: Vec<k::Operand<'_>> = args.iter().map(Arg::operand).collect();
        let budget = self.budget();
        let out = k::coalesce(&operands, &budget);
        self.give(out)
    }

    fn cast(&mut self, input: Resource<ColumnRes>, to: Vec<Field>, safe: bool) -> Handle {
        let to = match field_nodes_to_type(to) {
            Ok(t) => t,
            Err(e) => {
                return Ok(Err(WitError::Config(ConfigError {
                    key: String::new(),
                    message: format!("cast: the target type: {e}"),
                })));
            }
        };
        self.unary_kernel("cast", input, Family::String, |a, b| {
            k::cast(a, &to, safe, b)
        })
    }

    fn filter(&mut self, input: Resource<ColumnRes>, mask: Resource<ColumnRes>) -> Handle {
        let m = self.column_array(&mask, "filter")?;
        self.unary_kernel("filter", input, Family::Numeric, |a, _| {
            k::filter(a, &boolean(&m, "filter")?)
        })
    }

    fn filter_many(
        &mut self,
        inputs: Vec<Resource<ColumnRes>>,
        mask: Resource<ColumnRes>,
    ) -> wasmtime::Result<Result<Vec<Resource<ColumnRes>>, WitError>> {
        const WHAT: &str = "filter-many";
        // Every input gets a new handle back: a list longer than the handles left is
        // refused before anything is resolved or allocated for it.
        if inputs.len() > MAX_HANDLES.saturating_sub(self.scope.live) {
            return Err(wasmtime::Error::new(HostTrap::TooManyHandles));
        }
        let m = self.column_array(&mask, WHAT)?;
        let arrays = inputs
            .iter()
            .map(|h| self.column_array(h, WHAT))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let rows = arrays.iter().map(|a| a.len()).sum();
        self.admit(WHAT, rows, Family::Numeric)?;
        let filtered = match boolean(&m, WHAT).and_then(|m| k::filter_many(&arrays, &m)) {
            Ok(f) => f,
            Err(e) => return refusal(e).map(Err),
        };
        filtered
            .into_iter()
            .map(|array| self.charged_column(array))
            .collect::<wasmtime::Result<Vec<_>>>()
            .map(Ok)
    }

    fn take(&mut self, input: Resource<ColumnRes>, indices: Resource<ColumnRes>) -> Handle {
        let idx = self.column_array(&indices, "take")?;
        self.admit("take", idx.len(), Family::Numeric)?;
        self.unary_kernel("take", input, Family::Numeric, |a, b| k::take(a, &idx, b))
    }

    fn slice(&mut self, input: Resource<ColumnRes>, offset: u64, len: u64) -> Handle {
        self.unary_kernel("slice", input, Family::Numeric, |a, _| {
            k::slice(a, offset, len)
        })
    }

    fn is_in(&mut self, input: Resource<ColumnRes>, values: Resource<ColumnRes>) -> Handle {
        let v = self.column_array(&values, "is-in")?;
        self.admit("is-in", v.len(), Family::Numeric)?;
        self.unary_kernel("is-in", input, Family::Numeric, |a, _| arr(k::is_in(a, &v)))
    }

    fn str_unary(&mut self, op: StrOp, input: Resource<ColumnRes>) -> Handle {
        let op = match op {
            StrOp::Length => k::StrOp::Length,
            StrOp::ToLower => k::StrOp::Lower,
            StrOp::ToUpper => k::StrOp::Upper,
            StrOp::Trim => k::StrOp::Trim,
            StrOp::TrimStart => k::StrOp::TrimStart,
            StrOp::TrimEnd => k::StrOp::TrimEnd,
        };
        self.unary_kernel("str-unary", input, Family::String, |a, b| {
            k::str_unary(op, a, b)
        })
    }

    fn str_match(&mut self, op: StrMatchOp, input: Resource<ColumnRes>, pattern: String) -> Handle {
        self.unary_kernel("str-match", input, Family::String, |a, _| match op {
            StrMatchOp::Contains => arr(k::contains(a, &pattern)),
            StrMatchOp::StartsWith => arr(k::starts_with(a, &pattern)),
            StrMatchOp::EndsWith => arr(k::ends_with(a, &pattern)),
        })
    }

    fn regex_match(&mut self, input: Resource<ColumnRes>, pattern: String) -> Handle {
        self.unary_kernel("regex-match", input, Family::Regex, |a, b| {
            arr(k::regex_match(a, &pattern, b))
        })
    }

    fn regex_replace(
        &mut self,
        input: Resource<ColumnRes>,
        pattern: String,
        replacement: String,
        all: bool,
    ) -> Handle {
        self.unary_kernel("regex-replace", input, Family::Regex, |a, b| {
            k::regex_replace(a, &pattern, &replacement, all, b)
        })
    }

    fn substring(&mut self, input: Resource<ColumnRes>, start: i64, len: Option<u64>) -> Handle {
        self.unary_kernel("substring", input, Family::String, |a, _| {
            k::substring(a, start, len)
        })
    }

    fn concat(&mut self, parts: Vec<Operand>, separator: String) -> Handle {
        let args = parts
            .into_iter()
            .map(|p| self.arg(p, "concat"))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let rows = args.iter().map(Arg::rows).max().unwrap_or(0);
        self.admit("concat", rows.saturating_mul(args.len()), Family::String)?;
        let operands: Vec<k::Operand<'_>> = args.iter().map(Arg::operand).collect();
        let budget = self.budget();
        let out = k::concat(&operands, &separator, &budget);
        self.give(out)
    }

    fn date_part(
        &mut self,
        part: TemporalPart,
        input: Resource<ColumnRes>,
        timezone: Option<String>,
    ) -> Handle {
        let part = match part {
            TemporalPart::Year => k::DatePart::Year,
            TemporalPart::Quarter => k::DatePart::Quarter,
            TemporalPart::Month => k::DatePart::Month,
            TemporalPart::Day => k::DatePart::Day,
            TemporalPart::DayOfWeek => k::DatePart::DayOfWeek,
            TemporalPart::DayOfYear => k::DatePart::DayOfYear,
            TemporalPart::Hour => k::DatePart::Hour,
            TemporalPart::Minute => k::DatePart::Minute,
            TemporalPart::Second => k::DatePart::Second,
            TemporalPart::Millisecond => k::DatePart::Millisecond,
            TemporalPart::Microsecond => k::DatePart::Microsecond,
            TemporalPart::Nanosecond => k::DatePart::Nanosecond,
            TemporalPart::Week => k::DatePart::Week,
        };
        self.unary_kernel("date-part", input, Family::String, |a, _| {
            arr(k::date_part(part, a, timezone.as_deref()))
        })
    }

    fn sha256(&mut self, input: Resource<ColumnRes>, e: Encoding) -> Handle {
        self.unary_kernel("sha256", input, Family::Hash, |a, _| {
            k::sha256(a, encoding(e))
        })
    }

    fn hmac_sha256(&mut self, input: Resource<ColumnRes>, key_file: String, e: Encoding) -> Handle {
        let key = match self.key(&key_file) {
            Ok(k) => k,
            Err(message) => {
                return Ok(Err(WitError::Config(ConfigError {
                    key: String::new(),
                    message,
                })));
            }
        };
        self.unary_kernel("hmac-sha256", input, Family::Hash, |a, _| {
            k::hmac_sha256(a, &key, encoding(e))
        })
    }

    fn aggregate(
        &mut self,
        op: AggOp,
        input: Resource<ColumnRes>,
    ) -> wasmtime::Result<Result<Scalar, WitError>> {
        let op = match op {
            AggOp::Count => k::AggOp::Count,
            AggOp::CountAll => k::AggOp::CountAll,
            AggOp::NullCount => k::AggOp::NullCount,
            AggOp::Sum => k::AggOp::Sum,
            AggOp::Min => k::AggOp::Min,
            AggOp::Max => k::AggOp::Max,
            AggOp::Mean => k::AggOp::Mean,
            AggOp::Stddev => k::AggOp::Stddev,
            AggOp::Variance => k::AggOp::Variance,
            AggOp::DistinctCount => k::AggOp::DistinctCount,
        };
        let a = self.column_array(&input, "aggregate")?;
        self.admit("aggregate", a.len(), Family::Numeric)?;
        match k::aggregate(op, &a) {
            Ok(s) => Ok(Ok(wit_scalar(s))),
            Err(e) => refusal(e).map(Err),
        }
    }
}
