//! Config values for a column: a JSON number, string or boolean from a plugin's config,
//! turned into a one-row array of the column's own type, once, when the transformer is
//! created (a fill value, a bound, an allowed value).
//!
//! The conversion goes through arrow-cast in strict mode, so the rules are those of the rest
//! of the Arrow world: strings are parsed (`"2024-01-31"` for a date32 column,
//! `"2024-01-31T10:00:00"` for a timestamp column, `"12.5"` for a float column) and numbers
//! must fit the column's type. A float with a fractional part is refused for an integer
//! column, where arrow would truncate it silently; rounding it, or casting the column to a
//! float first, is the user's choice to make.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, UInt64Array};
use arrow_cast::CastOptions;
use arrow_schema::DataType;
use serde_json::Value;

/// `value` as a one-row array of type `to`, or why it cannot be one (a message for a
/// config error at the value's key).
pub fn scalar(value: &Value, to: &DataType) -> Result<ArrayRef, String> {
    let source: ArrayRef = match value {
        Value::String(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Value::Bool(b) if to == &DataType::Boolean => Arc::new(BooleanArray::from(vec![*b])),
        Value::Bool(b) => return Err(format!("{b} is a boolean, but the column is {to}")),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Arc::new(Int64Array::from(vec![i]))
            } else if let Some(u) = n.as_u64() {
                Arc::new(UInt64Array::from(vec![u]))
            } else {
                let f = n.as_f64().ok_or_else(|| format!("{n} is not a number"))?;
                if to.is_integer() && f.fract() != 0.0 {
                    return Err(format!(
                        "{f} has a fractional part but the column is {to}; round it, or cast \
                         the column to float64 first (e.g. with the shape plugin)"
                    ));
                }
                Arc::new(Float64Array::from(vec![f]))
            }
        }
        Value::Null => {
            return Err("null is not a value here; give a number, a string or a boolean".into());
        }
        Value::Array(_) | Value::Object(_) => {
            return Err("expected a number, a string or a boolean".into());
        }
    };
    if source.data_type() == to {
        return Ok(source);
    }
    if !arrow_cast::can_cast_types(source.data_type(), to) {
        return Err(format!("{value} cannot be used for a {to} column"));
    }
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    arrow_cast::cast_with_options(&source, to, &strict)
        .map_err(|e| format!("{value} cannot be used for a {to} column: {e}"))
}
