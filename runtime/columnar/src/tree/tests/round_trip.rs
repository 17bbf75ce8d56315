//! Columns of every carried type survive encode → owned → decode unchanged: at several sizes,
//! sliced at byte and non-byte offsets, under both validations, borrowing what they can.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::*;
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields};

use super::samples::{columns, list_of, utf8s};
use crate::Validation;
use crate::tree::*;

/// Encode, take ownership, decode; the result must pass arrow's full validation.
fn round_trip(array: &ArrayRef, validation: Validation) -> ArrayRef {
    let nodes = encode_tree_owned(array.as_ref()).expect("encodes");
    let types = flatten_field(&Field::new("c", array.data_type().clone(), true)).expect("flattens");
    assert_eq!(nodes.len(), types.len(), "one buffer node per type node");
    assert_eq!(nodes[0].len, array.len());
    let back = decode_tree(array.data_type(), nodes, validation, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", array.data_type()));
    back.to_data().validate_full().expect("a valid array");
    back
}

/// The windows each column is tested at: whole, from row 3 (not a byte boundary), from row 8
/// (a byte boundary, past the start), from row 13 to 7 rows before the end, and one row.
fn windows(len: usize) -> Vec<(usize, usize)> {
    let mut w = vec![(0, len)];
    if len >= 3 {
        w.push((3, len - 3));
    }
    if len >= 8 {
        w.push((8, len - 8));
    }
    if len >= 20 {
        w.push((13, len - 20));
        w.push((len / 2 + 1, 1));
    }
    w
}

#[test]
fn every_type_round_trips_at_every_size_and_slice_under_both_validations() {
    let mut checked = 0;
    for rows in [0, 1, 1000, 70_000] {
        for (label, column) in columns(rows) {
            for (offset, len) in windows(rows) {
                let sliced = column.slice(offset, len);
                for validation in [Validation::Full, Validation::Layout] {
                    let back = round_trip(&sliced, validation);
                    assert_eq!(
                        &back, &sliced,
                        "{label}: {rows} rows, window {offset}+{len}, {validation:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    // Every column, at 0 (1 window), 1 (1), 1000 (5) and 70,000 (5) rows, twice.
    assert_eq!(checked, columns(0).len() * 12 * 2);
}

#[test]
fn the_samples_cover_every_type_node() {
    use std::collections::BTreeSet;
    let mut seen = BTreeSet::new();
    for (_, column) in columns(3) {
        for node in flatten_field(&Field::new("c", column.data_type().clone(), true)).unwrap() {
            // The variant's name, without its parameters.
            let name = format!("{:?}", node.node);
            seen.insert(name.split('(').next().unwrap_or_default().to_owned());
        }
    }
    let all = [
        "Null",
        "Boolean",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float16",
        "Float32",
        "Float64",
        "Utf8",
        "LargeUtf8",
        "Binary",
        "LargeBinary",
        "FixedSizeBinary",
        "Date32",
        "Date64",
        "Timestamp",
        "Time32",
        "Time64",
        "Duration",
        "Interval",
        "Decimal32",
        "Decimal64",
        "Decimal128",
        "Decimal256",
        "List",
        "LargeList",
        "FixedSizeList",
        "Struct",
        "Map",
        "Dictionary",
    ];
    let missing: Vec<_> = all.iter().filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "no sample of {missing:?}");
}

#[test]
fn unsliced_columns_are_encoded_without_a_copy() {
    for (label, column) in columns(100) {
        for (i, node) in encode_tree(column.as_ref()).unwrap().iter().enumerate() {
            let borrowed = matches!(node.values, Cow::Borrowed(_))
                && node
                    .validity
                    .as_ref()
                    .is_none_or(|v| matches!(v, Cow::Borrowed(_)))
                && node
                    .offsets
                    .as_ref()
                    .is_none_or(|o| matches!(o, Cow::Borrowed(_)));
            // The one sample whose list offsets start at 3 has them rebased (node 0), and so
            // the offsets of the strings inside its struct, which start past 0 (node 3).
            let rebased = label.starts_with("list_offsets_from_3") && (i == 0 || i == 3);
            assert_eq!(borrowed, !rebased, "{label} node {i}");
        }
    }
}

#[test]
fn slices_are_normalised_to_row_0_at_every_level() {
    // list<utf8> sliced from row 3: the list's offsets and the strings' offsets start at 0,
    // the child holds exactly the addressed rows, and bitmaps start at bit 0.
    let column = list_of(40, false, utf8s).slice(3, 20);
    let nodes = encode_tree(column.as_ref()).unwrap();
    let list_offsets: Vec<i32> = nodes[0]
        .offsets
        .as_ref()
        .unwrap()
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(list_offsets[0], 0);
    assert_eq!(list_offsets.len(), 21);
    assert_eq!(nodes[1].len, *list_offsets.last().unwrap() as usize);
    let string_offsets = nodes[1].offsets.as_ref().unwrap();
    assert_eq!(&string_offsets[..4], &[0, 0, 0, 0]);
    let list = column.as_list::<i32>();
    let validity = nodes[0].validity.as_ref().unwrap();
    for row in 0..20 {
        assert_eq!(
            validity[row / 8] >> (row % 8) & 1 == 1,
            list.is_valid(row),
            "row {row}"
        );
    }
}

#[test]
fn nulls_at_every_level_round_trip_exactly() {
    // list<struct<a: int64, m: map<utf8, int64>, d: dictionary<int8, utf8>>> with: a null list
    // (non-empty), an empty list, a null struct inside a valid list, a null int64 inside a
    // valid struct, a null map, a null map value, a null dictionary key, a key to a null
    // dictionary value.
    let a = Int64Array::from(vec![Some(1), None, Some(3), Some(4)]);
    let entries = StructArray::new(
        Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Int64, true),
        ]),
        vec![
            Arc::new(StringArray::from(vec!["x", "y", "z"])),
            Arc::new(Int64Array::from(vec![Some(10), None, Some(30)])),
        ],
        None,
    );
    let m = MapArray::new(
        Arc::new(Field::new("entries", entries.data_type().clone(), false)),
        OffsetBuffer::<i32>::from_lengths([2, 0, 1, 0]),
        entries,
        Some(NullBuffer::from(vec![true, true, true, false])),
        false,
    );
    let d = DictionaryArray::<arrow_array::types::Int8Type>::try_new(
        Int8Array::from(vec![Some(0), None, Some(1), Some(0)]),
        Arc::new(StringArray::from(vec![Some("v"), None])),
    )
    .unwrap();
    let s = StructArray::new(
        Fields::from(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("m", m.data_type().clone(), true),
            Field::new("d", d.data_type().clone(), true),
        ]),
        vec![Arc::new(a), Arc::new(m), Arc::new(d)],
        Some(NullBuffer::from(vec![true, true, false, true])),
    );
    let column: ArrayRef = Arc::new(ListArray::new(
        Arc::new(Field::new("item", s.data_type().clone(), true)),
        OffsetBuffer::<i32>::from_lengths([1, 3, 0]),
        Arc::new(s),
        Some(NullBuffer::from(vec![false, true, true])),
    ));
    for validation in [Validation::Full, Validation::Layout] {
        let back = round_trip(&column, validation);
        assert_eq!(&back, &column);
        let list = back.as_list::<i32>();
        assert!(
            list.is_null(0) && list.value_length(0) == 1,
            "null, non-empty list"
        );
        assert!(list.is_valid(2) && list.value_length(2) == 0, "empty list");
        let s = list.values().as_struct();
        assert!(s.is_null(2), "null struct in a valid list");
        assert!(s.column(0).is_null(1), "null int64 in a valid struct");
        let m = s.column(1).as_map();
        assert!(m.is_null(3) && m.is_valid(0));
        assert!(m.values().is_null(1), "null map value");
        let d = s.column(2).as_any_dictionary();
        assert!(d.keys().is_null(1), "null dictionary key");
        assert!(d.values().is_null(1), "null dictionary value");
    }
}

#[test]
fn aligned_vectors_are_adopted_without_copy_at_every_level() {
    // list<int64>: the offsets vector and the child's values vector become the decoded
    // array's buffers when the allocator gave them 8-aligned addresses (it does in practice;
    // otherwise `align_buffers` copies them and only equality can be checked).
    let column = list_of(64, false, super::samples::int64s);
    let nodes = encode_tree_owned(column.as_ref()).unwrap();
    let offsets = nodes[0].offsets.as_ref().unwrap().as_ptr();
    let child = nodes[1].values.as_ptr();
    let back = decode_tree(
        column.data_type(),
        nodes,
        Validation::Full,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(&back, &column);
    let list = back.as_list::<i32>();
    if offsets.align_offset(4) == 0 {
        assert_eq!(list.offsets().inner().inner().as_ptr(), offsets);
    }
    if child.align_offset(8) == 0 {
        let values = list.values().as_primitive::<Int64Type>();
        assert_eq!(values.values().inner().as_ptr(), child);
    }
}

#[test]
fn a_sliced_dictionary_sends_its_whole_dictionary() {
    // Keys are sliced; the dictionary is not (it is shared by every slice).
    let keys = Int32Array::from(vec![2, 0, 1, 2, 2]);
    let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
    let whole: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
    let column = whole.slice(3, 2);
    let nodes = encode_tree(column.as_ref()).unwrap();
    assert_eq!((nodes[0].len, nodes[1].len), (2, 3));
    assert_eq!(&round_trip(&column, Validation::Full), &column);
}
