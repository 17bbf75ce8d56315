//! Zoned timestamps in inferred schemas. arrow-csv infers `2026-01-01T10:00:00Z` and
//! `...+02:00` as timestamps *without* a zone (it converts them to UTC and forgets that it
//! did), and arrow-json infers them as strings. Both lose what the text says: these are
//! instants. So after inference the sampled values of such columns are looked at again:
//! when every value carries a zone, the column becomes a zoned timestamp — `UTC` for `Z`,
//! `+00:00` and mixed offsets (instants all the same), else the one offset they share.
//! A column where any value lacks a zone keeps arrow's answer.
//!
//! NDJSON string columns whose values are all date-times without a zone, or all dates,
//! become timestamps without a zone and dates, as CSV's inference does for the same text.

use std::io::Cursor;
use std::sync::{Arc, LazyLock};

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_csv::reader::Format as CsvFormat;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use regex::Regex;

use crate::IoError;

/// An ISO 8601 date-time with a zone designator: `Z`, `UTC`, `±hh:mm`, `±hhmm` or `±hh`
/// (DuckDB writes `+00`).
static ZONED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.(\d+))?)?\s*(?:([Zz]|UTC)|([+-]\d\d)(?::?(\d\d))?)$",
    )
    .ok()
});

/// An ISO 8601 date-time without a zone.
static NAIVE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.(\d+))?)?$").ok());

/// An ISO 8601 date.
static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{4}-\d\d-\d\d$").ok());

/// The zone of `value` (`UTC` or `±hh:mm`) and its count of fractional digits, if it is a
/// zoned date-time.
fn zone_of(value: &str) -> Option<(String, usize)> {
    let captures = ZONED.as_ref()?.captures(value.trim())?;
    let digits = captures.get(1).map_or(0, |m| m.as_str().len());
    let zone = match captures.get(3) {
        Some(hours) => {
            let minutes = captures.get(4).map_or("00", |m| m.as_str());
            let offset = format!("{}:{minutes}", hours.as_str());
            if matches!(offset.as_str(), "+00:00" | "-00:00") {
                "UTC".to_string()
            } else {
                offset
            }
        }
        None => "UTC".to_string(),
    };
    Some((zone, digits))
}

/// The zone every non-null value of `values` has (see the module docs), and the largest
/// count of fractional digits; `None` when a value has none or there is no value.
fn common_zone(values: &StringArray, markers: &[String]) -> Option<(String, usize)> {
    let mut zone: Option<String> = None;
    let mut digits = 0;
    let mut seen = false;
    for value in values.iter().flatten() {
        if markers.iter().any(|m| m == value) {
            continue;
        }
        let (this, fraction) = zone_of(value)?;
        digits = digits.max(fraction);
        zone = match zone {
            None => Some(this),
            Some(previous) if previous == this => Some(previous),
            Some(_) => Some("UTC".into()),
        };
        seen = true;
    }
    seen.then_some(())?;
    zone.map(|zone| (zone, digits))
}

/// `schema` (inferred from the CSV `head`) with its zone-less timestamp columns zoned where
/// every sampled value has a zone. `per_column` holds null markers that arrow-csv did not
/// see (they are skipped here too).
pub(crate) fn zone_csv(
    schema: &Schema,
    format: &CsvFormat,
    head: &[u8],
    per_column: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<Schema, IoError> {
    let candidates: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.data_type(), DataType::Timestamp(_, None)))
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        return Ok(schema.clone());
    }
    let text = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let reader = arrow_csv::ReaderBuilder::new(text)
        .with_format(format.clone())
        .with_batch_size(8192)
        .build(Cursor::new(head));
    // A sample that does not decode keeps arrow's schema; the real read reports the error.
    let Ok(reader) = reader else {
        return Ok(schema.clone());
    };
    let batches: Vec<RecordBatch> = reader.filter_map(Result::ok).collect();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for index in candidates {
        let name = schema.field(index).name();
        let markers = per_column.get(name).map(Vec::as_slice).unwrap_or_default();
        if let Some(zone) = zone_of_column(&batches, index, markers)
            && let DataType::Timestamp(unit, None) = fields[index].data_type().clone()
        {
            fields[index] = fields[index]
                .clone()
                .with_data_type(DataType::Timestamp(unit, Some(zone.0.into())));
        }
    }
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `schema` (inferred from the NDJSON `head`) with its top-level utf8 columns turned into
/// zoned timestamps where every sampled value is a zoned date-time; the unit follows the
/// most fractional digits seen (s, ms, µs, ns).
pub(crate) fn zone_json(schema: &Schema, head: &[u8]) -> Schema {
    let candidates: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.data_type() == &DataType::Utf8)
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        return schema.clone();
    }
    let reader = arrow_json::ReaderBuilder::new(Arc::new(schema.clone()))
        .with_batch_size(8192)
        .build(Cursor::new(head));
    let Ok(reader) = reader else {
        return schema.clone();
    };
    let batches: Vec<RecordBatch> = reader.filter_map(Result::ok).collect();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let unit = |digits: usize| match digits {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    };
    for index in candidates {
        let data_type = if let Some((zone, digits)) = zone_of_column(&batches, index, &[]) {
            DataType::Timestamp(unit(digits), Some(zone.into()))
        } else if let Some(digits) = all_match(&batches, index, &NAIVE) {
            DataType::Timestamp(unit(digits), None)
        } else if all_match(&batches, index, &DATE).is_some() {
            DataType::Date32
        } else {
            continue;
        };
        fields[index] = fields[index].clone().with_data_type(data_type);
    }
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// When every non-null value of column `index` matches `regex` (at least one), the most
/// fractional digits (its first group) seen.
fn all_match(
    batches: &[RecordBatch],
    index: usize,
    regex: &LazyLock<Option<Regex>>,
) -> Option<usize> {
    let regex = regex.as_ref()?;
    let mut digits = 0;
    let mut seen = false;
    for batch in batches {
        let text = batch.column(index).as_any().downcast_ref::<StringArray>()?;
        for value in text.iter().flatten() {
            let captures = regex.captures(value.trim())?;
            digits = digits.max(captures.get(1).map_or(0, |m| m.as_str().len()));
            seen = true;
        }
    }
    seen.then_some(digits)
}

fn zone_of_column(
    batches: &[RecordBatch],
    index: usize,
    markers: &[String],
) -> Option<(String, usize)> {
    let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(index).as_ref()).collect();
    let all = arrow_select::concat::concat(&arrays).ok()?;
    let text = all.as_any().downcast_ref::<StringArray>()?;
    common_zone(text, markers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_of_values() {
        assert_eq!(zone_of("2026-01-01T10:00:00Z"), Some(("UTC".into(), 0)));
        assert_eq!(
            zone_of("2026-01-01 10:00:00.123+00:00"),
            Some(("UTC".into(), 3))
        );
        assert_eq!(
            zone_of("2026-01-01T10:00:00+02:00"),
            Some(("+02:00".into(), 0))
        );
        assert_eq!(zone_of("2026-01-01T10:00:00"), None);
        assert_eq!(zone_of("not a time Z"), None);
    }

    #[test]
    fn a_column_is_zoned_only_when_every_value_is() {
        let same = StringArray::from(vec![
            Some("2026-01-01T10:00:00+02:00"),
            None,
            Some("2026-06-01T10:00:00.5+02:00"),
        ]);
        assert_eq!(common_zone(&same, &[]), Some(("+02:00".into(), 1)));
        let mixed = StringArray::from(vec!["2026-01-01T10:00:00+02:00", "2026-01-01T10:00:00Z"]);
        assert_eq!(common_zone(&mixed, &[]), Some(("UTC".into(), 0)));
        let naive = StringArray::from(vec!["2026-01-01T10:00:00Z", "2026-01-01T10:00:00"]);
        assert_eq!(common_zone(&naive, &[]), None);
        let marked = StringArray::from(vec!["2026-01-01T10:00:00Z", "NA"]);
        assert_eq!(
            common_zone(&marked, &["NA".into()]),
            Some(("UTC".into(), 0))
        );
    }
}
