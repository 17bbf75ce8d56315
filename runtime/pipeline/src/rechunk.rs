//! Re-cutting a stream of batches to a target row count.
//!
//! Plugins pay a fixed cost per call (copying across the boundary, the call itself), so tiny
//! batches waste time and huge ones waste memory. A [`Rechunker`] slices batches larger than
//! the target (zero-copy) and concatenates smaller ones until the target is reached.
//!
//! Source marks ride along (see `docs/streams.md`): every batch pushed carries the mark it
//! completes (the number of source batches whose rows are all in it or before it), and every
//! batch handed out carries the highest mark whose rows are all in it or before it — so a
//! cut in the middle of an input carries the previous input's mark, and rows held back
//! for the next cut hold their mark back with them.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};

/// Buffers batches and hands them out `target` rows at a time (the last one may be short).
#[derive(Debug)]
pub struct Rechunker {
    schema: SchemaRef,
    target: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    /// The mark that is complete once every pending row has been handed out.
    covered: u64,
}

impl Rechunker {
    /// A rechunker for batches of `schema`, cutting at `target` rows (at least 1).
    pub fn new(schema: SchemaRef, target: usize) -> Self {
        Self {
            schema,
            target: target.max(1),
            pending: Vec::new(),
            pending_rows: 0,
            covered: 0,
        }
    }

    /// Add `batch`; return the batches of exactly `target` rows now complete.
    ///
    /// # Errors
    /// When concatenation fails (batches of different schemas: a bug upstream).
    pub fn push(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>, ArrowError> {
        let mark = self.covered;
        Ok(self
            .push_marked(batch, mark)?
            .into_iter()
            .map(|(b, _)| b)
            .collect())
    }

    /// Add `batch`, which completes source mark `mark`; return the batches of exactly
    /// `target` rows now complete, each with the mark it completes.
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn push_marked(
        &mut self,
        batch: RecordBatch,
        mark: u64,
    ) -> Result<Vec<(RecordBatch, u64)>, ArrowError> {
        let before = self.covered;
        let mut out = Vec::new();
        let mut offset = 0;
        let rows = batch.num_rows();
        while offset < rows {
            let take = (self.target - self.pending_rows).min(rows - offset);
            self.pending.push(batch.slice(offset, take));
            self.pending_rows += take;
            offset += take;
            if self.pending_rows == self.target {
                // Cut at the end of this input: it is complete; in its middle: only the
                // inputs before it are.
                let m = if offset == rows { mark } else { before };
                out.push((self.take()?, m));
            }
        }
        self.covered = self.covered.max(mark);
        Ok(out)
    }

    /// A mark reached with no rows (an input that produced nothing): `Some(mark)` when it
    /// can go on at once, `None` when rows are held back and it travels with them.
    pub fn advance(&mut self, mark: u64) -> Option<u64> {
        self.covered = self.covered.max(mark);
        (self.pending_rows == 0).then_some(self.covered)
    }

    /// The rows still held, as one batch (end of stream).
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        Ok(self.flush_marked()?.map(|(b, _)| b))
    }

    /// The rows still held, as one batch, with the mark it completes.
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn flush_marked(&mut self) -> Result<Option<(RecordBatch, u64)>, ArrowError> {
        if self.pending_rows == 0 {
            return Ok(None);
        }
        let mark = self.covered;
        self.take().map(|b| Some((b, mark)))
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

    #[test]
    fn a_cut_carries_the_mark_of_the_last_input_it_completes() {
        let mut r = Rechunker::new(batch(0..1).schema(), 4);
        let mut marks = Vec::new();
        // Inputs 1..=4 of 3, 1, 9 and 1 rows: cuts at rows 4, 8, 12, then 2 flushed.
        for (i, b) in [batch(0..3), batch(3..4), batch(4..13), batch(13..14)]
            .into_iter()
            .enumerate()
        {
            marks.extend(
                r.push_marked(b, i as u64 + 1)
                    .unwrap()
                    .into_iter()
                    .map(|(b, m)| (b.num_rows(), m)),
            );
        }
        // Row 4 ends input 2 exactly; rows 8 and 12 are inside input 3.
        assert_eq!(marks, vec![(4, 2), (4, 2), (4, 2)]);
        assert_eq!(r.advance(5), None, "rows held back keep the mark with them");
        let (last, mark) = r.flush_marked().unwrap().unwrap();
        assert_eq!((last.num_rows(), mark), (2, 5));
        assert_eq!(r.advance(6), Some(6));
    }
}
