//! Arrow ↔ the generated WIT types of `quiver:transform@0.2.0`, in both directions.
//!
//! Types and columns cross as pre-order node lists (`quiver_columnar::tree` is the one place
//! that knows that layout; this file only maps its Rust types to the generated WIT ones).
//! Everything inbound is validated with the bounds of [`tree::Limits`]: a plugin's output
//! schema, the type it gives `from-data` or `cast`, and every buffer it returns.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Schema, SchemaRef};
use quiver_columnar::tree::{self, FieldNode, OwnedNode};
use quiver_columnar::{LayoutError, Validation};

use crate::bindings::v2::types as wit;
use crate::convert::Violation;

quiver_columnar::wit_type_conversions!(crate::bindings::v2::types);

/// The WIT schema of `schema` (views named as utf8/binary: the host converts them).
///
/// # Errors
/// The first column whose type cannot cross, with its name.
pub(crate) fn schema_to_wit(schema: &Schema) -> Result<wit::Schema, Violation> {
    let nodes = tree::flatten_schema(schema).map_err(|(c, e)| (Some(c), e.to_string()))?;
    Ok(wit::Schema {
        fields: nodes.into_iter().map(field_to_wit).collect(),
        metadata: schema
            .metadata()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// An arrow schema from the WIT schema a plugin declared, within [`tree::Limits`].
///
/// # Errors
/// A shape the limits refuse, an invalid type, duplicate or empty top-level names.
pub(crate) fn schema_from_wit(s: wit::Schema) -> Result<SchemaRef, Violation> {
    let nodes: Vec<FieldNode> = s.fields.into_iter().map(field_from_wit).collect();
    let fields = tree::unflatten_fields(&nodes, &tree::Limits::default())
        .map_err(|e| (None, e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for f in &fields {
        if !seen.insert(f.name().clone()) {
            return Err((
                Some(f.name().clone()),
                "the output schema names this column twice".into(),
            ));
        }
    }
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        s.metadata
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    )))
}

/// The pre-order nodes of `data_type` (one field, named "").
///
/// # Errors
/// A type that cannot cross.
pub(crate) fn type_to_field_nodes(data_type: &DataType) -> Result<Vec<wit::Field>, LayoutError> {
    Ok(tree::flatten_type(data_type)?
        .into_iter()
        .map(field_to_wit)
        .collect())
}

/// The type of one field given as pre-order nodes (from a guest: bounded).
///
/// # Errors
/// Not exactly one field, or a shape the limits refuse.
pub(crate) fn field_nodes_to_type(nodes: Vec<wit::Field>) -> Result<DataType, LayoutError> {
    let nodes: Vec<FieldNode> = nodes
        .into_iter()
        .map(|mut f| {
            // The root's name is not part of a type; unflatten wants a non-empty one.
            if f.name.is_empty() {
                f.name = "value".into();
            }
            field_from_wit(f)
        })
        .collect();
    let mut fields = tree::unflatten_fields(&nodes, &tree::Limits::default())?;
    if fields.len() != 1 {
        return Err(LayoutError::InvalidType {
            node: 0,
            reason: format!(
                "expected the nodes of one field, got {} fields",
                fields.len()
            ),
        });
    }
    Ok(fields.remove(0).data_type().clone())
}

/// The buffers of `array` as owned WIT nodes (what `read` lowers into guest memory).
///
/// # Errors
/// A type that cannot cross.
pub(crate) fn array_to_nodes(array: &dyn Array) -> Result<Vec<wit::Node>, LayoutError> {
    Ok(tree::encode_tree(array)?
        .into_iter()
        .map(|n| wit::Node {
            len: n.len as u64,
            validity: n.validity.map(|v| v.into_owned()),
            offsets: n.offsets.map(|o| o.into_owned()),
            values: n.values.into_owned(),
        })
        .collect())
}

/// An arrow array of `data_type` from WIT nodes a guest sent, validated by `validation`.
///
/// # Errors
/// Buffers that are not a valid column of the type.
pub(crate) fn nodes_to_array(
    data_type: &DataType,
    nodes: Vec<wit::Node>,
    validation: Validation,
) -> Result<ArrayRef, LayoutError> {
    let mut owned = Vec::with_capacity(nodes.len());
    for n in nodes {
        let len = usize::try_from(n.len).map_err(|_| LayoutError::Invalid {
            data_type: data_type.clone(),
            num_rows: 0,
            reason: format!("a node of {} rows", n.len),
        })?;
        owned.push(OwnedNode {
            len,
            validity: n.validity,
            offsets: n.offsets,
            values: n.values,
        });
    }
    tree::decode_tree(data_type, owned, validation, &tree::Limits::default())
}

/// Whether a column of `data_type` can cross in 0.2 once the host has converted its views.
///
/// # Errors
/// Union, run-end encoded and list-view columns, and invalid types.
pub(crate) fn check_input_type(data_type: &DataType) -> Result<DataType, LayoutError> {
    let t = tree::normalize_type(data_type)?;
    tree::check_tree_type(&t)?;
    Ok(t)
}
