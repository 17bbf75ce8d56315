//! Deterministic sample columns of every type contract 0.2 carries, at any row count, with
//! nulls at every nesting level: shared by the tree tests and the host's all-types round trip
//! (`tests/all`), behind the `samples` feature.

use std::sync::Arc;

use arrow_array::types::*;
use arrow_array::*;
use arrow_buffer::{
    ArrowNativeType, Buffer, IntervalDayTime, IntervalMonthDayNano, NullBuffer, OffsetBuffer,
    ScalarBuffer, i256,
};
use arrow_schema::{DataType, Field, Fields};

/// Whether row `i` of a leaf column is valid: one row in seven is null.
fn ok(i: usize) -> bool {
    i % 7 != 3
}

/// One row in `every` null, at a phase that differs from the leaves' so that nulls of
/// parents and children do not line up.
fn nulls(n: usize, every: usize) -> Option<NullBuffer> {
    Some(NullBuffer::from_iter((0..n).map(|i| i % every != 1)))
}

fn prim<T: ArrowPrimitiveType>(n: usize, f: impl Fn(usize) -> T::Native) -> PrimitiveArray<T> {
    (0..n).map(|i| ok(i).then(|| f(i))).collect()
}

/// An int32 column of `n` rows.
pub fn int32s(n: usize) -> ArrayRef {
    Arc::new(prim::<Int32Type>(n, |i| i as i32 * 3 - 7))
}
/// An int64 column of `n` rows.
pub fn int64s(n: usize) -> ArrayRef {
    Arc::new(prim::<Int64Type>(n, |i| (i as i64) << 33 | 5))
}
fn int16s(n: usize) -> ArrayRef {
    Arc::new(prim::<Int16Type>(n, |i| i as i16))
}
fn f32s(n: usize) -> ArrayRef {
    Arc::new(prim::<Float32Type>(n, |i| i as f32 / 4.0))
}
fn f64s(n: usize) -> ArrayRef {
    Arc::new(prim::<Float64Type>(n, |i| i as f64 * 1.5 - 3.0))
}
fn bools(n: usize) -> ArrayRef {
    Arc::new(
        (0..n)
            .map(|i| ok(i).then_some(i % 3 == 0))
            .collect::<BooleanArray>(),
    )
}
fn date32s(n: usize) -> ArrayRef {
    Arc::new(prim::<Date32Type>(n, |i| i as i32 - 100))
}
/// A utf8 column of `n` rows (with non-ASCII text).
pub fn utf8s(n: usize) -> ArrayRef {
    Arc::new(
        (0..n)
            .map(|i| ok(i).then(|| format!("s{i}{}", "é".repeat(i % 3))))
            .collect::<StringArray>(),
    )
}
/// Keys of a map: never null, as arrow requires.
fn keys(n: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| format!("k{i}")),
    ))
}

fn field(name: &str, a: &ArrayRef, nullable: bool) -> Arc<Field> {
    Arc::new(Field::new(name, a.data_type().clone(), nullable))
}

/// Row `i` holds `i % 4` items; null rows are the fifth ones, some of them non-empty.
pub fn list_of(n: usize, large: bool, item: Make) -> ArrayRef {
    let lengths: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let values = item(lengths.iter().sum());
    let f = field("item", &values, true);
    let nulls = nulls(n, 5);
    if large {
        let offsets = OffsetBuffer::<i64>::from_lengths(lengths);
        Arc::new(LargeListArray::new(f, offsets, values, nulls))
    } else {
        let offsets = OffsetBuffer::<i32>::from_lengths(lengths);
        Arc::new(ListArray::new(f, offsets, values, nulls))
    }
}

/// A fixed-size list column of `n` rows of `size` items made by `item`.
pub fn fixed_list_of(n: usize, size: i32, item: Make) -> ArrayRef {
    let values = item(n * size as usize);
    let f = field("item", &values, true);
    Arc::new(FixedSizeListArray::new(f, size, values, nulls(n, 6)))
}

/// A column generator: the column at so many rows.
pub type Make = fn(usize) -> ArrayRef;

/// A struct column of `n` rows with the given children.
pub fn struct_of(n: usize, children: &[(&str, Make)]) -> ArrayRef {
    let arrays: Vec<ArrayRef> = children.iter().map(|(_, c)| c(n)).collect();
    let fields: Fields = children
        .iter()
        .zip(&arrays)
        .map(|((name, _), a)| field(name, a, true))
        .collect();
    Arc::new(StructArray::new(fields, arrays, nulls(n, 4)))
}

/// Row `i` holds `i % 3` entries with utf8 keys; values and rows have nulls.
pub fn map_of(n: usize, value: Make) -> ArrayRef {
    let lengths: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let total = lengths.iter().sum();
    let (k, v) = (keys(total), value(total));
    let entries = StructArray::new(
        Fields::from(vec![field("key", &k, false), field("value", &v, true)]),
        vec![k, v],
        None,
    );
    let f = Arc::new(Field::new("entries", entries.data_type().clone(), false));
    let offsets = OffsetBuffer::<i32>::from_lengths(lengths);
    Arc::new(MapArray::new(f, offsets, entries, nulls(n, 5), false))
}

/// Keys (with nulls) into `values` of 7 rows, some never used, one of them null.
fn dictionary_of<K: ArrowDictionaryKeyType>(n: usize, values: ArrayRef) -> ArrayRef
where
    K::Native: TryFrom<usize>,
{
    let keys: PrimitiveArray<K> = (0..n)
        .map(|i| {
            ok(i).then(|| {
                K::Native::try_from((i * 5) % 6)
                    .ok()
                    .expect("small keys fit every key type")
            })
        })
        .collect();
    Arc::new(DictionaryArray::<K>::try_new(keys, values).expect("keys within the values"))
}

fn dictionary_values() -> ArrayRef {
    Arc::new(StringArray::from(vec![
        Some("red"),
        None,
        Some("green"),
        Some(""),
        Some("blue"),
        Some("never used"),
        Some("also never used"),
    ]))
}

/// A struct whose non-nullable child holds nulls only under the struct's own nulls, which
/// arrow allows.
fn struct_with_required_child(n: usize) -> ArrayRef {
    let parent = nulls(n, 4);
    let child: Int32Array = (0..n)
        .map(|i| {
            parent
                .as_ref()
                .is_none_or(|p| p.is_valid(i))
                .then_some(i as i32)
        })
        .collect();
    let fields = Fields::from(vec![Field::new("required", DataType::Int32, false)]);
    Arc::new(StructArray::new(fields, vec![Arc::new(child)], parent))
}

/// Every carried type at `n` rows, with nulls, labelled.
pub fn columns(n: usize) -> Vec<(&'static str, ArrayRef)> {
    let float16 = Float16Array::new(
        from_u16((0..n).map(|i| (i as u16) << 4).collect()),
        nulls(n, 7),
    );
    let fixed_binary = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
        (0..n).map(|i| ok(i).then_some([i as u8, 0xff, (i >> 8) as u8])),
        3,
    )
    .expect("3-byte values");
    let mut all: Vec<(&'static str, ArrayRef)> = vec![
        ("null", Arc::new(NullArray::new(n))),
        ("boolean", bools(n)),
        ("int8", Arc::new(prim::<Int8Type>(n, |i| i as i8))),
        ("int16", int16s(n)),
        ("int32", int32s(n)),
        ("int64", int64s(n)),
        ("uint8", Arc::new(prim::<UInt8Type>(n, |i| i as u8))),
        ("uint16", Arc::new(prim::<UInt16Type>(n, |i| i as u16))),
        ("uint32", Arc::new(prim::<UInt32Type>(n, |i| i as u32 * 7))),
        (
            "uint64",
            Arc::new(prim::<UInt64Type>(n, |i| u64::MAX - i as u64)),
        ),
        ("float16", Arc::new(float16)),
        ("float32", f32s(n)),
        ("float64", f64s(n)),
        ("utf8", utf8s(n)),
        (
            "large_utf8",
            Arc::new(
                (0..n)
                    .map(|i| ok(i).then(|| format!("L{i}")))
                    .collect::<LargeStringArray>(),
            ),
        ),
        (
            "binary",
            Arc::new(
                (0..n)
                    .map(|i| ok(i).then(|| vec![0u8, i as u8, 0xff][..i % 4].to_vec()))
                    .collect::<BinaryArray>(),
            ),
        ),
        (
            "large_binary",
            Arc::new(
                (0..n)
                    .map(|i| ok(i).then(|| vec![i as u8; i % 5]))
                    .collect::<LargeBinaryArray>(),
            ),
        ),
        ("fixed_size_binary", Arc::new(fixed_binary)),
        ("date32", date32s(n)),
        (
            "date64",
            Arc::new(prim::<Date64Type>(n, |i| i as i64 * 86_400_000)),
        ),
        (
            "timestamp_s",
            Arc::new(prim::<TimestampSecondType>(n, |i| i as i64)),
        ),
        (
            "timestamp_ms_utc",
            Arc::new(prim::<TimestampMillisecondType>(n, |i| i as i64).with_timezone("UTC")),
        ),
        (
            "timestamp_us_paris",
            Arc::new(
                prim::<TimestampMicrosecondType>(n, |i| i as i64 * 1_000_000)
                    .with_timezone("Europe/Paris"),
            ),
        ),
        (
            "timestamp_ns_offset",
            Arc::new(prim::<TimestampNanosecondType>(n, |i| -(i as i64)).with_timezone("+02:00")),
        ),
        (
            "time32_s",
            Arc::new(prim::<Time32SecondType>(n, |i| (i % 86_400) as i32)),
        ),
        (
            "time32_ms",
            Arc::new(prim::<Time32MillisecondType>(n, |i| i as i32)),
        ),
        (
            "time64_us",
            Arc::new(prim::<Time64MicrosecondType>(n, |i| i as i64)),
        ),
        (
            "time64_ns",
            Arc::new(prim::<Time64NanosecondType>(n, |i| i as i64)),
        ),
        (
            "duration_s",
            Arc::new(prim::<DurationSecondType>(n, |i| i as i64)),
        ),
        (
            "duration_ms",
            Arc::new(prim::<DurationMillisecondType>(n, |i| -(i as i64))),
        ),
        (
            "duration_us",
            Arc::new(prim::<DurationMicrosecondType>(n, |i| i as i64)),
        ),
        (
            "duration_ns",
            Arc::new(prim::<DurationNanosecondType>(n, |i| i as i64)),
        ),
        (
            "interval_ym",
            Arc::new(prim::<IntervalYearMonthType>(n, |i| i as i32 - 5)),
        ),
        (
            "interval_dt",
            Arc::new(prim::<IntervalDayTimeType>(n, |i| {
                IntervalDayTime::new(i as i32, -(i as i32))
            })),
        ),
        (
            "interval_mdn",
            Arc::new(prim::<IntervalMonthDayNanoType>(n, |i| {
                IntervalMonthDayNano::new(i as i32, 2, i as i64 * 1000)
            })),
        ),
        (
            "decimal32",
            Arc::new(
                prim::<Decimal32Type>(n, |i| i as i32 - 50)
                    .with_precision_and_scale(9, 2)
                    .expect("valid"),
            ),
        ),
        (
            "decimal64",
            Arc::new(
                prim::<Decimal64Type>(n, |i| i as i64 * 1001)
                    .with_precision_and_scale(18, -3)
                    .expect("valid"),
            ),
        ),
        (
            "decimal128",
            Arc::new(
                prim::<Decimal128Type>(n, |i| i as i128 * 10_000_000_000_000_000_000)
                    .with_precision_and_scale(38, 4)
                    .expect("valid"),
            ),
        ),
        (
            "decimal256",
            Arc::new(
                prim::<Decimal256Type>(n, |i| {
                    i256::from_i128(i as i128) * i256::from_i128(-i128::MAX)
                })
                .with_precision_and_scale(76, 10)
                .expect("valid"),
            ),
        ),
        // One level of nesting.
        ("list_int32", list_of(n, false, int32s)),
        ("large_list_utf8", list_of(n, true, utf8s)),
        ("fixed_size_list_float32_4", fixed_list_of(n, 4, f32s)),
        (
            "struct_a_int64_b_utf8",
            struct_of(n, &[("a", int64s), ("b", utf8s)]),
        ),
        ("struct_required_child", struct_with_required_child(n)),
        (
            "struct_no_fields",
            Arc::new(StructArray::new_empty_fields(n, nulls(n, 3))),
        ),
        ("map_utf8_float64", map_of(n, f64s)),
        (
            "dictionary_int32_utf8",
            dictionary_of::<Int32Type>(n, dictionary_values()),
        ),
        (
            "dictionary_uint8_utf8",
            dictionary_of::<UInt8Type>(n, dictionary_values()),
        ),
        (
            "dictionary_int64_int16",
            dictionary_of::<Int64Type>(n, int16s(7)),
        ),
        (
            "dictionary_uint64_date32",
            dictionary_of::<UInt64Type>(n, date32s(7)),
        ),
        // Two levels.
        (
            "list_struct_a_int64_b_list_utf8",
            list_of(n, false, |n| {
                struct_of(n, &[("a", int64s), ("b", |n| list_of(n, false, utf8s))])
            }),
        ),
        (
            "struct_m_map_e_fixed_size_list",
            struct_of(
                n,
                &[
                    ("m", |n| map_of(n, f64s)),
                    ("e", |n| fixed_list_of(n, 4, f32s)),
                ],
            ),
        ),
        (
            "struct_d_dictionary",
            struct_of(
                n,
                &[
                    ("d", |n| dictionary_of::<Int32Type>(n, dictionary_values())),
                    ("b", bools),
                ],
            ),
        ),
        (
            "large_list_fixed_size_list_int16",
            list_of(n, true, |n| fixed_list_of(n, 2, int16s)),
        ),
        (
            "map_utf8_list_int32",
            map_of(n, |n| list_of(n, false, int32s)),
        ),
        (
            "fixed_size_list_struct",
            fixed_list_of(n, 2, |n| struct_of(n, &[("x", bools), ("y", date32s)])),
        ),
        (
            "list_dictionary",
            list_of(n, false, |n| {
                dictionary_of::<Int16Type>(n, dictionary_values())
            }),
        ),
        (
            "dictionary_of_lists",
            dictionary_of::<Int32Type>(n, list_of(7, false, utf8s)),
        ),
    ];
    // A column whose nested parts are themselves slices at odd offsets, as a kernel's output
    // can be: list offsets starting at 3 into a struct sliced at 5.
    let values = struct_of(n + 11, &[("a", int64s), ("b", utf8s)]).slice(5, n + 6);
    let mut offsets = vec![3i32];
    for i in 0..n {
        offsets.push(offsets[i] + (i % 2) as i32);
    }
    all.push((
        "list_offsets_from_3_of_sliced_struct",
        Arc::new(ListArray::new(
            field("item", &values, true),
            OffsetBuffer::new(offsets.into()),
            values,
            nulls(n, 3),
        )),
    ));
    all
}

/// A buffer of raw 16-bit values as a buffer of `T`, for the one native type the tests
/// cannot name (`f16`, from the `half` crate).
fn from_u16<T: ArrowNativeType>(raw: Vec<u16>) -> ScalarBuffer<T> {
    let len = raw.len();
    ScalarBuffer::new(Buffer::from_vec(raw), 0, len)
}
