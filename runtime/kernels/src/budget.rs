//! [`Budget`]: the bounds of one kernel call — how many bytes its output may take and how
//! large a compiled regex may grow — and how each growing kernel enforces them.
//!
//! Three ways, from best to last resort (`docs/kernels.md` lists which kernel uses which):
//! - **streamed**: the hand-written string loops count the bytes they have written and stop
//!   at the bound, so nothing past it is ever allocated ([`StringOut`]);
//! - **known in advance**: the output size follows from the inputs (fixed-width types, the
//!   selected strings of `take`), so it is checked before arrow allocates ([`check`]);
//! - **measured in chunks**: when only a loose upper bound is known and it exceeds the
//!   budget, the arrow kernel runs on chunks of rows whose outputs are measured and dropped,
//!   stopping as soon as their sum passes the bound; only an output that fits is then built
//!   whole ([`run_bounded`]). The overshoot is at most one chunk's output.

use arrow_array::builder::GenericStringBuilder;
use arrow_array::{Array, ArrayRef, OffsetSizeTrait};
use arrow_schema::DataType;

use crate::KernelError;

/// The bounds of one kernel call. The host builds one per call from the calling plugin's
/// remaining memory; [`Budget::default`] is for callers without a plugin (tests, tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most bytes the output's buffers (values, offsets, validity, as arrow's
    /// `get_slice_memory_size` counts them) may take. Default: 256 MiB, the default memory
    /// limit of a plugin.
    pub max_output_bytes: usize,
    /// Most bytes a compiled regex may take: `RegexBuilder::size_limit` and
    /// `dfa_size_limit`. Default: 1 MiB — ample for hand-written patterns, far below the
    /// regex crate's 10 MiB, because the pattern comes from plugin code.
    pub max_regex_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_output_bytes: 256 << 20,
            max_regex_bytes: 1 << 20,
        }
    }
}

/// Rows per chunk when an output is measured in chunks: big enough that the per-call cost
/// of the arrow kernel vanishes, small enough that one chunk's output is a small overshoot.
pub(crate) const CHUNK_ROWS: usize = 16 * 1024;

/// Bytes of `array`'s buffers as arrow counts them for a slice (values, offsets, validity,
/// children), so an output that shares its input's buffers is not charged for all of them.
pub(crate) fn output_bytes(array: &dyn Array) -> usize {
    array
        .to_data()
        .get_slice_memory_size()
        .unwrap_or(usize::MAX)
}

/// [`KernelError::Limit`] unless `needed` fits the budget.
pub(crate) fn check(kernel: &str, budget: &Budget, needed: usize) -> Result<(), KernelError> {
    if needed > budget.max_output_bytes {
        return Err(KernelError::limit(
            kernel,
            format!(
                "the output needs {needed} bytes, more than the {} bytes allowed \
                 (max_output_bytes)",
                budget.max_output_bytes
            ),
        ));
    }
    Ok(())
}

/// Exact bytes of `rows` values of a fixed-width type (values plus a validity bitmap), or
/// `None` for variable-width and nested types.
pub(crate) fn fixed_width_bytes(data_type: &DataType, rows: usize) -> Option<usize> {
    let validity = rows.div_ceil(8);
    let values = match data_type {
        DataType::Null => 0,
        DataType::Boolean => rows.div_ceil(8),
        other => rows.checked_mul(other.primitive_width()?)?,
    };
    values.checked_add(validity)
}

/// What is known in advance about the size of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    /// Exactly this many bytes (fixed-width types).
    Exact(usize),
    /// At most this many bytes.
    AtMost(usize),
    /// Nothing (nested types).
    Unknown,
}

/// Runs `kernel(offset, len)` over all `len` rows once the output is known to fit.
///
/// An [`Size::Exact`] size is checked and the kernel run (or refused) at once, as is an
/// [`Size::AtMost`] bound that fits. Otherwise the output is first measured chunk by chunk
/// — chunks small enough that each one's share of the bound fits the budget, or
/// `chunk_rows` without a bound — and the call refused as soon as the sum passes the budget.
/// Either way the finished output is measured again, so a wrong bound can never let a large
/// output through.
pub(crate) fn run_bounded(
    kernel_name: &str,
    budget: &Budget,
    len: usize,
    size: Size,
    chunk_rows: usize,
    kernel: impl Fn(usize, usize) -> Result<ArrayRef, KernelError>,
) -> Result<ArrayRef, KernelError> {
    let chunk_rows = match size {
        Size::Exact(bytes) => {
            check(kernel_name, budget, bytes)?;
            None
        }
        Size::AtMost(bytes) if bytes <= budget.max_output_bytes => None,
        Size::AtMost(bytes) => {
            // Rows whose share of the bound is the budget: a chunk's output stays near it.
            let share =
                (len as u128 * budget.max_output_bytes as u128 / bytes.max(1) as u128) as usize;
            Some(share.clamp(1, chunk_rows))
        }
        Size::Unknown => Some(chunk_rows),
    };
    if let Some(chunk_rows) = chunk_rows {
        let mut total = 0usize;
        let mut offset = 0;
        while offset < len {
            let rows = chunk_rows.min(len - offset);
            match kernel(offset, rows) {
                Ok(part) => total = total.saturating_add(output_bytes(part.as_ref())),
                // The error is reported by the full run below, with rows counted from the
                // start of the column rather than of the chunk.
                Err(_) => break,
            }
            if total > budget.max_output_bytes {
                return Err(KernelError::limit(
                    kernel_name,
                    format!(
                        "the output passes {} bytes after {} of {len} rows, more than the {} \
                         bytes allowed (max_output_bytes)",
                        total,
                        offset + rows,
                        budget.max_output_bytes
                    ),
                ));
            }
            offset += rows;
        }
    }
    let out = kernel(0, len)?;
    check(kernel_name, budget, output_bytes(out.as_ref()))?;
    Ok(out)
}

/// A string column being written by a hand-written loop, refusing to grow past a cap: the
/// budget, and the offset range of the column type (2 GiB for `Utf8`), past which arrow's
/// builder would panic.
pub(crate) struct StringOut<O: OffsetSizeTrait> {
    builder: GenericStringBuilder<O>,
    cap: usize,
}

impl<O: OffsetSizeTrait> StringOut<O> {
    /// A writer for `rows` values, checking up front that their offsets and validity fit.
    /// `bytes_hint` (the input's value bytes, say) sizes the value buffer up front, so that
    /// growing it by doubling does not reserve twice what is written.
    pub(crate) fn new(
        kernel: &str,
        budget: &Budget,
        rows: usize,
        bytes_hint: usize,
    ) -> Result<Self, KernelError> {
        let fixed = rows
            .saturating_add(1)
            .saturating_mul(O::get_byte_width())
            .saturating_add(rows.div_ceil(8));
        check(kernel, budget, fixed)?;
        let offset_max = if O::IS_LARGE {
            i64::MAX as usize
        } else {
            i32::MAX as usize
        };
        let cap = (budget.max_output_bytes - fixed).min(offset_max);
        Ok(StringOut {
            builder: GenericStringBuilder::with_capacity(rows, bytes_hint.min(cap)),
            cap,
        })
    }

    /// Appends `value`, or [`KernelError::Limit`] if it would pass the cap.
    pub(crate) fn push(&mut self, kernel: &str, value: &str) -> Result<(), KernelError> {
        self.reserve(kernel, value.len())?;
        self.builder.append_value(value);
        Ok(())
    }

    /// Appends a value written in parts by `write`, after checking that `len` bytes — what
    /// `write` writes — fit.
    pub(crate) fn push_parts(
        &mut self,
        kernel: &str,
        len: usize,
        write: impl FnOnce(&mut GenericStringBuilder<O>),
    ) -> Result<(), KernelError> {
        self.reserve(kernel, len)?;
        write(&mut self.builder);
        self.builder.append_value("");
        Ok(())
    }

    /// Appends a null.
    pub(crate) fn push_null(&mut self) {
        self.builder.append_null();
    }

    fn reserve(&mut self, kernel: &str, len: usize) -> Result<(), KernelError> {
        let written = self.builder.values_slice().len().saturating_add(len);
        if written > self.cap {
            return Err(KernelError::limit(
                kernel,
                format!(
                    "the output's strings pass {} bytes, more than the {} bytes allowed \
                     (max_output_bytes, or the offset range of the column type)",
                    written, self.cap
                ),
            ));
        }
        Ok(())
    }

    /// The finished column.
    pub(crate) fn finish(mut self) -> ArrayRef {
        std::sync::Arc::new(self.builder.finish())
    }
}
