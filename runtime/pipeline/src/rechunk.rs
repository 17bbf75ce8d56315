//! Re-cutting a stream of batches to a target row count.
//!
//! Plugins pay a fixed cost per call (copying across the boundary, the call itself), so tiny
//! batches waste time and huge ones waste memory. A [`Rechunker`] slices batches larger than
//! the target (zero-copy) and concatenates smaller ones until the target is reached.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};

/// Buffers batches and hands them out `target` rows at a time (the last one may be short).
#[derive(Debug)]
pub struct Rechunker {
    schema: SchemaRef,
    target: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl Rechunker {
    /// A rechunker for batches of `schema`, cutting at `target` rows (at least 1).
    pub fn new(schema: SchemaRef, target: usize) -> Self {
        Self {
            schema,
            target: target.max(1),
            pending: Vec::new(),
            pending_rows: 0,
        }
    }

    /// Add `batch`; return the batches of exactly `target` rows now complete.
    ///
    /// # Errors
    /// When concatenation fails (batches of different schemas: a bug upstream).
    pub fn push(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, ArrowError> {
        let mut out = Vec::new();
        let mut offset = 0;
        let rows = batch.num_rows();
        while offset < rows {
            let take = (self.target - self.pending_rows).min(rows - offset);
            self.pending.push(batch.slice(offset, take));
            self.pending_rows += take;
            offset += take;
            if self.pending_rows == self.target {
                out.push(self.take()?);
            }
        }
        Ok(out)
    }

    /// The rows still held, as one batch (end of stream).
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.pending_rows == 0 {
            return Ok(None);
        }
        self.take().map(Some)
    }

    fn take(&mut self) -> Result<RecordBatch, ArrowError> {
        let parts = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        if parts.len() == 1 {
            return Ok(parts.into_iter().next().unwrap_or_else(|| unreachable!()));
        }
        arrow_select::concat::concat_batches(&self.schema, &parts)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch};

    use super::Rechunker;

    fn batch(range: std::ops::Range<i64>) -> RecordBatch {
        RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from_iter_values(range)) as ArrayRef,
        )])
        .unwrap()
    }

    #[test]
    fn cuts_and_joins_to_the_target_keeping_every_row_in_order() {
        let mut r = Rechunker::new(batch(0..1).schema(), 4);
        let mut out = Vec::new();
        for b in [batch(0..3), batch(3..4), batch(4..13), batch(13..14)] {
            out.extend(r.push(b).unwrap());
        }
        out.extend(r.flush().unwrap());
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, vec![4, 4, 4, 2]);
        let all = arrow_select::concat::concat_batches(&out[0].schema(), &out).unwrap();
        assert_eq!(all, batch(0..14));
        assert_eq!(r.flush().unwrap(), None);
    }
}
