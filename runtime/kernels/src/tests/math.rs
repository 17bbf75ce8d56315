//! `unary`, `round`, `clip`, `is_nan`: exact values, half-to-even rounding, and the rows of
//! overflows.

use arrow_array::{
    BooleanArray, Decimal128Array, Float32Array, Float64Array, Int8Array, Int32Array, Int64Array,
    StringArray, UInt8Array,
};

use super::{check, col, contains_all, data, invalid};
use crate::{Scalar, UnaryOp, clip, is_nan, round, unary};

#[test]
fn negate_and_its_overflow() {
    let a = col(Int32Array::from(vec![Some(1), Some(-2), None]));
    check(
        &unary(UnaryOp::Negate, &a).unwrap(),
        &Int32Array::from(vec![Some(-1), Some(2), None]),
    );
    let min = col(Int64Array::from(vec![Some(5), None, Some(i64::MIN)]));
    let (row, message) = data(unary(UnaryOp::Negate, &min));
    assert_eq!(row, Some(2));
    contains_all(
        &message,
        &["unary(Negate)", "row 2", "-9223372036854775808"],
    );
    let unsigned = col(UInt8Array::from(vec![1]));
    invalid(unary(UnaryOp::Negate, &unsigned));
}

#[test]
fn abs_of_every_kind() {
    let a = col(Int8Array::from(vec![Some(-3), Some(4), None]));
    check(
        &unary(UnaryOp::Abs, &a).unwrap(),
        &Int8Array::from(vec![Some(3), Some(4), None]),
    );
    let min = col(Int8Array::from(vec![-1, -128]));
    assert_eq!(data(unary(UnaryOp::Abs, &min)).0, Some(1));
    let f = col(Float64Array::from(vec![-1.5, 0.0]));
    check(
        &unary(UnaryOp::Abs, &f).unwrap(),
        &Float64Array::from(vec![1.5, 0.0]),
    );
    let u = col(UInt8Array::from(vec![7]));
    check(
        &unary(UnaryOp::Abs, &u).unwrap(),
        &UInt8Array::from(vec![7]),
    );
    let d = col(Decimal128Array::from(vec![-125, 5])
        .with_precision_and_scale(5, 2)
        .unwrap());
    check(
        &unary(UnaryOp::Abs, &d).unwrap(),
        &Decimal128Array::from(vec![125, 5])
            .with_precision_and_scale(5, 2)
            .unwrap(),
    );
}

#[test]
fn roots_exponentials_and_logs() {
    let a = col(Int32Array::from(vec![Some(4), Some(9), None]));
    check(
        &unary(UnaryOp::Sqrt, &a).unwrap(),
        &Float64Array::from(vec![Some(2.0), Some(3.0), None]),
    );
    let f = col(Float32Array::from(vec![4.0]));
    check(
        &unary(UnaryOp::Sqrt, &f).unwrap(),
        &Float32Array::from(vec![2.0]),
    );
    let x = col(Float64Array::from(vec![1.0, 0.0, 8.0, 1000.0]));
    check(
        &unary(UnaryOp::Ln, &x).unwrap(),
        &Float64Array::from(vec![0.0, f64::NEG_INFINITY, 8f64.ln(), 1000f64.ln()]),
    );
    check(
        &unary(UnaryOp::Log2, &x).unwrap(),
        &Float64Array::from(vec![0.0, f64::NEG_INFINITY, 3.0, 1000f64.log2()]),
    );
    check(
        &unary(UnaryOp::Log10, &x).unwrap(),
        &Float64Array::from(vec![0.0, f64::NEG_INFINITY, 8f64.log10(), 3.0]),
    );
    check(
        &unary(UnaryOp::Exp, &x).unwrap(),
        &Float64Array::from(vec![1f64.exp(), 1.0, 8f64.exp(), f64::INFINITY]),
    );
    let negative = col(Float64Array::from(vec![-1.0]));
    let out = unary(UnaryOp::Sqrt, &negative).unwrap();
    assert!(
        arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Float64Type>(out.as_ref())
            .value(0)
            .is_nan()
    );
    let text = col(StringArray::from(vec!["1"]));
    contains_all(
        &invalid(unary(UnaryOp::Sqrt, &text)),
        &["unary(Sqrt)", "Utf8"],
    );
}

#[test]
fn floor_ceil_and_sign() {
    let f = col(Float64Array::from(vec![Some(1.5), Some(-1.5), None]));
    check(
        &unary(UnaryOp::Floor, &f).unwrap(),
        &Float64Array::from(vec![Some(1.0), Some(-2.0), None]),
    );
    check(
        &unary(UnaryOp::Ceil, &f).unwrap(),
        &Float64Array::from(vec![Some(2.0), Some(-1.0), None]),
    );
    let i = col(Int32Array::from(vec![-5, 0, 7]));
    check(
        &unary(UnaryOp::Floor, &i).unwrap(),
        &Int32Array::from(vec![-5, 0, 7]),
    );
    check(
        &unary(UnaryOp::Sign, &i).unwrap(),
        &Int32Array::from(vec![-1, 0, 1]),
    );
    let d = col(Decimal128Array::from(vec![125, -125])
        .with_precision_and_scale(5, 2)
        .unwrap());
    check(
        &unary(UnaryOp::Floor, &d).unwrap(),
        &Decimal128Array::from(vec![100, -200])
            .with_precision_and_scale(5, 2)
            .unwrap(),
    );
    check(
        &unary(UnaryOp::Ceil, &d).unwrap(),
        &Decimal128Array::from(vec![200, -100])
            .with_precision_and_scale(5, 2)
            .unwrap(),
    );
    let s = unary(
        UnaryOp::Sign,
        &col(Float64Array::from(vec![-0.0, 2.5, -3.0, f64::NAN])),
    )
    .unwrap();
    let s = arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Float64Type>(s.as_ref());
    assert_eq!(s.value(0).to_bits(), (-0.0f64).to_bits());
    assert_eq!((s.value(1), s.value(2)), (1.0, -1.0));
    assert!(s.value(3).is_nan());
}

#[test]
fn round_is_half_to_even_like_numpy() {
    let f = col(Float64Array::from(vec![
        Some(2.5),
        Some(3.5),
        Some(-2.5),
        None,
        Some(1.2345),
    ]));
    check(
        &round(&f, 0).unwrap(),
        &Float64Array::from(vec![Some(2.0), Some(4.0), Some(-2.0), None, Some(1.0)]),
    );
    check(
        &round(&col(Float64Array::from(vec![1.2345, 1250.0])), 2).unwrap(),
        &Float64Array::from(vec![1.23, 1250.0]),
    );
    check(
        &round(&col(Float64Array::from(vec![1250.0, 1350.0])), -2).unwrap(),
        &Float64Array::from(vec![1200.0, 1400.0]),
    );
    check(
        &round(&col(Float64Array::from(vec![1e300])), 400).unwrap(),
        &Float64Array::from(vec![1e300]),
    );
    let i = col(Int32Array::from(vec![15, 25, -15, 123]));
    check(
        &round(&i, -1).unwrap(),
        &Int32Array::from(vec![20, 20, -20, 120]),
    );
    check(
        &round(&i, 2).unwrap(),
        &Int32Array::from(vec![15, 25, -15, 123]),
    );
    check(
        &round(&i, -50).unwrap(),
        &Int32Array::from(vec![0, 0, 0, 0]),
    );
    let d = col(Decimal128Array::from(vec![Some(1235), Some(1245), None])
        .with_precision_and_scale(6, 3)
        .unwrap());
    check(
        &round(&d, 2).unwrap(),
        &Decimal128Array::from(vec![Some(1240), Some(1240), None])
            .with_precision_and_scale(6, 3)
            .unwrap(),
    );
}

#[test]
fn round_that_no_longer_fits_names_the_row() {
    let i = col(Int8Array::from(vec![12, 127]));
    let (row, message) = data(round(&i, -1));
    assert_eq!(row, Some(1));
    contains_all(&message, &["round", "row 1", "127", "Int8"]);
    let d = col(Decimal128Array::from(vec![999])
        .with_precision_and_scale(3, 1)
        .unwrap());
    assert_eq!(data(round(&d, 0)).0, Some(0));
    invalid(round(&col(StringArray::from(vec!["1"])), 0));
}

#[test]
fn clip_limits_and_keeps_nulls_and_nan() {
    let a = col(Int32Array::from(vec![Some(1), Some(5), Some(10), None]));
    check(
        &clip(&a, Some(Scalar::Int64(2)), Some(Scalar::Int64(8))).unwrap(),
        &Int32Array::from(vec![Some(2), Some(5), Some(8), None]),
    );
    check(
        &clip(&a, None, Some(Scalar::Int64(8))).unwrap(),
        &Int32Array::from(vec![Some(1), Some(5), Some(8), None]),
    );
    check(
        &clip(&a, Some(Scalar::Null), Some(Scalar::Int64(8))).unwrap(),
        &Int32Array::from(vec![Some(1), Some(5), Some(8), None]),
    );
    check(
        &clip(&a, Some(Scalar::Float64(1.5)), None).unwrap(),
        &Float64Array::from(vec![Some(1.5), Some(5.0), Some(10.0), None]),
    );
    let f = clip(
        &col(Float64Array::from(vec![f64::NAN, -1.0, 7.0])),
        Some(Scalar::Float64(0.0)),
        Some(Scalar::Float64(5.0)),
    )
    .unwrap();
    let f = arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Float64Type>(f.as_ref());
    assert!(f.value(0).is_nan());
    assert_eq!((f.value(1), f.value(2)), (0.0, 5.0));
    contains_all(
        &invalid(clip(&a, Some(Scalar::Int64(9)), Some(Scalar::Int64(1)))),
        &["clip", "min 9 is greater than max 1"],
    );
    invalid(clip(
        &col(StringArray::from(vec!["a"])),
        Some(Scalar::from("b")),
        None,
    ));
    let empty = col(Int32Array::from(Vec::<i32>::new()));
    check(
        &clip(&empty, Some(Scalar::Int64(0)), None).unwrap(),
        &Int32Array::from(Vec::<i32>::new()),
    );
}

#[test]
fn is_nan_finds_nan_only() {
    let f = col(Float64Array::from(vec![Some(1.0), Some(f64::NAN), None]));
    check(
        &is_nan(&f).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(true), None]),
    );
    let i = col(Int32Array::from(vec![Some(1), None]));
    check(
        &is_nan(&i).unwrap(),
        &BooleanArray::from(vec![Some(false), None]),
    );
    invalid(is_nan(&col(StringArray::from(vec!["NaN"]))));
}
