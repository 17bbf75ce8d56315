//! String kernels: characters not bytes, Unicode case mapping, pandas-like substrings,
//! `concat`'s null rule and output bound.

use arrow_array::{Array, BooleanArray, Int32Array, Int64Array, LargeStringArray, StringArray};

use super::{c, check, col, contains_all, invalid, limit, s};
use crate::{
    Budget, Operand, Scalar, StrOp, concat, contains, ends_with, starts_with, str_unary, substring,
};

fn apply(op: StrOp, a: &arrow_array::ArrayRef) -> arrow_array::ArrayRef {
    str_unary(op, a, &Budget::default()).unwrap()
}

#[test]
fn length_counts_characters() {
    let a = col(StringArray::from(vec![Some("héllo"), Some(""), None]));
    check(
        &apply(StrOp::Length, &a),
        &Int32Array::from(vec![Some(5), Some(0), None]),
    );
    let ascii = col(StringArray::from(vec!["abc", "de"]));
    check(&apply(StrOp::Length, &ascii), &Int32Array::from(vec![3, 2]));
    let large = col(LargeStringArray::from(vec!["日本"]));
    check(&apply(StrOp::Length, &large), &Int64Array::from(vec![2]));
}

#[test]
fn case_mapping_is_unicode() {
    let a = col(StringArray::from(vec![
        Some("Àb"),
        None,
        Some("straße"),
        Some("ΣΑΣ"),
    ]));
    check(
        &apply(StrOp::Upper, &a),
        &StringArray::from(vec![Some("ÀB"), None, Some("STRASSE"), Some("ΣΑΣ")]),
    );
    check(
        &apply(StrOp::Lower, &a),
        &StringArray::from(vec![Some("àb"), None, Some("straße"), Some("σας")]),
    );
    // ASCII, sliced: the fast path rebases the offsets.
    let ascii = col(StringArray::from(vec![
        Some("SKIP"),
        Some("MiXed"),
        None,
        Some("ok"),
    ]))
    .slice(1, 3);
    check(
        &apply(StrOp::Lower, &ascii),
        &StringArray::from(vec![Some("mixed"), None, Some("ok")]),
    );
    let large = col(LargeStringArray::from(vec!["ab"]));
    check(
        &apply(StrOp::Upper, &large),
        &LargeStringArray::from(vec!["AB"]),
    );
}

#[test]
fn trims() {
    let a = col(StringArray::from(vec![
        Some("  a b \t"),
        None,
        Some("\u{3000}x"),
    ]));
    check(
        &apply(StrOp::Trim, &a),
        &StringArray::from(vec![Some("a b"), None, Some("x")]),
    );
    check(
        &apply(StrOp::TrimStart, &a),
        &StringArray::from(vec![Some("a b \t"), None, Some("x")]),
    );
    check(
        &apply(StrOp::TrimEnd, &a),
        &StringArray::from(vec![Some("  a b"), None, Some("\u{3000}x")]),
    );
}

#[test]
fn upper_case_growth_is_bounded() {
    let a = col(StringArray::from(vec!["ß".repeat(100); 10]));
    let budget = Budget {
        max_output_bytes: 1_500,
        ..Budget::default()
    };
    contains_all(
        &limit(str_unary(StrOp::Upper, &a, &budget)),
        &["str_unary(Upper)", "bytes allowed"],
    );
}

#[test]
fn outputs_known_in_advance_are_checked_before_they_are_built() {
    let a = col(StringArray::from(vec!["abc"; 100]));
    let budget = Budget {
        max_output_bytes: 300,
        ..Budget::default()
    };
    contains_all(
        &limit(str_unary(StrOp::Lower, &a, &budget)),
        &["needs 717 bytes"],
    );
    contains_all(
        &limit(str_unary(StrOp::Length, &a, &budget)),
        &["needs 413 bytes"],
    );
    assert!(
        str_unary(
            StrOp::Trim,
            &col(StringArray::from(vec!["  x  "; 10])),
            &budget
        )
        .is_ok()
    );
}

#[test]
fn literal_tests() {
    let a = col(StringArray::from(vec![
        Some("apple pie"),
        Some("pineapple"),
        None,
    ]));
    check(
        &contains(&a, "apple").unwrap(),
        &BooleanArray::from(vec![Some(true), Some(true), None]),
    );
    check(
        &starts_with(&a, "apple").unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None]),
    );
    check(
        &ends_with(&a, "apple").unwrap(),
        &BooleanArray::from(vec![Some(false), Some(true), None]),
    );
    check(
        &contains(&a, ".").unwrap(),
        &BooleanArray::from(vec![Some(false), Some(false), None]),
    );
    let large = col(LargeStringArray::from(vec!["xay"]));
    check(
        &contains(&large, "a").unwrap(),
        &BooleanArray::from(vec![true]),
    );
    let ints = col(Int32Array::from(vec![1]));
    contains_all(&invalid(contains(&ints, "1")), &["contains", "Int32"]);
}

#[test]
fn substring_by_characters_like_pandas() {
    let a = col(StringArray::from(vec![
        Some("hello"),
        Some("hi"),
        None,
        Some("héllo"),
    ]));
    check(
        &substring(&a, -3, None).unwrap(),
        &StringArray::from(vec![Some("llo"), Some("hi"), None, Some("llo")]),
    );
    check(
        &substring(&a, 1, Some(3)).unwrap(),
        &StringArray::from(vec![Some("ell"), Some("i"), None, Some("éll")]),
    );
    check(
        &substring(&a, 10, Some(3)).unwrap(),
        &StringArray::from(vec![Some(""), Some(""), None, Some("")]),
    );
    check(
        &substring(&a, i64::MIN, Some(u64::MAX)).unwrap(),
        &StringArray::from(vec![Some("hello"), Some("hi"), None, Some("héllo")]),
    );
    let sliced = a.slice(3, 1);
    check(
        &substring(&sliced, -2, Some(1)).unwrap(),
        &StringArray::from(vec!["l"]),
    );
}

#[test]
fn concat_joins_with_a_separator_and_nulls_win() {
    let budget = Budget::default();
    let a = col(StringArray::from(vec![Some("a"), Some("b"), None]));
    let b = col(StringArray::from(vec![Some("x"), None, Some("z")]));
    check(
        &concat(&[c(&a), s("-"), c(&b)], "", &budget).unwrap(),
        &StringArray::from(vec![Some("a-x"), None, None]),
    );
    check(
        &concat(&[c(&a), c(&a)], ", ", &budget).unwrap(),
        &StringArray::from(vec![Some("a, a"), Some("b, b"), None]),
    );
    let large = col(LargeStringArray::from(vec!["1", "2", "3"]));
    check(
        &concat(&[c(&large), s("!")], "", &budget).unwrap(),
        &LargeStringArray::from(vec!["1!", "2!", "3!"]),
    );
    check(
        &concat(&[c(&a), Operand::Scalar(Scalar::Null)], "", &budget).unwrap(),
        &StringArray::new_null(3),
    );
    let sliced = a.slice(1, 2);
    check(
        &concat(&[s("<"), c(&sliced)], "", &budget).unwrap(),
        &StringArray::from(vec![Some("<b"), None]),
    );
}

#[test]
fn concat_errors() {
    let budget = Budget::default();
    let a = col(StringArray::from(vec!["a"]));
    let n = col(Int32Array::from(vec![1]));
    contains_all(
        &invalid(concat(&[c(&a), c(&n)], "", &budget)),
        &["concat", "Int32", "cast them first"],
    );
    invalid(concat(&[s("a"), s("b")], "", &budget));
    let many = col(StringArray::from(vec!["abc"; 1000]));
    let small = Budget {
        max_output_bytes: 12_000,
        ..Budget::default()
    };
    contains_all(
        &limit(concat(&[c(&many), c(&many), c(&many)], "-", &small)),
        &["concat", "bytes allowed"],
    );
    assert_eq!(
        concat(&[c(&many), c(&many)], "", &small).unwrap().len(),
        1000
    );
    assert!(
        concat(
            &[c(&many)],
            "",
            &Budget {
                max_output_bytes: 10,
                ..small
            }
        )
        .is_err()
    );
    invalid(str_unary(StrOp::Lower, &n, &budget));
}
