//! `date_part`: every part of a date, pandas' day of week, every timestamp unit, and the
//! wall clock across the Paris spring-forward.

use arrow_array::{
    Date32Array, Date64Array, Int32Array, StringArray, Time32SecondArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};

use super::{check, col, contains_all, invalid};
use crate::{DatePart, date_part};

/// 2024-03-31, a Sunday, day 91 of a leap year, in ISO week 13.
const EASTER_2024: i32 = 19813;

#[test]
fn every_part_of_a_date() {
    let a = col(Date32Array::from(vec![Some(EASTER_2024), None]));
    let part = |p| date_part(p, &a, None).unwrap();
    check(
        &part(DatePart::Year),
        &Int32Array::from(vec![Some(2024), None]),
    );
    check(
        &part(DatePart::Quarter),
        &Int32Array::from(vec![Some(1), None]),
    );
    check(
        &part(DatePart::Month),
        &Int32Array::from(vec![Some(3), None]),
    );
    check(
        &part(DatePart::Day),
        &Int32Array::from(vec![Some(31), None]),
    );
    check(
        &part(DatePart::DayOfWeek),
        &Int32Array::from(vec![Some(6), None]),
    );
    check(
        &part(DatePart::DayOfYear),
        &Int32Array::from(vec![Some(91), None]),
    );
    check(
        &part(DatePart::Week),
        &Int32Array::from(vec![Some(13), None]),
    );
    check(
        &part(DatePart::Hour),
        &Int32Array::from(vec![Some(0), None]),
    );
}

#[test]
fn day_of_week_is_monday_zero_like_pandas() {
    // 2024-03-25 (Monday) .. 2024-03-31 (Sunday).
    let week = col(Date32Array::from(
        (EASTER_2024 - 6..=EASTER_2024).collect::<Vec<_>>(),
    ));
    check(
        &date_part(DatePart::DayOfWeek, &week, None).unwrap(),
        &Int32Array::from(vec![0, 1, 2, 3, 4, 5, 6]),
    );
    // ISO weeks: 2021-01-01 (a Friday) is in week 53 of 2020.
    let new_year = col(Date64Array::from(vec![1_609_459_200_000]));
    check(
        &date_part(DatePart::Week, &new_year, None).unwrap(),
        &Int32Array::from(vec![53]),
    );
}

/// Seconds since the epoch of 2024-03-31 at 00:30 and 01:30 UTC: either side of the Paris
/// change from CET (+01:00) to CEST (+02:00) at 01:00 UTC.
const BEFORE_DST: i64 = 1_711_845_000;
const AFTER_DST: i64 = 1_711_848_600;

#[test]
fn the_paris_spring_forward() {
    let paris = col(
        TimestampSecondArray::from(vec![Some(BEFORE_DST), Some(AFTER_DST), None])
            .with_timezone("Europe/Paris"),
    );
    // 01:30 CET, then 03:30 CEST: the wall clock skips 02:xx.
    check(
        &date_part(DatePart::Hour, &paris, None).unwrap(),
        &Int32Array::from(vec![Some(1), Some(3), None]),
    );
    check(
        &date_part(DatePart::Minute, &paris, None).unwrap(),
        &Int32Array::from(vec![Some(30), Some(30), None]),
    );
    // The same instants stored as UTC, read in Paris by the call's zone.
    let utc = col(TimestampSecondArray::from(vec![BEFORE_DST, AFTER_DST]).with_timezone("UTC"));
    check(
        &date_part(DatePart::Hour, &utc, None).unwrap(),
        &Int32Array::from(vec![0, 1]),
    );
    check(
        &date_part(DatePart::Hour, &utc, Some("Europe/Paris")).unwrap(),
        &Int32Array::from(vec![1, 3]),
    );
    // A fixed offset has no daylight saving.
    check(
        &date_part(DatePart::Hour, &utc, Some("+02:00")).unwrap(),
        &Int32Array::from(vec![2, 3]),
    );
    // A wall-clock timestamp is read as stored, or as UTC when a zone is named.
    let naive = col(TimestampSecondArray::from(vec![BEFORE_DST, AFTER_DST]));
    check(
        &date_part(DatePart::Hour, &naive, None).unwrap(),
        &Int32Array::from(vec![0, 1]),
    );
    check(
        &date_part(DatePart::Hour, &naive, Some("Europe/Paris")).unwrap(),
        &Int32Array::from(vec![1, 3]),
    );
}

#[test]
fn every_unit_and_sub_second_parts() {
    let s = BEFORE_DST;
    let ns = s * 1_000_000_000 + 123_456_789;
    let all = [
        col(TimestampSecondArray::from(vec![s]).with_timezone("Europe/Paris")),
        col(TimestampMillisecondArray::from(vec![ns / 1_000_000]).with_timezone("Europe/Paris")),
        col(TimestampMicrosecondArray::from(vec![ns / 1_000]).with_timezone("Europe/Paris")),
        col(TimestampNanosecondArray::from(vec![ns]).with_timezone("Europe/Paris")),
    ];
    for a in &all {
        check(
            &date_part(DatePart::Hour, a, None).unwrap(),
            &Int32Array::from(vec![1]),
        );
        check(
            &date_part(DatePart::Day, a, None).unwrap(),
            &Int32Array::from(vec![31]),
        );
    }
    let nanos = &all[3];
    check(
        &date_part(DatePart::Millisecond, nanos, None).unwrap(),
        &Int32Array::from(vec![123]),
    );
    check(
        &date_part(DatePart::Microsecond, nanos, None).unwrap(),
        &Int32Array::from(vec![123_456]),
    );
    check(
        &date_part(DatePart::Nanosecond, nanos, None).unwrap(),
        &Int32Array::from(vec![123_456_789]),
    );
    check(
        &date_part(DatePart::Second, &all[2], None).unwrap(),
        &Int32Array::from(vec![0]),
    );
}

#[test]
fn sliced_empty_and_time_of_day() {
    let a = col(Date32Array::from(vec![0, EASTER_2024])).slice(1, 1);
    check(
        &date_part(DatePart::Year, &a, None).unwrap(),
        &Int32Array::from(vec![2024]),
    );
    let empty = col(Date32Array::from(Vec::<i32>::new()));
    check(
        &date_part(DatePart::Year, &empty, None).unwrap(),
        &Int32Array::from(Vec::<i32>::new()),
    );
    let t = col(Time32SecondArray::from(vec![3_723]));
    check(
        &date_part(DatePart::Minute, &t, None).unwrap(),
        &Int32Array::from(vec![2]),
    );
    contains_all(
        &invalid(date_part(DatePart::Year, &t, None)),
        &["date_part(Year)"],
    );
}

#[test]
fn unknown_zones_and_wrong_types_are_invalid() {
    let a = col(TimestampSecondArray::from(vec![0]));
    contains_all(
        &invalid(date_part(DatePart::Hour, &a, Some("Europe/Atlantis"))),
        &["date_part(Hour)", "unknown time zone \"Europe/Atlantis\""],
    );
    let bad = col(TimestampSecondArray::from(vec![0]).with_timezone("Nowhere/Town"));
    contains_all(
        &invalid(date_part(DatePart::Hour, &bad, None)),
        &["unknown time zone \"Nowhere/Town\""],
    );
    let dates = col(Date32Array::from(vec![0]));
    invalid(date_part(DatePart::Day, &dates, Some("Europe/Atlantis")));
    let text = col(StringArray::from(vec!["2024-01-01"]));
    contains_all(
        &invalid(date_part(DatePart::Day, &text, None)),
        &["dates, timestamps and times", "Utf8"],
    );
}
