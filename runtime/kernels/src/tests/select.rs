//! `filter`, `take`, `slice`, `is_in`: exact rows, nulls, out-of-range indices and the
//! output bound of `take`.

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, StringArray, UInt32Array,
    UInt64Array,
};

use super::{check, col, contains_all, invalid, limit};
use crate::{Budget, filter, filter_many, is_in, slice, take};

#[test]
fn filter_drops_false_and_null() {
    let a = col(Int32Array::from(vec![Some(1), Some(2), None, Some(4)]));
    let mask = BooleanArray::from(vec![Some(true), None, Some(true), Some(false)]);
    check(
        &filter(&a, &mask).unwrap(),
        &Int32Array::from(vec![Some(1), None]),
    );
    let sliced = a.slice(1, 3);
    let mask = BooleanArray::from(vec![true, false, true]);
    check(
        &filter(&sliced, &mask).unwrap(),
        &Int32Array::from(vec![2, 4]),
    );
    contains_all(
        &invalid(filter(&a, &BooleanArray::from(vec![true]))),
        &["filter", "1 rows and the column 4"],
    );
}

#[test]
fn filter_many_applies_one_mask_to_every_column_as_filter_does() {
    let ints = col(Int64Array::from(vec![
        Some(1),
        Some(2),
        None,
        Some(4),
        Some(5),
    ]));
    let strs = col(StringArray::from(vec![
        Some("a"),
        None,
        Some("c"),
        Some("d"),
        Some("e"),
    ]));
    let floats = col(Float64Array::from(vec![0.5, 1.5, 2.5, 3.5, 4.5]));
    let mask = BooleanArray::from(vec![Some(true), None, Some(true), Some(false), Some(true)]);
    let arrays = [ints, strs, floats];
    let out = filter_many(&arrays, &mask).unwrap();
    assert_eq!(out.len(), 3);
    for (a, got) in arrays.iter().zip(&out) {
        check(got, &filter(a, &mask).unwrap());
    }
    check(&out[0], &Int64Array::from(vec![Some(1), None, Some(5)]));
    check(
        &out[1],
        &StringArray::from(vec![Some("a"), Some("c"), Some("e")]),
    );
    // One column, and none: the same rules.
    check(&filter_many(&arrays[..1], &mask).unwrap()[0], &out[0]);
    assert!(filter_many(&[], &mask).unwrap().is_empty());
    let short = col(Int64Array::from(vec![1, 2]));
    contains_all(
        &invalid(filter_many(&[arrays[0].clone(), short], &mask)),
        &["filter-many", "5 rows and column 1 of the list 2"],
    );
}

#[test]
fn take_repeats_reorders_and_nulls() {
    let a = col(StringArray::from(vec![Some("a"), Some("b"), None]));
    let idx = col(UInt32Array::from(vec![
        Some(1),
        Some(0),
        None,
        Some(1),
        Some(2),
    ]));
    check(
        &take(&a, &idx, &Budget::default()).unwrap(),
        &StringArray::from(vec![Some("b"), Some("a"), None, Some("b"), None]),
    );
    let sliced = col(Int64Array::from(vec![10, 20, 30, 40])).slice(2, 2);
    let idx = col(UInt64Array::from(vec![1, 0]));
    check(
        &take(&sliced, &idx, &Budget::default()).unwrap(),
        &Int64Array::from(vec![40, 30]),
    );
    let empty = col(UInt32Array::from(Vec::<u32>::new()));
    check(
        &take(&sliced, &empty, &Budget::default()).unwrap(),
        &Int64Array::from(Vec::<i64>::new()),
    );
}

#[test]
fn take_of_a_list_column() {
    let lists = col(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![]),
    ]));
    let idx = col(UInt32Array::from(vec![0, 0, 1]));
    let out = take(&lists, &idx, &Budget::default()).unwrap();
    check(
        &out,
        &ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(1), Some(2)]),
            None,
        ]),
    );
}

#[test]
fn an_index_out_of_range_is_named() {
    let a = col(Int32Array::from(vec![1, 2, 3]));
    let idx = col(UInt64Array::from(vec![Some(0), None, Some(5), Some(9)]));
    contains_all(
        &invalid(take(&a, &idx, &Budget::default())),
        &["take", "index 5 at position 2", "3 rows"],
    );
    let signed = col(Int32Array::from(vec![0]));
    contains_all(
        &invalid(take(&a, &signed, &Budget::default())),
        &["UInt32 or UInt64"],
    );
}

#[test]
fn take_refuses_to_repeat_a_long_string_past_the_budget() {
    let long = "x".repeat(1000);
    let a = col(StringArray::from(vec![long.as_str()]));
    let idx = col(UInt32Array::from(vec![0; 1000]));
    let budget = Budget {
        max_output_bytes: 100_000,
        ..Budget::default()
    };
    contains_all(
        &limit(take(&a, &idx, &budget)),
        &["take", "100000 bytes allowed"],
    );
    let few = col(UInt32Array::from(vec![0; 50]));
    assert_eq!(take(&a, &few, &budget).unwrap().len(), 50);
    let ints = col(Int64Array::from(vec![1]));
    let many = col(UInt32Array::from(vec![0; 20_000]));
    contains_all(&limit(take(&ints, &many, &budget)), &["needs 162500 bytes"]);
}

#[test]
fn slice_in_and_out_of_range() {
    let a = col(Int32Array::from(vec![1, 2, 3, 4]));
    check(&slice(&a, 1, 2).unwrap(), &Int32Array::from(vec![2, 3]));
    check(
        &slice(&a, 4, 0).unwrap(),
        &Int32Array::from(Vec::<i32>::new()),
    );
    contains_all(
        &invalid(slice(&a, 3, 2)),
        &["slice", "out of range for 4 rows"],
    );
    invalid(slice(&a, u64::MAX, 2));
}

#[test]
fn is_in_promotes_and_propagates_nulls() {
    let a = col(Int32Array::from(vec![Some(1), Some(2), None, Some(4)]));
    let values = col(Int64Array::from(vec![
        Some(4),
        None,
        Some(1),
        Some(10_000_000_000),
    ]));
    check(
        &is_in(&a, &values).unwrap(),
        &BooleanArray::from(vec![Some(true), Some(false), None, Some(true)]),
    );
    let half = col(Float64Array::from(vec![1.5]));
    check(
        &is_in(&a, &half).unwrap(),
        &BooleanArray::from(vec![Some(false), Some(false), None, Some(false)]),
    );
    let f = col(Float64Array::from(vec![-0.0, f64::NAN, 2.0]));
    let wanted = col(Float64Array::from(vec![0.0, f64::NAN]));
    check(
        &is_in(&f, &wanted).unwrap(),
        &BooleanArray::from(vec![true, true, false]),
    );
    let t = col(StringArray::from(vec!["Paris", "Lyon"])).slice(1, 1);
    let cities = col(StringArray::from(vec!["Lyon", "Nice"]));
    check(
        &is_in(&t, &cities).unwrap(),
        &BooleanArray::from(vec![true]),
    );
    invalid(is_in(&t, &a));
}
