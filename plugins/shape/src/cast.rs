//! One column's cast with a per-row error policy.
//!
//! The cast runs once, with arrow-cast's *safe* mode, which turns every value it cannot
//! convert into a null instead of failing the whole array. The rows that failed are then
//! exactly those that were valid in the input and are null in the output: no second pass
//! per row, and no guessing at which value made arrow's error. On top of arrow's rules, a
//! float cast to an integer type fails when it has a fractional part (arrow would truncate
//! silently; a silent change of value is what this plugin promises not to do).
//!
//! The host's `cast` kernel runs the same safe-mode cast for most columns (`lib.rs`); this
//! plugin-side cast is the reference it falls back to: for float-to-integer casts, to find
//! the row and value of a failure, and whenever the host refuses a cast.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, make_array};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_cast::CastOptions;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

/// A cast whose failing rows are reported, not hidden.
pub struct Failure {
    /// Row within the batch of the first failing value.
    pub row: usize,
    /// The failing value, as text (shortened when long).
    pub value: String,
}

/// Cast `input` to `to`; the result and the rows that failed (nulls in the result).
///
/// # Errors
/// Only arrow errors that safe mode does not turn into nulls (e.g. an unsupported pair,
/// which `can_cast_types` ruled out at creation).
pub fn cast(
    input: &ArrayRef,
    to: &DataType,
) -> Result<(ArrayRef, Vec<usize>), arrow_schema::ArrowError> {
    let options = CastOptions {
        safe: true,
        ..CastOptions::default()
    };
    let mut out = arrow_cast::cast_with_options(input, to, &options)?;
    if to.is_integer() && matches!(input.data_type(), DataType::Float32 | DataType::Float64) {
        out = null_fractions(input, out);
    }
    let failed: Vec<usize> = (0..input.len())
        .filter(|&i| input.is_valid(i) && out.is_null(i))
        .collect();
    Ok((out, failed))
}

/// Null out the rows of `out` whose float input had a fractional part.
fn null_fractions(input: &ArrayRef, out: ArrayRef) -> ArrayRef {
    let fractional: Vec<bool> = match input.data_type() {
        DataType::Float32 => input
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|v| v.fract() != 0.0)
            .collect(),
        _ => input
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .map(|v| v.fract() != 0.0)
            .collect(),
    };
    if !fractional.iter().any(|&f| f) {
        return out;
    }
    let keep = BooleanBuffer::from_iter(fractional.iter().map(|f| !f));
    let nulls = NullBuffer::union(out.nulls(), Some(&NullBuffer::new(keep)));
    let data = out.to_data().into_builder().nulls(nulls);
    // Only the validity changes; the layout stays the one arrow built.
    match data.build() {
        Ok(d) => make_array(d),
        Err(_) => out,
    }
}

/// The value of `input` at `row` as text for an error message, at most 60 characters.
pub fn show(input: &ArrayRef, row: usize) -> String {
    let text = ArrayFormatter::try_new(input.as_ref(), &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|_| "?".to_owned());
    if text.chars().count() > 60 {
        let short: String = text.chars().take(57).collect();
        format!("{short}...")
    } else {
        text
    }
}

/// The first failure, for `on_error = "fail"`.
pub fn first(input: &ArrayRef, failed: &[usize]) -> Option<Failure> {
    failed.first().map(|&row| Failure {
        row,
        value: show(input, row),
    })
}
