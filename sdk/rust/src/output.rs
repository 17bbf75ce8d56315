//! [`Output`]: one batch a transform returns, built from the input's columns by reference,
//! new arrow-rs arrays, and (contract 0.2) host columns from the compute kernels, with an
//! optional row selection the host applies.
//!
//! The host does the work an output describes: kept columns are not copied at all, a
//! selection is applied with arrow's own kernels in the host, host columns never enter the
//! plugin. Only arrays the plugin made itself cross (and are validated by the host).

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_buffer::BooleanBuffer;

use crate::Error;

/// One column of an [`Output`].
#[derive(Debug, Clone)]
pub enum OutColumn {
    /// Input column `i`, passed through by reference.
    Keep(usize),
    /// A new array, copied to the host and validated there.
    Array(ArrayRef),
    /// A host column (a compute kernel's result), by handle.
    #[cfg(not(feature = "contract-0-1"))]
    Host(crate::compute::Column),
}

/// Which input rows an output keeps.
#[derive(Debug, Clone)]
pub enum Selection {
    /// One bit per input row.
    Mask(BooleanBuffer),
    /// Input rows to take, in this order (repeats allowed).
    Indices(Vec<u32>),
}

/// One output batch: its columns in the declared output schema's order, its rows, and an
/// optional selection of input rows.
///
/// Without a selection every column has [`Output::num_rows`] rows. With one, every column
/// has the input's rows and the host applies the selection to all of them.
#[derive(Debug, Clone)]
pub struct Output {
    pub(crate) num_rows: usize,
    pub(crate) selection: Option<Selection>,
    pub(crate) columns: Vec<OutColumn>,
    /// Rows of the input (what columns have before a selection), when from an input.
    pub(crate) input_rows: Option<usize>,
}

impl Output {
    /// An output of `num_rows` rows with no columns yet (add them with [`Output::push`]).
    pub fn new(num_rows: usize) -> Self {
        Output {
            num_rows,
            selection: None,
            columns: Vec::new(),
            input_rows: None,
        }
    }

    /// Every one of `columns` input columns kept, every one of `rows` rows.
    pub(crate) fn keep_all(columns: usize, rows: usize) -> Self {
        Output {
            num_rows: rows,
            selection: None,
            columns: (0..columns).map(OutColumn::Keep).collect(),
            input_rows: Some(rows),
        }
    }

    /// Rows of the output (after the selection, if any).
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Its columns.
    pub fn columns(&self) -> &[OutColumn] {
        &self.columns
    }

    /// Rows every column must have: the input's under a selection, the output's otherwise.
    fn column_rows(&self) -> usize {
        match (&self.selection, self.input_rows) {
            (Some(_), Some(rows)) => rows,
            _ => self.num_rows,
        }
    }

    /// Replace column `i` with `array` (of the column rows).
    ///
    /// # Errors
    /// `i` out of range, or `array` of the wrong length.
    pub fn set(mut self, i: usize, array: ArrayRef) -> Result<Self, Error> {
        crate::batch::check_len(array.as_ref(), self.column_rows(), &format!("column {i}"))?;
        let n = self.columns.len();
        let slot = self
            .columns
            .get_mut(i)
            .ok_or_else(|| Error::internal(format!("set({i}) on an output of {n} columns")))?;
        *slot = OutColumn::Array(array);
        Ok(self)
    }

    /// Replace column `i` with a host column.
    ///
    /// # Errors
    /// `i` out of range.
    #[cfg(not(feature = "contract-0-1"))]
    pub fn set_host(mut self, i: usize, column: crate::compute::Column) -> Result<Self, Error> {
        let n = self.columns.len();
        let slot = self
            .columns
            .get_mut(i)
            .ok_or_else(|| Error::internal(format!("set_host({i}) on an output of {n} columns")))?;
        *slot = OutColumn::Host(column);
        Ok(self)
    }

    /// Append `array` as the last column.
    ///
    /// # Errors
    /// `array` of the wrong length.
    pub fn push(mut self, array: ArrayRef) -> Result<Self, Error> {
        crate::batch::check_len(array.as_ref(), self.column_rows(), "a pushed column")?;
        self.columns.push(OutColumn::Array(array));
        Ok(self)
    }

    /// Append a host column as the last column.
    #[cfg(not(feature = "contract-0-1"))]
    pub fn push_host(mut self, column: crate::compute::Column) -> Self {
        self.columns.push(OutColumn::Host(column));
        self
    }

    /// Append input column `i`, by reference.
    pub fn push_kept(mut self, i: usize) -> Self {
        self.columns.push(OutColumn::Keep(i));
        self
    }

    /// Remove column `i`.
    ///
    /// # Errors
    /// `i` out of range.
    pub fn remove(mut self, i: usize) -> Result<Self, Error> {
        if i >= self.columns.len() {
            return Err(Error::internal(format!(
                "remove({i}) on an output of {} columns",
                self.columns.len()
            )));
        }
        self.columns.remove(i);
        Ok(self)
    }

    /// Keep only the columns at `indices`, in that order.
    ///
    /// # Errors
    /// An index out of range.
    pub fn project(self, indices: &[usize]) -> Result<Self, Error> {
        let columns = indices
            .iter()
            .map(|&i| {
                self.columns.get(i).cloned().ok_or_else(|| {
                    Error::internal(format!(
                        "project: column {i} of an output of {} columns",
                        self.columns.len()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Output { columns, ..self })
    }

    /// Keep the rows where `mask` is true (nulls count as false). The host applies it to
    /// every column.
    ///
    /// # Errors
    /// `mask` is not one value per input row, or the output is already selected.
    pub fn filter(mut self, mask: &BooleanArray) -> Result<Self, Error> {
        let rows = self.input_rows.unwrap_or(self.num_rows);
        crate::batch::check_len(mask, rows, "the filter mask")?;
        if self.selection.is_some() {
            return Err(Error::internal(
                "filter on an output that already has a selection",
            ));
        }
        // Nulls count as false: fold the validity into the values.
        let bits = match mask.nulls() {
            Some(n) => mask.values() & n.inner(),
            None => mask.values().clone(),
        };
        self.num_rows = bits.count_set_bits();
        self.input_rows = Some(rows);
        self.selection = Some(Selection::Mask(bits));
        Ok(self)
    }

    /// Take the input rows at `indices`, in that order (repeats allowed).
    ///
    /// # Errors
    /// An index past the input's rows, or the output is already selected.
    pub fn take(mut self, indices: Vec<u32>) -> Result<Self, Error> {
        let rows = self.input_rows.unwrap_or(self.num_rows);
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= rows) {
            return Err(Error::internal(format!("take: row {bad} of {rows}")));
        }
        if self.selection.is_some() {
            return Err(Error::internal(
                "take on an output that already has a selection",
            ));
        }
        self.num_rows = indices.len();
        self.input_rows = Some(rows);
        self.selection = Some(Selection::Indices(indices));
        Ok(self)
    }
}

impl From<RecordBatch> for Output {
    /// Every column as an array (the adapter recognises the input's own arrays and sends
    /// them back by reference).
    fn from(b: RecordBatch) -> Self {
        Output {
            num_rows: b.num_rows(),
            selection: None,
            columns: b.columns().iter().cloned().map(OutColumn::Array).collect(),
            input_rows: None,
        }
    }
}

/// What `process` and `finish` may return: outputs, record batches, or nothing.
pub trait IntoOutputs {
    /// The outputs, in order.
    fn into_outputs(self) -> Vec<Output>;
}

impl IntoOutputs for Vec<Output> {
    fn into_outputs(self) -> Vec<Output> {
        self
    }
}

impl IntoOutputs for Vec<RecordBatch> {
    fn into_outputs(self) -> Vec<Output> {
        self.into_iter().map(Output::from).collect()
    }
}

impl IntoOutputs for Output {
    fn into_outputs(self) -> Vec<Output> {
        vec![self]
    }
}

impl IntoOutputs for RecordBatch {
    fn into_outputs(self) -> Vec<Output> {
        vec![self.into()]
    }
}

impl IntoOutputs for Option<Output> {
    fn into_outputs(self) -> Vec<Output> {
        self.into_iter().collect()
    }
}

impl IntoOutputs for () {
    fn into_outputs(self) -> Vec<Output> {
        Vec::new()
    }
}
