//! Turning the arrow types that have a carried equivalent into it before a column crosses:
//! string and binary views become utf8 and binary, at any nesting level.
//!
//! Views are not carried because their layout (16-byte views into several data buffers) is
//! an in-memory optimisation with no meaning across the boundary: a guest would have to
//! rebuild utf8 anyway. The conversion is arrow-cast's, not ours.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, FieldRef, Fields};

use crate::LayoutError;

/// The type a column of `data_type` has once [`normalize`]d: `Utf8View` becomes `Utf8` and
/// `BinaryView` becomes `Binary`, inside nested types too; every other type is unchanged.
///
/// Recurses once per nesting level of `data_type`, which comes from the caller's own arrays,
/// not from the other side of the boundary.
///
/// # Errors
/// [`LayoutError::Unsupported`] for the types that have no carried equivalent: unions,
/// run-end encoded arrays and list views (see [`check_tree_type`](super::check_tree_type)).
pub fn normalize_type(data_type: &DataType) -> Result<DataType, LayoutError> {
    use DataType as D;
    let field = |f: &FieldRef| -> Result<FieldRef, LayoutError> {
        let t = normalize_type(f.data_type())?;
        Ok(if &t == f.data_type() {
            f.clone()
        } else {
            Arc::new(Field::clone(f).with_data_type(t))
        })
    };
    Ok(match data_type {
        D::Utf8View => D::Utf8,
        D::BinaryView => D::Binary,
        D::List(f) => D::List(field(f)?),
        D::LargeList(f) => D::LargeList(field(f)?),
        D::FixedSizeList(f, n) => D::FixedSizeList(field(f)?, *n),
        D::Map(f, sorted) => D::Map(field(f)?, *sorted),
        D::Struct(fields) => D::Struct(fields.iter().map(field).collect::<Result<Fields, _>>()?),
        D::Dictionary(key, value) => D::Dictionary(key.clone(), Box::new(normalize_type(value)?)),
        D::ListView(_) | D::LargeListView(_) | D::Union(_, _) | D::RunEndEncoded(_, _) => {
            // The same refusal, with the same advice, as every other tree function gives.
            return super::check_tree_type(data_type).map(|()| data_type.clone());
        }
        other => other.clone(),
    })
}

/// `array` with its views turned into utf8 and binary (see [`normalize_type`]), by arrow-cast;
/// the same array (not a copy) when it holds no view.
///
/// # Errors
/// As [`normalize_type`].
pub fn normalize(array: &ArrayRef) -> Result<ArrayRef, LayoutError> {
    let target = normalize_type(array.data_type())?;
    if &target == array.data_type() {
        return Ok(Arc::clone(array));
    }
    arrow_cast::cast(array, &target).map_err(|_| LayoutError::Unsupported {
        data_type: array.data_type().clone(),
        reason: "arrow-cast cannot turn the views of this type into utf8 and binary; \
                 cast the column yourself before this stage",
    })
}
