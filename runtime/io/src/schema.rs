//! Schemas written by users ([`ColumnSpec`], with type names such as `int64`, `timestamp[us]`
//! or `decimal128(10,2)`), and the comparison that finds the first column where two files'
//! schemas differ.

use std::str::FromStr;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use schemars::JsonSchema;
use serde::Deserialize;

/// One column of an explicit schema.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// Column type, e.g. `int64`, `float64`, `utf8`, `bool`, `date32`, `timestamp[us]`,
    /// `timestamp[ms, tz=UTC]`, `decimal128(10,2)`; arrow's own spelling (`Int64`,
    /// `Timestamp(µs)`) is accepted too.
    #[serde(rename = "type")]
    pub data_type: ColumnType,
    /// Whether the column may hold nulls (default true).
    #[serde(default = "yes")]
    pub nullable: bool,
}

fn yes() -> bool {
    true
}

/// A column type parsed from its name; see [`ColumnSpec::data_type`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
pub struct ColumnType(pub DataType);

impl TryFrom<String> for ColumnType {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl FromStr for ColumnType {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        parse_type(name.trim()).map(ColumnType).ok_or_else(|| {
            format!(
                "unknown column type {name:?}; use e.g. int64, float64, utf8, bool, date32, \
                 timestamp[us], decimal128(10,2), or arrow's spelling (Int64, Timestamp(µs))"
            )
        })
    }
}

/// The schema of `columns`.
pub fn schema_of(columns: &[ColumnSpec]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, c.data_type.0.clone(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Lower-case names as pyarrow and most users write them. Arrow's `DataType::from_str` only
/// knows its own `Display` spelling (`Int64`, `Timestamp(µs)`), so this small table comes
/// first and arrow's parser is the fallback.
fn parse_type(name: &str) -> Option<DataType> {
    let lower = name.to_ascii_lowercase();
    let simple = match lower.as_str() {
        "null" => Some(DataType::Null),
        "bool" | "boolean" => Some(DataType::Boolean),
        "int8" => Some(DataType::Int8),
        "int16" => Some(DataType::Int16),
        "int32" => Some(DataType::Int32),
        "int64" => Some(DataType::Int64),
        "uint8" => Some(DataType::UInt8),
        "uint16" => Some(DataType::UInt16),
        "uint32" => Some(DataType::UInt32),
        "uint64" => Some(DataType::UInt64),
        "float16" | "halffloat" => Some(DataType::Float16),
        "float32" | "float" => Some(DataType::Float32),
        "float64" | "double" => Some(DataType::Float64),
        "utf8" | "string" => Some(DataType::Utf8),
        "large_utf8" | "large_string" => Some(DataType::LargeUtf8),
        "utf8_view" | "string_view" => Some(DataType::Utf8View),
        "binary" => Some(DataType::Binary),
        "large_binary" => Some(DataType::LargeBinary),
        "date32" => Some(DataType::Date32),
        "date64" => Some(DataType::Date64),
        _ => None,
    };
    simple
        .or_else(|| parameterised(name))
        .or_else(|| DataType::from_str(name).ok())
}

/// `timestamp[unit(, tz=zone)]`, `time32[unit]`, `time64[unit]`, `duration[unit]`,
/// `decimal128(p,s)`, `decimal256(p,s)`. Names and units are case-insensitive; time zone
/// names keep their case (`Europe/Paris`).
fn parameterised(name: &str) -> Option<DataType> {
    if let Some((kind, args)) = name.strip_suffix(']').and_then(|s| s.split_once('[')) {
        let kind = kind.trim().to_ascii_lowercase();
        let mut args = args.split(',').map(str::trim);
        let unit = match args.next()?.to_ascii_lowercase().as_str() {
            "s" => TimeUnit::Second,
            "ms" => TimeUnit::Millisecond,
            "us" => TimeUnit::Microsecond,
            "ns" => TimeUnit::Nanosecond,
            _ => return None,
        };
        let zone = match args.next() {
            None => None,
            Some(tz) => {
                let (key, zone) = tz.split_once('=')?;
                let zone = zone.trim();
                if !key.trim().eq_ignore_ascii_case("tz") || zone.is_empty() {
                    return None;
                }
                Some(zone)
            }
        };
        if args.next().is_some() {
            return None;
        }
        return match (kind.as_str(), zone) {
            ("timestamp", zone) => Some(DataType::Timestamp(unit, zone.map(Into::into))),
            ("time32", None) => matches!(unit, TimeUnit::Second | TimeUnit::Millisecond)
                .then_some(DataType::Time32(unit)),
            ("time64", None) => matches!(unit, TimeUnit::Microsecond | TimeUnit::Nanosecond)
                .then_some(DataType::Time64(unit)),
            ("duration", None) => Some(DataType::Duration(unit)),
            _ => None,
        };
    }
    let (kind, args) = name.strip_suffix(')')?.split_once('(')?;
    let (precision, scale) = args.split_once(',')?;
    let (precision, scale) = (precision.trim(), scale.trim());
    // Arrow's parser validates precision and scale against the type's limits.
    let arrow = match kind.trim().to_ascii_lowercase().as_str() {
        "decimal128" => format!("Decimal128({precision}, {scale})"),
        "decimal256" => format!("Decimal256({precision}, {scale})"),
        _ => return None,
    };
    DataType::from_str(&arrow).ok()
}

/// Where `actual` first differs from `expected`, as (column name, description); `None` when
/// names, types and nullability all agree (metadata is ignored).
pub fn first_difference(expected: &Schema, actual: &Schema) -> Option<(String, String)> {
    for (index, want) in expected.fields().iter().enumerate() {
        let Some(have) = actual.fields().get(index) else {
            return Some((
                want.name().clone(),
                format!("column {} {:?} is missing", index + 1, want.name()),
            ));
        };
        if have.name() != want.name() {
            return Some((
                want.name().clone(),
                format!(
                    "column {} is {:?} instead of {:?}",
                    index + 1,
                    have.name(),
                    want.name()
                ),
            ));
        }
        if have.data_type() != want.data_type() {
            return Some((
                want.name().clone(),
                format!(
                    "column {:?} has type {} instead of {}",
                    want.name(),
                    have.data_type(),
                    want.data_type()
                ),
            ));
        }
        if have.is_nullable() != want.is_nullable() {
            let nullable = |n: bool| if n { "nullable" } else { "not nullable" };
            return Some((
                want.name().clone(),
                format!(
                    "column {:?} is {} instead of {}",
                    want.name(),
                    nullable(have.is_nullable()),
                    nullable(want.is_nullable())
                ),
            ));
        }
    }
    let extra = actual.fields().get(expected.fields().len())?;
    Some((
        extra.name().clone(),
        format!(
            "extra column {} {:?}",
            expected.fields().len() + 1,
            extra.name()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> DataType {
        name.parse::<ColumnType>().expect(name).0
    }

    #[test]
    fn type_names() {
        assert_eq!(ty("int64"), DataType::Int64);
        assert_eq!(ty("Float64"), DataType::Float64);
        assert_eq!(ty("utf8"), DataType::Utf8);
        assert_eq!(ty("bool"), DataType::Boolean);
        assert_eq!(ty("date32"), DataType::Date32);
        assert_eq!(
            ty("timestamp[us]"),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(
            ty("timestamp[ms, tz=UTC]"),
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        assert_eq!(ty("decimal128(10,2)"), DataType::Decimal128(10, 2));
        assert_eq!(ty("decimal128( 38 , 0 )"), DataType::Decimal128(38, 0));
        assert_eq!(ty("Int32"), DataType::Int32);
        for bad in [
            "int65",
            "decimal128(40,2)",
            "timestamp[xs]",
            "time32[ns]",
            "",
        ] {
            assert!(bad.parse::<ColumnType>().is_err(), "{bad}");
        }
    }

    #[test]
    fn column_specs_deserialize() {
        let columns: Vec<ColumnSpec> = serde_json::from_str(
            r#"[{"name": "a", "type": "int64"}, {"name": "b", "type": "utf8", "nullable": false}]"#,
        )
        .expect("parses");
        let schema = schema_of(&columns);
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert!(schema.field(0).is_nullable());
        assert!(!schema.field(1).is_nullable());
        let error = serde_json::from_str::<Vec<ColumnSpec>>(r#"[{"name": "a", "type": "int"}]"#)
            .expect_err("unknown type");
        assert!(error.to_string().contains("unknown column type"), "{error}");
    }

    #[test]
    fn first_difference_names_the_column() {
        let a = Schema::new(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("y", DataType::Utf8, true),
        ]);
        let b = Schema::new(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("y", DataType::Float64, true),
        ]);
        let (column, text) = first_difference(&a, &b).expect("differs");
        assert_eq!(column, "y");
        assert!(text.contains("Float64"), "{text}");
        assert!(first_difference(&a, &a).is_none());
        let short = Schema::new(vec![Field::new("x", DataType::Int64, true)]);
        assert_eq!(
            first_difference(&short, &a).map(|d| d.0).as_deref(),
            Some("y")
        );
    }
}
