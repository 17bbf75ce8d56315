//! The two ways a column's nulls are filled: with a fixed one-row value, and forward
//! (each null takes the last non-null value before it, across batches).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Scalar, UInt32Array};
use arrow_schema::ArrowError;

/// Replace the nulls of `column` with `value` (a one-row array of the column's type); the
/// filled column and how many nulls were filled.
pub fn constant(column: &ArrayRef, value: &ArrayRef) -> Result<(ArrayRef, usize), ArrowError> {
    let Some(nulls) = column.logical_nulls().filter(|n| n.null_count() > 0) else {
        return Ok((Arc::clone(column), 0));
    };
    let mask = BooleanArray::new(!nulls.inner(), None);
    let filled = arrow_select::zip::zip(&mask, &Scalar::new(Arc::clone(value)), column)?;
    Ok((filled, nulls.null_count()))
}

/// Forward fill: the state of one column between batches.
#[derive(Default)]
pub struct Forward {
    /// The last non-null value seen so far in the stream, as a one-row array holding its
    /// own copy (a slice would keep the whole batch it came from alive). Before the first
    /// non-null value: the configured leading value, if any.
    last: Option<ArrayRef>,
}

impl Forward {
    /// Start with `leading` as the value for nulls before the first non-null value.
    pub fn new(leading: Option<ArrayRef>) -> Self {
        Self { last: leading }
    }

    /// Fill `column`'s nulls with the last non-null value before them (this batch or an
    /// earlier one); the filled column and how many nulls were filled.
    pub fn fill(&mut self, column: &ArrayRef) -> Result<(ArrayRef, usize), ArrowError> {
        let len = column.len();
        let Some(nulls) = column.logical_nulls().filter(|n| n.null_count() > 0) else {
            if len > 0 {
                self.last = Some(arrow_select::take::take(
                    column.as_ref(),
                    &UInt32Array::from(vec![(len - 1) as u32]),
                    None,
                )?);
            }
            return Ok((Arc::clone(column), 0));
        };
        // Index into [carried value, column...]: the carried value is row 0 when present.
        let offset = u32::from(self.last.is_some());
        let mut source: Option<u32> = self.last.as_ref().map(|_| 0);
        let mut filled = 0;
        let indices: UInt32Array = (0..len)
            .map(|i| {
                if nulls.is_valid(i) {
                    source = Some(i as u32 + offset);
                } else if source.is_some() {
                    filled += 1;
                }
                source
            })
            .collect();
        let values = match &self.last {
            Some(last) => arrow_select::concat::concat(&[last.as_ref(), column.as_ref()])?,
            None => Arc::clone(column),
        };
        let out = arrow_select::take::take(values.as_ref(), &indices, None)?;
        if let Some(at) = source {
            self.last = Some(arrow_select::take::take(
                values.as_ref(),
                &UInt32Array::from(vec![at]),
                None,
            )?);
        }
        Ok((out, filled))
    }
}
