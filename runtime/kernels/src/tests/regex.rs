//! `regex_match`, `regex_replace`: search semantics, groups, the compiled-size limit and
//! the output bound.

use arrow_array::{BooleanArray, Int32Array, LargeStringArray, StringArray};

use super::{check, col, contains_all, invalid, limit};
use crate::{Budget, regex_match, regex_replace};

#[test]
fn match_searches_anywhere() {
    let a = col(StringArray::from(vec![
        Some("abc123"),
        Some("xyz"),
        None,
        Some("7"),
    ]));
    check(
        &regex_match(&a, r"\d+", &Budget::default()).unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None, Some(true)]),
    );
    check(
        &regex_match(&a, r"^\d+$", &Budget::default()).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(false), None, Some(true)]),
    );
    let sliced = a.slice(1, 2);
    check(
        &regex_match(&sliced, "y", &Budget::default()).unwrap(),
        &BooleanArray::from(vec![Some(true), None]),
    );
}

#[test]
fn replace_first_or_all_with_groups() {
    let a = col(StringArray::from(vec![
        Some("2024-03-31"),
        None,
        Some("none"),
    ]));
    check(
        &regex_replace(
            &a,
            r"(\d+)-(\d+)-(\d+)",
            "$3/$2/$1",
            false,
            &Budget::default(),
        )
        .unwrap(),
        &StringArray::from(vec![Some("31/03/2024"), None, Some("none")]),
    );
    check(
        &regex_replace(&a, r"\d", "#", false, &Budget::default()).unwrap(),
        &StringArray::from(vec![Some("#024-03-31"), None, Some("none")]),
    );
    check(
        &regex_replace(&a, r"\d", "#", true, &Budget::default()).unwrap(),
        &StringArray::from(vec![Some("####-##-##"), None, Some("none")]),
    );
    check(
        &regex_replace(&a, "", "$$", true, &Budget::default()).unwrap(),
        &StringArray::from(vec![Some("$2$0$2$4$-$0$3$-$3$1$"), None, Some("$n$o$n$e$")]),
    );
    let large = col(LargeStringArray::from(vec!["aaa"]));
    check(
        &regex_replace(&large, "a", "b", true, &Budget::default()).unwrap(),
        &LargeStringArray::from(vec!["bbb"]),
    );
}

#[test]
fn invalid_patterns_and_columns() {
    let a = col(StringArray::from(vec!["x"]));
    contains_all(
        &invalid(regex_match(&a, "(", &Budget::default())),
        &["regex_match", "invalid regex \"(\""],
    );
    let ints = col(Int32Array::from(vec![1]));
    contains_all(
        &invalid(regex_replace(&ints, "1", "2", true, &Budget::default())),
        &["regex_replace", "Int32"],
    );
}

#[test]
fn a_regex_over_the_size_limit_is_refused() {
    let a = col(StringArray::from(vec!["x"]));
    // Unicode \w is a large class; a thousand of them is far past the default 1 MiB.
    contains_all(
        &invalid(regex_match(&a, r"\w{1000}", &Budget::default())),
        &[
            "regex_match",
            "compiles to more than 1048576 bytes",
            "max_regex_bytes",
        ],
    );
    let tight = Budget {
        max_regex_bytes: 10_000,
        ..Budget::default()
    };
    contains_all(
        &invalid(regex_replace(&a, r"\w{50}", "", true, &tight)),
        &["compiles to more than 10000 bytes"],
    );
    assert!(regex_match(&a, r"[a-z]+[0-9]{2,4}", &tight).is_ok());
}

#[test]
fn a_replacement_past_the_budget_is_refused() {
    let a = col(StringArray::from(vec!["a".repeat(1000); 10]));
    let budget = Budget {
        max_output_bytes: 100_000,
        ..Budget::default()
    };
    contains_all(
        &limit(regex_replace(&a, "a", &"b".repeat(100), true, &budget)),
        &["regex_replace", "bytes allowed"],
    );
    assert!(regex_replace(&a, "a", "bb", true, &budget).is_ok());
}
