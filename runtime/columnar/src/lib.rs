//! The Arrow columnar layout of the Quiver plugin boundary, shared by the host and the Rust SDK.
//!
//! Columns cross between host and plugin as the raw buffers of the Arrow columnar format
//! (validity bitmap, offsets, values) carried in WIT `list<u8>`s; see `wit/transform.wit`
//! for the layout of each type. This crate is the one place that knows that layout:
//!
//! - [`encode`] turns any supported arrow array (sliced or not) into [`Buffers`] that start
//!   at row 0, borrowing the array's memory wherever the layout allows.
//! - [`decode`] turns owned buffers back into an arrow array, without copying when the
//!   buffers are aligned for their type, and **validates everything**: buffer lengths,
//!   offsets (monotonic, in bounds), UTF-8, bitmap lengths. Whatever the other side of the
//!   boundary sent, `decode` either returns a valid array or a [`LayoutError`]; it never panics.
//! - [`check_type`] says whether a type can cross at all, and [`boundary_type`] which type a
//!   dictionary-encoded column becomes when it crosses (its value type).
//!
//! Both sides of the boundary use it: the host fully validates every batch a plugin returns;
//! the Rust SDK checks the layout (lengths, offsets) of every batch the host sends, trusting
//! its content ([`decode_with`], [`Validation::Layout`]). It depends on the arrow sub-crates only,
//! so it builds for `wasm32-wasip2` without the arrow facade.
//!
//! The functions above are the layout of the released contract, `quiver:transform@0.1.0`: flat
//! types only. They do not change; plugins built against 0.1 keep running.
//!
//! # The tree layout (`quiver:transform@0.2.0`)
//!
//! The next contract carries every arrow type, nested ones included ([`tree`]). WIT has no
//! recursive types, so a type crosses as a pre-order list of [`FieldNode`]s, each node
//! followed immediately by its children (one for a list, large list, fixed-size list, map and
//! dictionary, one per field for a struct), and a column as one [`NodeBuffers`] per type node,
//! in the same order, every node starting at row 0:
//!
//! - a leaf carries the buffers of the 0.1 layout: validity, offsets (utf8, binary and their
//!   large forms), values (fixed-width types, including float16, time, duration, intervals,
//!   decimal32 to decimal256 and fixed-size binary);
//! - a list, large list or map node carries validity and offsets, and its child (the item, or
//!   the entries struct of key and value) has as many rows as the last offset;
//! - a fixed-size list node carries validity, and its child has `len × size` rows;
//! - a struct node carries validity, and each child has the struct's `len` rows;
//! - a dictionary node carries its keys (validity and values); its child is the dictionary,
//!   with its own length.
//!
//! [`flatten_schema`] and [`unflatten_fields`] convert types, [`encode_tree`] and
//! [`decode_tree`] columns (with the same two [`Validation`]s as [`decode_with`]). String and
//! binary views cross once [`normalize`]d to utf8 and binary; unions, run-end encoded arrays and
//! list views do not cross ([`check_tree_type`] says so, and what to do). What the receiver
//! accepts from a hostile sender is bounded by [`Limits`].

#![deny(missing_docs)]

use std::borrow::Cow;

use arrow_array::{Array, ArrayRef, make_array};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_data::ArrayDataBuilder;
use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// The buffers of one column in boundary layout, each starting at row 0.
///
/// `Cow` lets [`encode`] borrow the arrow array's memory when it already has the boundary
/// layout and copy only when it does not (a slice of a bitmap at a non-byte offset, string
/// offsets that do not start at 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffers<'a> {
    /// Validity bitmap, LSB first; `None` when no row is null.
    pub validity: Option<Cow<'a, [u8]>>,
    /// Offsets (s32 or s64 little-endian) for variable-width types, else `None`.
    pub offsets: Option<Cow<'a, [u8]>>,
    /// The values buffer.
    pub values: Cow<'a, [u8]>,
}

/// Why a column cannot cross the boundary or why buffers that crossed are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The type has no boundary layout (nested types, or types Quiver does not carry yet).
    #[error("type {data_type} cannot cross the plugin boundary: {reason}")]
    Unsupported {
        /// The refused type.
        data_type: DataType,
        /// What to do about it.
        reason: &'static str,
    },
    /// Buffers that claim to be a column of some type are not a valid column of that type.
    #[error("invalid {data_type} column of {num_rows} rows: {reason}")]
    Invalid {
        /// The type the buffers were decoded as.
        data_type: DataType,
        /// The row count they were decoded with.
        num_rows: usize,
        /// The first violation found.
        reason: String,
    },
    /// A flattened type ([`FieldNode`]s from the other side) or a type given to the tree
    /// functions is not a valid arrow type: a node without its children, a map whose entries
    /// are not a struct of key and value, a decimal precision out of range, ...
    #[error("invalid type at node {node}: {reason}")]
    InvalidType {
        /// Pre-order index of the offending node (0 is the first node of the list, or the
        /// root of the type).
        node: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A type from the other side exceeds one of the [`Limits`] of what the receiver accepts.
    #[error("{what} exceeds the limit {limit} = {max}")]
    LimitExceeded {
        /// What is too large, e.g. `node 64 at nesting depth 65`.
        what: String,
        /// The name of the [`Limits`] field that refused it.
        limit: &'static str,
        /// That limit's value.
        max: usize,
    },
}

/// Whether `data_type` can cross the boundary as it is.
///
/// Dictionary types are refused here: the host unpacks them first (see [`boundary_type`]).
///
/// # Errors
/// [`LayoutError::Unsupported`] naming the type and what to do instead.
pub fn check_type(data_type: &DataType) -> Result<(), LayoutError> {
    use DataType as D;
    match data_type {
        D::Null
        | D::Boolean
        | D::Int8
        | D::Int16
        | D::Int32
        | D::Int64
        | D::UInt8
        | D::UInt16
        | D::UInt32
        | D::UInt64
        | D::Float32
        | D::Float64
        | D::Utf8
        | D::LargeUtf8
        | D::Binary
        | D::LargeBinary
        | D::Date32
        | D::Date64
        | D::Timestamp(_, _)
        | D::Decimal128(_, _) => Ok(()),
        D::Dictionary(_, _) => Err(LayoutError::Unsupported {
            data_type: data_type.clone(),
            reason: "dictionary columns are unpacked to their value type before they cross",
        }),
        D::List(_)
        | D::LargeList(_)
        | D::FixedSizeList(_, _)
        | D::ListView(_)
        | D::LargeListView(_)
        | D::Struct(_)
        | D::Map(_, _)
        | D::Union(_, _) => Err(LayoutError::Unsupported {
            data_type: data_type.clone(),
            reason: "nested types are not part of quiver:transform@0.1.0; \
                     drop or flatten the column before this stage",
        }),
        _ => Err(LayoutError::Unsupported {
            data_type: data_type.clone(),
            reason: "cast the column to a supported type (see wit/transform.wit) before this stage",
        }),
    }
}

/// The type a column of `data_type` has once it crosses the boundary.
///
/// Dictionary-encoded columns cross as their value type; every other supported type crosses
/// as itself.
///
/// # Errors
/// [`LayoutError::Unsupported`] when neither the type nor its dictionary value type can cross.
pub fn boundary_type(data_type: &DataType) -> Result<DataType, LayoutError> {
    match data_type {
        DataType::Dictionary(_, value) => {
            check_type(value)?;
            Ok(value.as_ref().clone())
        }
        other => check_type(other).map(|()| other.clone()),
    }
}

/// The schema a stream of `schema` has once it crosses the boundary (dictionaries unpacked).
///
/// # Errors
/// The first column that cannot cross, with its name.
pub fn boundary_schema(schema: &Schema) -> Result<Schema, (String, LayoutError)> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| {
            boundary_type(f.data_type())
                .map(|t| {
                    Field::new(f.name(), t, f.is_nullable()).with_metadata(f.metadata().clone())
                })
                .map_err(|e| (f.name().clone(), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Width in bytes of one value of a fixed-width type, `None` for every other type.
pub fn fixed_width(data_type: &DataType) -> Option<usize> {
    use DataType as D;
    Some(match data_type {
        D::Int8 | D::UInt8 => 1,
        D::Int16 | D::UInt16 => 2,
        D::Int32 | D::UInt32 | D::Float32 | D::Date32 => 4,
        D::Int64 | D::UInt64 | D::Float64 | D::Date64 | D::Timestamp(_, _) => 8,
        D::Decimal128(_, _) => 16,
        _ => return None,
    })
}

/// Encode `array` into boundary buffers that start at row 0.
///
/// Borrows the array's memory where it already has the boundary layout; copies bitmaps
/// sliced at a non-byte offset and rebases offsets that do not start at 0.
///
/// # Errors
/// [`LayoutError::Unsupported`] for a type that cannot cross (see [`check_type`]).
pub fn encode(array: &dyn Array) -> Result<Buffers<'_>, LayoutError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;

    let data_type = array.data_type();
    check_type(data_type)?;
    let len = array.len();
    let validity = array
        .nulls()
        .filter(|n| n.null_count() > 0)
        .map(|n| bitmap_bytes(n.inner().inner().as_slice(), n.offset(), len));

    // Typed arrays hold their buffers already sliced to the array's rows (a bit offset
    // remains only for bitmaps), so borrowing them gives row-0-based bytes.
    macro_rules! prim {
        ($t:ty) => {
            (
                None,
                Cow::Borrowed(array.as_primitive::<$t>().values().inner().as_slice()),
            )
        };
    }
    macro_rules! var {
        ($a:expr) => {{
            let a = $a;
            let (o, v) = rebase(a.offsets(), a.values().as_slice());
            (Some(o), v)
        }};
    }
    let (offsets, values): (Option<Cow<'_, [u8]>>, Cow<'_, [u8]>) = match data_type {
        DataType::Null => (None, Cow::Borrowed(&[][..])),
        DataType::Boolean => {
            let b = array.as_boolean().values();
            (None, bitmap_bytes(b.inner().as_slice(), b.offset(), len))
        }
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Date32 => prim!(Date32Type),
        DataType::Date64 => prim!(Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => prim!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim!(TimestampNanosecondType),
        DataType::Decimal128(_, _) => prim!(Decimal128Type),
        DataType::Utf8 => var!(array.as_string::<i32>()),
        DataType::LargeUtf8 => var!(array.as_string::<i64>()),
        DataType::Binary => var!(array.as_binary::<i32>()),
        DataType::LargeBinary => var!(array.as_binary::<i64>()),
        other => unreachable!("check_type admitted {other}"),
    };
    Ok(Buffers {
        validity,
        offsets,
        values,
    })
}

/// The bytes of a bitmap of `len` bits starting at bit `offset`, re-packed only when the
/// offset is not a whole byte.
fn bitmap_bytes(bytes: &[u8], offset: usize, len: usize) -> Cow<'_, [u8]> {
    let nbytes = len.div_ceil(8);
    if offset.is_multiple_of(8) {
        Cow::Borrowed(&bytes[offset / 8..offset / 8 + nbytes])
    } else {
        let bits = arrow_buffer::BooleanBuffer::new(Buffer::from_slice_ref(bytes), offset, len);
        Cow::Owned(bits.sliced().as_slice().to_vec())
    }
}

/// Offsets and values of a variable-width column, rebased so offsets start at 0.
fn rebase<'a, O: arrow_array::OffsetSizeTrait>(
    offsets: &'a arrow_buffer::OffsetBuffer<O>,
    values: &'a [u8],
) -> (Cow<'a, [u8]>, Cow<'a, [u8]>) {
    // An OffsetBuffer always holds at least one offset.
    let first = offsets[0].as_usize();
    let last = offsets[offsets.len() - 1].as_usize();
    let vals = &values[first..last];
    if first == 0 {
        (
            Cow::Borrowed(offsets.inner().inner().as_slice()),
            Cow::Borrowed(vals),
        )
    } else {
        let base = offsets[0];
        let rebased: Vec<O> = offsets.iter().map(|&o| o - base).collect();
        (
            Cow::Owned(arrow_buffer::ToByteSlice::to_byte_slice(rebased.as_slice()).to_vec()),
            Cow::Borrowed(vals),
        )
    }
}

/// Owned boundary buffers of one column, as they arrive from the other side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedBuffers {
    /// Validity bitmap, LSB first; `None` when no row is null.
    pub validity: Option<Vec<u8>>,
    /// Offsets for variable-width types.
    pub offsets: Option<Vec<u8>>,
    /// The values buffer.
    pub values: Vec<u8>,
}

/// Decode owned boundary buffers into an arrow array of `data_type` with `num_rows` rows.
///
/// The vectors become arrow buffers without a copy when their address is aligned for the
/// type (the common case for allocator-provided memory); otherwise they are copied once into
/// aligned memory. Every invariant of the arrow format is checked.
///
/// # Errors
/// [`LayoutError::Unsupported`] for a type that cannot cross, [`LayoutError::Invalid`] with
/// the first violation for buffers that are not a valid column.
pub fn decode(
    data_type: &DataType,
    num_rows: usize,
    buffers: OwnedBuffers,
) -> Result<ArrayRef, LayoutError> {
    decode_with(data_type, num_rows, buffers, Validation::Full)
}

/// How much of a column's content [`decode_with`] verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Everything: lengths, offsets, and the values themselves (UTF-8, decimal precision).
    /// For buffers from the other, untrusted side: the host decoding what a plugin returned.
    Full,
    /// Lengths and offsets only, so the array is memory-safe to use, but not the values'
    /// content. Only for buffers that come from a validated arrow array: the Rust SDK
    /// decoding what the host sent, where re-checking UTF-8 inside wasm measured as a large
    /// share of a string-heavy batch's cost (BENCHMARKS.md, transform cost).
    Layout,
}

/// [`decode`], verifying as much as `validation` says.
///
/// # Errors
/// As [`decode`]; with [`Validation::Layout`], invalid UTF-8 or out-of-precision decimals
/// are not detected.
pub fn decode_with(
    data_type: &DataType,
    num_rows: usize,
    buffers: OwnedBuffers,
    validation: Validation,
) -> Result<ArrayRef, LayoutError> {
    check_type(data_type)?;
    let invalid = |reason: String| LayoutError::Invalid {
        data_type: data_type.clone(),
        num_rows,
        reason,
    };
    let OwnedBuffers {
        validity,
        offsets,
        values,
    } = buffers;

    let nulls = match validity {
        None => None,
        Some(bits) => {
            let need = num_rows.div_ceil(8);
            if bits.len() < need {
                return Err(invalid(format!(
                    "validity bitmap has {} bytes, {num_rows} rows need {need}",
                    bits.len()
                )));
            }
            let bools = arrow_buffer::BooleanBuffer::new(Buffer::from_vec(bits), 0, num_rows);
            Some(NullBuffer::new(bools)).filter(|n| n.null_count() > 0)
        }
    };

    let var_width = matches!(
        data_type,
        DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary
    );
    let buffers = match (var_width, offsets) {
        (true, Some(o)) => {
            let w = if matches!(data_type, DataType::Utf8 | DataType::Binary) {
                4
            } else {
                8
            };
            if o.len() != (num_rows + 1) * w {
                return Err(invalid(format!(
                    "offsets buffer has {} bytes, {num_rows} rows need {}",
                    o.len(),
                    (num_rows + 1) * w
                )));
            }
            check_offsets(&o, w, values.len()).map_err(invalid)?;
            vec![Buffer::from_vec(o), Buffer::from_vec(values)]
        }
        (true, None) => return Err(invalid("offsets buffer is missing".into())),
        (false, Some(_)) => {
            return Err(invalid(
                "offsets buffer given for a fixed-width type".into(),
            ));
        }
        (false, None) => match data_type {
            DataType::Null => {
                if !values.is_empty() {
                    return Err(invalid(
                        "values buffer must be empty for the null type".into(),
                    ));
                }
                Vec::new()
            }
            DataType::Boolean => {
                let need = num_rows.div_ceil(8);
                if values.len() != need {
                    return Err(invalid(format!(
                        "values bitmap has {} bytes, {num_rows} rows need {need}",
                        values.len()
                    )));
                }
                vec![Buffer::from_vec(values)]
            }
            other => {
                let width =
                    fixed_width(other).expect("check_type admits only fixed-width types here");
                if values.len() != num_rows * width {
                    return Err(invalid(format!(
                        "values buffer has {} bytes, {num_rows} rows of {width} bytes need {}",
                        values.len(),
                        num_rows * width
                    )));
                }
                vec![Buffer::from_vec(values)]
            }
        },
    };

    let builder = ArrayDataBuilder::new(data_type.clone())
        .len(num_rows)
        .nulls(if matches!(data_type, DataType::Null) {
            None
        } else {
            nulls
        })
        .buffers(buffers)
        .align_buffers(true);
    let builder = match validation {
        Validation::Full => builder,
        // SAFETY: the checks above establish what makes the array memory-safe to read: the
        // buffer lengths for the row count, and for variable-width types offsets that are
        // non-negative, never decrease and end within the values. What is left unchecked is
        // content (UTF-8, decimal precision), which the caller vouches for by choosing
        // `Layout` (buffers copied from a validated arrow array).
        Validation::Layout => unsafe { builder.skip_validation(true) },
    };
    let data = builder.build().map_err(|e| invalid(e.to_string()))?;
    Ok(make_array(data))
}

/// Offsets must be non-negative, never decrease, and end within `values_len`.
/// Checked here (rather than only by arrow) so the error names the first bad row.
fn check_offsets(bytes: &[u8], width: usize, values_len: usize) -> Result<(), String> {
    let read = |c: &[u8]| -> i64 {
        if width == 4 {
            i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes")))
        } else {
            i64::from_le_bytes(c.try_into().expect("8 bytes"))
        }
    };
    let mut prev = None;
    for (i, chunk) in bytes.chunks_exact(width).enumerate() {
        let v = read(chunk);
        if v < 0 {
            return Err(format!("offset {i} is negative ({v})"));
        }
        if let Some(p) = prev
            && v < p
        {
            return Err(format!("offsets decrease at row {} ({p} then {v})", i - 1));
        }
        if v as u64 > values_len as u64 {
            return Err(format!(
                "offset {i} ({v}) is past the end of the values buffer ({values_len} bytes)"
            ));
        }
        prev = Some(v);
    }
    Ok(())
}

/// Convenience: encode into owned buffers (for callers that must hand over ownership).
///
/// # Errors
/// As [`encode`].
pub fn encode_owned(array: &dyn Array) -> Result<OwnedBuffers, LayoutError> {
    let b = encode(array)?;
    Ok(OwnedBuffers {
        validity: b.validity.map(Cow::into_owned),
        offsets: b.offsets.map(Cow::into_owned),
        values: b.values.into_owned(),
    })
}

#[cfg(any(test, feature = "samples"))]
pub mod samples;
pub mod tree;
pub use tree::{
    DICTIONARY_VALUES_NAME, FieldNode, IndexType, Limits, NodeBuffers, OwnedNode, TypeNode,
    check_tree_type, decode_tree, encode_tree, encode_tree_owned, flatten_field, flatten_schema,
    flatten_type, normalize, normalize_type, unflatten_fields,
};

#[cfg(test)]
mod tests;
