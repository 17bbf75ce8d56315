//! A small deterministic fuzz of [`decode_tree`]: valid encodings of nested columns, mutated
//! at random (bytes, lengths, buffers present or not, nodes dropped or repeated), must never
//! make it panic, and whatever it accepts must be a valid array.
//!
//! No fuzzing dependency: an xorshift generator with a fixed seed, so a failure reproduces.

use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use super::samples::columns;
use crate::tree::*;
use crate::{LayoutError, Validation};

/// xorshift64* (Vigna): plenty for choosing mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Nested columns (and a few flat ones), whole and sliced, with their valid encodings.
fn corpus() -> Vec<(String, DataType, Vec<OwnedNode>)> {
    let mut corpus = Vec::new();
    for (label, column) in columns(12) {
        let nested = column.data_type().is_nested()
            || matches!(column.data_type(), DataType::Dictionary(_, _));
        if !nested && !matches!(label, "utf8" | "boolean" | "large_binary" | "decimal256") {
            continue;
        }
        for (offset, len) in [(0, 12), (3, 7)] {
            let sliced: ArrayRef = column.slice(offset, len);
            let nodes = encode_tree_owned(sliced.as_ref()).unwrap();
            corpus.push((
                format!("{label}[{offset}+{len}]"),
                sliced.data_type().clone(),
                nodes,
            ));
        }
    }
    corpus
}

/// One of the buffers `node` has, at random.
fn some_buffer<'a>(rng: &mut Rng, node: &'a mut OwnedNode) -> &'a mut Vec<u8> {
    match (rng.below(3), &mut node.validity, &mut node.offsets) {
        (1, Some(v), _) => v,
        (2, _, Some(o)) => o,
        _ => &mut node.values,
    }
}

/// One random change to `nodes`.
fn mutate(rng: &mut Rng, nodes: &mut Vec<OwnedNode>) {
    if nodes.is_empty() {
        nodes.push(OwnedNode::default());
        return;
    }
    let at = rng.below(nodes.len());
    let kind = rng.below(10);
    let node = &mut nodes[at];
    match kind {
        // Flip bits of one byte.
        0 => {
            let flip = (rng.next() as u8) | 1;
            let b = some_buffer(rng, node);
            if !b.is_empty() {
                let i = rng.below(b.len());
                b[i] ^= flip;
            }
        }
        // Claim another length.
        1 => {
            let len = node.len;
            let choices = [
                0,
                len.saturating_sub(1),
                len + 1,
                rng.below(64),
                u32::MAX as usize,
                usize::MAX,
            ];
            node.len = choices[rng.below(choices.len())];
        }
        // Truncate a buffer.
        2 => {
            let b = some_buffer(rng, node);
            let keep = rng.below(b.len() + 1);
            b.truncate(keep);
        }
        // Extend a buffer.
        3 => {
            let n = 1 + rng.below(9);
            let extra = rng.bytes(n);
            some_buffer(rng, node).extend(extra);
        }
        // Add or remove the validity bitmap.
        4 => {
            node.validity = match node.validity {
                Some(_) => None,
                None => Some(rng.bytes(node.len.min(1 << 16).div_ceil(8))),
            };
        }
        // Add or remove the offsets.
        5 => {
            node.offsets = match node.offsets {
                Some(_) => None,
                None => Some(rng.bytes((node.len.min(1 << 16) + 1) * 4)),
            };
        }
        // Write a boundary value into the offsets.
        6 => {
            if let Some(o) = node.offsets.as_mut()
                && o.len() >= 4
            {
                let i = rng.below(o.len() / 4) * 4;
                let values = [0, -1, 1, i32::MAX, i32::MIN, rng.below(40) as i32];
                let v = values[rng.below(values.len())];
                o[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        // Drop, repeat or swap nodes.
        7 => match rng.below(3) {
            0 => {
                nodes.remove(at);
            }
            1 => {
                let copy = nodes[at].clone();
                nodes.insert(at, copy);
            }
            _ => {
                let other = rng.below(nodes.len());
                nodes.swap(at, other);
            }
        },
        // Random content of the same length (keys, UTF-8, values).
        8 => {
            let n = node.values.len();
            node.values = rng.bytes(n);
        }
        // All null or all valid.
        _ => {
            let n = node.len.min(1 << 16).div_ceil(8);
            node.validity = Some(vec![if rng.below(2) == 0 { 0 } else { 0xff }; n]);
        }
    }
}

/// Arrow's words for the content violations that only `Validation::Full` looks for.
fn is_content_violation(e: &LayoutError) -> bool {
    let text = e.to_string();
    text.contains("UTF8")
        || text.contains("utf8")
        || text.contains("utf-8")
        || text.contains("non-nullable child")
}

#[test]
fn mutated_encodings_never_panic_and_what_decodes_is_valid() {
    let corpus = corpus();
    assert!(corpus.len() > 30, "a corpus of {} columns", corpus.len());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let limits = Limits::default();
    let (mut accepted, mut refused, mut content_only) = (0, 0, 0);
    for iteration in 0..10_000 {
        let (label, data_type, valid) = &corpus[rng.below(corpus.len())];
        let mut nodes = valid.clone();
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut nodes);
        }
        let full = catch_unwind(AssertUnwindSafe(|| {
            decode_tree(data_type, nodes.clone(), Validation::Full, &limits)
        }))
        .unwrap_or_else(|_| panic!("iteration {iteration} ({label}): Full decode panicked"));
        let layout = catch_unwind(AssertUnwindSafe(|| {
            decode_tree(data_type, nodes.clone(), Validation::Layout, &limits)
        }))
        .unwrap_or_else(|_| panic!("iteration {iteration} ({label}): Layout decode panicked"));
        match &full {
            Ok(array) => {
                accepted += 1;
                assert_eq!(array.data_type(), data_type);
                array.to_data().validate_full().unwrap_or_else(|e| {
                    panic!("iteration {iteration} ({label}): accepted an invalid array: {e}")
                });
            }
            Err(_) => refused += 1,
        }
        match (&full, &layout) {
            (Ok(_), Err(e)) => {
                panic!("iteration {iteration} ({label}): Layout refused what Full accepted: {e}")
            }
            (Err(e), Ok(array)) => {
                // What Layout lets through may only be wrong in content, never in layout.
                assert!(
                    is_content_violation(e),
                    "iteration {iteration} ({label}): Layout accepted a layout violation: {e}"
                );
                array.to_data().validate().unwrap_or_else(|e| {
                    panic!("iteration {iteration} ({label}): Layout accepted a bad layout: {e}")
                });
                content_only += 1;
            }
            _ => {}
        }
    }
    // The mutations reach both outcomes, and the content-only gap between the validations.
    assert!(accepted > 300, "{accepted} accepted");
    assert!(refused > 5_000, "{refused} refused");
    assert!(content_only > 10, "{content_only} content-only");
}

/// A random node: mostly ordinary, sometimes with absurd parameters or names.
fn random_node(rng: &mut Rng) -> FieldNode {
    use arrow_schema::{IntervalUnit, TimeUnit};
    let units = [
        TimeUnit::Second,
        TimeUnit::Millisecond,
        TimeUnit::Microsecond,
        TimeUnit::Nanosecond,
    ];
    let unit = units[rng.below(4)];
    let size = [-1, 0, 1, 3, i32::MAX, i32::MIN][rng.below(6)];
    let (p, s) = (rng.next() as u8 % 80, rng.next() as i8 % 80);
    let node = match rng.below(20) {
        0 => TypeNode::Null,
        1 => TypeNode::Utf8,
        2 => TypeNode::Int32,
        3 => TypeNode::FixedSizeBinary(size),
        4 => TypeNode::Timestamp(
            unit,
            [None, Some("UTC"), Some("Europe/Paris")][rng.below(3)].map(Into::into),
        ),
        5 => TypeNode::Time32(unit),
        6 => TypeNode::Time64(unit),
        7 => TypeNode::Interval(IntervalUnit::MonthDayNano),
        8 => TypeNode::Decimal128(p, s),
        9 => TypeNode::Decimal256(p, s),
        10 | 11 => TypeNode::List,
        12 => TypeNode::LargeList,
        13 => TypeNode::FixedSizeList(size),
        14 | 15 => TypeNode::Struct(rng.below(4) as u32),
        16 | 17 => TypeNode::Map(rng.below(2) == 0),
        18 => TypeNode::Dictionary(IndexType::UInt16),
        _ => TypeNode::Boolean,
    };
    let names = ["a", "key", "value", "entries", "", "é"];
    FieldNode {
        name: names[rng.below(names.len())].into(),
        node,
        nullable: rng.below(3) != 0,
    }
}

#[test]
fn random_node_lists_never_panic_and_what_unflattens_is_a_valid_type() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let limits = Limits {
        max_depth: 6,
        ..Limits::default()
    };
    let (mut accepted, mut refused) = (0, 0);
    for iteration in 0..10_000 {
        let nodes: Vec<FieldNode> = (0..rng.below(24)).map(|_| random_node(&mut rng)).collect();
        let result = catch_unwind(AssertUnwindSafe(|| unflatten_fields(&nodes, &limits)))
            .unwrap_or_else(|_| panic!("iteration {iteration}: unflatten panicked on {nodes:?}"));
        let Ok(fields) = result else {
            refused += 1;
            continue;
        };
        accepted += 1;
        // What is accepted can cross back: it flattens to the nodes it came from, but for the
        // name and nullability of dictionary values, which arrow's types do not keep.
        let mut again = Vec::new();
        for field in &fields {
            check_tree_type(field.data_type()).unwrap();
            again.extend(flatten_field(field).unwrap());
        }
        assert_eq!(again.len(), nodes.len(), "iteration {iteration}");
        for (i, (a, b)) in again.iter().zip(&nodes).enumerate() {
            let under_dictionary = i > 0 && matches!(nodes[i - 1].node, TypeNode::Dictionary(_));
            assert_eq!(a.node, b.node, "iteration {iteration}, node {i}");
            if !under_dictionary {
                assert_eq!(
                    (&a.name, a.nullable),
                    (&b.name, b.nullable),
                    "iteration {iteration}"
                );
            }
        }
        assert_eq!(unflatten_fields(&again, &limits).unwrap(), fields);
    }
    assert!(
        accepted > 500 && refused > 1_000,
        "{accepted} accepted, {refused} refused"
    );
}
