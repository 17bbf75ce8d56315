//! One test per kind of invalid input, each asserting the exact violation is reported, with
//! the node at fault.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields};

use super::samples::{columns, list_of, utf8s};
use crate::tree::*;
use crate::{LayoutError, Validation};

fn bytes32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn node(len: usize, offsets: Option<Vec<u8>>, values: Vec<u8>) -> OwnedNode {
    OwnedNode {
        len,
        validity: None,
        offsets,
        values,
    }
}

fn item(t: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", t, true))
}

/// The reason of the `Invalid` error decoding `nodes` as `t` gives, under `validation`.
fn reason_with(t: &DataType, nodes: Vec<OwnedNode>, validation: Validation) -> String {
    match decode_tree(t, nodes, validation, &Limits::default()) {
        Err(LayoutError::Invalid { reason, .. }) => reason,
        other => panic!("{t}: expected Invalid, got {other:?}"),
    }
}

fn reason(t: &DataType, nodes: Vec<OwnedNode>) -> String {
    let full = reason_with(t, nodes.clone(), Validation::Full);
    // Every layout violation is caught under `Layout` too, with the same words.
    assert_eq!(reason_with(t, nodes, Validation::Layout), full);
    full
}

fn type_reason(nodes: &[FieldNode]) -> (usize, String) {
    match unflatten_fields(nodes, &Limits::default()) {
        Err(LayoutError::InvalidType { node, reason }) => (node, reason),
        other => panic!("expected InvalidType, got {other:?}"),
    }
}

fn field_node(name: &str, node: TypeNode, nullable: bool) -> FieldNode {
    FieldNode {
        name: name.into(),
        node,
        nullable,
    }
}

#[test]
fn wrong_node_count() {
    let t = DataType::List(item(DataType::Int32));
    let r = reason(&t, vec![node(0, Some(bytes32(&[0])), vec![])]);
    assert_eq!(
        r,
        "1 nodes for a type of 2 nodes (one per type node, in pre-order)"
    );
    let r = reason(&t, vec![node(0, Some(bytes32(&[0])), vec![]); 3]);
    assert!(r.starts_with("3 nodes for a type of 2 nodes"), "{r}");
    // A struct of 3 fields sent with 2 children.
    let s = DataType::Struct(Fields::from(vec![
        Field::new("a", DataType::Int8, true),
        Field::new("b", DataType::Int8, true),
        Field::new("c", DataType::Int8, true),
    ]));
    let r = reason(
        &s,
        vec![
            node(1, None, vec![]),
            node(1, None, vec![1]),
            node(1, None, vec![2]),
        ],
    );
    assert!(r.starts_with("3 nodes for a type of 4 nodes"), "{r}");
}

#[test]
fn struct_child_length_mismatch() {
    let s = DataType::Struct(Fields::from(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("b", DataType::Int32, true),
    ]));
    let r = reason(
        &s,
        vec![
            node(3, None, vec![]),
            node(3, None, bytes32(&[1, 2, 3])),
            node(2, None, bytes32(&[1, 2])),
        ],
    );
    assert_eq!(r, "node 0: child node 2 `b` has 2 rows, the struct 3");
}

#[test]
fn list_offsets_past_the_child() {
    let t = DataType::List(item(DataType::Int8));
    let r = reason(
        &t,
        vec![
            node(2, Some(bytes32(&[0, 2, 5])), vec![]),
            node(4, None, vec![0; 4]),
        ],
    );
    assert_eq!(
        r,
        "node 0: offset 2 (5) is past the end of child node 1 (4 rows)"
    );
}

#[test]
fn list_offsets_ending_before_the_child() {
    let t = DataType::LargeList(item(DataType::Int8));
    let offsets = [0i64, 1, 2].iter().flat_map(|x| x.to_le_bytes()).collect();
    let r = reason(
        &t,
        vec![node(2, Some(offsets), vec![]), node(4, None, vec![0; 4])],
    );
    assert_eq!(r, "node 0: offsets end at 2, child node 1 has 4 rows");
}

#[test]
fn non_monotonic_offsets() {
    // In a list...
    let t = DataType::List(item(DataType::Int8));
    let r = reason(
        &t,
        vec![
            node(2, Some(bytes32(&[0, 3, 1])), vec![]),
            node(3, None, vec![0; 3]),
        ],
    );
    assert_eq!(r, "node 0: offsets decrease at row 1 (3 then 1)");
    // ... and in the strings of a list.
    let t = DataType::List(item(DataType::Utf8));
    let r = reason(
        &t,
        vec![
            node(1, Some(bytes32(&[0, 2])), vec![]),
            node(2, Some(bytes32(&[0, 2, 1])), b"abc".to_vec()),
        ],
    );
    assert_eq!(r, "node 1 `item`: offsets decrease at row 1 (2 then 1)");
    // A negative offset.
    let r = reason(
        &DataType::Utf8,
        vec![node(1, Some(bytes32(&[-1, 0])), vec![])],
    );
    assert_eq!(r, "node 0: offset 0 is negative (-1)");
}

#[test]
fn bad_utf8_nested_in_a_list() {
    let t = DataType::List(item(DataType::Utf8));
    let nodes = vec![
        node(1, Some(bytes32(&[0, 1])), vec![]),
        node(1, Some(bytes32(&[0, 2])), vec![0xc3, 0x28]),
    ];
    let r = reason_with(&t, nodes.clone(), Validation::Full);
    assert!(r.starts_with("node 1 `item`: "), "{r}");
    assert!(r.to_lowercase().contains("utf8"), "{r}");
    // Content is what `Layout` trusts (the SDK decoding what the validated host sent).
    decode_tree(&t, nodes, Validation::Layout, &Limits::default()).unwrap();
}

#[test]
fn dictionary_key_out_of_range() {
    let t = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let values = || node(2, Some(bytes32(&[0, 1, 2])), b"ab".to_vec());
    let r = reason(&t, vec![node(2, None, bytes32(&[1, 2])), values()]);
    assert_eq!(
        r,
        "node 0: key 2 at row 1 is outside the dictionary of 2 values (child node 1)"
    );
    let r = reason(&t, vec![node(2, None, bytes32(&[-1, 0])), values()]);
    assert_eq!(
        r,
        "node 0: key -1 at row 0 is outside the dictionary of 2 values (child node 1)"
    );
    // Under a null key, any value is fine.
    let mut keys = node(2, None, bytes32(&[0, 99]));
    keys.validity = Some(vec![0b01]);
    decode_tree(
        &t,
        vec![keys, values()],
        Validation::Full,
        &Limits::default(),
    )
    .unwrap();
    // An empty dictionary admits only null keys.
    let u8_keys = DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Int8));
    let r = reason(
        &u8_keys,
        vec![node(1, None, vec![0]), node(0, None, vec![])],
    );
    assert!(r.contains("outside the dictionary of 0 values"), "{r}");
}

#[test]
fn bitmap_too_short() {
    // The validity of a nested child.
    let s = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Int8, true)]));
    let mut child = node(9, None, vec![0; 9]);
    child.validity = Some(vec![0xff]);
    let r = reason(&s, vec![node(9, None, vec![]), child]);
    assert_eq!(r, "node 1 `a`: validity bitmap has 1 bytes, 9 rows need 2");
    // The values bitmap of a boolean.
    let r = reason(&DataType::Boolean, vec![node(9, None, vec![0])]);
    assert_eq!(r, "node 0: values bitmap has 1 bytes, 9 rows need 2");
}

#[test]
fn map_entries_with_a_nullable_key() {
    // In the type...
    let (node_at, r) = type_reason(&[
        field_node("m", TypeNode::Map(false), true),
        field_node("entries", TypeNode::Struct(2), false),
        field_node("key", TypeNode::Utf8, true),
        field_node("value", TypeNode::Int8, true),
    ]);
    assert_eq!(
        (node_at, r.as_str()),
        (0, "map: the key field `key` must not be nullable")
    );
    // ... entries that are not a non-nullable struct of two ...
    let (_, r) = type_reason(&[
        field_node("m", TypeNode::Map(false), true),
        field_node("entries", TypeNode::Struct(2), true),
        field_node("key", TypeNode::Utf8, false),
        field_node("value", TypeNode::Int8, true),
    ]);
    assert_eq!(r, "map: the entries field must not be nullable");
    let (_, r) = type_reason(&[
        field_node("m", TypeNode::Map(false), true),
        field_node("entries", TypeNode::Struct(1), false),
        field_node("key", TypeNode::Utf8, false),
    ]);
    assert_eq!(
        r,
        "map: the entries must be a struct of exactly 2 fields (key, value), not 1"
    );
    let (_, r) = type_reason(&[
        field_node("m", TypeNode::Map(false), true),
        field_node("entries", TypeNode::Int8, false),
    ]);
    assert_eq!(
        r,
        "map: the entries must be a struct of key and value, not Int8"
    );
    // ... and in the data: a null key under a non-nullable key field.
    let column = super::samples::map_of(3, |n| super::samples::int32s(n));
    let mut nodes = encode_tree_owned(column.as_ref()).unwrap();
    nodes[2].validity = Some(vec![0b10]);
    let r = reason_with(column.data_type(), nodes, Validation::Full);
    assert!(r.starts_with("node 1 `entries`: "), "{r}");
    assert!(
        r.contains("non-nullable child of type Utf8 contains nulls"),
        "{r}"
    );
}

#[test]
fn fixed_size_list_child_too_short() {
    let t = DataType::FixedSizeList(item(DataType::Int32), 3);
    let r = reason(
        &t,
        vec![node(2, None, vec![]), node(5, None, bytes32(&[0; 5]))],
    );
    assert_eq!(
        r,
        "node 0: child node 1 has 5 rows, 2 lists of 3 items need 6"
    );
}

#[test]
fn struct_child_count_wrong() {
    // A struct that announces 3 fields, and the list ends after 2.
    let (node_at, r) = type_reason(&[
        field_node("s", TypeNode::Struct(3), true),
        field_node("a", TypeNode::Int8, true),
        field_node("b", TypeNode::Int8, true),
    ]);
    assert_eq!(node_at, 0);
    assert_eq!(
        r,
        "`s` (Struct(3)) has 3 children, the node list ended after 2"
    );
    // Announcing 2 with 3 sent makes the third a top-level field: the column count differs.
    let fields = unflatten_fields(
        &[
            field_node("s", TypeNode::Struct(2), true),
            field_node("a", TypeNode::Int8, true),
            field_node("b", TypeNode::Int8, true),
            field_node("c", TypeNode::Int8, true),
        ],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(fields.len(), 2);
    // A list whose item never comes.
    let (node_at, r) = type_reason(&[
        field_node("a", TypeNode::Int8, true),
        field_node("l", TypeNode::List, true),
    ]);
    assert_eq!(
        (node_at, r.as_str()),
        (1, "`l` (List) has 1 children, the node list ended after 0")
    );
}

#[test]
fn absurd_sizes_and_parameters_in_node_lists() {
    for (node, words) in [
        (
            TypeNode::FixedSizeBinary(-1),
            "fixed sizes must be positive, got -1",
        ),
        (
            TypeNode::FixedSizeBinary(0),
            "fixed sizes must be positive, got 0",
        ),
        (TypeNode::Decimal128(0, 0), "precision cannot be 0"),
        (
            TypeNode::Decimal128(39, 2),
            "precision 39 is greater than max 38",
        ),
        (
            TypeNode::Decimal256(77, 2),
            "precision 77 is greater than max 76",
        ),
        (
            TypeNode::Decimal256(10, 11),
            "scale 11 is greater than precision 10",
        ),
        (
            TypeNode::Time32(arrow_schema::TimeUnit::Microsecond),
            "time32 holds seconds",
        ),
        (
            TypeNode::Time64(arrow_schema::TimeUnit::Millisecond),
            "time64 holds microseconds",
        ),
    ] {
        let (at, r) = type_reason(&[field_node("x", node.clone(), true)]);
        assert_eq!(at, 0);
        assert!(r.starts_with("`x`: ") && r.contains(words), "{node:?}: {r}");
    }
    let (_, r) = type_reason(&[
        field_node("l", TypeNode::FixedSizeList(-3), true),
        field_node("item", TypeNode::Int8, true),
    ]);
    assert!(r.contains("got -3"), "{r}");
    let (at, r) = type_reason(&[field_node("", TypeNode::Int8, true)]);
    assert_eq!((at, r.as_str()), (0, "field names must not be empty"));
}

#[test]
fn absurd_sizes_in_data_are_errors_not_allocations() {
    // FixedSizeList(i32::MAX) of int8 with a huge length: the child would need exabytes.
    let t = DataType::FixedSizeList(item(DataType::Int8), i32::MAX);
    let r = reason(
        &t,
        vec![node(usize::MAX / 2, None, vec![]), node(0, None, vec![])],
    );
    assert!(r.contains("overflow the address space"), "{r}");
    let len = u32::MAX as usize;
    let r = reason(&t, vec![node(len, None, vec![]), node(len, None, vec![])]);
    assert!(
        r.contains(&format!("{len} lists of {} items need", i32::MAX)),
        "{r}"
    );
    // Claimed to match, with no bytes behind it.
    let claimed = len * i32::MAX as usize;
    let r = reason(
        &t,
        vec![node(len, None, vec![]), node(claimed, None, vec![])],
    );
    assert_eq!(
        r,
        format!(
            "node 1 `item`: values buffer has 0 bytes, {claimed} rows of 1 bytes need {claimed}"
        )
    );
    // FixedSizeBinary(i32::MAX) with a huge length.
    let r = reason(
        &DataType::FixedSizeBinary(i32::MAX),
        vec![node(usize::MAX / 4, None, vec![])],
    );
    assert!(r.contains("overflow the address space"), "{r}");
    // Non-nullable null items under a fixed-size list of 2^31 - 1 with null lists: valid
    // arrow that costs nothing to hold. Arrow's own check of it would expand the lists'
    // one-byte validity to 2 GiB; decode_tree must not.
    let t = DataType::FixedSizeList(Arc::new(Field::new("n", DataType::Null, false)), i32::MAX);
    let mut lists = node(8, None, vec![]);
    lists.validity = Some(vec![0b1111_1110]);
    let items = node(8 * i32::MAX as usize, None, vec![]);
    let (array, largest) = super::largest_allocation(|| {
        decode_tree(&t, vec![lists, items], Validation::Full, &Limits::default()).unwrap()
    });
    assert_eq!((array.len(), array.null_count()), (8, 1));
    assert!(largest < 4096, "{largest} bytes allocated at once");
    // (Arrow's validate_full would do exactly that expansion, so only the cheap checks here.)
    array.to_data().validate().unwrap();
}

#[test]
fn buffers_that_do_not_belong_to_the_node() {
    let r = reason(
        &DataType::Int32,
        vec![node(1, Some(bytes32(&[0, 0])), bytes32(&[1]))],
    );
    assert_eq!(r, "node 0: offsets buffer given for a Int32 node");
    let r = reason(&DataType::Utf8, vec![node(1, None, b"a".to_vec())]);
    assert_eq!(r, "node 0: offsets buffer is missing");
    let r = reason(
        &DataType::Utf8,
        vec![node(1, Some(bytes32(&[0])), b"a".to_vec())],
    );
    assert_eq!(
        r,
        "node 0: offsets buffer has 4 bytes, 1 rows need 1 + 1 offsets of 4 bytes"
    );
    let s = DataType::Struct(Fields::empty());
    let r = reason(&s, vec![node(1, None, vec![7])]);
    assert!(
        r.starts_with("node 0: values buffer has 1 bytes, a Struct() node has none"),
        "{r}"
    );
    let mut null = node(3, None, vec![]);
    null.validity = Some(vec![0]);
    let r = reason(&DataType::Null, vec![null]);
    assert_eq!(r, "node 0: the null type carries no validity bitmap");
    let r = reason(&DataType::Int64, vec![node(2, None, vec![0; 12])]);
    assert_eq!(
        r,
        "node 0: values buffer has 12 bytes, 2 rows of 8 bytes need 16"
    );
}

#[test]
fn invalid_types_given_to_decode_are_refused_before_any_node_is_read() {
    for t in [
        DataType::Time32(arrow_schema::TimeUnit::Nanosecond),
        DataType::Decimal128(40, 0),
        DataType::FixedSizeBinary(-1),
        DataType::Dictionary(Box::new(DataType::Float32), Box::new(DataType::Utf8)),
    ] {
        let e = decode_tree(&t, vec![], Validation::Full, &Limits::default()).unwrap_err();
        assert!(
            matches!(e, LayoutError::InvalidType { node: 0, .. }),
            "{t}: {e}"
        );
    }
    let e = decode_tree(
        &DataType::Utf8View,
        vec![],
        Validation::Full,
        &Limits::default(),
    );
    assert!(matches!(e, Err(LayoutError::Unsupported { .. })));
}

#[test]
fn errors_name_the_node_deep_inside() {
    // list<struct<a: int64, b: list<utf8>>>: break the innermost strings' offsets.
    let column = columns(30)
        .into_iter()
        .find(|(l, _)| *l == "list_struct_a_int64_b_list_utf8")
        .unwrap()
        .1;
    let mut nodes = encode_tree_owned(column.as_ref()).unwrap();
    assert_eq!(nodes.len(), 5);
    let last = nodes[4].offsets.as_mut().unwrap();
    let n = last.len();
    last[n - 4..].copy_from_slice(&i32::MAX.to_le_bytes());
    let r = reason(column.data_type(), nodes);
    assert!(r.starts_with("node 4 `item`: offset "), "{r}");
    assert!(r.contains("is past the end of the values buffer"), "{r}");
    // And the error carries the node's own type and length.
    let column = list_of(4, false, utf8s);
    let mut nodes = encode_tree_owned(column.as_ref()).unwrap();
    nodes[1].values.clear();
    match decode_tree(
        column.data_type(),
        nodes,
        Validation::Full,
        &Limits::default(),
    ) {
        Err(LayoutError::Invalid {
            data_type,
            num_rows,
            ..
        }) => {
            assert_eq!((data_type, num_rows), (DataType::Utf8, 6));
        }
        other => panic!("{other:?}"),
    }
}
