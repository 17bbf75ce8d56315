//! Choosing rows: `filter`, `take`, `slice` (arrow-select) and `is_in` (arrow-row).
//!
//! `take` is the one kernel here whose output can dwarf its input (one long string taken a
//! million times), so it is sized before arrow allocates: exactly for fixed-width and
//! string/binary columns, by measuring chunks for nested ones.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_arith::aggregate;
use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, OffsetSizeTrait, PrimitiveArray,
};
use arrow_buffer::ArrowNativeType;
use arrow_row::{RowConverter, SortField};
use arrow_schema::DataType;
use arrow_select::take::{TakeOptions, take as arrow_take};

use crate::KernelError;
use crate::budget::{self, Budget, CHUNK_ROWS, Size};
use crate::coerce::{self, Arg};
use crate::error::arrow_invalid;
use crate::math::canonical_floats;

/// The rows of `a` where `mask` is true (`df[df.qty > 2]`); a null in the mask drops the
/// row, as pandas' nullable boolean indexing and arrow do.
///
/// # Errors
/// [`KernelError::Invalid`] when `mask` and `a` differ in length.
pub fn filter(a: &ArrayRef, mask: &BooleanArray) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "filter";
    if mask.len() != a.len() {
        return Err(KernelError::invalid(
            KERNEL,
            format!(
                "the mask has {} rows and the column {}",
                mask.len(),
                a.len()
            ),
        ));
    }
    arrow_select::filter::filter(a.as_ref(), mask).map_err(|e| arrow_invalid(KERNEL, e))
}

/// `filter` on several columns with one mask (a filtered frame's output columns): the
/// mask is prepared once — null bits cleared, its set runs or indices found — and applied to
/// each column, as arrow's `filter_record_batch` does.
///
/// # Errors
/// [`KernelError::Invalid`] when a column's length differs from the mask's, naming its
/// position in `arrays`.
pub fn filter_many(arrays: &[ArrayRef], mask: &BooleanArray) -> Result<Vec<ArrayRef>, KernelError> {
    const KERNEL: &str = "filter-many";
    if let Some((i, a)) = arrays
        .iter()
        .enumerate()
        .find(|(_, a)| a.len() != mask.len())
    {
        return Err(KernelError::invalid(
            KERNEL,
            format!(
                "the mask has {} rows and column {i} of the list {}",
                mask.len(),
                a.len()
            ),
        ));
    }
    let mut builder = arrow_select::filter::FilterBuilder::new(mask);
    if arrays.len() > 1 {
        builder = builder.optimize();
    }
    let predicate = builder.build();
    arrays
        .iter()
        .map(|a| {
            predicate
                .filter(a.as_ref())
                .map_err(|e| arrow_invalid(KERNEL, e))
        })
        .collect()
}

/// Rows of nested columns per measured chunk of `take`: small, because one row of a list
/// column can be large.
const NESTED_CHUNK_ROWS: usize = 256;

/// The rows of `a` at `indices` (UInt32 or UInt64), in that order, repeats allowed
/// (`df.iloc[idx]`, `np.take`); a null index gives a null row.
///
/// # Errors
/// - [`KernelError::Invalid`]: indices of another type, or an index out of range (naming
///   it and its position);
/// - [`KernelError::Limit`]: the output would pass `budget.max_output_bytes` — refused
///   before it is allocated.
pub fn take(a: &ArrayRef, indices: &ArrayRef, budget: &Budget) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "take";
    match indices.data_type() {
        DataType::UInt32 => check_indices::<UInt32Type>(KERNEL, indices, a.len())?,
        DataType::UInt64 => check_indices::<UInt64Type>(KERNEL, indices, a.len())?,
        other => {
            return Err(KernelError::invalid(
                KERNEL,
                format!("indices must be UInt32 or UInt64, not {other}"),
            ));
        }
    }
    let rows = indices.len();
    let values = match a.data_type() {
        DataType::Utf8 => Some(selected_bytes(a.as_string::<i32>().offsets(), indices)),
        DataType::LargeUtf8 => Some(selected_bytes(a.as_string::<i64>().offsets(), indices)),
        DataType::Binary => Some(selected_bytes(a.as_binary::<i32>().offsets(), indices)),
        DataType::LargeBinary => Some(selected_bytes(a.as_binary::<i64>().offsets(), indices)),
        _ => None,
    };
    let (size, chunk) = match (budget::fixed_width_bytes(a.data_type(), rows), values) {
        (Some(bytes), _) => (Size::Exact(bytes), CHUNK_ROWS),
        // The selected values exactly; offsets of at most 8 bytes and validity per row.
        (None, Some(values)) => {
            let fixed = rows.saturating_add(1).saturating_mul(8) + rows.div_ceil(8);
            (Size::AtMost(values.saturating_add(fixed)), CHUNK_ROWS)
        }
        (None, None) => (Size::Unknown, NESTED_CHUNK_ROWS),
    };
    budget::run_bounded(KERNEL, budget, rows, size, chunk, |offset, len| {
        let options = TakeOptions { check_bounds: true };
        arrow_take(
            a.as_ref(),
            indices.slice(offset, len).as_ref(),
            Some(options),
        )
        .map_err(|e| arrow_invalid(KERNEL, e))
    })
}

/// [`KernelError::Invalid`] naming the first index (and its position) past `len` rows.
fn check_indices<T>(kernel: &str, indices: &ArrayRef, len: usize) -> Result<(), KernelError>
where
    T: ArrowPrimitiveType,
{
    let indices = indices.as_primitive::<T>();
    // arrow's (vectorised) max first; the position is looked for only when one is out.
    let Some(max) = aggregate::max(indices) else {
        return Ok(());
    };
    if max.to_usize().is_some_and(|max| max < len) {
        return Ok(());
    }
    let position = indices
        .iter()
        .position(|i| i.is_some_and(|i| i.to_usize().is_none_or(|i| i >= len)))
        .unwrap_or(0);
    Err(KernelError::invalid(
        kernel,
        format!(
            "index {:?} at position {position} is out of range for {len} rows",
            indices.value(position)
        ),
    ))
}

/// Bytes of the values `indices` select from a string or binary column with `offsets`:
/// the exact size of `take`'s value buffer. Indices were checked to be in range.
fn selected_bytes<O: OffsetSizeTrait>(
    offsets: &arrow_buffer::OffsetBuffer<O>,
    indices: &ArrayRef,
) -> usize {
    fn sum<O: OffsetSizeTrait, T: ArrowPrimitiveType>(
        offsets: &arrow_buffer::OffsetBuffer<O>,
        indices: &PrimitiveArray<T>,
    ) -> usize {
        let offsets: &[O] = offsets;
        let length = |i: usize| match (offsets.get(i), offsets.get(i + 1)) {
            (Some(start), Some(end)) => (*end - *start).as_usize(),
            _ => 0,
        };
        indices
            .iter()
            .flatten()
            .fold(0usize, |sum, i| sum.saturating_add(length(i.as_usize())))
    }
    match indices.data_type() {
        DataType::UInt32 => sum(offsets, indices.as_primitive::<UInt32Type>()),
        _ => sum(offsets, indices.as_primitive::<UInt64Type>()),
    }
}

/// Rows `offset..offset + len` of `a`, without copying (`df.iloc[offset:offset + len]`).
///
/// # Errors
/// [`KernelError::Invalid`] when the range passes the end of `a`.
pub fn slice(a: &ArrayRef, offset: u64, len: u64) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "slice";
    let end = offset.checked_add(len);
    match end {
        Some(end) if end <= a.len() as u64 => Ok(a.slice(offset as usize, len as usize)),
        _ => Err(KernelError::invalid(
            KERNEL,
            format!(
                "rows {offset}..{offset}+{len} are out of range for {} rows",
                a.len()
            ),
        )),
    }
}

/// Whether each value of `a` is among `values` (`df.x.isin([...])`, SQL `IN`). Both are
/// promoted to a common type first. A null in `a` gives null (SQL, Polars; pandas says
/// false); nulls among `values` match nothing. NaN matches NaN (pandas agrees), `-0.0`
/// matches `0.0`.
///
/// # Errors
/// [`KernelError::Invalid`] for types with no common type or that arrow-row cannot encode.
pub fn is_in(a: &ArrayRef, values: &ArrayRef) -> Result<BooleanArray, KernelError> {
    const KERNEL: &str = "is_in";
    let to = coerce::promote(a.data_type(), values.data_type()).ok_or_else(|| {
        KernelError::invalid(
            KERNEL,
            format!(
                "{} and {} have no common type; cast one of them first",
                a.data_type(),
                values.data_type()
            ),
        )
    })?;
    let a = canonical_floats(&Arg::column(a).cast(KERNEL, &to)?.array);
    let values = canonical_floats(&Arg::column(values).cast(KERNEL, &to)?.array);
    if to == DataType::Null {
        return Ok(BooleanArray::new_null(a.len()));
    }
    // arrow-row turns a value of any type into bytes that are equal exactly when the values
    // are; one hash set of those serves every type, nested ones included.
    let converter =
        RowConverter::new(vec![SortField::new(to)]).map_err(|e| arrow_invalid(KERNEL, e))?;
    let wanted_rows = converter
        .convert_columns(&[Arc::clone(&values)])
        .map_err(|e| arrow_invalid(KERNEL, e))?;
    let wanted: HashSet<_> = (0..values.len())
        .filter(|&i| values.is_valid(i))
        .map(|i| wanted_rows.row(i))
        .collect();
    let mut out = Vec::with_capacity(a.len());
    // In chunks, so the row encoding of `a` never takes more than one chunk's memory.
    let mut offset = 0;
    while offset < a.len() {
        let len = CHUNK_ROWS.min(a.len() - offset);
        let chunk = a.slice(offset, len);
        let rows = converter
            .convert_columns(&[Arc::clone(&chunk)])
            .map_err(|e| arrow_invalid(KERNEL, e))?;
        out.extend((0..len).map(|i| chunk.is_valid(i).then(|| wanted.contains(&rows.row(i)))));
        offset += len;
    }
    Ok(BooleanArray::from(out))
}
