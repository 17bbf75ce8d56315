//! `arith`: promotion, weak scalars, checked and unchecked integers, the row of an
//! overflow, temporal pass-through, and argument errors.

use arrow_array::types::Decimal128Type;
use arrow_array::{
    Array, Decimal128Array, DurationSecondArray, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, Int64Array, TimestampSecondArray, UInt8Array, UInt64Array,
};

use super::{c, check, col, contains_all, data, invalid, s};
use crate::{ArithOp, Operand, Scalar, arith};

#[test]
fn a_weak_integer_scalar_keeps_the_column_type() {
    let a = col(Int32Array::from(vec![Some(1), None, Some(3)]));
    let out = arith(ArithOp::Add, c(&a), s(1i64), true).unwrap();
    check(&out, &Int32Array::from(vec![Some(2), None, Some(4)]));
}

#[test]
fn a_scalar_too_big_for_the_column_promotes() {
    let a = col(Int8Array::from(vec![1, 2]));
    let out = arith(ArithOp::Add, c(&a), s(1000i64), true).unwrap();
    check(&out, &Int64Array::from(vec![1001, 1002]));
}

#[test]
fn integers_of_different_widths_meet_in_the_narrowest_common_type() {
    let a = col(Int8Array::from(vec![-1, 100]));
    let b = col(UInt8Array::from(vec![200, 100]));
    let out = arith(ArithOp::Add, c(&a), c(&b), true).unwrap();
    check(&out, &Int16Array::from(vec![199, 200]));
}

#[test]
fn int64_with_uint64_is_float64_as_in_numpy() {
    let a = col(Int64Array::from(vec![-1]));
    let b = col(UInt64Array::from(vec![u64::MAX]));
    let out = arith(ArithOp::Add, c(&a), c(&b), true).unwrap();
    check(&out, &Float64Array::from(vec![u64::MAX as f64 - 1.0]));
}

#[test]
fn int_times_float_is_float64_and_float32_stays_float32() {
    let a = col(Int32Array::from(vec![2, 3]));
    let out = arith(ArithOp::Multiply, c(&a), s(1.5), true).unwrap();
    check(&out, &Float64Array::from(vec![3.0, 4.5]));
    let f = col(Float32Array::from(vec![2.0, 3.0]));
    let out = arith(ArithOp::Multiply, c(&f), s(0.5), true).unwrap();
    check(&out, &Float32Array::from(vec![1.0, 1.5]));
}

#[test]
fn checked_overflow_names_the_first_row_and_its_values() {
    let a = col(Int64Array::from(vec![
        Some(1),
        None,
        Some(i64::MAX),
        Some(i64::MAX),
    ]));
    let (row, message) = data(arith(ArithOp::Add, c(&a), s(1i64), true));
    assert_eq!(row, Some(2));
    contains_all(
        &message,
        &[
            "arith(Add)",
            "row 2",
            "9223372036854775807 + 1",
            "overflows Int64",
        ],
    );
}

#[test]
fn unchecked_overflow_wraps() {
    let a = col(Int64Array::from(vec![i64::MAX]));
    let out = arith(ArithOp::Add, c(&a), s(1i64), false).unwrap();
    check(&out, &Int64Array::from(vec![i64::MIN]));
}

#[test]
fn checked_division_by_zero_names_the_row() {
    let a = col(Int32Array::from(vec![6, 4, 2]));
    let b = col(Int32Array::from(vec![3, 0, 1]));
    let (row, message) = data(arith(ArithOp::Divide, c(&a), c(&b), true));
    assert_eq!(row, Some(1));
    contains_all(&message, &["row 1", "4 / 0", "division by zero"]);
    let (row, _) = data(arith(ArithOp::Modulo, c(&a), s(0i64), true));
    assert_eq!(row, Some(0));
}

#[test]
fn unchecked_division_by_zero_is_null_and_min_over_minus_one_wraps() {
    let a = col(Int32Array::from(vec![
        Some(6),
        Some(4),
        None,
        Some(i32::MIN),
    ]));
    let b = col(Int32Array::from(vec![3, 0, 1, -1]));
    let out = arith(ArithOp::Divide, c(&a), c(&b), false).unwrap();
    check(
        &out,
        &Int32Array::from(vec![Some(2), None, None, Some(i32::MIN)]),
    );
    let out = arith(ArithOp::Modulo, c(&a), s(0i64), false).unwrap();
    check(&out, &Int32Array::new_null(4));
    let out = arith(ArithOp::Divide, s(12i64), c(&b), false).unwrap();
    check(
        &out,
        &Int32Array::from(vec![Some(4), None, Some(12), Some(-12)]),
    );
}

#[test]
fn integer_division_truncates_and_modulo_takes_the_dividend_sign() {
    let a = col(Int64Array::from(vec![7, -7]));
    check(
        &arith(ArithOp::Divide, c(&a), s(2i64), true).unwrap(),
        &Int64Array::from(vec![3, -3]),
    );
    check(
        &arith(ArithOp::Modulo, c(&a), s(3i64), true).unwrap(),
        &Int64Array::from(vec![1, -1]),
    );
}

#[test]
fn float_division_by_zero_is_ieee() {
    let a = col(Float64Array::from(vec![1.0, -1.0]));
    let out = arith(ArithOp::Divide, c(&a), s(0.0), true).unwrap();
    check(
        &out,
        &Float64Array::from(vec![f64::INFINITY, f64::NEG_INFINITY]),
    );
}

#[test]
fn integer_power_is_checked_and_a_negative_exponent_has_no_integer_result() {
    let a = col(Int64Array::from(vec![Some(2), Some(3), None, Some(-2)]));
    check(
        &arith(ArithOp::Power, c(&a), s(3i64), true).unwrap(),
        &Int64Array::from(vec![Some(8), Some(27), None, Some(-8)]),
    );
    let (row, message) = data(arith(ArithOp::Power, c(&a), s(64i64), true));
    assert_eq!(row, Some(0));
    contains_all(&message, &["row 0", "2 ** 64", "overflows Int64"]);
    let (row, message) = data(arith(ArithOp::Power, c(&a), s(-1i64), true));
    assert_eq!(row, Some(0));
    contains_all(&message, &["negative power"]);
    check(
        &arith(ArithOp::Power, c(&a), s(-1i64), false).unwrap(),
        &Int64Array::new_null(4),
    );
    // Unchecked powers wrap: 2^64 is 0 modulo 2^64.
    check(
        &arith(ArithOp::Power, c(&a), s(64i64), false).unwrap(),
        &Int64Array::from(vec![Some(0), Some(3i64.wrapping_pow(64)), None, Some(0)]),
    );
}

#[test]
fn float_power() {
    let a = col(Float64Array::from(vec![Some(4.0), None]));
    check(
        &arith(ArithOp::Power, c(&a), s(0.5), true).unwrap(),
        &Float64Array::from(vec![Some(2.0), None]),
    );
    let i = col(Int32Array::from(vec![2]));
    check(
        &arith(ArithOp::Power, c(&i), s(0.5), true).unwrap(),
        &Float64Array::from(vec![2f64.sqrt()]),
    );
}

#[test]
fn a_sliced_column_counts_rows_from_its_first_row() {
    let a = col(Int8Array::from(vec![127, 1, 2, 127, 5])).slice(1, 4);
    let (row, message) = data(arith(ArithOp::Add, c(&a), s(1i64), true));
    assert_eq!(row, Some(2));
    contains_all(&message, &["row 2", "127 + 1", "overflows Int8"]);
    let b = col(Int8Array::from(vec![0, 10, 20, 30, 40])).slice(1, 4);
    check(
        &arith(ArithOp::Subtract, c(&a), c(&b), true).unwrap(),
        &Int8Array::from(vec![-9, -18, 97, -35]),
    );
}

#[test]
fn empty_and_all_null_columns() {
    let empty = col(Int64Array::from(Vec::<i64>::new()));
    check(
        &arith(ArithOp::Divide, c(&empty), s(0i64), true).unwrap(),
        &Int64Array::from(Vec::<i64>::new()),
    );
    let nulls = col(Int64Array::new_null(3));
    check(
        &arith(ArithOp::Divide, c(&nulls), s(0i64), true).unwrap(),
        &Int64Array::new_null(3),
    );
    let out = arith(ArithOp::Add, Operand::Scalar(Scalar::Null), c(&nulls), true).unwrap();
    check(&out, &Int64Array::new_null(3));
}

#[test]
fn decimals_add_and_overflow_is_always_checked() {
    let a = col(Decimal128Array::from(vec![150, -25])
        .with_precision_and_scale(10, 2)
        .unwrap());
    let out = arith(ArithOp::Add, c(&a), s(1i64), true).unwrap();
    let values: Vec<i128> =
        arrow_array::cast::AsArray::as_primitive::<Decimal128Type>(out.as_ref())
            .values()
            .to_vec();
    assert_eq!(values, vec![250, 75]);
    assert!(matches!(
        out.data_type(),
        arrow_schema::DataType::Decimal128(_, 2)
    ));
    let big = col(Decimal128Array::from(vec![i128::MAX / 2 + 1])
        .with_precision_and_scale(38, 0)
        .unwrap());
    let (row, _) = data(arith(ArithOp::Multiply, c(&big), s(4i64), false));
    assert_eq!(row, Some(0));
    contains_all(
        &invalid(arith(ArithOp::Power, c(&a), s(2i64), true)),
        &["Power does not take decimals"],
    );
}

#[test]
fn timestamps_minus_timestamps_are_durations() {
    let a = col(TimestampSecondArray::from(vec![100, 200]));
    let b = col(TimestampSecondArray::from(vec![40, 50]));
    check(
        &arith(ArithOp::Subtract, c(&a), c(&b), true).unwrap(),
        &DurationSecondArray::from(vec![60, 150]),
    );
}

#[test]
fn argument_errors_are_invalid_and_say_what() {
    let a = col(Int32Array::from(vec![1, 2, 3]));
    let b = col(Int32Array::from(vec![1, 2]));
    contains_all(
        &invalid(arith(ArithOp::Add, c(&a), c(&b), true)),
        &["arith(Add)", "3 and 2 rows"],
    );
    contains_all(
        &invalid(arith(ArithOp::Add, s(1i64), s(2i64), true)),
        &["at least one operand must be a column"],
    );
    let text = col(arrow_array::StringArray::from(vec!["a", "b", "c"]));
    contains_all(
        &invalid(arith(ArithOp::Add, c(&text), c(&a), true)),
        &["arith(Add)", "Utf8", "Int32"],
    );
    contains_all(
        &invalid(arith(
            ArithOp::Add,
            c(&a),
            Operand::Scalar(Scalar::Timestamp {
                value: 0,
                unit: crate::TimeUnit::Second,
                timezone: Some("Mars/Olympus".to_string()),
            }),
            true,
        )),
        &["unknown time zone", "Mars/Olympus"],
    );
}
