//! `compare`, `logic`, `not`: promotion, strings, parsed scalars, float edge cases, and the
//! Kleene truth tables.

use arrow_array::{
    BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, LargeStringArray, StringArray,
};

use super::{c, check, col, contains_all, invalid, s};
use crate::{CmpOp, LogicOp, Operand, Scalar, compare, logic, not};

#[test]
fn numbers_of_different_widths_compare() {
    let a = col(Int32Array::from(vec![Some(1), Some(5), None]));
    check(
        &compare(CmpOp::Gt, c(&a), s(2i64)).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(true), None]),
    );
    let b = col(Int64Array::from(vec![1, 6, 0]));
    check(
        &compare(CmpOp::Eq, c(&a), c(&b)).unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None]),
    );
    check(
        &compare(CmpOp::Le, c(&a), s(1.5)).unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None]),
    );
    check(
        &compare(CmpOp::Lt, s(2i64), c(&a)).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(true), None]),
    );
}

#[test]
fn every_operator() {
    let a = col(Int32Array::from(vec![1, 2, 3]));
    let expect = |op, v: [bool; 3]| {
        check(
            &compare(op, c(&a), s(2i64)).unwrap(),
            &BooleanArray::from(v.to_vec()),
        )
    };
    expect(CmpOp::Eq, [false, true, false]);
    expect(CmpOp::Ne, [true, false, true]);
    expect(CmpOp::Lt, [true, false, false]);
    expect(CmpOp::Le, [true, true, false]);
    expect(CmpOp::Gt, [false, false, true]);
    expect(CmpOp::Ge, [false, true, true]);
}

#[test]
fn floats_minus_zero_equals_zero_and_nan_is_largest() {
    let f = col(Float64Array::from(vec![-0.0, -f64::NAN, 1.0]));
    check(
        &compare(CmpOp::Eq, c(&f), s(0.0)).unwrap(),
        &BooleanArray::from(vec![true, false, false]),
    );
    check(
        &compare(CmpOp::Gt, c(&f), s(1e300)).unwrap(),
        &BooleanArray::from(vec![false, true, false]),
    );
    check(
        &compare(CmpOp::Eq, c(&f), c(&f)).unwrap(),
        &BooleanArray::from(vec![true, true, true]),
    );
}

#[test]
fn strings_compare_with_string_scalars_and_large_strings() {
    let a = col(StringArray::from(vec![Some("a"), Some("b"), None]));
    check(
        &compare(CmpOp::Eq, c(&a), s("b")).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(true), None]),
    );
    let large = col(LargeStringArray::from(vec!["b", "a", "c"]));
    check(
        &compare(CmpOp::Lt, c(&large), s("b")).unwrap(),
        &BooleanArray::from(vec![false, true, false]),
    );
    check(
        &compare(CmpOp::Eq, c(&a), c(&large)).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(false), None]),
    );
}

#[test]
fn a_string_scalar_parses_as_the_column_type() {
    // 2024-02-29, 2024-03-01, 2024-03-02 as days since the epoch.
    let days = col(Date32Array::from(vec![19782, 19783, 19784]));
    check(
        &compare(CmpOp::Ge, c(&days), s("2024-03-01")).unwrap(),
        &BooleanArray::from(vec![false, true, true]),
    );
    contains_all(
        &invalid(compare(CmpOp::Ge, c(&days), s("soon"))),
        &["compare(Ge)", "\"soon\"", "Date32"],
    );
}

#[test]
fn sliced_empty_and_null_operands() {
    let a = col(Int32Array::from(vec![9, 1, 2, 3])).slice(1, 3);
    check(
        &compare(CmpOp::Ge, c(&a), s(2i64)).unwrap(),
        &BooleanArray::from(vec![false, true, true]),
    );
    let empty = col(Int32Array::from(Vec::<i32>::new()));
    check(
        &compare(CmpOp::Eq, c(&empty), s(2i64)).unwrap(),
        &BooleanArray::from(Vec::<bool>::new()),
    );
    check(
        &compare(CmpOp::Eq, c(&a), Operand::Scalar(Scalar::Null)).unwrap(),
        &BooleanArray::new_null(3),
    );
}

#[test]
fn comparing_unrelated_types_is_invalid() {
    let a = col(Int32Array::from(vec![1]));
    let t = col(StringArray::from(vec!["1"]));
    contains_all(
        &invalid(compare(CmpOp::Eq, c(&a), c(&t))),
        &["compare(Eq)", "Int32 and Utf8 have no common type"],
    );
    let b = col(Int32Array::from(vec![1, 2]));
    contains_all(
        &invalid(compare(CmpOp::Eq, c(&a), c(&b))),
        &["1 and 2 rows"],
    );
}

/// `[T, T, T, F, F, F, N, N, N]` against `[T, F, N]` three times: every pair once.
fn truth_table(op: LogicOp) -> BooleanArray {
    let (t, f, n) = (Some(true), Some(false), None);
    let a = col(BooleanArray::from(vec![t, t, t, f, f, f, n, n, n]));
    let b = col(BooleanArray::from(vec![t, f, n, t, f, n, t, f, n]));
    logic(op, c(&a), c(&b)).unwrap()
}

#[test]
fn kleene_truth_tables() {
    let (t, f, n) = (Some(true), Some(false), None);
    check(
        &truth_table(LogicOp::And),
        &BooleanArray::from(vec![t, f, n, f, f, f, n, f, n]),
    );
    check(
        &truth_table(LogicOp::Or),
        &BooleanArray::from(vec![t, t, t, t, f, n, t, n, n]),
    );
    check(
        &truth_table(LogicOp::Xor),
        &BooleanArray::from(vec![f, t, n, t, f, n, n, n, n]),
    );
    check(
        &truth_table(LogicOp::AndNot),
        &BooleanArray::from(vec![f, t, n, f, f, f, f, n, n]),
    );
}

#[test]
fn logic_with_scalars_and_not() {
    let a = col(BooleanArray::from(vec![Some(true), Some(false), None]));
    check(
        &logic(LogicOp::And, c(&a), s(true)).unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None]),
    );
    check(
        &logic(LogicOp::Or, Operand::Scalar(Scalar::Null), c(&a)).unwrap(),
        &BooleanArray::from(vec![Some(true), None, None]),
    );
    check(
        &not(&a).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(true), None]),
    );
    let sliced = a.slice(1, 2);
    check(
        &not(&sliced).unwrap(),
        &BooleanArray::from(vec![Some(true), None]),
    );
    let i = col(Int32Array::from(vec![1]));
    contains_all(
        &invalid(logic(LogicOp::And, c(&i), s(true))),
        &["booleans", "Int32"],
    );
    invalid(not(&i));
}
