//! The kernels' tests: one module per family with exact expected values (nulls, empty and
//! sliced inputs, every error kind with its message), and a deterministic fuzz that calls
//! every kernel on random columns and holds it to never panicking.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef};

use crate::{KernelError, Operand, Scalar};

mod aggregate;
mod arith;
mod cast;
mod compare;
mod fuzz;
mod hash;
mod math;
mod nulls;
mod regex;
mod select;
mod strings;
mod temporal;

/// An array as an `ArrayRef`.
fn col(a: impl Array + 'static) -> ArrayRef {
    Arc::new(a)
}

/// A column operand.
fn c(a: &ArrayRef) -> Operand<'_> {
    Operand::Column(a)
}

/// A scalar operand.
fn s(v: impl Into<Scalar>) -> Operand<'static> {
    Operand::Scalar(v.into())
}

/// Asserts that `actual` equals `expected`, type included, showing both on failure.
#[track_caller]
fn check(actual: &dyn Array, expected: &dyn Array) {
    assert_eq!(
        actual.data_type(),
        expected.data_type(),
        "types differ: got {actual:?}"
    );
    assert_eq!(
        actual.to_data(),
        expected.to_data(),
        "values differ:\n got      {actual:?}\n expected {expected:?}"
    );
}

/// The row and message of a [`KernelError::Data`], failing on anything else.
#[track_caller]
fn data<T: std::fmt::Debug>(result: Result<T, KernelError>) -> (Option<u64>, String) {
    match result {
        Err(KernelError::Data { row, message }) => (row, message),
        other => panic!("expected a Data error, got {other:?}"),
    }
}

/// The message of a [`KernelError::Invalid`], failing on anything else.
#[track_caller]
fn invalid<T: std::fmt::Debug>(result: Result<T, KernelError>) -> String {
    match result {
        Err(KernelError::Invalid { message }) => message,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

/// The message of a [`KernelError::Limit`], failing on anything else.
#[track_caller]
fn limit<T: std::fmt::Debug>(result: Result<T, KernelError>) -> String {
    match result {
        Err(KernelError::Limit { message }) => message,
        other => panic!("expected a Limit error, got {other:?}"),
    }
}

/// Asserts that `text` contains every one of `parts`.
#[track_caller]
fn contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{text:?} lacks {part:?}");
    }
}
