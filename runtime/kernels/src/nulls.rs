//! Missing values: `is_null`, `is_not_null` (arrow-arith), `fill_null` and `coalesce`
//! (arrow-select's `zip` with an `is_not_null` mask).
//!
//! Null is arrow's null, never NaN: pandas' `isna` also counts NaN, these kernels do not
//! (`is_nan` finds NaN).

use std::sync::Arc;

use arrow_arith::boolean;
use arrow_array::{Array, ArrayRef, BooleanArray};
use arrow_buffer::BooleanBuffer;
use arrow_schema::DataType;
use arrow_select::zip::zip;

use crate::budget::{self, Budget, CHUNK_ROWS, Size};
use crate::coerce::{self, Arg};
use crate::error::arrow_invalid;
use crate::{KernelError, Operand};

/// Whether each value is null (`df.x.isna()` without NaN). Never null itself.
///
/// # Errors
/// None in practice; `Result` for a uniform interface.
pub fn is_null(a: &ArrayRef) -> Result<BooleanArray, KernelError> {
    boolean::is_null(a.as_ref()).map_err(|e| arrow_invalid("is_null", e))
}

/// Whether each value is present (`df.x.notna()` without NaN). Never null itself.
///
/// # Errors
/// None in practice; `Result` for a uniform interface.
pub fn is_not_null(a: &ArrayRef) -> Result<BooleanArray, KernelError> {
    boolean::is_not_null(a.as_ref()).map_err(|e| arrow_invalid("is_not_null", e))
}

/// Bytes an operand contributes to an output at most: a column's buffers, or the scalar's
/// value repeated on the `filled` rows it can fill.
fn operand_bytes(arg: &Arg, filled: usize) -> usize {
    let one = budget::output_bytes(arg.array.as_ref());
    if arg.scalar {
        one.saturating_mul(filled)
    } else {
        one
    }
}

/// The size of an output of type `to` made of `parts`, of which at most `filled` rows come
/// from a part after the first: exact for fixed-width types, at most the sum of the parts
/// otherwise.
fn output_size(to: &DataType, parts: &[Arg], rows: usize, filled: usize) -> Size {
    match budget::fixed_width_bytes(to, rows) {
        Some(bytes) => Size::Exact(bytes),
        None => Size::AtMost(parts.iter().enumerate().fold(0usize, |sum, (i, p)| {
            sum.saturating_add(operand_bytes(p, if i == 0 { rows } else { filled }))
        })),
    }
}

/// `a` with each null replaced by `value` (`df.x.fillna(0)`, `df.x.fillna(df.y)`); the value
/// is cast to `a`'s type (a column of type `Null` takes the value's type instead).
///
/// # Errors
/// - [`KernelError::Invalid`]: a scalar that does not cast to `a`'s type, a value column of
///   another length;
/// - [`KernelError::Data`]: a value column whose value does not cast, naming the row (the
///   whole value column is cast, rows where `a` is present included);
/// - [`KernelError::Limit`]: the output passes `budget.max_output_bytes` (a long string
///   filled into many nulls).
pub fn fill_null(
    a: &ArrayRef,
    value: Operand<'_>,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "fill_null";
    let column = Arg::column(a);
    let value = Arg::new(&value)?;
    let rows = coerce::rows(KERNEL, &[&column, &value])?;
    let to = if *a.data_type() == DataType::Null {
        value.data_type().clone()
    } else {
        a.data_type().clone()
    };
    if to == DataType::Null {
        return Ok(Arc::new(arrow_array::NullArray::new(rows)));
    }
    // The value is cast before looking for nulls, so that a value that does not fit is
    // refused whatever the data.
    let value = value.cast(KERNEL, &to)?;
    if a.logical_null_count() == 0 {
        return Ok(Arc::clone(a));
    }
    let column = column.cast(KERNEL, &to)?;
    let parts = [column, value];
    let size = output_size(&to, &parts, rows, a.logical_null_count());
    let [column, value] = parts;
    budget::run_bounded(KERNEL, budget, rows, size, CHUNK_ROWS, |offset, len| {
        first_present(
            KERNEL,
            &column.slice(offset, len),
            &value.slice(offset, len),
        )
    })
}

/// Row by row, `first` where it is present, else `second` (both of one type; `first` a
/// column).
fn first_present(kernel: &str, first: &Arg, second: &Arg) -> Result<ArrayRef, KernelError> {
    let present =
        boolean::is_not_null(first.array.as_ref()).map_err(|e| arrow_invalid(kernel, e))?;
    zip(&present, first, second).map_err(|e| arrow_invalid(kernel, e))
}

/// Row by row, the first part that is not null (`df.x.combine_first(df.y)`, SQL
/// `COALESCE`); null where every part is. Parts are promoted to a common type; a scalar
/// part broadcasts (a last scalar part is a default).
///
/// # Errors
/// [`KernelError::Invalid`] for no parts, no column among them, columns of different
/// lengths or types with no common type; [`KernelError::Limit`] when the output passes
/// `budget.max_output_bytes`.
pub fn coalesce(parts: &[Operand<'_>], budget: &Budget) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "coalesce";
    let args = parts.iter().map(Arg::new).collect::<Result<Vec<_>, _>>()?;
    let rows = coerce::rows(KERNEL, &args.iter().collect::<Vec<_>>())?;
    let to = coerce::common_type_many(KERNEL, &args)?;
    let args = args
        .iter()
        .map(|a| a.cast(KERNEL, &to))
        .collect::<Result<Vec<_>, _>>()?;
    if to == DataType::Null {
        return Ok(Arc::new(arrow_array::NullArray::new(rows)));
    }
    let size = output_size(&to, &args, rows, rows);
    budget::run_bounded(KERNEL, budget, rows, size, CHUNK_ROWS, |offset, len| {
        let mut parts = args.iter().map(|a| a.slice(offset, len));
        let Some(first) = parts.next() else {
            return Err(KernelError::invalid(KERNEL, "no parts"));
        };
        // A scalar first part is spread over the rows, so that there is a column to mask.
        let mut acc = if first.scalar {
            let all = BooleanArray::new(BooleanBuffer::new_set(len), None);
            Arg::column(&zip(&all, &first, &first).map_err(|e| arrow_invalid(KERNEL, e))?)
        } else {
            first
        };
        for part in parts {
            if acc.array.null_count() == 0 {
                break;
            }
            acc = Arg::column(&first_present(KERNEL, &acc, &part)?);
        }
        Ok(acc.array)
    })
}
