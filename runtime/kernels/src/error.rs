//! [`KernelError`]: whose fault a failed kernel call is (the data, the call's arguments, or
//! the output bound), and the helpers that turn arrow's errors into one and find the row.
//!
//! Arrow's kernels report *that* a value overflowed or did not cast, never *which row*:
//! [`first_failing_row`] finds it by re-running the same arrow kernel on halves of the input,
//! so the row reported is the one arrow itself rejects, at a cost paid only on the error path.

use arrow_array::{Array, cast::AsArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType};

/// Why a kernel call failed. Every message starts with the kernel's name and says what
/// failed; [`KernelError::Data`] also names the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// The data is at fault: an overflow, a value that does not cast, a division by zero
    /// under checked arithmetic. `row` is 0-based within the column as passed (a sliced
    /// column counts from its first row), when known; the message names the value.
    #[error("{message}")]
    Data {
        /// The first row that failed, 0-based within the column as passed.
        row: Option<u64>,
        /// What failed, with the row and the value.
        message: String,
    },
    /// The call's arguments are at fault: a type the kernel does not take, columns of
    /// different lengths, an invalid regex or one over the size limit, an unknown time zone,
    /// an index out of range.
    #[error("{message}")]
    Invalid {
        /// What is wrong with the arguments.
        message: String,
    },
    /// The output would exceed [`Budget::max_output_bytes`](crate::Budget) (or the 2 GiB
    /// offset range of a `Utf8`/`Binary` column). Nothing past the bound was kept.
    #[error("{message}")]
    Limit {
        /// Which bound, how much was needed and how much is allowed.
        message: String,
    },
}

impl KernelError {
    /// An [`KernelError::Invalid`] whose message starts with `kernel`.
    pub(crate) fn invalid(kernel: &str, message: impl std::fmt::Display) -> Self {
        KernelError::Invalid {
            message: format!("{kernel}: {message}"),
        }
    }

    /// A [`KernelError::Data`] at `row`, whose message starts with `kernel`.
    pub(crate) fn data(kernel: &str, row: Option<usize>, message: impl std::fmt::Display) -> Self {
        KernelError::Data {
            row: row.map(|r| r as u64),
            message: format!("{kernel}: {message}"),
        }
    }

    /// A [`KernelError::Limit`] whose message starts with `kernel`.
    pub(crate) fn limit(kernel: &str, message: impl std::fmt::Display) -> Self {
        KernelError::Limit {
            message: format!("{kernel}: {message}"),
        }
    }
}

/// An arrow error raised before any value was looked at (a type, a length, an option) as
/// [`KernelError::Invalid`].
pub(crate) fn arrow_invalid(kernel: &str, error: ArrowError) -> KernelError {
    KernelError::invalid(kernel, strip_arrow_prefix(&error))
}

/// Arrow's `Display` prefixes every message with the variant ("Compute error: ..."); the
/// variant is arrow's classification, ours is the [`KernelError`] variant, so drop it.
pub(crate) fn strip_arrow_prefix(error: &ArrowError) -> String {
    match error {
        ArrowError::ComputeError(m)
        | ArrowError::InvalidArgumentError(m)
        | ArrowError::CastError(m)
        | ArrowError::ParseError(m)
        | ArrowError::ArithmeticOverflow(m)
        | ArrowError::NotYetImplemented(m)
        | ArrowError::SchemaError(m) => m.clone(),
        ArrowError::DivideByZero => "division by zero".to_string(),
        other => other.to_string(),
    }
}

/// The first row whose window makes `probe` fail, for kernels that work row by row (a
/// row fails or not regardless of its neighbours). `probe(offset, len)` runs the kernel on
/// rows `offset..offset + len`. Called only after the whole input failed.
///
/// Bisection over windows, not prefixes: each step probes half of the remaining window, so
/// the probes add up to at most `2 × len` rows — linear, like the kernel itself.
pub(crate) fn first_failing_row(
    len: usize,
    probe: impl Fn(usize, usize) -> Result<(), ArrowError>,
) -> Option<(usize, ArrowError)> {
    let (mut lo, mut hi) = (0, len);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if probe(lo, mid - lo).is_err() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    if lo < len {
        probe(lo, 1).err().map(|e| (lo, e))
    } else {
        None
    }
}

/// Most characters of a value quoted in an error message: a row can hold megabytes.
const SHOWN_CHARS: usize = 64;

/// The value at `row` as a short human-readable text for an error message: strings quoted,
/// long values cut, `null` for a null.
pub(crate) fn show_value(array: &dyn Array, row: usize) -> String {
    if row >= array.len() {
        return "?".to_string();
    }
    if array.is_null(row) {
        return "null".to_string();
    }
    let text = match array.data_type() {
        DataType::Utf8 => format!("{:?}", array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => format!("{:?}", array.as_string::<i64>().value(row)),
        _ => match ArrayFormatter::try_new(array, &FormatOptions::default()) {
            // `try_to_string`, not `to_string`: a `Display` error would panic there.
            Ok(formatter) => formatter
                .value(row)
                .try_to_string()
                .unwrap_or_else(|_| "?".to_string()),
            Err(_) => "?".to_string(),
        },
    };
    if text.chars().count() > SHOWN_CHARS {
        let cut: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}
