//! Generalisation and masking: coarser or partly hidden values of the same type.
//!
//! - dates and timestamps to the first instant of their month or year (timestamps with a
//!   zone — an IANA name or an offset — on the wall clock of that zone: the first of the
//!   month at 00:00 in Europe/Paris is 23:00 UTC the day before; timestamps without one as
//!   they are);
//! - numbers to the lower bound of their bucket of width `W` (`floor(x / W) * W`, so
//!   negative values go down: -5 with width 10 is -10);
//! - text to its first `N` characters (a postcode `SW1A 1AA` to `SW1`);
//! - masking: every character but the last `N` replaced by a mask character, keeping the
//!   length (`4111111111111111` to `************1111`). A value of `N` characters or fewer
//!   is masked entirely: keeping it would publish it in clear.
//!
//! Nulls stay null. Text is cut by characters (Unicode scalar values), never inside one.

use std::sync::Arc;

use arrow_array::builder::GenericStringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::as_datetime_with_timezone;
use arrow_array::timezone::Tz;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, OffsetSizeTrait, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::{Datelike, LocalResult, NaiveDate, TimeZone};

/// What a date or timestamp is cut to.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The first day of the month.
    Month,
    /// The first of January.
    Year,
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_FROM_CE: i64 = 719_163;

/// The first day of the period holding `days` since the epoch, in days since the epoch.
fn cut_days(days: i64, period: Period) -> Option<i64> {
    let date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(days + EPOCH_FROM_CE).ok()?)?;
    let first = match period {
        Period::Month => date.with_day(1)?,
        Period::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)?,
    };
    Some(i64::from(first.num_days_from_ce()) - EPOCH_FROM_CE)
}

/// A row whose generalised value cannot be represented: the row and why.
pub type Failure = (usize, String);

/// Cut every date or timestamp of `column` to the start of its `period`.
pub fn period(column: &ArrayRef, period: Period) -> Result<ArrayRef, Failure> {
    fn map<T: ArrowPrimitiveType>(
        column: &ArrayRef,
        f: impl Fn(T::Native) -> Option<T::Native>,
    ) -> Result<ArrayRef, Failure> {
        let a = column.as_primitive::<T>();
        let mut out = Vec::with_capacity(a.len());
        for (row, v) in a.values().iter().enumerate() {
            if a.is_null(row) {
                out.push(T::Native::default());
                continue;
            }
            out.push(
                f(*v).ok_or_else(|| (row, "the date is out of the supported range".to_owned()))?,
            );
        }
        Ok(Arc::new(
            PrimitiveArray::<T>::new(out.into(), a.nulls().cloned())
                .with_data_type(column.data_type().clone()),
        ))
    }
    let per_day = |unit: &TimeUnit| -> i64 {
        86_400
            * match unit {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            }
    };
    match column.data_type() {
        DataType::Date32 => map::<Date32Type>(column, |d| {
            cut_days(i64::from(d), period).and_then(|d| i32::try_from(d).ok())
        }),
        DataType::Date64 => map::<Date64Type>(column, |ms| {
            let day = 86_400_000;
            cut_days(ms.div_euclid(day), period)?.checked_mul(day)
        }),
        DataType::Timestamp(unit, Some(zone)) => {
            let tz: Tz = zone
                .parse()
                .map_err(|e| (0, format!("the column's time zone {zone}: {e}")))?;
            match unit {
                TimeUnit::Second => map::<TimestampSecondType>(column, |v| {
                    zoned::<TimestampSecondType>(v, tz, period)
                }),
                TimeUnit::Millisecond => map::<TimestampMillisecondType>(column, |v| {
                    zoned::<TimestampMillisecondType>(v, tz, period)
                }),
                TimeUnit::Microsecond => map::<TimestampMicrosecondType>(column, |v| {
                    zoned::<TimestampMicrosecondType>(v, tz, period)
                }),
                TimeUnit::Nanosecond => map::<TimestampNanosecondType>(column, |v| {
                    zoned::<TimestampNanosecondType>(v, tz, period)
                }),
            }
        }
        DataType::Timestamp(unit, None) => {
            let day = per_day(unit);
            let cut = |v: i64| cut_days(v.div_euclid(day), period)?.checked_mul(day);
            match unit {
                TimeUnit::Second => map::<TimestampSecondType>(column, cut),
                TimeUnit::Millisecond => map::<TimestampMillisecondType>(column, cut),
                TimeUnit::Microsecond => map::<TimestampMicrosecondType>(column, cut),
                TimeUnit::Nanosecond => map::<TimestampNanosecondType>(column, cut),
            }
        }
        t => Err((0, format!("cannot cut a {t} column to a period"))),
    }
}

/// The first instant of `period` holding `value` on the wall clock of `tz`. When that
/// local midnight does not exist (a DST gap at midnight), the first instant after the gap.
fn zoned<T: ArrowTimestampType>(value: i64, tz: Tz, period: Period) -> Option<i64> {
    let local = as_datetime_with_timezone::<T>(value, tz)?.naive_local();
    let date = local.date();
    let first = match period {
        Period::Month => date.with_day(1)?,
        Period::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)?,
    };
    let midnight = first.and_hms_opt(0, 0, 0)?;
    let start = match tz.from_local_datetime(&midnight) {
        LocalResult::Single(start) | LocalResult::Ambiguous(start, _) => start,
        LocalResult::None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()?,
    };
    T::from_naive_datetime(start.naive_utc(), None)
}

/// Every number of `column` to the lower bound of its bucket of width `width` (checked
/// positive at creation, and integral for integer columns).
pub fn bucket(column: &ArrayRef, width: f64) -> Result<ArrayRef, Failure> {
    fn floats<T: ArrowPrimitiveType>(
        column: &ArrayRef,
        f: impl Fn(T::Native) -> T::Native,
    ) -> ArrayRef {
        Arc::new(column.as_primitive::<T>().unary::<_, T>(f))
    }
    fn ints<T>(column: &ArrayRef, width: i128) -> Result<ArrayRef, Failure>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i128> + TryFrom<i128>,
    {
        let a = column.as_primitive::<T>();
        let mut out = Vec::with_capacity(a.len());
        for (row, v) in a.values().iter().enumerate() {
            if a.is_null(row) {
                out.push(T::Native::default());
                continue;
            }
            let x: i128 = (*v).into();
            let lower = x.div_euclid(width) * width;
            out.push(T::Native::try_from(lower).map_err(|_| {
                (
                    row,
                    format!(
                        "the bucket of {x} starts at {lower}, which does not fit in {}",
                        T::DATA_TYPE
                    ),
                )
            })?);
        }
        Ok(Arc::new(PrimitiveArray::<T>::new(
            out.into(),
            a.nulls().cloned(),
        )))
    }
    let w = width as i128;
    match column.data_type() {
        DataType::Float64 => Ok(floats::<Float64Type>(column, |v| {
            (v / width).floor() * width
        })),
        DataType::Float32 => {
            let width = width as f32;
            Ok(floats::<Float32Type>(column, |v| {
                (v / width).floor() * width
            }))
        }
        DataType::Int8 => ints::<Int8Type>(column, w),
        DataType::Int16 => ints::<Int16Type>(column, w),
        DataType::Int32 => ints::<Int32Type>(column, w),
        DataType::Int64 => ints::<Int64Type>(column, w),
        DataType::UInt8 => ints::<UInt8Type>(column, w),
        DataType::UInt16 => ints::<UInt16Type>(column, w),
        DataType::UInt32 => ints::<UInt32Type>(column, w),
        DataType::UInt64 => ints::<UInt64Type>(column, w),
        t => Err((0, format!("cannot bucket a {t} column"))),
    }
}

/// Apply `f` to every string of a utf8 or large-utf8 column (checked at creation).
fn strings(column: &ArrayRef, f: impl Fn(&str) -> String) -> ArrayRef {
    fn go<O: OffsetSizeTrait>(column: &ArrayRef, f: impl Fn(&str) -> String) -> ArrayRef {
        let a = column.as_string::<O>();
        let mut out = GenericStringBuilder::<O>::with_capacity(a.len(), a.value_data().len());
        for v in a.iter() {
            match v {
                Some(s) => out.append_value(f(s)),
                None => out.append_null(),
            }
        }
        Arc::new(out.finish())
    }
    match column.data_type() {
        DataType::LargeUtf8 => go::<i64>(column, f),
        _ => go::<i32>(column, f),
    }
}

/// The first `n` characters of every string.
pub fn prefix(column: &ArrayRef, n: usize) -> ArrayRef {
    strings(column, |s| s.chars().take(n).collect())
}

/// Every character but the last `keep_last` replaced by `mask`; strings of `keep_last`
/// characters or fewer entirely.
pub fn mask(column: &ArrayRef, keep_last: usize, mask: char) -> ArrayRef {
    strings(column, |s| {
        let len = s.chars().count();
        let hidden = if len <= keep_last {
            len
        } else {
            len - keep_last
        };
        s.chars()
            .enumerate()
            .map(|(i, c)| if i < hidden { mask } else { c })
            .collect()
    })
}
