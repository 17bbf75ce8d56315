//! `cast`: arrow-cast's rules, with the row of the first value that does not cast.
//!
//! arrow-cast's own error names the value but not the row. Casting is row by row, so the
//! row is found by re-running the same cast on halves of the column
//! ([`first_failing_row`]): the row reported is exactly the one arrow-cast rejects.

use arrow_array::{Array, ArrayRef};
use arrow_cast::{CastOptions, can_cast_types, cast_with_options, display::FormatOptions};
use arrow_schema::DataType;

use crate::budget::{self, Budget, CHUNK_ROWS, Size};
use crate::error::{first_failing_row, show_value, strip_arrow_prefix};
use crate::{KernelError, coerce};

/// Most bytes arrow-cast writes for one fixed-width value as text (a timestamp with a zone
/// and nanoseconds is 35; an interval is the longest): the loose bound that decides whether
/// a cast to strings is measured in chunks first.
const MAX_TEXT_BYTES: usize = 64;

/// `a` cast to `to` by arrow-cast's rules (`df.x.astype("float64")`).
///
/// With `safe`, a value that does not cast becomes null; without, the first one is an
/// error naming its row and value.
///
/// # Errors
/// - [`KernelError::Invalid`] when arrow-cast has no cast between the two types;
/// - [`KernelError::Data`] (only when `!safe`) naming the first row that does not cast;
/// - [`KernelError::Limit`] when the output would pass `budget.max_output_bytes` (a cast
///   to strings or to a wider type grows the column).
pub fn cast(
    a: &ArrayRef,
    to: &DataType,
    safe: bool,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "cast";
    let from = a.data_type();
    if !can_cast_types(from, to) {
        return Err(KernelError::invalid(
            KERNEL,
            format!("arrow-cast has no cast from {from} to {to}"),
        ));
    }
    // arrow-cast relabels a timestamp with any zone name; an unknown one would only fail
    // later, in whichever kernel first reads the clock.
    if let DataType::Timestamp(_, Some(zone)) = to {
        crate::scalar::parse_timezone(KERNEL, zone)?;
    }
    let rows = a.len();
    let text_target = matches!(
        to,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary
    );
    // Offsets (at most 8 bytes) and validity of each row of a text target.
    let per_row = 8 + 1;
    let size = if let Some(bytes) = budget::fixed_width_bytes(to, rows) {
        Size::Exact(bytes)
    } else if text_target
        && (coerce::is_string(from) || matches!(from, DataType::Binary | DataType::LargeBinary))
    {
        let values = budget::output_bytes(a.as_ref());
        Size::AtMost(values.saturating_add(rows.saturating_mul(per_row)))
    } else if text_target && (from.primitive_width().is_some() || *from == DataType::Boolean) {
        Size::AtMost(rows.saturating_mul(MAX_TEXT_BYTES + per_row))
    } else {
        Size::Unknown
    };
    budget::run_bounded(KERNEL, budget, rows, size, CHUNK_ROWS, |offset, len| {
        cast_located(KERNEL, &a.slice(offset, len), to, safe)
    })
}

/// [`cast`] without the budget: arrow-cast, with the failing row located on error. Used by
/// the kernels that promote their operands.
pub(crate) fn cast_located(
    kernel: &str,
    array: &ArrayRef,
    to: &DataType,
    safe: bool,
) -> Result<ArrayRef, KernelError> {
    let options = CastOptions {
        safe,
        format_options: FormatOptions::default(),
    };
    let run = |a: &dyn Array| cast_with_options(a, to, &options);
    match run(array.as_ref()) {
        Ok(out) => Ok(out),
        // A cast that fails on no rows at all fails for its types, not its values.
        Err(e) if run(array.slice(0, 0).as_ref()).is_err() => Err(KernelError::invalid(
            kernel,
            format!(
                "cannot cast {} to {to}: {}",
                array.data_type(),
                strip_arrow_prefix(&e)
            ),
        )),
        Err(e) => {
            let located = first_failing_row(array.len(), |offset, len| {
                run(array.slice(offset, len).as_ref()).map(|_| ())
            });
            Err(match located {
                Some((row, e)) => KernelError::data(
                    kernel,
                    Some(row),
                    format!(
                        "row {row}: the value {} does not cast to {to} ({})",
                        show_value(array.as_ref(), row),
                        strip_arrow_prefix(&e)
                    ),
                ),
                None => KernelError::data(
                    kernel,
                    None,
                    format!("a value does not cast to {to} ({})", strip_arrow_prefix(&e)),
                ),
            })
        }
    }
}
