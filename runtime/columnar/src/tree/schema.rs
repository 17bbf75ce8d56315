//! Types as flat pre-order node lists: [`TypeNode`], [`FieldNode`], and the conversions between
//! them and arrow's [`Field`]s, with every check a type from an untrusted side needs.
//!
//! Every walk over a type here is a loop over an explicit stack, never a recursion: the
//! input may be a list of nodes describing a type thousands of levels deep, and the refusal
//! of such a type must cost neither the stack nor more than one pass.

use std::sync::Arc;

use arrow_array::types::{
    Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type, DecimalType,
    validate_decimal_precision_and_scale,
};
use arrow_schema::{DataType, Field, FieldRef, Fields, IntervalUnit, Schema, TimeUnit};

use super::Limits;
use crate::LayoutError;

/// The name a dictionary's value node carries in a flattened type.
///
/// An arrow dictionary type has a value *type*, not a value field, but every node of a
/// flattened type is a [`FieldNode`]: [`flatten_field`] names that node `values` and marks it
/// nullable (dictionary values may hold nulls). [`unflatten_fields`] checks its name like any
/// other (non-empty, bounded) and otherwise ignores its name and nullability.
pub const DICTIONARY_VALUES_NAME: &str = "values";

/// One node of a data type, in pre-order: its [`child_count`](Self::child_count) children
/// follow it immediately, each with its own children.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeNode {
    /// All values null; no buffers.
    Null,
    /// One bit per value.
    Boolean,
    /// Signed 8-bit integers.
    Int8,
    /// Signed 16-bit integers.
    Int16,
    /// Signed 32-bit integers.
    Int32,
    /// Signed 64-bit integers.
    Int64,
    /// Unsigned 8-bit integers.
    UInt8,
    /// Unsigned 16-bit integers.
    UInt16,
    /// Unsigned 32-bit integers.
    UInt32,
    /// Unsigned 64-bit integers.
    UInt64,
    /// IEEE 754 half-precision floats.
    Float16,
    /// IEEE 754 single-precision floats.
    Float32,
    /// IEEE 754 double-precision floats.
    Float64,
    /// UTF-8 strings with 32-bit offsets.
    Utf8,
    /// UTF-8 strings with 64-bit offsets.
    LargeUtf8,
    /// Bytes with 32-bit offsets.
    Binary,
    /// Bytes with 64-bit offsets.
    LargeBinary,
    /// Byte strings of exactly this many bytes (positive).
    FixedSizeBinary(i32),
    /// Days since the Unix epoch, 32-bit.
    Date32,
    /// Milliseconds since the Unix epoch, 64-bit.
    Date64,
    /// 64-bit time since the Unix epoch in the unit, optionally in a time zone (an IANA name
    /// such as `Europe/Paris` or a fixed offset such as `+02:00`).
    Timestamp(TimeUnit, Option<Arc<str>>),
    /// 32-bit time of day; seconds or milliseconds only.
    Time32(TimeUnit),
    /// 64-bit time of day; microseconds or nanoseconds only.
    Time64(TimeUnit),
    /// 64-bit elapsed time in the unit.
    Duration(TimeUnit),
    /// A calendar interval: year-month 4 bytes, day-time 8, month-day-nano 16.
    Interval(IntervalUnit),
    /// 32-bit decimal: precision 1..=9, scale at most the precision.
    Decimal32(u8, i8),
    /// 64-bit decimal: precision 1..=18, scale at most the precision.
    Decimal64(u8, i8),
    /// 128-bit decimal: precision 1..=38, scale at most the precision.
    Decimal128(u8, i8),
    /// 256-bit decimal: precision 1..=76, scale at most the precision.
    Decimal256(u8, i8),
    /// A list with 32-bit offsets. One child: the item field.
    List,
    /// A list with 64-bit offsets. One child: the item field.
    LargeList,
    /// Lists of exactly this many items (positive). One child: the item field.
    FixedSizeList(i32),
    /// A struct of this many fields; they are its children, in order.
    Struct(u32),
    /// A map; `true` when the keys of each entry are sorted. One child: the entries field, a
    /// non-nullable struct of exactly two fields, the non-nullable key and the value.
    Map(bool),
    /// A dictionary with keys of this type. One child: the value type (see
    /// [`DICTIONARY_VALUES_NAME`]).
    Dictionary(IndexType),
}

impl TypeNode {
    /// How many direct children follow this node in pre-order.
    pub fn child_count(&self) -> usize {
        match self {
            Self::List
            | Self::LargeList
            | Self::FixedSizeList(_)
            | Self::Map(_)
            | Self::Dictionary(_) => 1,
            // u32 always fits a usize on the 32- and 64-bit targets this crate builds for.
            Self::Struct(n) => *n as usize,
            _ => 0,
        }
    }
}

/// The integer type of a dictionary's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexType {
    /// Signed 8-bit keys.
    Int8,
    /// Signed 16-bit keys.
    Int16,
    /// Signed 32-bit keys.
    Int32,
    /// Signed 64-bit keys.
    Int64,
    /// Unsigned 8-bit keys.
    UInt8,
    /// Unsigned 16-bit keys.
    UInt16,
    /// Unsigned 32-bit keys.
    UInt32,
    /// Unsigned 64-bit keys.
    UInt64,
}

impl IndexType {
    /// The arrow type of the keys.
    pub fn data_type(self) -> DataType {
        match self {
            Self::Int8 => DataType::Int8,
            Self::Int16 => DataType::Int16,
            Self::Int32 => DataType::Int32,
            Self::Int64 => DataType::Int64,
            Self::UInt8 => DataType::UInt8,
            Self::UInt16 => DataType::UInt16,
            Self::UInt32 => DataType::UInt32,
            Self::UInt64 => DataType::UInt64,
        }
    }

    /// The index type of keys of `data_type`; `None` unless it is an integer type.
    pub fn from_data_type(data_type: &DataType) -> Option<Self> {
        Some(match data_type {
            DataType::Int8 => Self::Int8,
            DataType::Int16 => Self::Int16,
            DataType::Int32 => Self::Int32,
            DataType::Int64 => Self::Int64,
            DataType::UInt8 => Self::UInt8,
            DataType::UInt16 => Self::UInt16,
            DataType::UInt32 => Self::UInt32,
            DataType::UInt64 => Self::UInt64,
            _ => return None,
        })
    }
}

/// One field of a flattened type: a top-level column, a struct field, a list's item, a map's
/// entries, key or value, or a dictionary's values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldNode {
    /// The field's name: non-empty, at most [`Limits::max_name_len`] bytes.
    pub name: String,
    /// Its type node; its children follow it in the list.
    pub node: TypeNode,
    /// Whether the field may hold nulls.
    pub nullable: bool,
}

/// The type node of `data_type` alone (its children are not looked at).
///
/// # Errors
/// [`LayoutError::Unsupported`] for the types that do not cross, with what to do instead;
/// [`LayoutError::InvalidType`] (at `index`) for a dictionary with non-integer keys.
fn type_node(index: usize, data_type: &DataType) -> Result<TypeNode, LayoutError> {
    use DataType as D;
    use TypeNode as T;
    let unsupported = |reason| {
        Err(LayoutError::Unsupported {
            data_type: data_type.clone(),
            reason,
        })
    };
    Ok(match data_type {
        D::Null => T::Null,
        D::Boolean => T::Boolean,
        D::Int8 => T::Int8,
        D::Int16 => T::Int16,
        D::Int32 => T::Int32,
        D::Int64 => T::Int64,
        D::UInt8 => T::UInt8,
        D::UInt16 => T::UInt16,
        D::UInt32 => T::UInt32,
        D::UInt64 => T::UInt64,
        D::Float16 => T::Float16,
        D::Float32 => T::Float32,
        D::Float64 => T::Float64,
        D::Utf8 => T::Utf8,
        D::LargeUtf8 => T::LargeUtf8,
        D::Binary => T::Binary,
        D::LargeBinary => T::LargeBinary,
        D::FixedSizeBinary(n) => T::FixedSizeBinary(*n),
        D::Date32 => T::Date32,
        D::Date64 => T::Date64,
        D::Timestamp(unit, tz) => T::Timestamp(*unit, tz.clone()),
        D::Time32(unit) => T::Time32(*unit),
        D::Time64(unit) => T::Time64(*unit),
        D::Duration(unit) => T::Duration(*unit),
        D::Interval(unit) => T::Interval(*unit),
        D::Decimal32(p, s) => T::Decimal32(*p, *s),
        D::Decimal64(p, s) => T::Decimal64(*p, *s),
        D::Decimal128(p, s) => T::Decimal128(*p, *s),
        D::Decimal256(p, s) => T::Decimal256(*p, *s),
        D::List(_) => T::List,
        D::LargeList(_) => T::LargeList,
        D::FixedSizeList(_, n) => T::FixedSizeList(*n),
        D::Struct(fields) => {
            T::Struct(
                u32::try_from(fields.len()).map_err(|_| LayoutError::InvalidType {
                    node: index,
                    reason: format!("a struct of {} fields", fields.len()),
                })?,
            )
        }
        D::Map(_, sorted) => T::Map(*sorted),
        D::Dictionary(key, _) => {
            T::Dictionary(IndexType::from_data_type(key).ok_or_else(|| {
                LayoutError::InvalidType {
                    node: index,
                    reason: format!("dictionary keys must be an integer type, not {key}"),
                }
            })?)
        }
        D::Utf8View | D::BinaryView => {
            return unsupported(
                "string and binary views do not cross; normalize the column \
                 (quiver_columnar::normalize casts views to utf8 and binary) before it crosses",
            );
        }
        D::ListView(_) | D::LargeListView(_) => {
            return unsupported(
                "list views do not cross; cast the column to a list or large list, \
                 or drop it, before this stage",
            );
        }
        D::Union(_, _) => {
            return unsupported(
                "unions do not cross; cast the column to one of its member types, \
                 or drop it, before this stage",
            );
        }
        D::RunEndEncoded(_, _) => {
            return unsupported(
                "run-end encoded columns do not cross; cast the column to its value type, \
                 or drop it, before this stage",
            );
        }
    })
}

/// What arrow itself requires of a node's parameters, whatever the limits.
fn check_params(node: &TypeNode) -> Result<(), String> {
    use TypeNode as T;
    fn decimal<D: DecimalType>(p: u8, s: i8) -> Result<(), String> {
        validate_decimal_precision_and_scale::<D>(p, s)
            .map_err(|e| format!("{}({p}, {s}): {e}", D::PREFIX.to_lowercase()))
    }
    match node {
        T::FixedSizeBinary(n) | T::FixedSizeList(n) if *n <= 0 => {
            Err(format!("fixed sizes must be positive, got {n}"))
        }
        T::Time32(unit @ (TimeUnit::Microsecond | TimeUnit::Nanosecond)) => Err(format!(
            "time32 holds seconds or milliseconds only, not {unit:?}"
        )),
        T::Time64(unit @ (TimeUnit::Second | TimeUnit::Millisecond)) => Err(format!(
            "time64 holds microseconds or nanoseconds only, not {unit:?}"
        )),
        T::Decimal32(p, s) => decimal::<Decimal32Type>(*p, *s),
        T::Decimal64(p, s) => decimal::<Decimal64Type>(*p, *s),
        T::Decimal128(p, s) => decimal::<Decimal128Type>(*p, *s),
        T::Decimal256(p, s) => decimal::<Decimal256Type>(*p, *s),
        _ => Ok(()),
    }
}

/// Checks of one node against `limits` and the name rule, shared by both directions.
fn check_node(
    index: usize,
    name: Option<&str>,
    node: &TypeNode,
    limits: Option<&Limits>,
) -> Result<(), LayoutError> {
    let invalid = |reason: String| LayoutError::InvalidType {
        node: index,
        reason,
    };
    if let Some(limits) = limits {
        let over = |what: String, limit, max| LayoutError::LimitExceeded { what, limit, max };
        // Lengths are checked before any message quotes the name.
        if let Some(name) = name
            && name.len() > limits.max_name_len
        {
            return Err(over(
                format!("the name of node {index} ({} bytes)", name.len()),
                "max_name_len",
                limits.max_name_len,
            ));
        }
        if let TypeNode::Timestamp(_, Some(tz)) = node
            && tz.len() > limits.max_name_len
        {
            return Err(over(
                format!("the time zone of node {index} ({} bytes)", tz.len()),
                "max_name_len",
                limits.max_name_len,
            ));
        }
        if node.child_count() > limits.max_struct_children {
            return Err(over(
                format!("struct node {index} of {} fields", node.child_count()),
                "max_struct_children",
                limits.max_struct_children,
            ));
        }
    }
    if name == Some("") {
        return Err(invalid("field names must not be empty".into()));
    }
    check_params(node).map_err(|r| match name {
        Some(name) => invalid(format!("`{name}`: {r}")),
        None => invalid(r),
    })
}

/// A map's entries must be a non-nullable struct of exactly two fields whose first (the key)
/// is non-nullable; arrow's map arrays assume it.
fn check_map_entries(index: usize, entries: &Field) -> Result<(), LayoutError> {
    let reason = match entries.data_type() {
        _ if entries.is_nullable() => "the entries field must not be nullable".to_string(),
        DataType::Struct(f) if f.len() != 2 => format!(
            "the entries must be a struct of exactly 2 fields (key, value), not {}",
            f.len()
        ),
        DataType::Struct(f) if f[0].is_nullable() => {
            format!("the key field `{}` must not be nullable", f[0].name())
        }
        DataType::Struct(_) => return Ok(()),
        other => format!("the entries must be a struct of key and value, not {other}"),
    };
    Err(LayoutError::InvalidType {
        node: index,
        reason: format!("map: {reason}"),
    })
}

/// One field met on a walk over an arrow type.
struct Visit<'a> {
    /// Nesting depth: 1 for the root.
    depth: usize,
    /// The field's name; `None` for a root given as a bare type.
    name: Option<&'a str>,
    data_type: &'a DataType,
    nullable: bool,
}

impl<'a> Visit<'a> {
    fn field(depth: usize, f: &'a Field) -> Self {
        Self {
            depth,
            name: Some(f.name()),
            data_type: f.data_type(),
            nullable: f.is_nullable(),
        }
    }
}

/// Walks a type in pre-order without recursion, checking every node (with `limits` when
/// given) and handing each to `emit`. Children of a node are looked at only after the node
/// itself passed, so a struct of a million fields is refused before any of them is pushed.
/// Returns the number of nodes.
fn walk<'a>(
    root: Visit<'a>,
    limits: Option<&Limits>,
    mut emit: impl FnMut(&Visit<'a>, TypeNode),
) -> Result<usize, LayoutError> {
    let mut stack = vec![root];
    let mut index = 0;
    while let Some(visit) = stack.pop() {
        if let Some(limits) = limits {
            if index >= limits.max_nodes {
                return Err(LayoutError::LimitExceeded {
                    what: format!("a type of more than {} nodes", limits.max_nodes),
                    limit: "max_nodes",
                    max: limits.max_nodes,
                });
            }
            if visit.depth > limits.max_depth {
                return Err(LayoutError::LimitExceeded {
                    what: format!("node {index} at nesting depth {}", visit.depth),
                    limit: "max_depth",
                    max: limits.max_depth,
                });
            }
        }
        let node = type_node(index, visit.data_type)?;
        check_node(index, visit.name, &node, limits)?;
        let depth = visit.depth + 1;
        match visit.data_type {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                stack.push(Visit::field(depth, f));
            }
            DataType::Map(f, _) => {
                check_map_entries(index, f)?;
                stack.push(Visit::field(depth, f));
            }
            DataType::Struct(fields) => {
                stack.extend(fields.iter().rev().map(|f| Visit::field(depth, f)));
            }
            DataType::Dictionary(_, values) => stack.push(Visit {
                depth,
                name: Some(DICTIONARY_VALUES_NAME),
                data_type: values,
                nullable: true,
            }),
            _ => {}
        }
        emit(&visit, node);
        index += 1;
    }
    Ok(index)
}

/// Whether a column of `data_type` can cross the boundary in `quiver:transform@0.2.0`.
///
/// Every arrow type crosses except string/binary views (see [`normalize`](super::normalize)),
/// list views, unions and run-end encoded arrays. The type must also be a valid arrow type
/// (decimal precision, time units, positive fixed sizes, map entries shape) with non-empty
/// nested field names. The [`Limits`] are not applied: they are the receiver's to choose.
///
/// # Errors
/// [`LayoutError::Unsupported`] naming the type and what to do instead, or
/// [`LayoutError::InvalidType`] naming the node at fault.
pub fn check_tree_type(data_type: &DataType) -> Result<(), LayoutError> {
    let root = Visit {
        depth: 1,
        name: None,
        data_type,
        nullable: true,
    };
    walk(root, None, |_, _| {}).map(drop)
}

/// Checks `data_type` as [`check_tree_type`] does and against `limits` (nested field names
/// included), returning its node count.
pub(super) fn check_data_type(data_type: &DataType, limits: &Limits) -> Result<usize, LayoutError> {
    let root = Visit {
        depth: 1,
        name: None,
        data_type,
        nullable: true,
    };
    walk(root, Some(limits), |_, _| {})
}

/// The pre-order nodes of a bare type (a compute kernel's target, a column's type): a root
/// node named "" (a type has no name), then the type's children.
///
/// # Errors
/// As [`check_tree_type`].
pub fn flatten_type(data_type: &DataType) -> Result<Vec<FieldNode>, LayoutError> {
    let mut nodes = Vec::new();
    let root = Visit {
        depth: 1,
        name: None,
        data_type,
        nullable: true,
    };
    walk(root, None, |visit, node| {
        nodes.push(FieldNode {
            name: visit.name.unwrap_or_default().to_owned(),
            node,
            nullable: visit.nullable,
        });
    })?;
    Ok(nodes)
}

/// The pre-order nodes of one field: the field itself, then its type's children.
///
/// # Errors
/// As [`check_tree_type`], plus an empty field name.
pub fn flatten_field(field: &Field) -> Result<Vec<FieldNode>, LayoutError> {
    let mut nodes = Vec::new();
    walk(Visit::field(1, field), None, |visit, node| {
        nodes.push(FieldNode {
            name: visit.name.unwrap_or_default().to_owned(),
            node,
            nullable: visit.nullable,
        });
    })?;
    Ok(nodes)
}

/// The pre-order nodes of every field of `schema`, one subtree after the other. Field and
/// schema metadata do not cross.
///
/// # Errors
/// The first column that cannot cross, with its name; see [`flatten_field`].
pub fn flatten_schema(schema: &Schema) -> Result<Vec<FieldNode>, (String, LayoutError)> {
    let mut nodes = Vec::new();
    for field in schema.fields() {
        nodes.extend(flatten_field(field).map_err(|e| (field.name().clone(), e))?);
    }
    Ok(nodes)
}

/// A node whose children are still being read.
struct Open<'a> {
    index: usize,
    field: &'a FieldNode,
    children: Vec<Field>,
}

/// The fields described by a flattened type: the inverse of [`flatten_schema`], for nodes
/// from the untrusted side.
///
/// One pass over the nodes, without recursion, builds each field as its last child arrives.
/// Each node is checked before anything is built or reserved for it: the [`Limits`], a
/// non-empty name, its parameters (as [`check_tree_type`]); then that each node has all its
/// children and that a map's entries are a struct of key and value. The top-level fields are
/// however many the nodes describe: the caller compares their count with what it expects.
///
/// # Errors
/// [`LayoutError::LimitExceeded`] or [`LayoutError::InvalidType`] for the first node at fault.
pub fn unflatten_fields(nodes: &[FieldNode], limits: &Limits) -> Result<Vec<Field>, LayoutError> {
    if nodes.len() > limits.max_nodes {
        return Err(LayoutError::LimitExceeded {
            what: format!("a type of {} nodes", nodes.len()),
            limit: "max_nodes",
            max: limits.max_nodes,
        });
    }
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut fields = Vec::new();
    for (index, field) in nodes.iter().enumerate() {
        let depth = open.len() + 1;
        if depth > limits.max_depth {
            return Err(LayoutError::LimitExceeded {
                what: format!("node {index} at nesting depth {depth}"),
                limit: "max_depth",
                max: limits.max_depth,
            });
        }
        check_node(index, Some(&field.name), &field.node, Some(limits))?;
        let wanted = field.node.child_count();
        if wanted > 0 {
            // Bounded by max_struct_children, checked above.
            open.push(Open {
                index,
                field,
                children: Vec::with_capacity(wanted),
            });
            continue;
        }
        let mut done = build_field(index, field, Vec::new())?;
        // Hand the finished field to its parent; a parent that now has all its children is
        // finished in turn.
        loop {
            let Some(parent) = open.last_mut() else {
                fields.push(done);
                break;
            };
            parent.children.push(done);
            if parent.children.len() < parent.field.node.child_count() {
                break;
            }
            let Some(Open {
                index,
                field,
                children,
            }) = open.pop()
            else {
                break;
            };
            done = build_field(index, field, children)?;
        }
    }
    if let Some(o) = open.last() {
        return Err(LayoutError::InvalidType {
            node: o.index,
            reason: format!(
                "`{}` ({:?}) has {} children, the node list ended after {}",
                o.field.name,
                o.field.node,
                o.field.node.child_count(),
                o.children.len()
            ),
        });
    }
    Ok(fields)
}

/// The arrow field of a node whose children are all built.
fn build_field(index: usize, f: &FieldNode, children: Vec<Field>) -> Result<Field, LayoutError> {
    use DataType as D;
    use TypeNode as T;
    let only_child = |children: Vec<Field>| -> Result<FieldRef, LayoutError> {
        let mut children = children.into_iter();
        match (children.next(), children.next()) {
            (Some(child), None) => Ok(Arc::new(child)),
            _ => Err(LayoutError::InvalidType {
                node: index,
                reason: "expected exactly one child".into(),
            }),
        }
    };
    let data_type = match &f.node {
        T::Null => D::Null,
        T::Boolean => D::Boolean,
        T::Int8 => D::Int8,
        T::Int16 => D::Int16,
        T::Int32 => D::Int32,
        T::Int64 => D::Int64,
        T::UInt8 => D::UInt8,
        T::UInt16 => D::UInt16,
        T::UInt32 => D::UInt32,
        T::UInt64 => D::UInt64,
        T::Float16 => D::Float16,
        T::Float32 => D::Float32,
        T::Float64 => D::Float64,
        T::Utf8 => D::Utf8,
        T::LargeUtf8 => D::LargeUtf8,
        T::Binary => D::Binary,
        T::LargeBinary => D::LargeBinary,
        T::FixedSizeBinary(n) => D::FixedSizeBinary(*n),
        T::Date32 => D::Date32,
        T::Date64 => D::Date64,
        T::Timestamp(unit, tz) => D::Timestamp(*unit, tz.clone()),
        T::Time32(unit) => D::Time32(*unit),
        T::Time64(unit) => D::Time64(*unit),
        T::Duration(unit) => D::Duration(*unit),
        T::Interval(unit) => D::Interval(*unit),
        T::Decimal32(p, s) => D::Decimal32(*p, *s),
        T::Decimal64(p, s) => D::Decimal64(*p, *s),
        T::Decimal128(p, s) => D::Decimal128(*p, *s),
        T::Decimal256(p, s) => D::Decimal256(*p, *s),
        T::List => D::List(only_child(children)?),
        T::LargeList => D::LargeList(only_child(children)?),
        T::FixedSizeList(n) => D::FixedSizeList(only_child(children)?, *n),
        T::Struct(_) => D::Struct(Fields::from(children)),
        T::Map(sorted) => {
            let entries = only_child(children)?;
            check_map_entries(index, &entries)?;
            D::Map(entries, *sorted)
        }
        T::Dictionary(key) => D::Dictionary(
            Box::new(key.data_type()),
            Box::new(only_child(children)?.data_type().clone()),
        ),
    };
    Ok(Field::new(f.name.clone(), data_type, f.nullable))
}
