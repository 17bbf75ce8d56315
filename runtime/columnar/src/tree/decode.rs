//! Decoding the pre-order [`OwnedNode`]s of a column back into an arrow array, checking every
//! node against the layout of its type and against what its parent addresses.
//!
//! The nodes may come from a hostile plugin. Nothing is allocated or recursed on the strength
//! of a claimed length alone: the type is checked against the [`Limits`] first (which bounds
//! the recursion here and in arrow's validation), every length is checked against the bytes
//! actually received with overflow-checked arithmetic, and every child's length against its
//! parent's offsets or size before the child is read.

use arrow_array::{ArrayRef, make_array};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow_data::{ArrayData, ArrayDataBuilder};
use arrow_schema::DataType;

use super::Limits;
use super::schema::{DICTIONARY_VALUES_NAME, check_data_type};
use crate::{LayoutError, Validation};

/// Owned buffers of one node, as they arrive from the other side (see
/// [`NodeBuffers`](super::NodeBuffers) for what each holds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedNode {
    /// Rows of this node.
    pub len: usize,
    /// Validity bitmap, LSB first; `None` when no row is null.
    pub validity: Option<Vec<u8>>,
    /// Offsets for utf8, binary, list and map nodes.
    pub offsets: Option<Vec<u8>>,
    /// Values (keys for a dictionary node); empty for null and nested nodes.
    pub values: Vec<u8>,
}

/// Decode the pre-order `nodes` of a column of `data_type` into an arrow array of the root
/// node's `len` rows.
///
/// The vectors become arrow buffers without a copy when their address is aligned for their
/// type (the common case for allocator-provided memory); otherwise they are copied once into
/// aligned memory.
///
/// With [`Validation::Full`] everything is checked: the type against `limits`, the node count
/// against the type, every buffer's length, bitmaps, offsets (non-negative, never decreasing,
/// within the values or the child), each child's length against its parent (list offsets,
/// fixed-size list size, struct length), dictionary keys within the dictionary, and then by
/// arrow itself UTF-8, non-nullable fields holding no nulls (map keys, map entries) and
/// everything else [`ArrayData::validate_data`] checks. With [`Validation::Layout`] the
/// content checks (the ones arrow does) are skipped; what remains is exactly what makes the
/// array memory-safe to read.
///
/// Whatever the nodes hold, the result is a valid array or an error; this never panics.
///
/// # Errors
/// [`LayoutError::Unsupported`], [`LayoutError::InvalidType`] or
/// [`LayoutError::LimitExceeded`] for a type that cannot cross; [`LayoutError::Invalid`] with
/// the node at fault (its pre-order index, name, type and length) and the first violation.
pub fn decode_tree(
    data_type: &DataType,
    nodes: Vec<OwnedNode>,
    validation: Validation,
    limits: &Limits,
) -> Result<ArrayRef, LayoutError> {
    let count = check_data_type(data_type, limits)?;
    if nodes.len() != count {
        return Err(LayoutError::Invalid {
            data_type: data_type.clone(),
            num_rows: nodes.first().map_or(0, |n| n.len),
            reason: format!(
                "{} nodes for a type of {count} nodes (one per type node, in pre-order)",
                nodes.len()
            ),
        });
    }
    let mut decoder = Decoder {
        nodes: nodes.into_iter().enumerate().peekable(),
        validation,
    };
    let data = decoder.node(data_type, "")?;
    Ok(make_array(data))
}

/// How the buffers of a node are laid out.
#[derive(Clone, Copy)]
enum Shape {
    /// The null type: no buffers at all.
    Nothing,
    /// A values bitmap.
    Bits,
    /// Values of this many bytes each (keys, for a dictionary).
    Fixed(usize),
    /// Offsets of this width into a values buffer.
    Bytes(usize),
    /// Offsets of this width into the child.
    Offsets(usize),
    /// No buffer of its own: the data is in the children.
    Children,
}

impl Shape {
    fn of(data_type: &DataType) -> Option<Self> {
        use DataType as D;
        Some(match data_type {
            D::Null => Self::Nothing,
            D::Boolean => Self::Bits,
            // Positive: check_data_type refused any other size.
            D::FixedSizeBinary(n) => Self::Fixed(usize::try_from(*n).ok()?),
            D::Utf8 | D::Binary => Self::Bytes(4),
            D::LargeUtf8 | D::LargeBinary => Self::Bytes(8),
            D::List(_) | D::Map(_, _) => Self::Offsets(4),
            D::LargeList(_) => Self::Offsets(8),
            D::FixedSizeList(_, _) | D::Struct(_) => Self::Children,
            D::Dictionary(key, _) => Self::Fixed(key.primitive_width()?),
            other => Self::Fixed(other.primitive_width()?),
        })
    }
}

/// Consumes the nodes in pre-order, one call of [`Decoder::node`] per type node.
struct Decoder {
    nodes: std::iter::Peekable<std::iter::Enumerate<std::vec::IntoIter<OwnedNode>>>,
    validation: Validation,
}

impl Decoder {
    /// The index and length of the next node: the next child of the node being decoded.
    fn peek_child(&mut self) -> Option<(usize, usize)> {
        self.nodes.peek().map(|(i, n)| (*i, n.len))
    }

    /// Decode the next node, of `data_type`, and its subtree. `name` is the node's field name
    /// (empty for the root), for messages.
    fn node(&mut self, data_type: &DataType, name: &str) -> Result<ArrayData, LayoutError> {
        let Some((index, node)) = self.nodes.next() else {
            return Err(LayoutError::Invalid {
                data_type: data_type.clone(),
                num_rows: 0,
                reason: "the node list ended early".into(),
            });
        };
        let OwnedNode {
            len,
            validity,
            offsets,
            values,
        } = node;
        let invalid = |reason: String| LayoutError::Invalid {
            data_type: data_type.clone(),
            num_rows: len,
            reason: if name.is_empty() {
                format!("node {index}: {reason}")
            } else {
                format!("node {index} `{name}`: {reason}")
            },
        };
        let shape = Shape::of(data_type)
            .ok_or_else(|| invalid("no boundary layout for this type".into()))?;

        let nulls = match validity {
            None => None,
            Some(_) if matches!(shape, Shape::Nothing) => {
                return Err(invalid("the null type carries no validity bitmap".into()));
            }
            Some(bits) => {
                let need = len.div_ceil(8);
                if bits.len() < need {
                    return Err(invalid(format!(
                        "validity bitmap has {} bytes, {len} rows need {need}",
                        bits.len()
                    )));
                }
                let bits = BooleanBuffer::new(Buffer::from_vec(bits), 0, len);
                Some(NullBuffer::new(bits)).filter(|n| n.null_count() > 0)
            }
        };

        let offsets = match (shape, offsets) {
            (Shape::Bytes(width) | Shape::Offsets(width), Some(o)) => {
                let need = len.checked_add(1).and_then(|n| n.checked_mul(width));
                if need != Some(o.len()) {
                    return Err(invalid(format!(
                        "offsets buffer has {} bytes, {len} rows need {len} + 1 offsets of \
                         {width} bytes",
                        o.len()
                    )));
                }
                Some((o, width))
            }
            (Shape::Bytes(_) | Shape::Offsets(_), None) => {
                return Err(invalid("offsets buffer is missing".into()));
            }
            (_, Some(_)) => {
                return Err(invalid(format!(
                    "offsets buffer given for a {data_type} node"
                )));
            }
            (_, None) => None,
        };

        match shape {
            Shape::Nothing | Shape::Offsets(_) | Shape::Children if !values.is_empty() => {
                return Err(invalid(format!(
                    "values buffer has {} bytes, a {data_type} node has none (its data is in \
                     its children, or absent)",
                    values.len()
                )));
            }
            Shape::Bits if values.len() != len.div_ceil(8) => {
                return Err(invalid(format!(
                    "values bitmap has {} bytes, {len} rows need {}",
                    values.len(),
                    len.div_ceil(8)
                )));
            }
            Shape::Fixed(width) if len.checked_mul(width) != Some(values.len()) => {
                return Err(invalid(match len.checked_mul(width) {
                    Some(need) => format!(
                        "values buffer has {} bytes, {len} rows of {width} bytes need {need}",
                        values.len()
                    ),
                    None => format!("{len} rows of {width} bytes overflow the address space"),
                }));
            }
            Shape::Bytes(_) => {
                if let Some((o, width)) = &offsets {
                    check_offsets(o, *width, values.len(), || {
                        format!("the values buffer ({} bytes)", values.len())
                    })
                    .map_err(invalid)?;
                }
            }
            _ => {}
        }

        // The children, each checked against what this node addresses before it is read.
        let child_data = match data_type {
            DataType::List(f) | DataType::LargeList(f) | DataType::Map(f, _) => {
                let (child, child_len) = self
                    .peek_child()
                    .ok_or_else(|| invalid("the node list ended before its child".into()))?;
                if let Some((o, width)) = &offsets {
                    let last = check_offsets(o, *width, child_len, || {
                        format!("child node {child} ({child_len} rows)")
                    })
                    .map_err(invalid)?;
                    if last != child_len {
                        return Err(invalid(format!(
                            "offsets end at {last}, child node {child} has {child_len} rows"
                        )));
                    }
                }
                vec![self.node(f.data_type(), f.name())?]
            }
            DataType::FixedSizeList(f, size) => {
                let (child, child_len) = self
                    .peek_child()
                    .ok_or_else(|| invalid("the node list ended before its child".into()))?;
                // The size is positive: check_data_type refused any other.
                let size = usize::try_from(*size).unwrap_or_default();
                let need = len.checked_mul(size).ok_or_else(|| {
                    invalid(format!(
                        "{len} lists of {size} items overflow the address space"
                    ))
                })?;
                if child_len != need {
                    return Err(invalid(format!(
                        "child node {child} has {child_len} rows, {len} lists of {size} items \
                         need {need}"
                    )));
                }
                vec![self.node(f.data_type(), f.name())?]
            }
            DataType::Struct(fields) => {
                let mut children = Vec::with_capacity(fields.len());
                for f in fields {
                    let (child, child_len) = self.peek_child().ok_or_else(|| {
                        invalid(format!(
                            "the node list ended before the field `{}`",
                            f.name()
                        ))
                    })?;
                    if child_len != len {
                        return Err(invalid(format!(
                            "child node {child} `{}` has {child_len} rows, the struct {len}",
                            f.name()
                        )));
                    }
                    children.push(self.node(f.data_type(), f.name())?);
                }
                children
            }
            DataType::Dictionary(key, value) => {
                let (child, child_len) = self
                    .peek_child()
                    .ok_or_else(|| invalid("the node list ended before its values".into()))?;
                // Out-of-range keys would make the array unsafe to read, so they are checked
                // under `Layout` as well.
                check_keys(&values, key, nulls.as_ref(), child_len)
                    .map_err(|r| invalid(format!("{r} (child node {child})")))?;
                vec![self.node(value, DICTIONARY_VALUES_NAME)?]
            }
            _ => Vec::new(),
        };

        let buffers = match (offsets, shape) {
            (Some((o, _)), Shape::Bytes(_)) => vec![Buffer::from_vec(o), Buffer::from_vec(values)],
            (Some((o, _)), _) => vec![Buffer::from_vec(o)],
            (None, Shape::Bits | Shape::Fixed(_)) => vec![Buffer::from_vec(values)],
            (None, _) => Vec::new(),
        };

        // Arrow checks that a non-nullable fixed-size list item holds nulls only under null
        // lists by expanding the lists' validity to one bit per item: len × size bits, where
        // size may be 2^31 - 1 and the items buffer-less (null type), an allocation bomb from
        // a one-byte bitmap. When the items hold no nulls that check cannot fail, and it is
        // the only one skipped below.
        let skip_item_null_check = matches!(data_type, DataType::FixedSizeList(f, _) if !f.is_nullable())
            && nulls.is_some()
            && child_data.first().is_some_and(|c| c.nulls().is_none());

        let builder = ArrayDataBuilder::new(data_type.clone())
            .len(len)
            .nulls(nulls)
            .buffers(buffers)
            .child_data(child_data)
            .align_buffers(true);
        let built = match self.validation {
            Validation::Full if !skip_item_null_check => builder.build(),
            Validation::Full => {
                // SAFETY: the data is validated right below with arrow's own checks, all but
                // `validate_nulls`, whose only checks are the item check that cannot fail
                // here (see above) and the null count, computed by `NullBuffer::new`.
                let data = unsafe { builder.skip_validation(true) }.build();
                data.and_then(|d| {
                    d.validate()?;
                    d.validate_values()?;
                    Ok(d)
                })
            }
            // SAFETY: the checks above establish what makes the array memory-safe to read:
            // the type is valid and within the limits; every buffer has the length its node's
            // `len` needs; offsets are non-negative, never decrease and end within the values
            // or the child; each child has exactly the length its parent addresses; dictionary
            // keys are within the dictionary. What is left unchecked is content (UTF-8,
            // non-nullable fields holding nulls), which the caller vouches for by choosing
            // `Layout` (buffers encoded from a validated arrow array).
            Validation::Layout => unsafe { builder.skip_validation(true) }.build(),
        };
        built.map_err(|e| invalid(e.to_string()))
    }
}

/// Offsets must be non-negative, never decrease, and end within `end` (values bytes or child
/// rows, which `what` describes). Returns the last offset.
fn check_offsets(
    bytes: &[u8],
    width: usize,
    end: usize,
    what: impl Fn() -> String,
) -> Result<usize, String> {
    let read = |c: &[u8]| -> i64 {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        if width == 4 {
            i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        } else {
            i64::from_le_bytes(b)
        }
    };
    let mut prev = 0;
    for (i, chunk) in bytes.chunks_exact(width).enumerate() {
        let v = read(chunk);
        if v < 0 {
            return Err(format!("offset {i} is negative ({v})"));
        }
        if i > 0 && v < prev {
            return Err(format!(
                "offsets decrease at row {} ({prev} then {v})",
                i - 1
            ));
        }
        if v as u64 > end as u64 {
            return Err(format!("offset {i} ({v}) is past the end of {}", what()));
        }
        prev = v;
    }
    // Within `end`, a usize.
    Ok(prev as usize)
}

/// Every non-null key must address one of the `dictionary_len` values.
fn check_keys(
    keys: &[u8],
    key_type: &DataType,
    nulls: Option<&NullBuffer>,
    dictionary_len: usize,
) -> Result<(), String> {
    macro_rules! check {
        ($t:ty) => {{
            const W: usize = std::mem::size_of::<$t>();
            for (row, chunk) in keys.chunks_exact(W).enumerate() {
                let mut b = [0u8; W];
                b.copy_from_slice(chunk);
                let key = i128::from(<$t>::from_le_bytes(b));
                let valid = nulls.is_none_or(|n| n.is_valid(row));
                if valid && (key < 0 || key >= dictionary_len as i128) {
                    return Err(format!(
                        "key {key} at row {row} is outside the dictionary of \
                         {dictionary_len} values"
                    ));
                }
            }
            Ok(())
        }};
    }
    match key_type {
        DataType::Int8 => check!(i8),
        DataType::Int16 => check!(i16),
        DataType::Int32 => check!(i32),
        DataType::Int64 => check!(i64),
        DataType::UInt8 => check!(u8),
        DataType::UInt16 => check!(u16),
        DataType::UInt32 => check!(u32),
        DataType::UInt64 => check!(u64),
        other => Err(format!("dictionary keys of type {other}")),
    }
}
