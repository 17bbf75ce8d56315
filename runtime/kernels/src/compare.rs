//! Boolean masks: `compare` (on arrow-ord's `cmp` kernels), `logic` and `not` (on
//! arrow-arith's Kleene boolean kernels).
//!
//! Comparison follows arrow's total order for floats, as Polars does: NaN equals NaN and is
//! greater than every number (pandas says `NaN > 0` is false; here it is true — use
//! `is_nan` to exclude NaN). Floats are made canonical first: `-0.0` equals `0.0`, and every
//! NaN is the same NaN, whatever its sign bit (the total order alone would tell them apart).

use arrow_arith::boolean;
use arrow_array::{Array, ArrayRef, BooleanArray};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_ord::cmp;
use arrow_schema::DataType;

use crate::coerce::{self, Arg};
use crate::error::arrow_invalid;
use crate::math::canonical_floats;
use crate::{KernelError, Operand};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// `left op right` row by row, as a mask (`df.qty > 2`, `df.city == "Paris"`). A null on
/// either side is null (which `filter` drops).
///
/// Operands are promoted to a common type (the table in `docs/kernels.md`), so an Int32
/// column compares with an Int64 one or a float scalar; a string scalar next to a date,
/// time or number column is parsed as that type (`df.day >= "2024-03-01"`).
///
/// # Errors
/// [`KernelError::Invalid`]: no column, columns of different lengths, types with no common
/// type, a string scalar that does not parse as the column's type, or a type arrow cannot
/// order (lists, structs).
pub fn compare(
    op: CmpOp,
    left: Operand<'_>,
    right: Operand<'_>,
) -> Result<BooleanArray, KernelError> {
    let kernel = format!("compare({op:?})");
    let kernel = kernel.as_str();
    let l = Arg::new(&left)?;
    let r = Arg::new(&right)?;
    let rows = coerce::rows(kernel, &[&l, &r])?;
    let parses_as = |scalar: &Arg, column: &Arg| {
        scalar.scalar
            && *scalar.data_type() == DataType::Utf8
            && !column.scalar
            && !coerce::is_string(column.data_type())
            && !matches!(column.data_type(), DataType::Binary | DataType::LargeBinary)
    };
    let to = if parses_as(&l, &r) {
        r.data_type().clone()
    } else if parses_as(&r, &l) {
        l.data_type().clone()
    } else {
        coerce::common_type(kernel, &l, &r)?
    };
    if to == DataType::Null {
        return Ok(BooleanArray::new_null(rows));
    }
    let (mut l, mut r) = (l.cast(kernel, &to)?, r.cast(kernel, &to)?);
    l.array = canonical_floats(&l.array);
    r.array = canonical_floats(&r.array);
    let result = match op {
        CmpOp::Eq => cmp::eq(&l, &r),
        CmpOp::Ne => cmp::neq(&l, &r),
        CmpOp::Lt => cmp::lt(&l, &r),
        CmpOp::Le => cmp::lt_eq(&l, &r),
        CmpOp::Gt => cmp::gt(&l, &r),
        CmpOp::Ge => cmp::gt_eq(&l, &r),
    };
    result.map_err(|e| arrow_invalid(kernel, e))
}

/// A boolean operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicOp {
    /// Kleene AND: `false AND null` is false, `true AND null` is null.
    And,
    /// Kleene OR: `true OR null` is true, `false OR null` is null.
    Or,
    /// XOR: null if either side is null (no value decides it alone).
    Xor,
    /// `a AND NOT b`, Kleene: `null AND NOT true` is false.
    AndNot,
}

/// A boolean operand as a column of `rows` values (a scalar repeated: one bit per row).
fn boolean_column(kernel: &str, a: &Arg, rows: usize) -> Result<BooleanArray, KernelError> {
    let array = match a.data_type() {
        DataType::Boolean | DataType::Null => a.cast(kernel, &DataType::Boolean)?.array,
        other => {
            return Err(KernelError::invalid(
                kernel,
                format!("takes booleans, not {other}"),
            ));
        }
    };
    let array = arrow_array::cast::AsArray::as_boolean(array.as_ref()).clone();
    if !a.scalar {
        return Ok(array);
    }
    Ok(if array.is_null(0) {
        BooleanArray::new_null(rows)
    } else if array.value(0) {
        BooleanArray::new(BooleanBuffer::new_set(rows), None)
    } else {
        BooleanArray::new(BooleanBuffer::new_unset(rows), None)
    })
}

/// `a op b` on boolean masks (`mask1 & mask2`, `mask1 | mask2`, `mask1 ^ mask2`); a
/// scalar broadcasts. Kleene logic for `And`, `Or` and `AndNot` (SQL, Polars and pandas'
/// nullable `boolean` dtype agree); see [`LogicOp`].
///
/// # Errors
/// [`KernelError::Invalid`] for operands that are not booleans, no column, or columns of
/// different lengths.
pub fn logic(op: LogicOp, a: Operand<'_>, b: Operand<'_>) -> Result<BooleanArray, KernelError> {
    let kernel = format!("logic({op:?})");
    let kernel = kernel.as_str();
    let l = Arg::new(&a)?;
    let r = Arg::new(&b)?;
    let rows = coerce::rows(kernel, &[&l, &r])?;
    let l = boolean_column(kernel, &l, rows)?;
    let r = boolean_column(kernel, &r, rows)?;
    let result = match op {
        LogicOp::And => boolean::and_kleene(&l, &r),
        LogicOp::Or => boolean::or_kleene(&l, &r),
        LogicOp::AndNot => boolean::not(&r).and_then(|not_r| boolean::and_kleene(&l, &not_r)),
        // arrow-arith has no boolean XOR kernel; arrow-buffer's bitwise XOR of the value
        // bits with the union of the validity bits is exactly "null if either is null".
        LogicOp::Xor => Ok(BooleanArray::new(
            l.values() ^ r.values(),
            NullBuffer::union(l.nulls(), r.nulls()),
        )),
    };
    result.map_err(|e| arrow_invalid(kernel, e))
}

/// `NOT a` (`~mask`); null stays null.
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not boolean.
pub fn not(a: &ArrayRef) -> Result<BooleanArray, KernelError> {
    const KERNEL: &str = "not";
    let a = boolean_column(KERNEL, &Arg::column(a), a.len())?;
    boolean::not(&a).map_err(|e| arrow_invalid(KERNEL, e))
}
