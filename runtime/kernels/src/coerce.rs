//! Operands made ready for an arrow kernel: [`Arg`] (a column or a one-row scalar, arrow's
//! `Datum`), the row count of a call, and the type promotion table.
//!
//! Arrow's binary kernels take two operands of the *same* type; pandas users write
//! `int32_col * 1.5` and `int8_col + int64_col`. The promotion rules that bridge the two
//! live here, in one place, and `docs/kernels.md` prints them as one table:
//!
//! - same type → that type; `Null` with anything → the other type;
//! - two integer types → the narrowest integer type holding both (`Int8`+`UInt8` → `Int16`);
//!   `Int64` with `UInt64` has none → `Float64`, as NumPy does;
//! - an integer with a float → `Float64`; two floats → the wider;
//! - `Decimal128` with `Decimal128` → enough integer and fraction digits for both (at most
//!   38); with an integer → the integer as a decimal of its digits; with a float → `Float64`;
//! - `Utf8` with `LargeUtf8` → `LargeUtf8`, `Binary` with `LargeBinary` → `LargeBinary`;
//! - `Date32` with `Date64` → `Date64`; two timestamps → the finer unit, the left zone
//!   (the instant is kept); a date with a wall-clock timestamp → the timestamp.
//!
//! A scalar is *weak* (NumPy 2's NEP 50, Polars' literals): it takes the column's type when
//! its value fits, so `int32_col + 1` is Int32 and `float32_col * 0.5` is Float32. Only when
//! it does not fit (`int8_col + 1000`) do the rules above apply.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Datum};
use arrow_schema::{DataType, TimeUnit};

use crate::{KernelError, Operand, cast::cast_located};

/// An operand ready for arrow: a column, or a scalar as a one-row array flagged as such.
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    /// The column, or the scalar's one-row array.
    pub array: ArrayRef,
    /// Whether `array` is one value broadcast over every row.
    pub scalar: bool,
}

impl Datum for Arg {
    fn get(&self) -> (&dyn Array, bool) {
        (self.array.as_ref(), self.scalar)
    }
}

impl Arg {
    /// The operand as an arrow array (a scalar becomes a one-row array).
    pub(crate) fn new(operand: &Operand<'_>) -> Result<Arg, KernelError> {
        Ok(match operand {
            Operand::Column(column) => Arg {
                array: Arc::clone(column),
                scalar: false,
            },
            Operand::Scalar(scalar) => Arg {
                array: scalar.to_array()?,
                scalar: true,
            },
        })
    }

    /// A column operand.
    pub(crate) fn column(array: &ArrayRef) -> Arg {
        Arg {
            array: Arc::clone(array),
            scalar: false,
        }
    }

    /// The operand's type.
    pub(crate) fn data_type(&self) -> &DataType {
        self.array.data_type()
    }

    /// Rows `offset..offset + len` of a column; a scalar is the same at every row.
    pub(crate) fn slice(&self, offset: usize, len: usize) -> Arg {
        if self.scalar {
            self.clone()
        } else {
            Arg {
                array: self.array.slice(offset, len),
                scalar: false,
            }
        }
    }

    /// The operand cast to `to` by arrow-cast's rules, refusing values that do not cast.
    ///
    /// # Errors
    /// A scalar that does not cast is [`KernelError::Invalid`] (it is an argument); a
    /// column value is [`KernelError::Data`] naming the row.
    pub(crate) fn cast(&self, kernel: &str, to: &DataType) -> Result<Arg, KernelError> {
        if self.data_type() == to {
            return Ok(self.clone());
        }
        match cast_located(kernel, &self.array, to, false) {
            Ok(array) => Ok(Arg {
                array,
                scalar: self.scalar,
            }),
            Err(KernelError::Data { .. }) if self.scalar => Err(KernelError::invalid(
                kernel,
                format!(
                    "the scalar {} does not fit {to}",
                    crate::error::show_value(self.array.as_ref(), 0)
                ),
            )),
            Err(e) => Err(e),
        }
    }
}

/// The number of rows a call works on: the length shared by its column operands.
///
/// # Errors
/// [`KernelError::Invalid`] if no operand is a column (the result would have no length), or
/// if two columns differ in length (naming both lengths).
pub(crate) fn rows(kernel: &str, args: &[&Arg]) -> Result<usize, KernelError> {
    let mut rows: Option<usize> = None;
    for arg in args.iter().filter(|a| !a.scalar) {
        match rows {
            None => rows = Some(arg.array.len()),
            Some(n) if n != arg.array.len() => {
                return Err(KernelError::invalid(
                    kernel,
                    format!(
                        "the columns have different lengths ({n} and {} rows)",
                        arg.array.len()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    rows.ok_or_else(|| KernelError::invalid(kernel, "at least one operand must be a column"))
}

/// Signedness and width in bits of an integer type.
fn int_info(data_type: &DataType) -> Option<(bool, u8)> {
    Some(match data_type {
        DataType::Int8 => (true, 8),
        DataType::Int16 => (true, 16),
        DataType::Int32 => (true, 32),
        DataType::Int64 => (true, 64),
        DataType::UInt8 => (false, 8),
        DataType::UInt16 => (false, 16),
        DataType::UInt32 => (false, 32),
        DataType::UInt64 => (false, 64),
        _ => return None,
    })
}

/// The integer type of a signedness and width.
fn int_type(signed: bool, bits: u8) -> DataType {
    match (signed, bits) {
        (true, 8) => DataType::Int8,
        (true, 16) => DataType::Int16,
        (true, 32) => DataType::Int32,
        (true, _) => DataType::Int64,
        (false, 8) => DataType::UInt8,
        (false, 16) => DataType::UInt16,
        (false, 32) => DataType::UInt32,
        (false, _) => DataType::UInt64,
    }
}

/// Whether `data_type` is an integer type.
pub(crate) fn is_integer(data_type: &DataType) -> bool {
    int_info(data_type).is_some()
}

/// Whether `data_type` is a signed integer type.
pub(crate) fn is_signed_integer(data_type: &DataType) -> bool {
    matches!(int_info(data_type), Some((true, _)))
}

/// Whether `data_type` is a float type.
pub(crate) fn is_float(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}

/// Whether `data_type` is a number: integer, float or `Decimal128`.
pub(crate) fn is_numeric(data_type: &DataType) -> bool {
    is_integer(data_type) || is_float(data_type) || matches!(data_type, DataType::Decimal128(..))
}

/// Whether `data_type` is `Utf8` or `LargeUtf8`.
pub(crate) fn is_string(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::LargeUtf8)
}

/// Decimal digits an integer type needs (`Int32` → 10).
fn int_digits(data_type: &DataType) -> Option<u8> {
    Some(match int_info(data_type)? {
        (_, 8) => 3,
        (_, 16) => 5,
        (_, 32) => 10,
        (true, _) => 19,
        (false, _) => 20,
    })
}

/// The decimal type holding every value of two decimals.
fn decimal_common(p1: u8, s1: i8, p2: u8, s2: i8) -> DataType {
    let scale = s1.max(s2);
    let int_digits = (i16::from(p1) - i16::from(s1)).max(i16::from(p2) - i16::from(s2));
    let precision = (int_digits + i16::from(scale)).clamp(1, 38) as u8;
    DataType::Decimal128(precision, scale)
}

/// The promotion table for two column types (see the module doc); `None` when the two
/// have no common type.
pub(crate) fn promote(left: &DataType, right: &DataType) -> Option<DataType> {
    use DataType::*;
    if left == right {
        return Some(left.clone());
    }
    Some(match (left, right) {
        (Null, other) | (other, Null) => other.clone(),
        (l, r) if is_integer(l) && is_integer(r) => {
            let (ls, lb) = int_info(l)?;
            let (rs, rb) = int_info(r)?;
            if ls == rs {
                int_type(ls, lb.max(rb))
            } else {
                let (sb, ub) = if ls { (lb, rb) } else { (rb, lb) };
                if sb > ub {
                    int_type(true, sb)
                } else if ub < 64 {
                    int_type(true, ub * 2)
                } else {
                    Float64
                }
            }
        }
        (Float16, Float32) | (Float32, Float16) => Float32,
        (l, r) if (is_float(l) || is_integer(l)) && (is_float(r) || is_integer(r)) => Float64,
        (Decimal128(p1, s1), Decimal128(p2, s2)) => decimal_common(*p1, *s1, *p2, *s2),
        (Decimal128(p, s), i) | (i, Decimal128(p, s)) if is_integer(i) => {
            decimal_common(*p, *s, int_digits(i)?, 0)
        }
        (Decimal128(..), f) | (f, Decimal128(..)) if is_float(f) => Float64,
        (Utf8, LargeUtf8) | (LargeUtf8, Utf8) => LargeUtf8,
        (Binary, LargeBinary) | (LargeBinary, Binary) => LargeBinary,
        (Date32, Date64) | (Date64, Date32) => Date64,
        (Timestamp(u1, tz1), Timestamp(u2, tz2)) if tz1.is_some() == tz2.is_some() => {
            Timestamp(finer(*u1, *u2), tz1.clone())
        }
        (Date32 | Date64, Timestamp(unit, None)) | (Timestamp(unit, None), Date32 | Date64) => {
            Timestamp(*unit, None)
        }
        _ => return None,
    })
}

/// The finer of two time units.
fn finer(a: TimeUnit, b: TimeUnit) -> TimeUnit {
    let rank = |u: TimeUnit| match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// The type a weak scalar takes next to a column of `column_type`, if it takes one.
fn weak(kernel: &str, column_type: &DataType, scalar: &Arg) -> Option<DataType> {
    use DataType::*;
    let scalar_type = scalar.data_type();
    let takes_column_type = match (scalar_type, column_type) {
        (Null, _) => true,
        (Int64 | UInt64, c) if is_integer(c) || matches!(c, Decimal128(..)) => {
            // Fits if it casts without loss.
            scalar.cast(kernel, column_type).is_ok()
        }
        (Int64 | UInt64, c) if is_float(c) => true,
        (Float64, Float16 | Float32) => true,
        (Utf8, LargeUtf8) | (Binary, LargeBinary) => true,
        _ => false,
    };
    takes_column_type.then(|| column_type.clone())
}

/// The common type of two operands: weak scalars first, then [`promote`].
///
/// # Errors
/// [`KernelError::Invalid`] naming both types when they have none.
pub(crate) fn common_type(kernel: &str, left: &Arg, right: &Arg) -> Result<DataType, KernelError> {
    let found = match (left.scalar, right.scalar) {
        (false, true) => weak(kernel, left.data_type(), right),
        (true, false) => weak(kernel, right.data_type(), left),
        _ => None,
    };
    found
        .or_else(|| promote(left.data_type(), right.data_type()))
        .ok_or_else(|| {
            KernelError::invalid(
                kernel,
                format!(
                    "{} and {} have no common type; cast one of them first",
                    left.data_type(),
                    right.data_type()
                ),
            )
        })
}

/// The common type of many operands, folded left to right, columns first so that weak
/// scalars see the columns' type.
///
/// # Errors
/// As [`common_type`].
pub(crate) fn common_type_many(kernel: &str, args: &[Arg]) -> Result<DataType, KernelError> {
    let mut ordered: Vec<&Arg> = args.iter().filter(|a| !a.scalar).collect();
    ordered.extend(args.iter().filter(|a| a.scalar));
    let Some(first) = ordered.first() else {
        return Err(KernelError::invalid(kernel, "no operands"));
    };
    let mut acc = first.data_type().clone();
    for arg in &ordered[1..] {
        let as_column = Arg {
            array: arrow_array::new_empty_array(&acc),
            scalar: false,
        };
        acc = common_type(kernel, &as_column, arg)?;
    }
    Ok(acc)
}
