//! `aggregate`: counts, checked sums with the overflowing row, extremes of every kind,
//! pandas' sample deviation, and distinct values.

use arrow_array::{
    BooleanArray, Date32Array, Decimal128Array, Float64Array, Int8Array, Int32Array, Int64Array,
    NullArray, StringArray, TimestampMillisecondArray, UInt8Array,
};

use super::{col, contains_all, data, invalid};
use crate::{AggOp, Scalar, TimeUnit, aggregate};

fn agg(op: AggOp, a: &arrow_array::ArrayRef) -> Scalar {
    aggregate(op, a).unwrap()
}

#[test]
fn counts() {
    let a = col(Int32Array::from(vec![Some(1), None, Some(3)]));
    assert_eq!(agg(AggOp::Count, &a), Scalar::Int64(2));
    assert_eq!(agg(AggOp::CountAll, &a), Scalar::Int64(3));
    assert_eq!(agg(AggOp::NullCount, &a), Scalar::Int64(1));
    let nulls = col(NullArray::new(4));
    assert_eq!(agg(AggOp::Count, &nulls), Scalar::Int64(0));
    assert_eq!(agg(AggOp::NullCount, &nulls), Scalar::Int64(4));
}

#[test]
fn sums_widen_and_overflow_names_the_row() {
    let a = col(Int8Array::from(vec![Some(100), None, Some(100)]));
    assert_eq!(agg(AggOp::Sum, &a), Scalar::Int64(200));
    let u = col(UInt8Array::from(vec![200, 200]));
    assert_eq!(agg(AggOp::Sum, &u), Scalar::UInt64(400));
    let big = col(Int64Array::from(vec![
        Some(1),
        None,
        Some(i64::MAX),
        Some(-5),
    ]));
    let (row, message) = data(aggregate(AggOp::Sum, &big));
    assert_eq!(row, Some(2));
    contains_all(
        &message,
        &[
            "aggregate(Sum)",
            "row 2",
            "9223372036854775807",
            "overflows",
        ],
    );
    let sliced = big.slice(2, 2);
    assert_eq!(agg(AggOp::Sum, &sliced), Scalar::Int64(i64::MAX - 5));
    let f = col(Float64Array::from(vec![Some(0.5), None, Some(2.0)]));
    assert_eq!(agg(AggOp::Sum, &f), Scalar::Float64(2.5));
    let b = col(BooleanArray::from(vec![
        Some(true),
        None,
        Some(true),
        Some(false),
    ]));
    assert_eq!(agg(AggOp::Sum, &b), Scalar::Int64(2));
    let d = col(Decimal128Array::from(vec![Some(150), Some(-25), None])
        .with_precision_and_scale(5, 2)
        .unwrap());
    assert_eq!(
        agg(AggOp::Sum, &d),
        Scalar::Decimal128 {
            value: 125,
            precision: 38,
            scale: 2
        }
    );
}

#[test]
fn empty_and_all_null() {
    let empty = col(Int32Array::from(Vec::<i32>::new()));
    let nulls = col(Float64Array::new_null(3));
    for a in [&empty, &nulls] {
        assert!(matches!(
            agg(AggOp::Sum, a),
            Scalar::Int64(0) | Scalar::Float64(0.0)
        ));
        assert_eq!(agg(AggOp::Min, a), Scalar::Null);
        assert_eq!(agg(AggOp::Max, a), Scalar::Null);
        assert_eq!(agg(AggOp::Mean, a), Scalar::Null);
        assert_eq!(agg(AggOp::Stddev, a), Scalar::Null);
        assert_eq!(agg(AggOp::DistinctCount, a), Scalar::Int64(0));
    }
}

#[test]
fn extremes_of_every_kind() {
    let a = col(Int32Array::from(vec![Some(3), None, Some(-7), Some(5)]));
    assert_eq!(agg(AggOp::Min, &a), Scalar::Int64(-7));
    assert_eq!(agg(AggOp::Max, &a), Scalar::Int64(5));
    let t = col(StringArray::from(vec![Some("pear"), None, Some("apple")]));
    assert_eq!(agg(AggOp::Min, &t), Scalar::Utf8("apple".to_string()));
    assert_eq!(agg(AggOp::Max, &t), Scalar::Utf8("pear".to_string()));
    let days = col(Date32Array::from(vec![10, 2]));
    assert_eq!(agg(AggOp::Min, &days), Scalar::Date32(2));
    let ts = col(TimestampMillisecondArray::from(vec![5, 9]).with_timezone("Europe/Paris"));
    assert_eq!(
        agg(AggOp::Max, &ts),
        Scalar::Timestamp {
            value: 9,
            unit: TimeUnit::Millisecond,
            timezone: Some("Europe/Paris".to_string())
        }
    );
    let b = col(BooleanArray::from(vec![Some(false), None, Some(true)]));
    assert_eq!(agg(AggOp::Max, &b), Scalar::Boolean(true));
    let nan = col(Float64Array::from(vec![1.0, f64::NAN, -2.0]));
    assert_eq!(agg(AggOp::Min, &nan), Scalar::Float64(-2.0));
    assert!(matches!(agg(AggOp::Max, &nan), Scalar::Float64(v) if v.is_nan()));
    // A NaN with its sign bit set (x86's 0.0 / 0.0) is the same NaN.
    let negative_nan = col(Float64Array::from(vec![1.0, -f64::NAN]));
    assert_eq!(agg(AggOp::Min, &negative_nan), Scalar::Float64(1.0));
}

#[test]
fn mean_and_sample_deviation_like_pandas() {
    let a = col(Int32Array::from(vec![
        Some(1),
        Some(2),
        None,
        Some(3),
        Some(4),
    ]));
    assert_eq!(agg(AggOp::Mean, &a), Scalar::Float64(2.5));
    assert_eq!(
        agg(AggOp::Variance, &a),
        Scalar::Float64(1.6666666666666667)
    );
    assert_eq!(agg(AggOp::Stddev, &a), Scalar::Float64(1.2909944487358056));
    let one = col(Float64Array::from(vec![4.0]));
    assert_eq!(agg(AggOp::Stddev, &one), Scalar::Null);
    assert_eq!(agg(AggOp::Mean, &one), Scalar::Float64(4.0));
    // Welford keeps the digits the textbook formula loses to cancellation.
    let shifted = col(Float64Array::from(vec![
        1e9 + 1.0,
        1e9 + 2.0,
        1e9 + 3.0,
        1e9 + 4.0,
    ]));
    assert_eq!(
        agg(AggOp::Variance, &shifted),
        Scalar::Float64(1.6666666666666667)
    );
    let b = col(BooleanArray::from(vec![true, false, false, false]));
    assert_eq!(agg(AggOp::Mean, &b), Scalar::Float64(0.25));
    let t = col(StringArray::from(vec!["a"]));
    contains_all(
        &invalid(aggregate(AggOp::Mean, &t)),
        &["aggregate(Mean)", "Utf8"],
    );
}

#[test]
fn distinct_values() {
    let a = col(Int32Array::from(vec![Some(1), Some(1), None, Some(2)]));
    assert_eq!(agg(AggOp::DistinctCount, &a), Scalar::Int64(2));
    let f = col(Float64Array::from(vec![
        0.0,
        -0.0,
        f64::NAN,
        -f64::NAN,
        1.0,
    ]));
    assert_eq!(agg(AggOp::DistinctCount, &f), Scalar::Int64(3));
    let t = col(StringArray::from(vec!["a", "b", "a"])).slice(1, 2);
    assert_eq!(agg(AggOp::DistinctCount, &t), Scalar::Int64(2));
}
