//! Encoding a column of any carried type into its pre-order [`NodeBuffers`], every node
//! starting at row 0.
//!
//! An arrow array may be a slice of a larger one at every level: a list's offsets need not
//! start at 0, a bitmap may start mid-byte, a dictionary's keys may use a part of its values.
//! Each node is encoded as a *window* (offset, length) on an array reachable by reference from
//! the input, so every buffer that already has the boundary layout is borrowed from the
//! input's memory; only bitmaps at a non-byte offset and offsets not starting at 0 are copied.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{BinaryType, ByteArrayType, LargeBinaryType, LargeUtf8Type, Utf8Type};
use arrow_array::{Array, OffsetSizeTrait, downcast_primitive};
use arrow_buffer::{BooleanBuffer, NullBuffer, ToByteSlice};
use arrow_schema::DataType;

use super::check_tree_type;
use crate::LayoutError;

/// The buffers of one node of a column, starting at row 0 (see the [module docs](super)).
///
/// `Cow` lets [`encode_tree`] borrow the array's memory when it already has the boundary
/// layout and copy only when it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBuffers<'a> {
    /// Rows of this node: the column's rows at the root, what the parent addresses below.
    pub len: usize,
    /// Validity bitmap, LSB first; `None` when no row is null (always for the null type).
    pub validity: Option<Cow<'a, [u8]>>,
    /// `len + 1` offsets (s32 or s64, little-endian) for utf8, binary, list and map nodes.
    pub offsets: Option<Cow<'a, [u8]>>,
    /// Values of fixed-width and variable-width nodes, keys of dictionary nodes; empty for
    /// the null type and for nested nodes, whose data is in their children.
    pub values: Cow<'a, [u8]>,
}

/// A node still to encode: rows `offset..offset + len` of `array`.
type Window<'a> = (&'a dyn Array, usize, usize);

/// Encode `array` (of any type [`check_tree_type`] admits, sliced or not) into one
/// [`NodeBuffers`] per node of its type, in pre-order.
///
/// Runs over an explicit stack, so the depth of the type costs no stack.
///
/// # Errors
/// [`LayoutError::Unsupported`] or [`LayoutError::InvalidType`] for a type that cannot cross.
pub fn encode_tree(array: &dyn Array) -> Result<Vec<NodeBuffers<'_>>, LayoutError> {
    check_tree_type(array.data_type())?;
    let mut nodes = Vec::new();
    let mut todo: Vec<Window<'_>> = vec![(array, 0, array.len())];
    while let Some(window) = todo.pop() {
        let first_child = todo.len();
        nodes.push(encode_node(window, &mut todo)?);
        // Children were pushed in order; the first must be popped first.
        todo[first_child..].reverse();
    }
    Ok(nodes)
}

/// [`encode_tree`] into owned buffers, for callers that must hand over ownership.
///
/// # Errors
/// As [`encode_tree`].
pub fn encode_tree_owned(array: &dyn Array) -> Result<Vec<super::OwnedNode>, LayoutError> {
    Ok(encode_tree(array)?
        .into_iter()
        .map(|n| super::OwnedNode {
            len: n.len,
            validity: n.validity.map(Cow::into_owned),
            offsets: n.offsets.map(Cow::into_owned),
            values: n.values.into_owned(),
        })
        .collect())
}

/// The buffers of one window, pushing the windows of its children onto `children` in order.
fn encode_node<'a>(
    (array, offset, len): Window<'a>,
    children: &mut Vec<Window<'a>>,
) -> Result<NodeBuffers<'a>, LayoutError> {
    let data_type = array.data_type();
    // A dictionary's nulls are its keys' nulls; the null type has none to send.
    let validity = array.nulls().and_then(|n| validity_window(n, offset, len));
    let empty = || Cow::Borrowed(&[][..]);
    let (offsets, values) = match data_type {
        DataType::Null => (None, empty()),
        DataType::Boolean => (None, bits_window(array.as_boolean().values(), offset, len)),
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            let width = a.value_length() as usize;
            (
                None,
                Cow::Borrowed(&a.value_data()[offset * width..(offset + len) * width]),
            )
        }
        DataType::Utf8 => bytes_window::<Utf8Type>(array, offset, len),
        DataType::LargeUtf8 => bytes_window::<LargeUtf8Type>(array, offset, len),
        DataType::Binary => bytes_window::<BinaryType>(array, offset, len),
        DataType::LargeBinary => bytes_window::<LargeBinaryType>(array, offset, len),
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            list_window(
                a.value_offsets(),
                a.values().as_ref(),
                offset,
                len,
                children,
            )
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            list_window(
                a.value_offsets(),
                a.values().as_ref(),
                offset,
                len,
                children,
            )
        }
        DataType::Map(_, _) => {
            let a = array.as_map();
            list_window(a.value_offsets(), a.entries(), offset, len, children)
        }
        DataType::FixedSizeList(_, _) => {
            let a = array.as_fixed_size_list();
            let size = a.value_length() as usize;
            children.push((a.values().as_ref(), offset * size, len * size));
            (None, empty())
        }
        DataType::Struct(_) => {
            let a = array.as_struct();
            children.extend(a.columns().iter().map(|c| (c.as_ref(), offset, len)));
            (None, empty())
        }
        DataType::Dictionary(_, _) => {
            let a = array.as_any_dictionary();
            let dictionary = a.values().as_ref();
            children.push((dictionary, 0, dictionary.len()));
            (None, primitive_window(a.keys(), offset, len)?)
        }
        _ => (None, primitive_window(array, offset, len)?),
    };
    Ok(NodeBuffers {
        len,
        validity,
        offsets,
        values,
    })
}

/// The validity of a window; `None` when no row of the window is null.
fn validity_window(nulls: &NullBuffer, offset: usize, len: usize) -> Option<Cow<'_, [u8]>> {
    let any_null = if offset == 0 && len == nulls.len() {
        nulls.null_count() > 0
    } else {
        nulls.slice(offset, len).null_count() > 0
    };
    any_null.then(|| bits_window(nulls.inner(), offset, len))
}

/// `len` bits of `bits` from bit `offset`, borrowed when they start on a byte boundary.
fn bits_window(bits: &BooleanBuffer, offset: usize, len: usize) -> Cow<'_, [u8]> {
    let start = bits.offset() + offset;
    let nbytes = len.div_ceil(8);
    if start.is_multiple_of(8) {
        Cow::Borrowed(&bits.values()[start / 8..start / 8 + nbytes])
    } else {
        // Re-packed 64 bits at a time; bits past `len` in the last byte come out as zeros.
        Cow::Owned(
            bits.inner()
                .bit_chunks(start, len)
                .iter_padded()
                .flat_map(u64::to_le_bytes)
                .take(nbytes)
                .collect(),
        )
    }
}

/// The values of a window of a fixed-width primitive array (ints, floats, temporal,
/// intervals, decimals), borrowed.
fn primitive_window(
    array: &dyn Array,
    offset: usize,
    len: usize,
) -> Result<Cow<'_, [u8]>, LayoutError> {
    // Typed arrays hold their values already sliced to their rows, so borrowing them gives
    // row-0-based bytes.
    macro_rules! values {
        ($t:ty) => {
            array.as_primitive::<$t>().values().inner().as_slice()
        };
    }
    let bytes: &[u8] = downcast_primitive! {
        array.data_type() => (values),
        other => return Err(LayoutError::Unsupported {
            data_type: other.clone(),
            reason: "no boundary layout for this type (a bug: check_tree_type admitted it)",
        }),
    };
    let width = array.data_type().primitive_width().unwrap_or_default();
    Ok(Cow::Borrowed(
        &bytes[offset * width..(offset + len) * width],
    ))
}

/// The offsets of a window, rebased to start at 0 (borrowed when they already do), with the
/// range of child rows (or value bytes) they address.
fn offsets_window<O: OffsetSizeTrait>(
    offsets: &[O],
    offset: usize,
    len: usize,
) -> (Cow<'_, [u8]>, usize, usize) {
    let window = &offsets[offset..=offset + len];
    let (first, last) = (window[0], window[len]);
    let bytes = if first.is_zero() {
        Cow::Borrowed(window.to_byte_slice())
    } else {
        let rebased: Vec<O> = window.iter().map(|&o| o - first).collect();
        Cow::Owned(rebased.to_byte_slice().to_vec())
    };
    (bytes, first.as_usize(), last.as_usize())
}

/// Offsets and values of a window of a utf8 or binary array.
fn bytes_window<T: ByteArrayType>(
    array: &dyn Array,
    offset: usize,
    len: usize,
) -> (Option<Cow<'_, [u8]>>, Cow<'_, [u8]>) {
    let a = array.as_bytes::<T>();
    let (offsets, first, last) = offsets_window(a.value_offsets(), offset, len);
    (Some(offsets), Cow::Borrowed(&a.value_data()[first..last]))
}

/// Offsets of a window of a list or map array; pushes the window of child rows they address.
fn list_window<'a, O: OffsetSizeTrait>(
    offsets: &'a [O],
    child: &'a dyn Array,
    offset: usize,
    len: usize,
    children: &mut Vec<Window<'a>>,
) -> (Option<Cow<'a, [u8]>>, Cow<'a, [u8]>) {
    let (offsets, first, last) = offsets_window(offsets, offset, len);
    children.push((child, first, last - first));
    (Some(offsets), Cow::Borrowed(&[][..]))
}
