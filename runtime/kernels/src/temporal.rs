//! `date_part`: calendar and clock fields of dates and timestamps (`.dt.year`, `.dt.hour`),
//! on arrow-arith's `temporal::date_part`, in a time zone.
//!
//! A zoned timestamp is an instant; its fields are read on the wall clock of its own zone
//! (IANA names follow daylight saving through chrono-tz, fixed offsets do not) unless the
//! call names another zone. A timestamp without a zone is a wall-clock time: its fields are
//! read as stored, and a zone named by the call treats it as UTC and reads it there.

use std::sync::Arc;

use arrow_arith::temporal::{self, DatePart as ArrowPart};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int32Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{ArrayRef, Int32Array};
use arrow_schema::{DataType, TimeUnit};

use crate::KernelError;
use crate::error::arrow_invalid;
use crate::scalar::parse_timezone;

/// A field of a date or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatePart {
    /// Calendar year (`.dt.year`).
    Year,
    /// 1..=4 (`.dt.quarter`).
    Quarter,
    /// 1..=12 (`.dt.month`).
    Month,
    /// Day of the month, 1..=31 (`.dt.day`).
    Day,
    /// 0..=6 with Monday = 0, as pandas' `.dt.dayofweek`.
    DayOfWeek,
    /// 1..=366 (`.dt.dayofyear`).
    DayOfYear,
    /// 0..=23 (`.dt.hour`).
    Hour,
    /// 0..=59 (`.dt.minute`).
    Minute,
    /// 0..=59 (`.dt.second`).
    Second,
    /// Millisecond of the second, 0..=999.
    Millisecond,
    /// Microsecond of the second, 0..=999_999 (`.dt.microsecond`).
    Microsecond,
    /// Nanosecond of the second, 0..=999_999_999 (arrow's; pandas' `.dt.nanosecond` is of
    /// the microsecond, 0..=999).
    Nanosecond,
    /// ISO 8601 week of the year, 1..=53 (`.dt.isocalendar().week`).
    Week,
}

impl DatePart {
    fn arrow(self) -> ArrowPart {
        match self {
            DatePart::Year => ArrowPart::Year,
            DatePart::Quarter => ArrowPart::Quarter,
            DatePart::Month => ArrowPart::Month,
            DatePart::Day => ArrowPart::Day,
            DatePart::DayOfWeek => ArrowPart::DayOfWeekMonday0,
            DatePart::DayOfYear => ArrowPart::DayOfYear,
            DatePart::Hour => ArrowPart::Hour,
            DatePart::Minute => ArrowPart::Minute,
            DatePart::Second => ArrowPart::Second,
            DatePart::Millisecond => ArrowPart::Millisecond,
            DatePart::Microsecond => ArrowPart::Microsecond,
            DatePart::Nanosecond => ArrowPart::Nanosecond,
            DatePart::Week => ArrowPart::WeekISO,
        }
    }
}

/// A timestamp column retyped to `zone` (the same instants, read on another clock).
fn in_zone(a: &ArrayRef, unit: TimeUnit, zone: &str) -> ArrayRef {
    match unit {
        TimeUnit::Second => Arc::new(
            a.as_primitive::<TimestampSecondType>()
                .clone()
                .with_timezone(zone),
        ),
        TimeUnit::Millisecond => Arc::new(
            a.as_primitive::<TimestampMillisecondType>()
                .clone()
                .with_timezone(zone),
        ),
        TimeUnit::Microsecond => Arc::new(
            a.as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone(zone),
        ),
        TimeUnit::Nanosecond => Arc::new(
            a.as_primitive::<TimestampNanosecondType>()
                .clone()
                .with_timezone(zone),
        ),
    }
}

/// `part` of every date or timestamp of `a` (`df.ts.dt.hour`), read in `timezone` if given,
/// else in the column's own zone. Dates have no zone (a `timezone` is checked and ignored).
/// Times of day (`Time32`/`Time64`) give their clock fields. Nulls stay null, and so does a
/// timestamp outside chrono's calendar (±262,000 years).
///
/// # Errors
/// [`KernelError::Invalid`] for a column that is not a date, timestamp or time, a part the
/// type has not (the year of a time of day), or an unknown time zone (the argument's or the
/// column's).
pub fn date_part(
    part: DatePart,
    a: &ArrayRef,
    timezone: Option<&str>,
) -> Result<Int32Array, KernelError> {
    let kernel = format!("date_part({part:?})");
    let kernel = kernel.as_str();
    if let Some(zone) = timezone {
        parse_timezone(kernel, zone)?;
    }
    let a = match a.data_type() {
        DataType::Timestamp(unit, own) => {
            if let Some(own) = own {
                parse_timezone(kernel, own)?;
            }
            match timezone {
                Some(zone) => in_zone(a, *unit, zone),
                None => Arc::clone(a),
            }
        }
        DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            Arc::clone(a)
        }
        other => {
            return Err(KernelError::invalid(
                kernel,
                format!("takes dates, timestamps and times, not {other}"),
            ));
        }
    };
    let out =
        temporal::date_part(a.as_ref(), part.arrow()).map_err(|e| arrow_invalid(kernel, e))?;
    Ok(out.as_primitive::<Int32Type>().clone())
}
