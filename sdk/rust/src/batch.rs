//! [`Batch`]: the input of one `process` call — the host's columns, copied into the plugin
//! only when it reads them.
//!
//! Under contract 0.2 a batch arrives as a handle to the host's Arrow arrays. `column(i)`
//! copies column `i` in on first use and keeps it for the rest of the call; a column never
//! read is never copied. Columns the plugin hands back unchanged — read or not — go back as
//! references (see [`crate::Output`]), so they are not copied out either. Under contract 0.1
//! (the `contract-0-1` feature) every column is already in the plugin when `process` is
//! called; the same code works, it only copies more.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;

use crate::Error;
use crate::output::Output;

/// Where a batch's columns come from.
pub(crate) trait Source {
    /// Copy column `i` of the batch into the plugin.
    fn fetch(&self, i: usize) -> Result<ArrayRef, Error>;
    /// A host handle to column `i` (contract 0.2 only).
    #[cfg(not(feature = "contract-0-1"))]
    fn host(&self, i: usize) -> Result<crate::compute::Column, Error>;
}

/// What a [`Batch`] shares with the adapter that made it, which needs it after `process`
/// returns to recognise the input's own arrays in what the plugin returned.
pub(crate) struct Shared {
    /// Each column once it has been read.
    pub(crate) cells: Vec<OnceCell<ArrayRef>>,
}

impl Shared {
    /// The index of the input column `array` is (the very same array, by pointer).
    #[cfg(not(feature = "contract-0-1"))]
    pub(crate) fn index_of(&self, array: &ArrayRef) -> Option<usize> {
        self.cells
            .iter()
            .position(|c| c.get().is_some_and(|a| Arc::ptr_eq(a, array)))
    }
}

/// The input of one `process` call: rows of the schema the transformer was created with.
///
/// It reads like an arrow-rs [`RecordBatch`] (`schema`, `num_rows`, `column`,
/// `column_by_name`, `columns`), but fetches each column from the host the first time it is
/// asked for. Build what you return from it with [`Batch::output`] (every input column kept
/// by reference, then replace, add, remove or select), or return any `RecordBatch`: arrays
/// you took from the batch are recognised and go back by reference.
pub struct Batch<'a> {
    pub(crate) schema: SchemaRef,
    pub(crate) rows: usize,
    pub(crate) shared: Rc<Shared>,
    pub(crate) source: &'a dyn Source,
    /// Every column, once `columns()` asked for all of them.
    all: OnceCell<Vec<ArrayRef>>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("rows", &self.rows)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl<'a> Batch<'a> {
    pub(crate) fn new(schema: SchemaRef, rows: usize, source: &'a dyn Source) -> Self {
        let cells = (0..schema.fields().len())
            .map(|_| OnceCell::new())
            .collect();
        Batch {
            schema,
            rows,
            shared: Rc::new(Shared { cells }),
            source,
            all: OnceCell::new(),
        }
    }

    /// The schema of the batch (the input schema the transformer was created with).
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The schema of the batch, borrowed.
    pub fn schema_ref(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows of every column.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// Columns of the batch.
    pub fn num_columns(&self) -> usize {
        self.schema.fields().len()
    }

    /// Column `i`, copied in from the host the first time it is asked for.
    ///
    /// # Panics
    /// When `i` is out of range (as [`RecordBatch::column`]), or when the host cannot give
    /// the column (a broken host: use [`Batch::try_column`] to get an error instead).
    pub fn column(&self, i: usize) -> &ArrayRef {
        match self.try_column(i) {
            Ok(c) => c,
            Err(e) => panic!("column {i} of the batch: {e}"),
        }
    }

    /// Column `i`, copied in from the host the first time it is asked for.
    ///
    /// # Errors
    /// `i` out of range, or the host's buffers do not fit the column's type.
    pub fn try_column(&self, i: usize) -> Result<&ArrayRef, Error> {
        let cell = self.shared.cells.get(i).ok_or_else(|| {
            Error::internal(format!(
                "column {i} of a batch of {} columns",
                self.num_columns()
            ))
        })?;
        if let Some(c) = cell.get() {
            return Ok(c);
        }
        let array = self.source.fetch(i)?;
        Ok(cell.get_or_init(|| array))
    }

    /// The column named `name`, copied in on first use.
    pub fn column_by_name(&self, name: &str) -> Option<&ArrayRef> {
        let i = self.schema.index_of(name).ok()?;
        Some(self.column(i))
    }

    /// Every column (copies in each one not read yet: prefer [`Batch::column`] for the
    /// ones you use, and [`Batch::output`] to pass the others through).
    pub fn columns(&self) -> &[ArrayRef] {
        self.all.get_or_init(|| {
            (0..self.num_columns())
                .map(|i| Arc::clone(self.column(i)))
                .collect()
        })
    }

    /// The whole batch as an arrow-rs [`RecordBatch`] (every column copied in).
    ///
    /// # Errors
    /// A column the host cannot give.
    pub fn to_record_batch(&self) -> Result<RecordBatch, Error> {
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        Ok(RecordBatch::try_new_with_options(
            self.schema(),
            self.columns().to_vec(),
            &options,
        )?)
    }

    /// A host handle to column `i`, for the host's compute kernels: nothing is copied.
    ///
    /// # Errors
    /// `i` out of range.
    #[cfg(not(feature = "contract-0-1"))]
    pub fn host(&self, i: usize) -> Result<crate::compute::Column, Error> {
        self.source.host(i)
    }

    /// A host handle to the column named `name`.
    ///
    /// # Errors
    /// No such column.
    #[cfg(not(feature = "contract-0-1"))]
    pub fn host_by_name(&self, name: &str) -> Result<crate::compute::Column, Error> {
        let i = self
            .schema
            .index_of(name)
            .map_err(|_| Error::internal(format!("the batch has no column `{name}`")))?;
        self.host(i)
    }

    /// An output with every input column passed through by reference and every row: change
    /// it with [`Output::set`], [`Output::push`], [`Output::remove`], [`Output::filter`]…
    pub fn output(&self) -> Output {
        Output::keep_all(self.num_columns(), self.rows)
    }

    /// The rows where `mask` is true, every column passed through: the host applies the
    /// selection, so no column crosses either way.
    ///
    /// # Errors
    /// `mask` is not one value per row.
    pub fn filter(&self, mask: &arrow_array::BooleanArray) -> Result<Output, Error> {
        self.output().filter(mask)
    }
}

/// The row count of an array that must have `rows` rows (a column of an output).
pub(crate) fn check_len(array: &dyn Array, rows: usize, what: &str) -> Result<(), Error> {
    if array.len() == rows {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "{what} has {} rows; the output needs {rows}",
            array.len()
        )))
    }
}
