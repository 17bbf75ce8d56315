//! Types survive schema → nodes → schema; the node list of a nested type is the documented
//! pre-order; types that do not cross are refused with what to do; views are normalised.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::*;
use arrow_schema::{
    DataType, Field, Fields, IntervalUnit, Schema, TimeUnit, UnionFields, UnionMode,
};

use super::samples::columns;
use crate::LayoutError;
use crate::tree::*;

fn schema_of_every_type() -> Schema {
    Schema::new(
        columns(2)
            .into_iter()
            .enumerate()
            .map(|(i, (label, c))| Field::new(label, c.data_type().clone(), i % 2 == 0))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn every_type_flattens_and_unflattens_to_itself() {
    let schema = schema_of_every_type();
    let nodes = flatten_schema(&schema).unwrap();
    let fields = unflatten_fields(&nodes, &Limits::default()).unwrap();
    assert_eq!(Schema::new(fields), schema);
    // And one field at a time.
    for field in schema.fields() {
        let nodes = flatten_field(field).unwrap();
        assert_eq!(
            unflatten_fields(&nodes, &Limits::default()).unwrap(),
            vec![field.as_ref().clone()]
        );
    }
}

/// A bare type (a cast's target, a column's type) flattens with an unnamed root, which a
/// field list refuses: the reader names the root before unflattening.
#[test]
fn every_bare_type_flattens_with_an_unnamed_root() {
    for field in schema_of_every_type().fields() {
        let mut nodes = flatten_type(field.data_type()).unwrap();
        assert_eq!(nodes[0].name, "", "{field}");
        nodes[0].name = "value".into();
        let back = unflatten_fields(&nodes, &Limits::default()).unwrap();
        assert_eq!(back[0].data_type(), field.data_type());
    }
}

#[test]
fn every_type_parameter_survives() {
    let types = [
        DataType::Timestamp(TimeUnit::Second, None),
        DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Paris".into())),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Time32(TimeUnit::Millisecond),
        DataType::Time64(TimeUnit::Nanosecond),
        DataType::Duration(TimeUnit::Microsecond),
        DataType::Interval(IntervalUnit::YearMonth),
        DataType::Interval(IntervalUnit::DayTime),
        DataType::Interval(IntervalUnit::MonthDayNano),
        DataType::Decimal32(1, 1),
        DataType::Decimal64(18, -5),
        DataType::Decimal128(38, 38),
        DataType::Decimal256(76, 0),
        DataType::FixedSizeBinary(1),
        DataType::FixedSizeBinary(i32::MAX),
        DataType::FixedSizeList(Arc::new(Field::new("x", DataType::Int8, false)), i32::MAX),
        DataType::Map(
            Arc::new(Field::new(
                "e",
                DataType::Struct(Fields::from(vec![
                    Field::new("k", DataType::Int32, false),
                    Field::new("v", DataType::Null, true),
                ])),
                false,
            )),
            true,
        ),
        DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::LargeBinary)),
        DataType::Struct(Fields::empty()),
    ];
    for t in types {
        let field = Field::new("f", t, false);
        let nodes = flatten_field(&field).unwrap();
        assert_eq!(
            unflatten_fields(&nodes, &Limits::default()).unwrap(),
            vec![field.clone()],
            "{}",
            field.data_type()
        );
        check_tree_type(field.data_type()).unwrap();
    }
}

#[test]
fn a_nested_type_flattens_to_its_pre_order_nodes() {
    // struct<m: map<utf8, float64>, d: dictionary<int32, utf8>>, then a second column.
    let entries = DataType::Struct(Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]));
    let schema = Schema::new(vec![
        Field::new(
            "s",
            DataType::Struct(Fields::from(vec![
                Field::new(
                    "m",
                    DataType::Map(Arc::new(Field::new("entries", entries, false)), false),
                    true,
                ),
                Field::new(
                    "d",
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    false,
                ),
            ])),
            true,
        ),
        Field::new("n", DataType::Int8, false),
    ]);
    let node = |name: &str, node, nullable| FieldNode {
        name: name.into(),
        node,
        nullable,
    };
    assert_eq!(
        flatten_schema(&schema).unwrap(),
        vec![
            node("s", TypeNode::Struct(2), true),
            node("m", TypeNode::Map(false), true),
            node("entries", TypeNode::Struct(2), false),
            node("key", TypeNode::Utf8, false),
            node("value", TypeNode::Float64, true),
            node("d", TypeNode::Dictionary(IndexType::Int32), false),
            node(DICTIONARY_VALUES_NAME, TypeNode::Utf8, true),
            node("n", TypeNode::Int8, false),
        ]
    );
}

#[test]
fn metadata_does_not_cross() {
    let field = Field::new("a", DataType::Int8, true).with_metadata(
        std::collections::HashMap::from([("k".to_string(), "v".to_string())]),
    );
    let back = unflatten_fields(&flatten_field(&field).unwrap(), &Limits::default()).unwrap();
    assert!(back[0].metadata().is_empty());
}

fn unsupported_reason(t: &DataType) -> &'static str {
    match check_tree_type(t) {
        Err(LayoutError::Unsupported { reason, .. }) => reason,
        other => panic!("{t}: expected Unsupported, got {other:?}"),
    }
}

#[test]
fn views_unions_run_ends_and_list_views_are_refused_with_what_to_do() {
    let item = Arc::new(Field::new("item", DataType::Int32, true));
    let union = DataType::Union(
        UnionFields::try_new(vec![0], vec![Field::new("a", DataType::Int32, true)]).unwrap(),
        UnionMode::Dense,
    );
    let ree = DataType::RunEndEncoded(
        Arc::new(Field::new("run_ends", DataType::Int32, false)),
        Arc::new(Field::new("values", DataType::Utf8, true)),
    );
    for (t, advice) in [
        (DataType::Utf8View, "normalize"),
        (DataType::BinaryView, "normalize"),
        (
            DataType::ListView(item.clone()),
            "cast the column to a list",
        ),
        (
            DataType::LargeListView(item.clone()),
            "cast the column to a list",
        ),
        (union.clone(), "cast the column to one of its member types"),
        (ree.clone(), "cast the column to its value type"),
    ] {
        assert!(unsupported_reason(&t).contains(advice), "{t}");
        // Nested anywhere, the same refusal.
        let nested = DataType::List(Arc::new(Field::new("item", t.clone(), true)));
        assert!(unsupported_reason(&nested).contains(advice), "{nested}");
        let in_struct = Field::new(
            "s",
            DataType::Struct(Fields::from(vec![Field::new("x", t, true)])),
            true,
        );
        assert!(matches!(
            flatten_field(&in_struct),
            Err(LayoutError::Unsupported { .. })
        ));
    }
    let schema = Schema::new(vec![
        Field::new("ok", DataType::Int8, true),
        Field::new("bad", union, true),
    ]);
    let (column, _) = flatten_schema(&schema).unwrap_err();
    assert_eq!(column, "bad");
    let strings = StringViewArray::from(vec!["a"]);
    assert!(matches!(
        encode_tree(&strings),
        Err(LayoutError::Unsupported { .. })
    ));
}

#[test]
fn invalid_arrow_types_are_refused_before_they_cross() {
    let invalid = |t: DataType| match check_tree_type(&t) {
        Err(LayoutError::InvalidType { reason, .. }) => reason,
        other => panic!("{t}: expected InvalidType, got {other:?}"),
    };
    assert!(invalid(DataType::Time32(TimeUnit::Nanosecond)).contains("time32"));
    assert!(invalid(DataType::Time64(TimeUnit::Second)).contains("time64"));
    assert!(invalid(DataType::Decimal128(39, 0)).contains("greater than max 38"));
    assert!(invalid(DataType::Decimal256(0, 0)).contains("precision cannot be 0"));
    assert!(invalid(DataType::Decimal32(5, 6)).contains("greater than precision"));
    assert!(invalid(DataType::FixedSizeBinary(0)).contains("positive"));
    assert!(
        invalid(DataType::Dictionary(
            Box::new(DataType::Utf8),
            Box::new(DataType::Utf8)
        ))
        .contains("integer")
    );
    let entries = |key_nullable| {
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("k", DataType::Utf8, key_nullable),
                Field::new("v", DataType::Utf8, true),
            ])),
            false,
        ))
    };
    assert!(invalid(DataType::Map(entries(true), false)).contains("must not be nullable"));
    check_tree_type(&DataType::Map(entries(false), false)).unwrap();
    let empty_name = DataType::Struct(Fields::from(vec![Field::new("", DataType::Int8, true)]));
    assert!(invalid(empty_name).contains("empty"));
    assert!(matches!(
        flatten_field(&Field::new("", DataType::Int8, true)),
        Err(LayoutError::InvalidType { node: 0, .. })
    ));
}

#[test]
fn views_are_normalised_to_utf8_and_binary_at_every_level() {
    // The same column with utf8/binary and with views: normalising the second gives the first.
    let plain: ArrayRef = {
        let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("ccc")]));
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&b"x"[..]), Some(b""), None]));
        let list: ArrayRef = Arc::new(ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            arrow_buffer::OffsetBuffer::<i32>::from_lengths([1, 0, 2]),
            strings.clone(),
            None,
        ));
        let dict: ArrayRef = Arc::new(
            DictionaryArray::<arrow_array::types::Int32Type>::try_new(
                Int32Array::from(vec![Some(2), None, Some(0)]),
                strings.clone(),
            )
            .unwrap(),
        );
        Arc::new(StructArray::from(vec![
            (Arc::new(Field::new("s", DataType::Utf8, true)), strings),
            (Arc::new(Field::new("b", DataType::Binary, true)), bytes),
            (
                Arc::new(Field::new("l", list.data_type().clone(), true)),
                list,
            ),
            (
                Arc::new(Field::new("d", dict.data_type().clone(), true)),
                dict,
            ),
        ]))
    };
    let view_type = DataType::Struct(Fields::from(vec![
        Field::new("s", DataType::Utf8View, true),
        Field::new("b", DataType::BinaryView, true),
        Field::new(
            "l",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8View, true))),
            true,
        ),
        Field::new(
            "d",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8View)),
            true,
        ),
    ]));
    let views = arrow_cast::cast(&plain, &view_type).unwrap();
    assert_eq!(views.data_type(), &view_type);
    assert_eq!(
        normalize_type(&view_type).unwrap(),
        plain.data_type().clone()
    );
    let normalised = normalize(&views).unwrap();
    assert_eq!(&normalised, &plain);
    check_tree_type(normalised.data_type()).unwrap();
    // Without views, the very same array comes back.
    assert!(Arc::ptr_eq(&normalize(&plain).unwrap(), &plain));
    let strings = normalize(&(Arc::new(StringViewArray::from(vec!["é"])) as ArrayRef)).unwrap();
    assert_eq!(strings.as_string::<i32>().value(0), "é");
    // What has no carried equivalent is refused, with the same advice.
    let ree = DataType::RunEndEncoded(
        Arc::new(Field::new("run_ends", DataType::Int32, false)),
        Arc::new(Field::new("values", DataType::Utf8View, true)),
    );
    assert!(matches!(
        normalize_type(&ree),
        Err(LayoutError::Unsupported { .. })
    ));
}

#[test]
fn the_0_1_functions_still_refuse_nested_types() {
    // The released contract is untouched: nested types still do not cross in 0.1.
    let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
    assert!(matches!(
        crate::check_type(&list),
        Err(LayoutError::Unsupported { .. })
    ));
    assert!(crate::check_type(&DataType::Float16).is_err());
    check_tree_type(&list).unwrap();
}
