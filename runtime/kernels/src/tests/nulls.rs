//! `is_null`, `is_not_null`, `fill_null`, `coalesce`: exact values, casts of the fill value,
//! and the output bound.

use arrow_array::{
    BooleanArray, Float64Array, Int8Array, Int32Array, Int64Array, NullArray, StringArray,
};

use super::{c, check, col, contains_all, invalid, limit, s};
use crate::{Budget, Operand, Scalar, coalesce, fill_null, is_not_null, is_null};

#[test]
fn null_masks_never_null_themselves() {
    let a = col(Int32Array::from(vec![Some(0), None, Some(2), None])).slice(1, 3);
    check(
        &is_null(&a).unwrap(),
        &BooleanArray::from(vec![true, false, true]),
    );
    check(
        &is_not_null(&a).unwrap(),
        &BooleanArray::from(vec![false, true, false]),
    );
    let nan = col(Float64Array::from(vec![f64::NAN]));
    check(&is_null(&nan).unwrap(), &BooleanArray::from(vec![false]));
    let nulls = col(NullArray::new(2));
    check(
        &is_null(&nulls).unwrap(),
        &BooleanArray::from(vec![true, true]),
    );
}

#[test]
fn fill_null_with_a_scalar_cast_to_the_column_type() {
    let budget = Budget::default();
    let a = col(Int32Array::from(vec![Some(1), None, Some(3)]));
    check(
        &fill_null(&a, s(0i64), &budget).unwrap(),
        &Int32Array::from(vec![1, 0, 3]),
    );
    let t = col(StringArray::from(vec![None, Some("b")]));
    check(
        &fill_null(&t, s("?"), &budget).unwrap(),
        &StringArray::from(vec!["?", "b"]),
    );
    let small = col(Int8Array::from(vec![None, Some(1)]));
    contains_all(
        &invalid(fill_null(&small, s(1000i64), &budget)),
        &["fill_null", "1000", "Int8"],
    );
    // Refused whatever the data: also when there is no null to fill.
    let full = col(Int8Array::from(vec![1]));
    invalid(fill_null(&full, s(1000i64), &budget));
    let nothing = col(NullArray::new(2));
    check(
        &fill_null(&nothing, s(5i64), &budget).unwrap(),
        &Int64Array::from(vec![5, 5]),
    );
    check(
        &fill_null(&nothing, Operand::Scalar(Scalar::Null), &budget).unwrap(),
        &NullArray::new(2),
    );
}

#[test]
fn fill_null_from_another_column() {
    let budget = Budget::default();
    let a = col(Int32Array::from(vec![Some(1), None, None])).slice(1, 2);
    let b = col(Int64Array::from(vec![Some(7), None]));
    check(
        &fill_null(&a, c(&b), &budget).unwrap(),
        &Int32Array::from(vec![Some(7), None]),
    );
    let short = col(Int64Array::from(vec![1]));
    contains_all(
        &invalid(fill_null(&a, c(&short), &budget)),
        &["2 and 1 rows"],
    );
}

#[test]
fn fill_null_refuses_an_output_past_the_budget() {
    let a = col(StringArray::from(vec![None::<&str>; 1000]));
    let long = "x".repeat(1000);
    let budget = Budget {
        max_output_bytes: 100_000,
        ..Budget::default()
    };
    contains_all(
        &limit(fill_null(&a, s(long.as_str()), &budget)),
        &["fill_null", "100000 bytes allowed"],
    );
    let roomy = Budget {
        max_output_bytes: 2_000_000,
        ..Budget::default()
    };
    assert_eq!(fill_null(&a, s(long.as_str()), &roomy).unwrap().len(), 1000);
}

#[test]
fn coalesce_takes_the_first_present_value() {
    let budget = Budget::default();
    let a = col(Int32Array::from(vec![None, Some(1), None, None]));
    let b = col(Int32Array::from(vec![Some(2), Some(3), None, Some(4)]));
    check(
        &coalesce(&[c(&a), c(&b), s(9i64)], &budget).unwrap(),
        &Int32Array::from(vec![2, 1, 9, 4]),
    );
    check(
        &coalesce(&[c(&a), c(&b)], &budget).unwrap(),
        &Int32Array::from(vec![Some(2), Some(1), None, Some(4)]),
    );
    check(
        &coalesce(&[c(&a), s(0.5)], &budget).unwrap(),
        &Float64Array::from(vec![0.5, 1.0, 0.5, 0.5]),
    );
    check(
        &coalesce(&[s(7i64), c(&a)], &budget).unwrap(),
        &Int32Array::from(vec![7, 7, 7, 7]),
    );
    contains_all(
        &invalid(coalesce(&[s(1i64), s(2i64)], &budget)),
        &["coalesce", "at least one operand must be a column"],
    );
    let t = col(StringArray::from(vec!["x", "y", "z", "w"]));
    contains_all(
        &invalid(coalesce(&[c(&a), c(&t)], &budget)),
        &["no common type"],
    );
}
