//! A small deterministic fuzz: every kernel, called with random columns of random types
//! and lengths (sliced, with nulls and edge values: `MIN`, `MAX`, NaN, `-0.0`, far-away
//! timestamps, odd Unicode), random scalars and random tight budgets, must never panic and
//! must return well-formed arrays. Errors are fine.
//!
//! xorshift64* with a fixed seed, so a failure reproduces; no fuzzing dependency.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, LargeBinaryBuilder, LargeStringBuilder, StringBuilder,
};
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, BooleanArray, ListArray, NullArray, PrimitiveArray};
use arrow_schema::{DataType, Field, TimeUnit};

use crate::*;

/// xorshift64*: tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An integer biased toward the edges of `i64`.
    fn int(&mut self) -> i64 {
        match self.below(6) {
            0 => *self.pick(&[0, 1, -1, 2, 7, 100]),
            1 => *self.pick(&[i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1]),
            2 => *self.pick(&[i32::MIN as i64, i32::MAX as i64, 127, -128, 255, 65_535]),
            3 => self.next() as i64,
            _ => (self.next() % 2_000) as i64 - 1_000,
        }
    }

    fn float(&mut self) -> f64 {
        match self.below(5) {
            0 => *self.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0]),
            1 => *self.pick(&[f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1e300, -1e-300]),
            _ => self.int() as f64 / 8.0,
        }
    }

    fn text(&mut self) -> String {
        let pool = [
            "",
            "a",
            "abc",
            "  padded\t",
            "ß",
            "ΣΑΣ",
            "日本語",
            "2024-03-31",
            "12",
            "-7",
            "3.5",
            "true",
            "x\u{0}y",
            "İ",
            "\u{3000}",
            "NaN",
            "aaaaaaaaaaaaaaaaaaaa",
            "2024-03-31T02:30:00",
            "1e400",
        ];
        let mut s = self.pick(&pool).to_string();
        if self.chance(20) {
            let more = *self.pick(&pool);
            s.push_str(more);
        }
        s
    }
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Paris",
    "+02:00",
    "America/St_Johns",
    "Mars/Base",
];

fn random_type(rng: &mut Rng) -> DataType {
    let unit = *rng.pick(&[
        TimeUnit::Second,
        TimeUnit::Millisecond,
        TimeUnit::Microsecond,
        TimeUnit::Nanosecond,
    ]);
    let zone = if rng.chance(50) {
        // Arrays are built with known zones only: an unknown zone on a column is tested
        // by hand; here it would make most kernels refuse at once.
        Some(Arc::from(*rng.pick(&ZONES[..4])))
    } else {
        None
    };
    match rng.below(24) {
        0 => DataType::Null,
        1 => DataType::Boolean,
        2 => DataType::Int8,
        3 => DataType::Int16,
        4 => DataType::Int32,
        5 | 6 => DataType::Int64,
        7 => DataType::UInt8,
        8 => DataType::UInt16,
        9 => DataType::UInt32,
        10 => DataType::UInt64,
        11 => DataType::Float16,
        12 => DataType::Float32,
        13 => DataType::Float64,
        14 | 15 => DataType::Utf8,
        16 => DataType::LargeUtf8,
        17 => DataType::Binary,
        18 => DataType::LargeBinary,
        19 => DataType::Date32,
        20 => DataType::Date64,
        21 => DataType::Timestamp(unit, zone),
        22 => {
            let p = 1 + rng.below(38) as u8;
            DataType::Decimal128(p, rng.below(p as usize + 1) as i8)
        }
        _ => rng
            .pick(&[
                DataType::Time32(arrow_schema::TimeUnit::Second),
                DataType::Duration(arrow_schema::TimeUnit::Millisecond),
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
            ])
            .clone(),
    }
}

fn primitive<T: ArrowPrimitiveType>(
    rng: &mut Rng,
    len: usize,
    value: impl Fn(&mut Rng) -> T::Native,
) -> PrimitiveArray<T> {
    (0..len)
        .map(|_| (!rng.chance(20)).then(|| value(rng)))
        .collect()
}

fn random_array(rng: &mut Rng, dt: &DataType, len: usize) -> ArrayRef {
    let array: ArrayRef = match dt {
        DataType::Null => Arc::new(NullArray::new(len)),
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for _ in 0..len {
                b.append_option((!rng.chance(20)).then(|| rng.chance(50)));
            }
            Arc::new(b.finish())
        }
        DataType::Int8 => Arc::new(primitive::<Int8Type>(rng, len, |r| r.int() as i8)),
        DataType::Int16 => Arc::new(primitive::<Int16Type>(rng, len, |r| r.int() as i16)),
        DataType::Int32 => Arc::new(primitive::<Int32Type>(rng, len, |r| r.int() as i32)),
        DataType::Int64 => Arc::new(primitive::<Int64Type>(rng, len, |r| r.int())),
        DataType::UInt8 => Arc::new(primitive::<UInt8Type>(rng, len, |r| r.int() as u8)),
        DataType::UInt16 => Arc::new(primitive::<UInt16Type>(rng, len, |r| r.int() as u16)),
        DataType::UInt32 => Arc::new(primitive::<UInt32Type>(rng, len, |r| r.int() as u32)),
        DataType::UInt64 => Arc::new(primitive::<UInt64Type>(rng, len, |r| r.int() as u64)),
        DataType::Float16 => {
            let f: ArrayRef = Arc::new(primitive::<Float32Type>(rng, len, |r| r.float() as f32));
            arrow_cast::cast(&f, &DataType::Float16).expect("f32 to f16")
        }
        DataType::Float32 => Arc::new(primitive::<Float32Type>(rng, len, |r| r.float() as f32)),
        DataType::Float64 => Arc::new(primitive::<Float64Type>(rng, len, |r| r.float())),
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for _ in 0..len {
                b.append_option((!rng.chance(20)).then(|| rng.text()));
            }
            Arc::new(b.finish())
        }
        DataType::LargeUtf8 => {
            let mut b = LargeStringBuilder::new();
            for _ in 0..len {
                b.append_option((!rng.chance(20)).then(|| rng.text()));
            }
            Arc::new(b.finish())
        }
        DataType::Binary => {
            let mut b = BinaryBuilder::new();
            for _ in 0..len {
                b.append_option((!rng.chance(20)).then(|| rng.text().into_bytes()));
            }
            Arc::new(b.finish())
        }
        DataType::LargeBinary => {
            let mut b = LargeBinaryBuilder::new();
            for _ in 0..len {
                b.append_option((!rng.chance(20)).then(|| rng.text().into_bytes()));
            }
            Arc::new(b.finish())
        }
        DataType::Date32 => Arc::new(primitive::<Date32Type>(rng, len, |r| {
            if r.chance(10) {
                r.int() as i32
            } else {
                (r.next() % 40_000) as i32 - 10_000
            }
        })),
        DataType::Date64 => Arc::new(primitive::<Date64Type>(rng, len, |r| {
            if r.chance(10) {
                r.int()
            } else {
                (r.next() % 4_000_000_000_000) as i64
            }
        })),
        DataType::Timestamp(unit, zone) => {
            let value = |r: &mut Rng| {
                if r.chance(15) {
                    r.int()
                } else {
                    1_711_845_000 + (r.next() % 100_000) as i64
                }
            };
            let a: ArrayRef = match unit {
                TimeUnit::Second => Arc::new(
                    primitive::<TimestampSecondType>(rng, len, value)
                        .with_timezone_opt(zone.clone()),
                ),
                TimeUnit::Millisecond => Arc::new(
                    primitive::<TimestampMillisecondType>(rng, len, value)
                        .with_timezone_opt(zone.clone()),
                ),
                TimeUnit::Microsecond => Arc::new(
                    primitive::<TimestampMicrosecondType>(rng, len, value)
                        .with_timezone_opt(zone.clone()),
                ),
                TimeUnit::Nanosecond => Arc::new(
                    primitive::<TimestampNanosecondType>(rng, len, value)
                        .with_timezone_opt(zone.clone()),
                ),
            };
            a
        }
        DataType::Decimal128(p, s) => {
            let bound = 10i128.pow(*p as u32);
            let a = primitive::<Decimal128Type>(rng, len, |r| {
                let v = (r.next() as i128) << 40 | r.next() as i128;
                if r.chance(20) { bound - 1 } else { v % bound }
            });
            Arc::new(a.with_precision_and_scale(*p, *s).expect("valid decimal"))
        }
        DataType::Time32(_) => Arc::new(primitive::<Time32SecondType>(rng, len, |r| {
            (r.next() % 86_400) as i32
        })),
        DataType::Duration(_) => {
            Arc::new(primitive::<DurationMillisecondType>(rng, len, |r| r.int()))
        }
        _ => Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            (0..len).map(|_| {
                (!rng.chance(20)).then(|| {
                    (0..rng.below(4))
                        .map(|_| Some(rng.int() as i32))
                        .collect::<Vec<_>>()
                })
            }),
        )),
    };
    array
}

/// A random column of `len` rows of `dt`, often a slice of a longer one.
fn column(rng: &mut Rng, dt: &DataType, len: usize) -> ArrayRef {
    if rng.chance(50) {
        let before = rng.below(4);
        let after = rng.below(4);
        random_array(rng, dt, before + len + after).slice(before, len)
    } else {
        random_array(rng, dt, len)
    }
}

fn random_scalar(rng: &mut Rng) -> Scalar {
    let unit = *rng.pick(&[
        TimeUnit::Second,
        TimeUnit::Millisecond,
        TimeUnit::Nanosecond,
    ]);
    match rng.below(11) {
        0 => Scalar::Null,
        1 => Scalar::Boolean(rng.chance(50)),
        2 | 3 => Scalar::Int64(rng.int()),
        4 => Scalar::UInt64(rng.int() as u64),
        5 | 6 => Scalar::Float64(rng.float()),
        7 => Scalar::Utf8(rng.text()),
        8 => Scalar::Binary(rng.text().into_bytes()),
        9 => Scalar::Date32(rng.int() as i32),
        10 if rng.chance(50) => Scalar::Timestamp {
            value: rng.int(),
            unit,
            timezone: rng.chance(50).then(|| rng.pick(&ZONES).to_string()),
        },
        _ => Scalar::Decimal128 {
            value: rng.int() as i128,
            precision: rng.below(40) as u8,
            scale: rng.below(40) as i8 - 2,
        },
    }
}

fn operand<'a>(rng: &mut Rng, column: &'a ArrayRef) -> Operand<'a> {
    if rng.chance(40) {
        Operand::Scalar(random_scalar(rng))
    } else {
        Operand::Column(column)
    }
}

fn budget(rng: &mut Rng) -> Budget {
    if rng.chance(30) {
        Budget {
            max_output_bytes: rng.below(2_000),
            max_regex_bytes: rng.below(100_000),
        }
    } else {
        Budget::default()
    }
}

/// Successes and failures per kernel, so the fuzz can show it is not vacuous: every kernel
/// must succeed on some random input.
#[derive(Default)]
struct Tally(BTreeMap<&'static str, [u32; 2]>);

impl Tally {
    fn note<T>(&mut self, kernel: &'static str, result: &Result<T, KernelError>) {
        self.0.entry(kernel).or_default()[usize::from(result.is_err())] += 1;
    }
}

/// Checks an array result: well formed, and `rows` long when given.
fn well_formed(
    tally: &mut Tally,
    kernel: &'static str,
    result: &Result<ArrayRef, KernelError>,
    rows: Option<usize>,
) {
    tally.note(kernel, result);
    if let Ok(out) = result {
        if let Err(e) = out.to_data().validate_full() {
            panic!("{kernel} returned a malformed array: {e}");
        }
        if let Some(rows) = rows {
            assert_eq!(
                out.len(),
                rows,
                "{kernel} returned {} rows, not {rows}",
                out.len()
            );
        }
    }
}

fn mask_rows(
    tally: &mut Tally,
    kernel: &'static str,
    result: &Result<BooleanArray, KernelError>,
    rows: usize,
) {
    tally.note(kernel, result);
    if let Ok(out) = result {
        out.to_data().validate_full().expect("a well-formed mask");
        assert_eq!(
            out.len(),
            rows,
            "{kernel} returned {} rows, not {rows}",
            out.len()
        );
    }
}

/// Every kernel once on random arguments built from `rng`.
fn round_of_calls(rng: &mut Rng, t: &mut Tally) {
    let len = rng.below(12);
    let (ta, tb) = (random_type(rng), random_type(rng));
    let a = column(rng, &ta, len);
    // Usually the same length; sometimes not, to hit the length checks.
    let b_len = if rng.chance(90) { len } else { rng.below(12) };
    let b = column(rng, &tb, b_len);
    let same = column(rng, &ta, len);
    let string_type = rng.pick(&[DataType::Utf8, DataType::LargeUtf8]).clone();
    let strings = column(rng, &string_type, len);
    let mask_len = if rng.chance(90) { len } else { b_len };
    let mask = column(rng, &DataType::Boolean, mask_len);
    let mask = arrow_array::cast::AsArray::as_boolean(mask.as_ref()).clone();
    let bud = budget(rng);

    for op in [
        ArithOp::Add,
        ArithOp::Subtract,
        ArithOp::Multiply,
        ArithOp::Divide,
        ArithOp::Modulo,
        ArithOp::Power,
    ] {
        let checked = rng.chance(50);
        let r = arith(op, operand(rng, &a), operand(rng, &b), checked);
        well_formed(t, "arith", &r, None);
        let r = arith(op, Operand::Column(&a), Operand::Column(&same), checked);
        well_formed(t, "arith", &r, Some(len));
    }
    for op in [
        UnaryOp::Negate,
        UnaryOp::Abs,
        UnaryOp::Sqrt,
        UnaryOp::Exp,
        UnaryOp::Ln,
        UnaryOp::Log10,
        UnaryOp::Log2,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Sign,
    ] {
        well_formed(t, "unary", &unary(op, &a), Some(len));
    }
    let decimals = rng.below(90) as i32 - 45;
    well_formed(t, "round", &round(&a, decimals), Some(len));
    let (lo, hi) = (
        rng.chance(70).then(|| random_scalar(rng)),
        rng.chance(70).then(|| random_scalar(rng)),
    );
    well_formed(t, "clip", &clip(&a, lo, hi), Some(len));
    t.note("is_nan", &is_nan(&a));

    for op in [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ] {
        t.note("compare", &compare(op, operand(rng, &a), operand(rng, &b)));
        mask_rows(
            t,
            "compare",
            &compare(op, Operand::Column(&a), Operand::Column(&same)),
            len,
        );
    }
    for op in [LogicOp::And, LogicOp::Or, LogicOp::Xor, LogicOp::AndNot] {
        let m: ArrayRef = Arc::new(mask.clone());
        t.note("logic", &logic(op, operand(rng, &m), operand(rng, &a)));
        t.note("logic", &logic(op, operand(rng, &m), operand(rng, &m)));
    }
    t.note("not", &not(&a));

    t.note("is_null", &is_null(&a));
    t.note("is_not_null", &is_not_null(&a));
    well_formed(t, "fill_null", &fill_null(&a, operand(rng, &b), &bud), None);
    let parts = [operand(rng, &a), operand(rng, &b), operand(rng, &same)];
    well_formed(
        t,
        "coalesce",
        &coalesce(&parts[..1 + rng.below(3)], &bud),
        None,
    );

    let to = random_type(rng);
    well_formed(t, "cast", &cast(&a, &to, rng.chance(50), &bud), Some(len));

    well_formed(t, "filter", &filter(&a, &mask), None);
    let index_type = rng
        .pick(&[DataType::UInt32, DataType::UInt64, DataType::Int32])
        .clone();
    let index_len = rng.below(10);
    // Mostly in range (so `take` runs), sometimes not (so its check does).
    let indices: ArrayRef = match index_type {
        DataType::UInt32 => Arc::new(primitive::<UInt32Type>(rng, index_len, |r| {
            if r.chance(90) {
                r.below(len + 1) as u32
            } else {
                r.int() as u32
            }
        })),
        DataType::UInt64 => Arc::new(primitive::<UInt64Type>(rng, index_len, |r| {
            if r.chance(90) {
                r.below(len + 1) as u64
            } else {
                r.int() as u64
            }
        })),
        _ => column(rng, &index_type, index_len),
    };
    well_formed(t, "take", &take(&a, &indices, &bud), Some(indices.len()));
    let (offset, n) = (rng.int() as u64 % 16, rng.int() as u64 % 16);
    well_formed(t, "slice", &slice(&a, offset, n), None);
    t.note(
        "slice",
        &slice(&a, u64::MAX - rng.below(3) as u64, rng.next()),
    );
    t.note("is_in", &is_in(&a, &b));

    for op in [
        StrOp::Length,
        StrOp::Lower,
        StrOp::Upper,
        StrOp::Trim,
        StrOp::TrimStart,
        StrOp::TrimEnd,
    ] {
        well_formed(t, "str_unary", &str_unary(op, &strings, &bud), Some(len));
        t.note("str_unary", &str_unary(op, &a, &bud));
    }
    let pattern = rng.text();
    t.note("contains", &contains(&strings, &pattern));
    t.note("starts_with", &starts_with(&a, &pattern));
    t.note("ends_with", &ends_with(&strings, &pattern));
    let regexes = [
        "a+",
        "(",
        r"\d+",
        "^$",
        r"\w{20}",
        "(?i)ß",
        "",
        r"(\p{L}+)-(\d)",
        "[z-a]",
    ];
    let re = rng.pick(&regexes);
    t.note("regex_match", &regex_match(&strings, re, &bud));
    let replacement = rng.pick(&["", "$1", "$$", "${x}", "long replacement"]);
    well_formed(
        t,
        "regex_replace",
        &regex_replace(&strings, re, replacement, rng.chance(50), &bud),
        Some(len),
    );
    let start = match rng.below(3) {
        0 => rng.int(),
        _ => rng.below(10) as i64 - 5,
    };
    let length = rng.chance(70).then(|| rng.int() as u64 % 8);
    well_formed(
        t,
        "substring",
        &substring(&strings, start, length),
        Some(len),
    );
    t.note("substring", &substring(&a, start, length));
    let parts = [
        operand(rng, &strings),
        operand(rng, &a),
        operand(rng, &strings),
    ];
    let separator = *rng.pick(&["", "-", "ß"]);
    well_formed(
        t,
        "concat",
        &concat(&parts[..1 + rng.below(3)], separator, &bud),
        None,
    );

    for part in [
        DatePart::Year,
        DatePart::Quarter,
        DatePart::Month,
        DatePart::Day,
        DatePart::DayOfWeek,
        DatePart::DayOfYear,
        DatePart::Hour,
        DatePart::Minute,
        DatePart::Second,
        DatePart::Millisecond,
        DatePart::Microsecond,
        DatePart::Nanosecond,
        DatePart::Week,
    ] {
        let zone = rng.chance(30).then(|| *rng.pick(&ZONES));
        let r = date_part(part, &a, zone);
        t.note("date_part", &r);
        if let Ok(out) = r {
            assert_eq!(out.len(), len);
        }
    }

    for encoding in [Encoding::Hex, Encoding::Base64Url, Encoding::Raw] {
        well_formed(t, "sha256", &sha256(&a, encoding), Some(len));
        let key = rng.text().into_bytes();
        well_formed(
            t,
            "hmac_sha256",
            &hmac_sha256(&strings, &key, encoding),
            Some(len),
        );
    }

    for op in [
        AggOp::Count,
        AggOp::CountAll,
        AggOp::NullCount,
        AggOp::Sum,
        AggOp::Min,
        AggOp::Max,
        AggOp::Mean,
        AggOp::Stddev,
        AggOp::Variance,
        AggOp::DistinctCount,
    ] {
        t.note("aggregate", &aggregate(op, &a));
    }
}

#[test]
fn no_kernel_panics_on_random_input() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut tally = Tally::default();
    for round in 0..1_500 {
        let seed = rng.0;
        let outcome = catch_unwind(AssertUnwindSafe(|| round_of_calls(&mut rng, &mut tally)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("round {round} (rng state {seed:#x}) panicked: {message}");
        }
    }
    // No printing (the tidy test holds library sources to that): the tally shows up only
    // in the message of a kernel the fuzz never got to succeed.
    let never: Vec<_> = tally.0.iter().filter(|(_, [ok, _])| *ok == 0).collect();
    assert!(
        never.is_empty(),
        "kernels that never succeeded, so the fuzz does not reach them: {never:?}"
    );
}
