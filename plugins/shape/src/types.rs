//! The type names a `cast` entry may target, parsed from config strings such as `int32`,
//! `date32` or `timestamp[ms, UTC]`.
//!
//! The set is deliberately small — the types a data scientist casts to when tidying a
//! table. Anything a column can arrive as may be cast *from*, as far as arrow-cast supports
//! the pair (checked at creation, so an impossible cast is a config error, not a data error).

use std::sync::Arc;

use arrow_array::timezone::Tz;
use arrow_schema::{DataType, TimeUnit};

/// A target type of a cast, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct TargetType(pub DataType);

/// The names accepted, for error messages and the README.
pub const NAMES: &str = "int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, \
     float64, utf8, boolean, date32, timestamp[s|ms|us|ns] or timestamp[<unit>, <offset>] (e.g. timestamp[ms, +00:00])";

impl TryFrom<String> for TargetType {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let t = match name.trim() {
            "int8" => DataType::Int8,
            "int16" => DataType::Int16,
            "int32" => DataType::Int32,
            "int64" => DataType::Int64,
            "uint8" => DataType::UInt8,
            "uint16" => DataType::UInt16,
            "uint32" => DataType::UInt32,
            "uint64" => DataType::UInt64,
            "float32" => DataType::Float32,
            "float64" => DataType::Float64,
            "utf8" | "string" => DataType::Utf8,
            "boolean" | "bool" => DataType::Boolean,
            "date32" | "date" => DataType::Date32,
            other => match other
                .strip_prefix("timestamp[")
                .and_then(|s| s.strip_suffix(']'))
            {
                Some(inner) => {
                    timestamp(inner).map_err(|why| why.unwrap_or_else(|| unknown(&name)))?
                }
                None => return Err(unknown(&name)),
            },
        };
        Ok(TargetType(t))
    }
}

/// `unit` or `unit, zone` inside `timestamp[...]`; `Err(None)` when the unit is unknown,
/// `Err(Some(why))` when the zone is.
fn timestamp(inner: &str) -> Result<DataType, Option<String>> {
    let (unit, zone) = match inner.split_once(',') {
        Some((u, z)) => (u.trim(), Some(z.trim())),
        None => (inner.trim(), None),
    };
    let unit = match unit {
        "s" => TimeUnit::Second,
        "ms" => TimeUnit::Millisecond,
        "us" => TimeUnit::Microsecond,
        "ns" => TimeUnit::Nanosecond,
        _ => return Err(None),
    };
    let Some(zone) = zone else {
        return Ok(DataType::Timestamp(unit, None));
    };
    // Named IANA zones come from chrono-tz's database, compiled into the guest.
    zone.parse::<Tz>().map_err(|_| {
        Some(format!(
            "time zone `{zone}` is unknown; use an IANA name such as UTC or Europe/Paris, or an \
             offset such as +02:00"
        ))
    })?;
    Ok(DataType::Timestamp(unit, Some(Arc::from(zone))))
}

fn unknown(name: &str) -> String {
    format!("unknown type `{name}`; use one of {NAMES}")
}
