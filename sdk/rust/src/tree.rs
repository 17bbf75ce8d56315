//! Contract 0.2 conversions on the guest side: schemas and types as pre-order node lists,
//! columns as node buffers (`quiver_columnar::tree` knows the layout; this file maps it to
//! the generated WIT types).
//!
//! What the host sends is already valid arrow data: it is decoded with
//! `Validation::Layout` (lengths and offsets checked, content trusted). What the plugin
//! sends is encoded into owned vectors (one copy in guest memory); the host validates it.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Schema, SchemaRef};
use quiver_columnar::Validation;
use quiver_columnar::tree::{self, FieldNode, OwnedNode};

use crate::Error;
use crate::bindings::quiver::transform::types as wit;

quiver_columnar::wit_type_conversions!(crate::bindings::quiver::transform::types);

/// The arrow schema of a schema the host sent.
pub(crate) fn schema_from_wit(s: wit::Schema) -> Result<SchemaRef, Error> {
    let nodes: Vec<FieldNode> = s.fields.into_iter().map(field_from_wit).collect();
    let fields = tree::unflatten_fields(&nodes, &tree::Limits::default())
        .map_err(|e| Error::internal(format!("the input schema from the host: {e}")))?;
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        s.metadata
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    )))
}

/// The WIT form of a schema the plugin declares.
pub(crate) fn schema_to_wit(schema: &Schema) -> Result<wit::Schema, Error> {
    let nodes = tree::flatten_schema(schema).map_err(|(c, e)| {
        Error::internal(format!(
            "output column `{c}` cannot cross the boundary: {e}"
        ))
    })?;
    Ok(wit::Schema {
        fields: nodes.into_iter().map(field_to_wit).collect(),
        metadata: schema
            .metadata()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// The pre-order nodes of `data_type` (one field, named "").
pub(crate) fn type_to_wit(data_type: &DataType) -> Result<Vec<wit::Field>, Error> {
    Ok(tree::flatten_type(data_type)
        .map_err(|e| Error::internal(format!("type {data_type}: {e}")))?
        .into_iter()
        .map(field_to_wit)
        .collect())
}

/// The type of one field given as pre-order nodes (from the host).
pub(crate) fn type_from_wit(nodes: Vec<wit::Field>) -> Result<DataType, Error> {
    let nodes: Vec<FieldNode> = nodes
        .into_iter()
        .map(|mut f| {
            if f.name.is_empty() {
                f.name = "value".into();
            }
            field_from_wit(f)
        })
        .collect();
    let mut fields = tree::unflatten_fields(&nodes, &tree::Limits::default())
        .map_err(|e| Error::internal(format!("a type from the host: {e}")))?;
    if fields.len() != 1 {
        return Err(Error::internal(format!(
            "a type from the host has {} fields",
            fields.len()
        )));
    }
    Ok(fields.remove(0).data_type().clone())
}

/// An array of `data_type` from nodes the host sent (layout checked).
pub(crate) fn array_from_wit(
    data_type: &DataType,
    nodes: Vec<wit::Node>,
) -> Result<ArrayRef, Error> {
    let owned = nodes
        .into_iter()
        .map(|n| OwnedNode {
            len: n.len as usize,
            validity: n.validity,
            offsets: n.offsets,
            values: n.values,
        })
        .collect();
    tree::decode_tree(
        data_type,
        owned,
        Validation::Layout,
        &tree::Limits::default(),
    )
    .map_err(|e| Error::internal(format!("a column from the host: {e}")))
}

/// The nodes of an array the plugin returns.
pub(crate) fn array_to_wit(array: &dyn Array) -> Result<Vec<wit::Node>, Error> {
    Ok(tree::encode_tree_owned(array)
        .map_err(|e| Error::internal(format!("an output array: {e}")))?
        .into_iter()
        .map(|n| wit::Node {
            len: n.len as u64,
            validity: n.validity,
            offsets: n.offsets,
            values: n.values,
        })
        .collect())
}
