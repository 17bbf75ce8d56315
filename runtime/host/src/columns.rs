//! The host side of `quiver:transform/columns@0.2.0`: host-owned columns as resources.
//!
//! A 0.2 plugin never receives a batch's buffers unless it asks. `process` lends it a
//! [`BatchRes`] (the input's arrays, behind a handle valid for that call); `batch.column(i)`
//! gives it a [`ColumnRes`] handle to one array without copying anything; `read` copies one
//! column's buffers into guest memory (the only copy a column ever makes into the guest);
//! compute kernels (`compute.rs`) return new handles; `from-data` turns guest buffers into a
//! host column after full validation.
//!
//! Lifetimes and bounds (the guest is hostile):
//!
//! - Every handle belongs to the call it was made in ([`CallScope`]). When the call returns,
//!   the host drops the arrays of every handle made during it: a handle kept for a later
//!   call still names a table entry, but using it — or returning it — is refused as an
//!   invalid output ([`HostTrap::StaleHandle`]). A forged handle is refused by wasmtime
//!   itself (the canonical ABI checks every handle index and type).
//! - Live handles per instance are capped ([`MAX_HANDLES`]); bytes of host columns made
//!   during a call (kernel results, `from-data`) count against the stage's memory limit
//!   together with the guest's own linear memory ([`HostTrap::OutOfMemory`]).

use std::fmt;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use wasmtime::component::Resource;

use crate::bindings::v2::columns::{Host, HostBatch, HostColumn};
use crate::bindings::v2::types::{Error as WitError, Field, Node};
use crate::state::StoreState;
use crate::tree::{array_to_nodes, field_nodes_to_type, nodes_to_array, type_to_field_nodes};

/// Column handles one instance may hold at once. A well-behaved guest drops each handle
/// when done with it; one that hoards them is stopped here instead of growing the host's
/// resource table without bound.
pub const MAX_HANDLES: usize = 65_536;

/// A host-owned column: the array, while its call lasts.
#[derive(Debug)]
pub struct ColumnRes {
    /// `None` once the call that made the handle has returned (the array is released).
    array: Option<ArrayRef>,
    /// The call the handle belongs to.
    call: u64,
}

/// A batch lent to one `process` call.
#[derive(Debug)]
pub struct BatchRes {
    /// The input's columns, in the input schema's order (views already converted).
    pub(crate) columns: Vec<ArrayRef>,
    /// Rows of every column.
    pub(crate) rows: usize,
}

/// Why a host function stops a guest call (returned as a trap, classified by the
/// transformer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTrap {
    /// A handle used after the call it was made in, or of another batch.
    StaleHandle(String),
    /// More live handles than [`MAX_HANDLES`].
    TooManyHandles,
    /// A host column would put the stage over its memory limit.
    OutOfMemory(String),
    /// A kernel would run past the call's deadline.
    Deadline(String),
    /// A kernel would use more fuel than the call has left.
    OutOfFuel(String),
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostTrap::StaleHandle(what) => write!(
                f,
                "{what}: the column handle is not of this call (kept from an earlier call, or \
                 of another batch); handles are valid for the call they were made in"
            ),
            HostTrap::TooManyHandles => write!(
                f,
                "more than {MAX_HANDLES} column handles are alive at once; drop handles \
                 when done with them"
            ),
            HostTrap::OutOfMemory(what) => write!(f, "out of memory: {what}"),
            HostTrap::Deadline(what) => write!(f, "deadline: {what}"),
            HostTrap::OutOfFuel(what) => write!(f, "out of fuel: {what}"),
        }
    }
}

impl std::error::Error for HostTrap {}

/// What the host keeps of the columns made during the current guest call.
#[derive(Debug, Default)]
pub struct CallScope {
    /// The current call's number; handles of other calls are stale.
    pub(crate) call: u64,
    /// Handles made during the call (their arrays are released when it returns).
    made: Vec<u32>,
    /// Bytes of host columns made during the call (kernel results, `from-data`).
    pub(crate) bytes: usize,
    /// Column handles alive in the table.
    pub(crate) live: usize,
    /// Fuel the call's kernels cost (metered plugins).
    pub(crate) fuel: u64,
}

impl StoreState {
    /// A new call begins: handles of earlier calls are stale from now on.
    pub(crate) fn begin_call(&mut self) {
        self.scope.call += 1;
        self.scope.bytes = 0;
        self.scope.fuel = 0;
    }

    /// The call returned: release the arrays of every handle it made (a guest that kept a
    /// handle holds a table entry, not memory).
    pub(crate) fn end_call(&mut self) {
        for rep in std::mem::take(&mut self.scope.made) {
            let handle = Resource::<ColumnRes>::new_own(rep);
            if let Ok(c) = self.table.get_mut(&handle) {
                c.array = None;
            }
        }
        self.scope.bytes = 0;
    }

    /// A new handle to `array`, made in this call. `new_bytes` are the bytes the host
    /// allocated for it (0 for an input column, which the batch already holds).
    pub(crate) fn new_column(
        &mut self,
        array: ArrayRef,
        new_bytes: usize,
    ) -> wasmtime::Result<Resource<ColumnRes>> {
        if self.scope.live >= MAX_HANDLES {
            return Err(wasmtime::Error::new(HostTrap::TooManyHandles));
        }
        self.charge(new_bytes, "a host column")?;
        let res = self.table.push(ColumnRes {
            array: Some(array),
            call: self.scope.call,
        })?;
        self.scope.live += 1;
        self.scope.made.push(res.rep());
        Ok(res)
    }

    /// Count `bytes` of host memory made for the guest against its memory limit (together
    /// with its own linear memory).
    pub(crate) fn charge(&mut self, bytes: usize, what: &str) -> wasmtime::Result<()> {
        let total = self.scope.bytes.saturating_add(bytes);
        let linear = self.limiter.current_memory;
        let cap = self.memory_cap;
        if total.saturating_add(linear) > cap {
            return Err(wasmtime::Error::new(HostTrap::OutOfMemory(format!(
                "{what} of {bytes} bytes would bring the stage to {} bytes (host columns of \
                 this call {} + linear memory {linear}), over its memory limit of {cap}",
                total.saturating_add(linear),
                self.scope.bytes
            ))));
        }
        self.scope.bytes = total;
        Ok(())
    }

    /// The array behind `handle`, if it belongs to the current call.
    pub(crate) fn column_array(
        &self,
        handle: &Resource<ColumnRes>,
        what: &str,
    ) -> wasmtime::Result<ArrayRef> {
        let stale = || wasmtime::Error::new(HostTrap::StaleHandle(what.to_owned()));
        let c = self.table.get(handle).map_err(|_| stale())?;
        match &c.array {
            Some(a) if c.call == self.scope.call => Ok(Arc::clone(a)),
            _ => Err(stale()),
        }
    }

    /// The batch behind `handle`.
    fn batch(&self, handle: &Resource<BatchRes>) -> wasmtime::Result<&BatchRes> {
        self.table
            .get(handle)
            .map_err(|_| wasmtime::Error::new(HostTrap::StaleHandle("the batch".into())))
    }
}

/// A WIT error for a call's bad argument.
fn invalid(message: String) -> WitError {
    WitError::Data(crate::bindings::v2::types::DataError {
        column: None,
        row: None,
        message,
    })
}

impl HostColumn for StoreState {
    fn len(&mut self, self_: Resource<ColumnRes>) -> wasmtime::Result<u64> {
        Ok(self.column_array(&self_, "column.len")?.len() as u64)
    }

    fn null_count(&mut self, self_: Resource<ColumnRes>) -> wasmtime::Result<u64> {
        Ok(self.column_array(&self_, "column.null-count")?.null_count() as u64)
    }

    fn data_type(&mut self, self_: Resource<ColumnRes>) -> wasmtime::Result<Vec<Field>> {
        let a = self.column_array(&self_, "column.data-type")?;
        type_to_field_nodes(a.data_type())
            .map_err(|e| wasmtime::Error::msg(format!("a host column's type: {e}")))
    }

    fn read(&mut self, self_: Resource<ColumnRes>) -> wasmtime::Result<Vec<Node>> {
        let a = self.column_array(&self_, "column.read")?;
        array_to_nodes(a.as_ref())
            .map_err(|e| wasmtime::Error::msg(format!("reading a host column: {e}")))
    }

    fn drop(&mut self, rep: Resource<ColumnRes>) -> wasmtime::Result<()> {
        // The guest may drop a handle whose call is over: that is expected, not stale.
        if self.table.delete(rep).is_ok() {
            self.scope.live = self.scope.live.saturating_sub(1);
        }
        Ok(())
    }
}

impl HostBatch for StoreState {
    fn num_rows(&mut self, self_: Resource<BatchRes>) -> wasmtime::Result<u64> {
        Ok(self.batch(&self_)?.rows as u64)
    }

    fn column(
        &mut self,
        self_: Resource<BatchRes>,
        index: u32,
    ) -> wasmtime::Result<Result<Resource<ColumnRes>, WitError>> {
        let b = self.batch(&self_)?;
        let Some(array) = b.columns.get(index as usize).map(Arc::clone) else {
            return Ok(Err(invalid(format!(
                "batch.column({index}): the batch has {} columns",
                b.columns.len()
            ))));
        };
        self.new_column(array, 0).map(Ok)
    }

    fn columns(&mut self, self_: Resource<BatchRes>) -> wasmtime::Result<Vec<Resource<ColumnRes>>> {
        let arrays = self.batch(&self_)?.columns.clone();
        arrays
            .into_iter()
            .map(|array| self.new_column(array, 0))
            .collect()
    }

    fn read(
        &mut self,
        self_: Resource<BatchRes>,
        index: u32,
    ) -> wasmtime::Result<Result<Vec<Node>, WitError>> {
        let b = self.batch(&self_)?;
        let Some(array) = b.columns.get(index as usize) else {
            return Ok(Err(invalid(format!(
                "batch.read({index}): the batch has {} columns",
                b.columns.len()
            ))));
        };
        array_to_nodes(array.as_ref())
            .map(Ok)
            .map_err(|e| wasmtime::Error::msg(format!("reading input column {index}: {e}")))
    }

    fn drop(&mut self, rep: Resource<BatchRes>) -> wasmtime::Result<()> {
        // The transformer deletes the batch itself after `process` returns; a borrowed
        // handle is never dropped by the guest.
        let _ = self.table.delete(rep);
        Ok(())
    }
}

impl Host for StoreState {
    fn from_data(
        &mut self,
        data_type: Vec<Field>,
        data: Vec<Node>,
    ) -> wasmtime::Result<Result<Resource<ColumnRes>, WitError>> {
        let ty: DataType = match field_nodes_to_type(data_type) {
            Ok(t) => t,
            Err(e) => return Ok(Err(invalid(format!("from-data: the type: {e}")))),
        };
        let bytes: usize = data
            .iter()
            .map(|n| {
                n.values.len()
                    + n.offsets.as_ref().map_or(0, Vec::len)
                    + n.validity.as_ref().map_or(0, Vec::len)
            })
            .sum();
        self.charge(bytes, "from-data's buffers")?;
        match nodes_to_array(&ty, data, quiver_columnar::Validation::Full) {
            Ok(array) => {
                // Charged above already.
                self.scope.bytes = self.scope.bytes.saturating_sub(bytes);
                self.new_column(array, bytes).map(Ok)
            }
            Err(e) => {
                self.scope.bytes = self.scope.bytes.saturating_sub(bytes);
                Ok(Err(invalid(format!("from-data: {e}"))))
            }
        }
    }
}
