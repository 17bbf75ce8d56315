//! Shapes a hostile plugin can send for little cost: types nested thousands deep, structs of
//! a hundred thousand fields, lengths of four billion rows with no bytes behind them. Each is
//! refused (or, when valid, held) without recursion and without allocating for the claim.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, TimeUnit};

use crate::tree::*;
use crate::{LayoutError, Validation};

/// Run `f` on a thread with a 256 KiB stack: far too small for a recursion per level of a
/// type 10,000 deep, so passing proves there is none.
fn on_a_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no stack overflow, no panic");
}

fn limit_of(result: Result<impl std::fmt::Debug, LayoutError>) -> (&'static str, String) {
    match result {
        Err(LayoutError::LimitExceeded { limit, what, .. }) => (limit, what),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
}

fn deep_list_nodes(depth: usize) -> Vec<FieldNode> {
    let mut nodes: Vec<FieldNode> = (0..depth)
        .map(|_| FieldNode {
            name: "l".into(),
            node: TypeNode::List,
            nullable: true,
        })
        .collect();
    nodes.push(FieldNode {
        name: "leaf".into(),
        node: TypeNode::Int32,
        nullable: true,
    });
    nodes
}

#[test]
fn a_list_of_lists_10000_deep_is_refused() {
    on_a_small_stack(|| {
        let nodes = deep_list_nodes(10_000);
        let (limit, _) = limit_of(unflatten_fields(&nodes, &Limits::default()));
        assert_eq!(limit, "max_nodes");
        // With room for the nodes, the depth refuses it at the 65th level.
        let roomy = Limits {
            max_nodes: 1_000_000,
            ..Limits::default()
        };
        let (limit, what) = limit_of(unflatten_fields(&nodes, &roomy));
        assert_eq!(
            (limit, what.as_str()),
            ("max_depth", "node 64 at nesting depth 65")
        );
        // 64 levels are fine.
        unflatten_fields(&deep_list_nodes(63), &Limits::default()).unwrap();
    });
}

#[test]
fn an_arrow_type_10000_deep_is_walked_without_recursion() {
    on_a_small_stack(|| {
        let mut deep = DataType::Int32;
        for _ in 0..10_000 {
            deep = DataType::List(Arc::new(Field::new("l", deep, true)));
        }
        // The walks are loops: flattening it is fine (limits are the receiver's) ...
        check_tree_type(&deep).unwrap();
        let nodes = flatten_field(&Field::new("c", deep.clone(), true)).unwrap();
        assert_eq!(nodes.len(), 10_001);
        // ... decoding it is refused before any recursion, at the 65th level.
        let (limit, what) = limit_of(decode_tree(
            &deep,
            vec![],
            Validation::Full,
            &Limits::default(),
        ));
        assert_eq!(
            (limit, what.as_str()),
            ("max_depth", "node 64 at nesting depth 65")
        );
        // Arrow's own drop of a type is recursive; this one is not ours to drop on this stack.
        std::mem::forget(deep);
    });
}

#[test]
fn a_struct_of_100000_fields_is_refused() {
    on_a_small_stack(|| {
        let mut nodes = vec![FieldNode {
            name: "wide".into(),
            node: TypeNode::Struct(100_000),
            nullable: true,
        }];
        nodes.extend((0..100_000).map(|i| FieldNode {
            name: format!("f{i}"),
            node: TypeNode::Int8,
            nullable: true,
        }));
        let (limit, _) = limit_of(unflatten_fields(&nodes, &Limits::default()));
        assert_eq!(limit, "max_nodes");
        let roomy = Limits {
            max_nodes: 1_000_000,
            ..Limits::default()
        };
        let (limit, what) = limit_of(unflatten_fields(&nodes, &roomy));
        assert_eq!(
            (limit, what.as_str()),
            ("max_struct_children", "struct node 0 of 100000 fields")
        );
        // Announcing u32::MAX fields reserves nothing for them.
        let (limit, _) = limit_of(unflatten_fields(
            &[FieldNode {
                name: "s".into(),
                node: TypeNode::Struct(u32::MAX),
                nullable: true,
            }],
            &roomy,
        ));
        assert_eq!(limit, "max_struct_children");
        // The same as an arrow type given to decode.
        let wide = DataType::Struct(
            (0..100_000)
                .map(|i| Field::new(format!("f{i}"), DataType::Int8, true))
                .collect::<Fields>(),
        );
        let (limit, _) = limit_of(decode_tree(&wide, vec![], Validation::Full, &roomy));
        assert_eq!(limit, "max_struct_children");
    });
}

#[test]
fn four_billion_rows_with_empty_buffers_are_errors_not_allocations() {
    let len = u32::MAX as usize;
    let claim = |t: DataType, nodes: usize, offsets: bool| {
        let node = OwnedNode {
            len,
            validity: None,
            offsets: offsets.then(|| vec![0; 4]),
            values: Vec::new(),
        };
        let (result, largest) = super::largest_allocation(|| {
            decode_tree(&t, vec![node; nodes], Validation::Full, &Limits::default())
        });
        assert!(largest < 4096, "{t}: {largest} bytes allocated at once");
        match result {
            Err(LayoutError::Invalid { reason, .. }) => reason,
            other => panic!("{t}: expected Invalid, got {other:?}"),
        }
    };
    let item = |t| Arc::new(Field::new("item", t, true));
    assert!(claim(DataType::Int32, 1, false).contains("values buffer has 0 bytes"));
    assert!(claim(DataType::Decimal256(40, 2), 1, false).contains("values buffer has 0 bytes"));
    assert!(claim(DataType::Boolean, 1, false).contains("values bitmap has 0 bytes"));
    assert!(claim(DataType::Utf8, 1, true).contains("offsets buffer has 4 bytes"));
    assert!(
        claim(DataType::List(item(DataType::Int8)), 2, true).contains("offsets buffer has 4 bytes")
    );
    assert!(claim(DataType::FixedSizeBinary(16), 1, false).contains("values buffer has 0 bytes"));
    let s = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Int64, true)]));
    assert!(claim(s, 2, false).starts_with("node 1 `a`: values buffer has 0 bytes"));
    let d = DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8));
    assert!(claim(d, 2, false).contains("values buffer has 0 bytes"));
    // A validity bitmap is checked against the claim too.
    let node = OwnedNode {
        len,
        validity: Some(vec![0xff]),
        offsets: None,
        values: vec![0; 8],
    };
    let e = decode_tree(
        &DataType::Int8,
        vec![node],
        Validation::Full,
        &Limits::default(),
    );
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("validity bitmap has 1 bytes")
    );
    // usize::MAX rows: every size computation overflows into an error, not a panic.
    let node = OwnedNode {
        len: usize::MAX,
        validity: None,
        offsets: Some(vec![0; 8]),
        values: Vec::new(),
    };
    for t in [
        DataType::Utf8,
        DataType::Int64,
        DataType::Boolean,
        DataType::Null,
    ] {
        let mut node = node.clone();
        if !matches!(t, DataType::Utf8) {
            node.offsets = None;
        }
        let (result, largest) = super::largest_allocation(|| {
            decode_tree(&t, vec![node], Validation::Full, &Limits::default())
        });
        assert!(largest < 4096, "{t}: {largest} bytes allocated at once");
        if matches!(t, DataType::Null) {
            // The null type has no buffers: a null column of any length costs nothing.
            assert_eq!(result.unwrap().len(), usize::MAX);
        } else {
            assert!(matches!(result, Err(LayoutError::Invalid { .. })), "{t}");
        }
    }
}

#[test]
fn long_names_and_time_zones_are_refused() {
    let limits = Limits::default();
    let named = |name: String, node| FieldNode {
        name,
        node,
        nullable: true,
    };
    let (limit, what) = limit_of(unflatten_fields(
        &[named("n".repeat(1025), TypeNode::Int8)],
        &limits,
    ));
    assert_eq!(
        (limit, what.as_str()),
        ("max_name_len", "the name of node 0 (1025 bytes)")
    );
    unflatten_fields(&[named("n".repeat(1024), TypeNode::Int8)], &limits).unwrap();
    let zone: Arc<str> = "Z".repeat(5000).into();
    let (limit, _) = limit_of(unflatten_fields(
        &[named(
            "t".into(),
            TypeNode::Timestamp(TimeUnit::Second, Some(zone.clone())),
        )],
        &limits,
    ));
    assert_eq!(limit, "max_name_len");
    let (limit, _) = limit_of(decode_tree(
        &DataType::Timestamp(TimeUnit::Second, Some(zone)),
        vec![],
        Validation::Full,
        &limits,
    ));
    assert_eq!(limit, "max_name_len");
}

#[test]
fn limits_are_the_callers_to_choose() {
    let tight = Limits {
        max_depth: 2,
        max_nodes: 3,
        max_struct_children: 1,
        max_name_len: 4,
    };
    let list_of_list = DataType::List(Arc::new(Field::new(
        "item",
        DataType::List(Arc::new(Field::new("item", DataType::Int8, true))),
        true,
    )));
    let (limit, _) = limit_of(decode_tree(&list_of_list, vec![], Validation::Full, &tight));
    assert_eq!(limit, "max_depth");
    let nodes = flatten_field(&Field::new("c", list_of_list, true)).unwrap();
    let (limit, _) = limit_of(unflatten_fields(&nodes, &tight));
    assert_eq!(limit, "max_depth");
    let pair = DataType::Struct(Fields::from(vec![
        Field::new("a", DataType::Int8, true),
        Field::new("b", DataType::Int8, true),
    ]));
    let (limit, _) = limit_of(decode_tree(&pair, vec![], Validation::Full, &tight));
    assert_eq!(limit, "max_struct_children");
    let nodes = flatten_field(&Field::new("c", DataType::Int8, true)).unwrap();
    let (limit, _) = limit_of(unflatten_fields(&vec![nodes[0].clone(); 4], &tight));
    assert_eq!(limit, "max_nodes");
    assert_eq!(Limits::default().max_depth, 64);
    assert_eq!(Limits::default().max_nodes, 4096);
    assert_eq!(Limits::default().max_struct_children, 1024);
    assert_eq!(Limits::default().max_name_len, 1024);
}
