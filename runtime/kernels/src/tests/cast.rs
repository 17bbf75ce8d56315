//! `cast`: arrow-cast's rules, `safe` as nulls, the first failing row and value, and the
//! output bound.

use arrow_array::{Array, Float64Array, Int8Array, Int32Array, Int64Array, StringArray};
use arrow_schema::{DataType, Field, Fields};

use super::{check, col, contains_all, data, invalid, limit};
use crate::{Budget, cast};

#[test]
fn safe_casts_turn_failures_into_nulls() {
    let a = col(StringArray::from(vec![
        Some("1"),
        Some("x"),
        None,
        Some("3"),
    ]));
    check(
        &cast(&a, &DataType::Int32, true, &Budget::default()).unwrap(),
        &Int32Array::from(vec![Some(1), None, None, Some(3)]),
    );
}

#[test]
fn unsafe_casts_name_the_first_failing_row_and_value() {
    let a = col(StringArray::from(vec![
        Some("1"),
        None,
        Some("x"),
        Some("y"),
    ]));
    let (row, message) = data(cast(&a, &DataType::Int32, false, &Budget::default()));
    assert_eq!(row, Some(2));
    contains_all(&message, &["cast", "row 2", "\"x\"", "Int32"]);
    let wide = col(Int64Array::from(vec![1, 300]));
    let (row, message) = data(cast(&wide, &DataType::Int8, false, &Budget::default()));
    assert_eq!(row, Some(1));
    contains_all(&message, &["row 1", "300", "Int8"]);
}

#[test]
fn a_sliced_column_counts_rows_from_its_first_row() {
    let a = col(StringArray::from(vec!["a", "1", "2", "y"])).slice(1, 3);
    let (row, message) = data(cast(&a, &DataType::Float64, false, &Budget::default()));
    assert_eq!(row, Some(2));
    contains_all(&message, &["\"y\""]);
    check(
        &cast(&a, &DataType::Float64, true, &Budget::default()).unwrap(),
        &Float64Array::from(vec![Some(1.0), Some(2.0), None]),
    );
}

#[test]
fn numbers_to_text_and_back() {
    let a = col(Int8Array::from(vec![Some(-128), None, Some(7)]));
    let text = cast(&a, &DataType::Utf8, false, &Budget::default()).unwrap();
    check(
        &text,
        &StringArray::from(vec![Some("-128"), None, Some("7")]),
    );
    check(
        &cast(&text, &DataType::Int8, false, &Budget::default()).unwrap(),
        &Int8Array::from(vec![Some(-128), None, Some(7)]),
    );
}

#[test]
fn empty_and_all_null_columns() {
    let empty = col(StringArray::from(Vec::<&str>::new()));
    check(
        &cast(&empty, &DataType::Int64, false, &Budget::default()).unwrap(),
        &Int64Array::from(Vec::<i64>::new()),
    );
    let nulls = col(StringArray::from(vec![None::<&str>, None]));
    check(
        &cast(&nulls, &DataType::Int64, false, &Budget::default()).unwrap(),
        &Int64Array::new_null(2),
    );
}

#[test]
fn a_cast_arrow_does_not_have_is_invalid() {
    let a = col(Int32Array::from(vec![1]));
    let to = DataType::Struct(Fields::from(vec![Field::new("x", DataType::Int32, true)]));
    contains_all(
        &invalid(cast(&a, &to, false, &Budget::default())),
        &["cast", "no cast from Int32"],
    );
}

#[test]
fn a_target_zone_arrow_does_not_know_is_invalid() {
    let a = col(Int64Array::from(vec![0]));
    let to = DataType::Timestamp(arrow_schema::TimeUnit::Second, Some("Mars/Base".into()));
    contains_all(
        &invalid(cast(&a, &to, true, &Budget::default())),
        &["cast", "unknown time zone \"Mars/Base\""],
    );
}

#[test]
fn a_cast_that_grows_past_the_budget_is_refused() {
    let a = col(Int64Array::from(
        (0..10_000).map(|i| i * 1_000_000_007).collect::<Vec<_>>(),
    ));
    let budget = Budget {
        max_output_bytes: 50_000,
        ..Budget::default()
    };
    contains_all(
        &limit(cast(&a, &DataType::Utf8, false, &budget)),
        &["cast", "50000 bytes allowed"],
    );
    // Fixed width: known exactly before anything is allocated.
    let small = col(Int8Array::from(vec![1i8; 10_000]));
    contains_all(
        &limit(cast(&small, &DataType::Int64, false, &budget)),
        &["needs 81250 bytes"],
    );
    let out = cast(&small, &DataType::Int32, false, &budget).unwrap();
    assert_eq!(out.len(), 10_000);
}
