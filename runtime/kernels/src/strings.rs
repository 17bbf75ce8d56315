//! String kernels over `Utf8` and `LargeUtf8` (`Utf8View` is normalised by the caller):
//! `str_unary` (length, lower, upper, trims), `contains`/`starts_with`/`ends_with`
//! (arrow-string's `like` kernels), `substring` (arrow-string's `substring_by_char`) and
//! `concat`.
//!
//! arrow-string has no case mapping, trim, character length or separator-joined concat, so
//! those are loops here. They write through [`StringOut`], which stops at the budget before
//! allocating past it. Lengths and positions count characters (Unicode scalar values), as
//! Python's `len` and pandas' `.str` do, not bytes.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, GenericStringArray, LargeStringArray, OffsetSizeTrait,
    PrimitiveArray, StringArray,
};
use arrow_buffer::{Buffer, OffsetBuffer};
use arrow_schema::DataType;

use crate::budget::{self, Budget, StringOut};
use crate::coerce::{self, Arg};
use crate::error::arrow_invalid;
use crate::{KernelError, Operand};

/// A one-string operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrOp {
    /// Characters in the string (`.str.len()`): Int32 for `Utf8`, Int64 for `LargeUtf8`.
    Length,
    /// Unicode lower case (`.str.lower()`).
    Lower,
    /// Unicode upper case (`.str.upper()`; `ß` becomes `SS`, so strings can grow).
    Upper,
    /// Without leading and trailing Unicode white space (`.str.strip()`).
    Trim,
    /// Without leading white space (`.str.lstrip()`).
    TrimStart,
    /// Without trailing white space (`.str.rstrip()`).
    TrimEnd,
}

/// [`KernelError::Invalid`] unless `a` is a string column.
pub(crate) fn require_string(kernel: &str, a: &ArrayRef) -> Result<(), KernelError> {
    if coerce::is_string(a.data_type()) {
        Ok(())
    } else {
        Err(KernelError::invalid(
            kernel,
            format!("takes Utf8 or LargeUtf8, not {}", a.data_type()),
        ))
    }
}

/// `op` on every string of `a`; nulls stay null. Lower and Upper can grow a string (up to
/// 3× its bytes), so they write within `budget`.
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not a string column; [`KernelError::Limit`] when
/// the output passes `budget.max_output_bytes`.
pub fn str_unary(op: StrOp, a: &ArrayRef, budget: &Budget) -> Result<ArrayRef, KernelError> {
    let kernel = format!("str_unary({op:?})");
    let kernel = kernel.as_str();
    require_string(kernel, a)?;
    match a.data_type() {
        DataType::Utf8 => str_unary_of::<i32>(kernel, op, a.as_string::<i32>(), budget),
        _ => str_unary_of::<i64>(kernel, op, a.as_string::<i64>(), budget),
    }
}

fn str_unary_of<O: OffsetSizeTrait>(
    kernel: &str,
    op: StrOp,
    a: &GenericStringArray<O>,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    // The outputs whose size is known in advance are checked before they are built: the
    // lengths (fixed width) and an ASCII case mapping (the input's size exactly).
    match op {
        StrOp::Length => {
            let to = if O::IS_LARGE {
                DataType::Int64
            } else {
                DataType::Int32
            };
            let bytes = budget::fixed_width_bytes(&to, a.len()).unwrap_or(usize::MAX);
            budget::check(kernel, budget, bytes)?;
        }
        StrOp::Lower | StrOp::Upper if a.is_ascii() => {
            let fixed = (a.len() + 1) * O::get_byte_width() + a.len().div_ceil(8);
            budget::check(kernel, budget, value_bytes(a).saturating_add(fixed))?;
        }
        _ => {}
    }
    match op {
        StrOp::Length if a.is_ascii() => {
            arrow_string::length::length(a).map_err(|e| arrow_invalid(kernel, e))
        }
        StrOp::Length if O::IS_LARGE => {
            Ok(Arc::new(PrimitiveArray::<Int64Type>::from_unary(a, |s| {
                s.chars().count() as i64
            })))
        }
        StrOp::Length => Ok(Arc::new(PrimitiveArray::<Int32Type>::from_unary(a, |s| {
            s.chars().count() as i32
        }))),
        StrOp::Lower | StrOp::Upper if a.is_ascii() => {
            let upper = op == StrOp::Upper;
            Ok(Arc::new(
                ascii_case(a, upper).map_err(|e| arrow_invalid(kernel, e))?,
            ))
        }
        StrOp::Lower | StrOp::Upper => {
            let mut out = StringOut::<O>::new(kernel, budget, a.len(), value_bytes(a))?;
            for value in a.iter() {
                match value {
                    None => out.push_null(),
                    Some(s) if op == StrOp::Lower => out.push(kernel, &s.to_lowercase())?,
                    Some(s) => out.push(kernel, &s.to_uppercase())?,
                }
            }
            Ok(out.finish())
        }
        StrOp::Trim | StrOp::TrimStart | StrOp::TrimEnd => {
            let trim: fn(&str) -> &str = match op {
                StrOp::Trim => str::trim,
                StrOp::TrimStart => str::trim_start,
                _ => str::trim_end,
            };
            let mut out = StringOut::<O>::new(kernel, budget, a.len(), value_bytes(a))?;
            for value in a.iter() {
                match value {
                    None => out.push_null(),
                    Some(s) => out.push(kernel, trim(s))?,
                }
            }
            Ok(out.finish())
        }
    }
}

/// The bytes of the values of a (possibly sliced) string column.
pub(crate) fn value_bytes<O: OffsetSizeTrait>(a: &GenericStringArray<O>) -> usize {
    let offsets = a.value_offsets();
    match (offsets.first(), offsets.last()) {
        (Some(first), Some(last)) => (*last - *first).as_usize(),
        _ => 0,
    }
}

/// ASCII-only strings in another case: every byte keeps its length, so the offsets stay
/// (rebased to the slice) and the value bytes are mapped in one vectorisable pass.
fn ascii_case<O: OffsetSizeTrait>(
    a: &GenericStringArray<O>,
    upper: bool,
) -> Result<GenericStringArray<O>, arrow_schema::ArrowError> {
    let offsets = a.value_offsets();
    let (first, last) = (offsets[0].as_usize(), offsets[a.len()].as_usize());
    let bytes = &a.value_data()[first..last];
    let mapped: Vec<u8> = if upper {
        bytes.iter().map(u8::to_ascii_uppercase).collect()
    } else {
        bytes.iter().map(u8::to_ascii_lowercase).collect()
    };
    let base = offsets[0];
    let rebased = OffsetBuffer::new(offsets.iter().map(|o| *o - base).collect::<Vec<_>>().into());
    // `try_new` validates offsets and UTF-8; ASCII mapped to ASCII stays valid at the same
    // boundaries, so it cannot fail.
    GenericStringArray::try_new(rebased, Buffer::from_vec(mapped), a.nulls().cloned())
}

/// The pattern as a one-row arrow scalar of the column's string type.
fn pattern_datum(a: &ArrayRef, pattern: &str) -> Arg {
    let array: ArrayRef = match a.data_type() {
        DataType::LargeUtf8 => Arc::new(LargeStringArray::from(vec![pattern])),
        _ => Arc::new(StringArray::from(vec![pattern])),
    };
    Arg {
        array,
        scalar: true,
    }
}

/// Which literal test `like_kernel` runs.
#[derive(Clone, Copy)]
enum Literal {
    Contains,
    StartsWith,
    EndsWith,
}

fn like_kernel(
    kernel: &str,
    which: Literal,
    a: &ArrayRef,
    pattern: &str,
) -> Result<BooleanArray, KernelError> {
    require_string(kernel, a)?;
    let column = Arg::column(a);
    let pattern = pattern_datum(a, pattern);
    let result = match which {
        Literal::Contains => arrow_string::like::contains(&column, &pattern),
        Literal::StartsWith => arrow_string::like::starts_with(&column, &pattern),
        Literal::EndsWith => arrow_string::like::ends_with(&column, &pattern),
    };
    result.map_err(|e| arrow_invalid(kernel, e))
}

/// Whether each string contains `pattern`, literally (`.str.contains(p, regex=False)`).
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not a string column.
pub fn contains(a: &ArrayRef, pattern: &str) -> Result<BooleanArray, KernelError> {
    like_kernel("contains", Literal::Contains, a, pattern)
}

/// Whether each string starts with `prefix` (`.str.startswith(p)`).
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not a string column.
pub fn starts_with(a: &ArrayRef, prefix: &str) -> Result<BooleanArray, KernelError> {
    like_kernel("starts_with", Literal::StartsWith, a, prefix)
}

/// Whether each string ends with `suffix` (`.str.endswith(p)`).
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not a string column.
pub fn ends_with(a: &ArrayRef, suffix: &str) -> Result<BooleanArray, KernelError> {
    like_kernel("ends_with", Literal::EndsWith, a, suffix)
}

/// `length` characters of each string from character `start` (`.str.slice(start, start +
/// length)`, `.str[-3:]`): a negative `start` counts from the end, and a string shorter
/// than `-start` starts at its beginning; `None` takes the rest. Never longer than its input.
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not a string column.
pub fn substring(a: &ArrayRef, start: i64, length: Option<u64>) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "substring";
    require_string(KERNEL, a)?;
    let out: ArrayRef = match a.data_type() {
        DataType::Utf8 => Arc::new(
            arrow_string::substring::substring_by_char(a.as_string::<i32>(), start, length)
                .map_err(|e| arrow_invalid(KERNEL, e))?,
        ),
        _ => Arc::new(
            arrow_string::substring::substring_by_char(a.as_string::<i64>(), start, length)
                .map_err(|e| arrow_invalid(KERNEL, e))?,
        ),
    };
    Ok(out)
}

/// One part of a `concat`, readable at any row.
enum Part<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Text(&'a str),
}

impl Part<'_> {
    /// The bytes this part adds to `rows` rows at most.
    fn bytes(&self, rows: usize) -> usize {
        match self {
            Part::Utf8(a) => value_bytes(a),
            Part::LargeUtf8(a) => value_bytes(a),
            Part::Text(s) => s.len().saturating_mul(rows),
        }
    }

    fn get(&self, row: usize) -> Option<&str> {
        match self {
            Part::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Part::LargeUtf8(a) => a.is_valid(row).then(|| a.value(row)),
            Part::Text(s) => Some(s),
        }
    }
}

/// Each row's parts joined by `separator` (`df.a + "-" + df.b`, `.str.cat(sep=...)`): null
/// when any part is null (pandas' `+` agrees; use `fill_null` first for another rule). Parts
/// are string columns or string scalars; the result is `LargeUtf8` if any part is, else
/// `Utf8`.
///
/// # Errors
/// [`KernelError::Invalid`] for no column, columns of different lengths or a part that is
/// not a string (cast it first); [`KernelError::Limit`] when the output passes
/// `budget.max_output_bytes` — stopped before allocating past it.
pub fn concat(
    parts: &[Operand<'_>],
    separator: &str,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "concat";
    let args = parts.iter().map(Arg::new).collect::<Result<Vec<_>, _>>()?;
    let rows = coerce::rows(KERNEL, &args.iter().collect::<Vec<_>>())?;
    let mut large = false;
    for arg in &args {
        match arg.data_type() {
            DataType::Utf8 | DataType::Null => {}
            DataType::LargeUtf8 => large = true,
            other => {
                return Err(KernelError::invalid(
                    KERNEL,
                    format!("parts must be strings, not {other}; cast them first"),
                ));
            }
        }
    }
    let to = if large {
        DataType::LargeUtf8
    } else {
        DataType::Utf8
    };
    // A null scalar or a column of type Null: every row is null.
    if args.iter().any(|a| *a.data_type() == DataType::Null) {
        return Ok(arrow_array::new_null_array(&to, rows));
    }
    let parts: Vec<Part<'_>> = args
        .iter()
        .map(|a| match (a.data_type(), a.scalar) {
            (DataType::Utf8, true) => Part::Text(a.array.as_string::<i32>().value(0)),
            (DataType::LargeUtf8, true) => Part::Text(a.array.as_string::<i64>().value(0)),
            (DataType::LargeUtf8, false) => Part::LargeUtf8(a.array.as_string::<i64>()),
            _ => Part::Utf8(a.array.as_string::<i32>()),
        })
        .collect();
    if large {
        concat_into::<i64>(KERNEL, &parts, separator, rows, budget)
    } else {
        concat_into::<i32>(KERNEL, &parts, separator, rows, budget)
    }
}

/// The `concat` loop: arrow-string's `concat_elements` takes no separator and no scalars,
/// and spreading each scalar into a column first would double the peak memory.
fn concat_into<O: OffsetSizeTrait>(
    kernel: &str,
    parts: &[Part<'_>],
    separator: &str,
    rows: usize,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    let separators = separator.len() * parts.len().saturating_sub(1);
    let hint = parts
        .iter()
        .fold(separators.saturating_mul(rows), |sum, p| {
            sum.saturating_add(p.bytes(rows))
        });
    let mut out = StringOut::<O>::new(kernel, budget, rows, hint)?;
    let mut values: Vec<&str> = Vec::with_capacity(parts.len());
    for row in 0..rows {
        values.clear();
        for part in parts {
            match part.get(row) {
                Some(v) => values.push(v),
                None => break,
            }
        }
        if values.len() < parts.len() {
            out.push_null();
            continue;
        }
        let len = values.iter().map(|v| v.len()).sum::<usize>()
            + separator.len() * values.len().saturating_sub(1);
        out.push_parts(kernel, len, |b| {
            // `GenericStringBuilder`'s `write_str` appends to the open value; it never fails.
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    let _ = b.write_str(separator);
                }
                let _ = b.write_str(v);
            }
        })?;
    }
    Ok(out.finish())
}
