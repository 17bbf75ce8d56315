//! The host's compute kernels: what plugins call, through the `compute` interface, on
//! columns the host owns, so the data never has to enter the guest.
//!
//! Each kernel is a plain function from arrow arrays (and [`Scalar`]s, which broadcast) to a
//! new array or a [`Scalar`], built on arrow's own kernels (arrow-arith, arrow-ord,
//! arrow-string, arrow-select, arrow-cast, arrow-row) wherever arrow has one. This crate
//! knows nothing of wasmtime, WIT or plugins: the host binds each function one-to-one to the
//! interface and charges the output to the calling plugin. `docs/kernels.md` documents every
//! kernel once — types, nulls, errors, the pandas expression it stands for — with the type
//! promotion table and the output bounds.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Float64Array, Int32Array};
//! use quiver_kernels::{arith, compare, filter, aggregate, ArithOp, CmpOp, AggOp, Operand, Scalar};
//!
//! // df = {"qty": [1, 5, 3], "price": [2.0, 4.0, 8.0]}
//! let qty: ArrayRef = Arc::new(Int32Array::from(vec![1, 5, 3]));
//! let price: ArrayRef = Arc::new(Float64Array::from(vec![2.0, 4.0, 8.0]));
//!
//! // (df.qty * df.price)[df.qty > 2].sum()
//! let amount = arith(ArithOp::Multiply, Operand::Column(&qty), Operand::Column(&price), true)?;
//! let big = compare(CmpOp::Gt, Operand::Column(&qty), Operand::Scalar(Scalar::Int64(2)))?;
//! let total = aggregate(AggOp::Sum, &filter(&amount, &big)?)?;
//! assert_eq!(total, Scalar::Float64(44.0));
//! # Ok::<(), quiver_kernels::KernelError>(())
//! ```
//!
//! # Core concepts
//!
//! - [`Operand`]: a column (`&ArrayRef`) or a [`Scalar`]. A scalar is *weak*: it takes the
//!   column's type when its value fits (`int32_col + 1` stays Int32).
//! - [`KernelError`]: [`Data`](KernelError::Data) (a value is at fault; names the row),
//!   [`Invalid`](KernelError::Invalid) (the arguments are), [`Limit`](KernelError::Limit)
//!   (the output would pass the [`Budget`]).
//! - [`Budget`]: per call, the most bytes an output may take and the largest compiled regex.
//!   Kernels whose output can outgrow their inputs take one and refuse before allocating.
//! - Nulls propagate through row-wise kernels; NaN is a value, not a null.
//! - Every kernel works on sliced columns, empty and all-null ones, and never panics on any
//!   input (a fuzz test holds it to that).

#![deny(missing_docs)]

#[macro_use]
mod macros;

mod affine;
mod aggregate;
mod arith;
mod budget;
mod cast;
mod coerce;
mod compare;
mod error;
mod hash;
mod math;
mod nulls;
mod regex;
mod scalar;
mod select;
mod strings;
mod temporal;

#[cfg(test)]
mod tests;

pub use affine::affine;
pub use aggregate::{AggOp, aggregate};
pub use arith::{ArithOp, arith};
pub use budget::Budget;
pub use cast::cast;
pub use compare::{CmpOp, LogicOp, compare, logic, not};
pub use error::KernelError;
pub use hash::{Encoding, hmac_sha256, sha256};
pub use math::{UnaryOp, clip, is_nan, round, unary};
pub use nulls::{coalesce, fill_null, is_not_null, is_null};
pub use regex::{regex_match, regex_replace};
pub use scalar::{Operand, Scalar, TimeUnit};
pub use select::{filter, filter_many, is_in, slice, take};
pub use strings::{StrOp, concat, contains, ends_with, starts_with, str_unary, substring};
pub use temporal::{DatePart, date_part};
