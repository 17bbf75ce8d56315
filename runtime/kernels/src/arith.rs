//! `arith`: `+ − × ÷ % **` between columns and scalars, on arrow-arith's `numeric` kernels.
//!
//! Operands are promoted to a common type first (the table in [`crate::coerce`]); types
//! that are not numbers (timestamps, dates, durations, intervals) go to arrow-arith as they
//! are, which knows `timestamp − timestamp`, `date + interval` and the like.
//!
//! `checked` chooses what an integer does at the edge: checked, an overflow or a division by
//! zero is a [`KernelError::Data`] naming the first such row; unchecked, an overflow wraps
//! and a result that does not exist (`x / 0`, `x % 0`, `x ** -1`) is null, as in Polars.
//! Floats follow IEEE 754 either way (`1.0 / 0.0` is `inf`).

use std::sync::Arc;

use arrow_arith::arity;
use arrow_arith::numeric;
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, ArrowNativeTypeOp, ArrowPrimitiveType, NullArray, PrimitiveArray,
};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{ArrowError, DataType};

use crate::coerce::{self, Arg};
use crate::error::{first_failing_row, show_value, strip_arrow_prefix};
use crate::{KernelError, Operand};

/// A binary arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `left + right`.
    Add,
    /// `left − right`.
    Subtract,
    /// `left × right`.
    Multiply,
    /// `left ÷ right`; integers divide to an integer, truncating toward zero (arrow's rule).
    Divide,
    /// The remainder of `left ÷ right`, with the sign of `left` (Rust, C, SQL and arrow;
    /// Python's `%` takes the sign of `right`).
    Modulo,
    /// `left` to the power `right`; integers stay integers (a negative exponent has no
    /// integer result), decimals are refused (cast to Float64 first).
    Power,
}

impl ArithOp {
    fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Subtract => "-",
            ArithOp::Multiply => "*",
            ArithOp::Divide => "/",
            ArithOp::Modulo => "%",
            ArithOp::Power => "**",
        }
    }
}

/// `left op right`, row by row; a scalar broadcasts. See the module doc and
/// `docs/kernels.md` for the promotion table.
///
/// # Errors
/// - [`KernelError::Invalid`]: no column operand, columns of different lengths, types with
///   no common type or that arrow-arith does not combine (`Utf8 + Int64`), a scalar that
///   does not fit the common type;
/// - [`KernelError::Data`] (integers and decimals): with `checked`, the first row that
///   overflows or divides by zero, with its values; decimals are always checked.
pub fn arith(
    op: ArithOp,
    left: Operand<'_>,
    right: Operand<'_>,
    checked: bool,
) -> Result<ArrayRef, KernelError> {
    let kernel = format!("arith({op:?})");
    let kernel = kernel.as_str();
    let l = Arg::new(&left)?;
    let r = Arg::new(&right)?;
    let rows = coerce::rows(kernel, &[&l, &r])?;
    let numeric_or_null =
        |a: &Arg| coerce::is_numeric(a.data_type()) || *a.data_type() == DataType::Null;
    let (l, r) = if numeric_or_null(&l) && numeric_or_null(&r) {
        let mut to = coerce::common_type(kernel, &l, &r)?;
        if to == DataType::Null {
            return Ok(Arc::new(NullArray::new(rows)));
        }
        if op == ArithOp::Power {
            to = match to {
                DataType::Float16 => DataType::Float32,
                DataType::Decimal128(..) => {
                    return Err(KernelError::invalid(
                        kernel,
                        "Power does not take decimals; cast to Float64 first",
                    ));
                }
                other => other,
            };
        }
        (l.cast(kernel, &to)?, r.cast(kernel, &to)?)
    } else {
        (l, r)
    };
    // The rows of this (possibly sliced) pair: the column's length.
    let run = |l: &Arg, r: &Arg| {
        let rows = if l.scalar {
            r.array.len()
        } else {
            l.array.len()
        };
        apply(op, l, r, rows, checked)
    };
    match run(&l, &r) {
        Ok(out) => Ok(out),
        // Fails on no rows at all: the types are at fault, not a value.
        Err(e) if run(&l.slice(0, 0), &r.slice(0, 0)).is_err() => Err(KernelError::invalid(
            kernel,
            format!(
                "{} {} {}: {}",
                l.data_type(),
                op.symbol(),
                r.data_type(),
                strip_arrow_prefix(&e)
            ),
        )),
        Err(e) => Err(data_error(kernel, op, &l, &r, rows, e, |o, n| {
            run(&l.slice(o, n), &r.slice(o, n)).map(|_| ())
        })),
    }
}

/// The [`KernelError::Data`] of a failed row-by-row operation: the first failing row (found
/// by re-running `probe` on halves) with both operands' values there.
fn data_error(
    kernel: &str,
    op: ArithOp,
    l: &Arg,
    r: &Arg,
    rows: usize,
    whole: ArrowError,
    probe: impl Fn(usize, usize) -> Result<(), ArrowError>,
) -> KernelError {
    let Some((row, e)) = first_failing_row(rows, probe) else {
        return KernelError::data(kernel, None, strip_arrow_prefix(&whole));
    };
    let value = |a: &Arg| show_value(a.array.as_ref(), if a.scalar { 0 } else { row });
    let what = match &e {
        ArrowError::DivideByZero => "division by zero".to_string(),
        ArrowError::ArithmeticOverflow(_) => format!("overflows {}", l.data_type()),
        other => strip_arrow_prefix(other),
    };
    KernelError::data(
        kernel,
        Some(row),
        format!(
            "row {row}: {} {} {}: {what}",
            value(l),
            op.symbol(),
            value(r)
        ),
    )
}

/// One operation on operands of a common type.
fn apply(
    op: ArithOp,
    l: &Arg,
    r: &Arg,
    rows: usize,
    checked: bool,
) -> Result<ArrayRef, ArrowError> {
    let same_int = coerce::is_integer(l.data_type()) && l.data_type() == r.data_type();
    match op {
        ArithOp::Add if checked => numeric::add(l, r),
        ArithOp::Add => numeric::add_wrapping(l, r),
        ArithOp::Subtract if checked => numeric::sub(l, r),
        ArithOp::Subtract => numeric::sub_wrapping(l, r),
        ArithOp::Multiply if checked => numeric::mul(l, r),
        ArithOp::Multiply => numeric::mul_wrapping(l, r),
        // arrow-arith's integer `div`/`rem` fail on a zero divisor whatever the mode; the
        // unchecked mode wants a null there, so it gets its own kernel.
        ArithOp::Divide | ArithOp::Modulo if same_int && !checked => int_dispatch!(
            l.data_type(), T => div_unchecked::<T>(l, r, rows, op == ArithOp::Modulo),
            _ => unreachable_type(l)
        ),
        ArithOp::Divide => numeric::div(l, r),
        ArithOp::Modulo => numeric::rem(l, r),
        // arrow-arith has no power kernel for two operands.
        ArithOp::Power if same_int => int_dispatch!(
            l.data_type(), T => int_power::<T>(l, r, rows, checked),
            _ => unreachable_type(l)
        ),
        ArithOp::Power if l.data_type() == r.data_type() => float_dispatch!(
            l.data_type(), T => float_power::<T>(l, r, rows),
            _ => Err(ArrowError::InvalidArgumentError(format!(
                "Power takes numbers, not {}",
                l.data_type()
            )))
        ),
        ArithOp::Power => Err(ArrowError::InvalidArgumentError(format!(
            "Power takes numbers, not {} and {}",
            l.data_type(),
            r.data_type()
        ))),
    }
}

/// The error for a type a dispatch has already ruled out.
fn unreachable_type(a: &Arg) -> Result<ArrayRef, ArrowError> {
    Err(ArrowError::InvalidArgumentError(format!(
        "unexpected type {}",
        a.data_type()
    )))
}

/// `f(l, r)` row by row where either side may be a scalar, on arrow's arity kernels; a null
/// on either side is null.
fn map2<T, F>(l: &Arg, r: &Arg, rows: usize, f: F) -> Result<PrimitiveArray<T>, ArrowError>
where
    T: ArrowPrimitiveType,
    F: Fn(T::Native, T::Native) -> Result<T::Native, ArrowError>,
{
    let la = l.array.as_primitive::<T>();
    let ra = r.array.as_primitive::<T>();
    match (l.scalar, r.scalar) {
        (true, false) if la.is_null(0) => Ok(PrimitiveArray::new_null(rows)),
        (true, false) => {
            let a = la.value(0);
            ra.try_unary(|b| f(a, b))
        }
        (false, true) if ra.is_null(0) => Ok(PrimitiveArray::new_null(rows)),
        (false, true) => {
            let b = ra.value(0);
            la.try_unary(|a| f(a, b))
        }
        _ => arity::try_binary(la, ra, f),
    }
}

/// Integer `÷` or `%` where a zero divisor gives null and overflow wraps.
fn div_unchecked<T>(l: &Arg, r: &Arg, rows: usize, modulo: bool) -> Result<ArrayRef, ArrowError>
where
    T: ArrowPrimitiveType,
{
    // Zero divisors become nulls first, so the operation never sees them.
    let divisor = r
        .array
        .as_primitive::<T>()
        .unary_opt::<_, T>(|b| (!b.is_zero()).then_some(b));
    let r = Arg {
        array: Arc::new(divisor),
        scalar: r.scalar,
    };
    let out = map2::<T, _>(l, &r, rows, |a, b| {
        Ok(if modulo {
            a.mod_wrapping(b)
        } else {
            a.div_wrapping(b)
        })
    })?;
    Ok(Arc::new(out))
}

/// `base ** exp` for an integer exponent of any size, by squaring: checked (an error on
/// overflow) or wrapping. Squaring stops before the last bit, so a checked power fails only
/// when its result does not fit.
fn int_pow<N: ArrowNativeTypeOp>(base: N, exp: u64, checked: bool) -> Result<N, ArrowError> {
    let mul = |a: N, b: N| {
        if checked {
            a.mul_checked(b)
        } else {
            Ok(a.mul_wrapping(b))
        }
    };
    let (mut acc, mut b, mut e) = (N::ONE, base, exp);
    loop {
        if e & 1 == 1 {
            acc = mul(acc, b)?;
        }
        e >>= 1;
        if e == 0 {
            return Ok(acc);
        }
        b = mul(b, b)?;
    }
}

/// Integer `**`: a negative exponent has no integer result (an error when checked, a null
/// otherwise).
fn int_power<T>(l: &Arg, r: &Arg, rows: usize, checked: bool) -> Result<ArrayRef, ArrowError>
where
    T: ArrowPrimitiveType,
{
    let negative = |e: T::Native| e.compare(T::Native::ZERO).is_lt();
    let exponent = if checked {
        r.clone()
    } else {
        let nulled = r
            .array
            .as_primitive::<T>()
            .unary_opt::<_, T>(|e| (!negative(e)).then_some(e));
        Arg {
            array: Arc::new(nulled),
            scalar: r.scalar,
        }
    };
    let out = map2::<T, _>(l, &exponent, rows, |b, e| {
        if negative(e) {
            return Err(ArrowError::ComputeError(
                "an integer to a negative power has no integer result; cast to Float64 first"
                    .to_string(),
            ));
        }
        int_pow(b, e.to_usize().map_or(u64::MAX, |e| e as u64), checked)
            .map_err(|_| ArrowError::ArithmeticOverflow(format!("{b:?} ** {e:?}")))
    })?;
    Ok(Arc::new(out))
}

/// Float `**` (IEEE 754: `(-8.0) ** (1/3)` is NaN).
fn float_power<T>(l: &Arg, r: &Arg, rows: usize) -> Result<ArrayRef, ArrowError>
where
    T: ArrowPrimitiveType,
    T::Native: crate::math::Real,
{
    let out = map2::<T, _>(l, r, rows, |a, b| Ok(crate::math::Real::powf(a, b)))?;
    Ok(Arc::new(out))
}
