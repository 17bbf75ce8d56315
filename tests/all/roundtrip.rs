//! Every supported type, with nulls, at 0, 1, 1000 and 70000 rows, through `passthrough`:
//! the output must be bit-exact (values, validity bitmaps, offsets), not merely equal.
//!
//! Contract 0.2 is exercised both ways: `passthrough` as is hands every column back by
//! reference (no copy), and with `copy = true` it reads every column into the plugin and
//! sends it back as new buffers, so the codec runs in both directions. Every Arrow type
//! 0.2 carries — nested two levels deep, nulls at every level — goes through both
//! (`quiver_columnar::samples`). What 0.1 refuses or unpacks is checked on a 0.1 plugin
//! (`tagger` 1.0.0).

use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::*;
use arrow_schema::DataType;
use quiver_host::Sandbox;
use quiver_tests::{load, plugins, runtime};

/// A batch of `n` rows with one column of every supported type; every third row is null
/// (and the null slots hold garbage-free but distinctive values).
fn all_types(n: usize) -> RecordBatch {
    let ints = |i: usize| (i as i64).wrapping_mul(2_654_435_761) - 1_000_000_007;
    let strings: Vec<Option<String>> = (0..n)
        .map(|i| opt(i, format!("row-{i}-{}", "é".repeat(i % 5))))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("null", Arc::new(NullArray::new(n))),
        (
            "bool",
            Arc::new((0..n).map(|i| opt(i, i % 2 == 0)).collect::<BooleanArray>()),
        ),
        (
            "i8",
            Arc::new((0..n).map(|i| opt(i, ints(i) as i8)).collect::<Int8Array>()),
        ),
        (
            "i16",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as i16))
                    .collect::<Int16Array>(),
            ),
        ),
        (
            "i32",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as i32))
                    .collect::<Int32Array>(),
            ),
        ),
        (
            "i64",
            Arc::new((0..n).map(|i| opt(i, ints(i))).collect::<Int64Array>()),
        ),
        (
            "u8",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as u8))
                    .collect::<UInt8Array>(),
            ),
        ),
        (
            "u16",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as u16))
                    .collect::<UInt16Array>(),
            ),
        ),
        (
            "u32",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as u32))
                    .collect::<UInt32Array>(),
            ),
        ),
        (
            "u64",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as u64))
                    .collect::<UInt64Array>(),
            ),
        ),
        (
            "f32",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, if i % 7 == 0 { f32::NAN } else { i as f32 / 3.0 }))
                    .collect::<Float32Array>(),
            ),
        ),
        (
            "f64",
            Arc::new(
                (0..n)
                    .map(|i| {
                        opt(
                            i,
                            if i % 11 == 0 {
                                -0.0
                            } else {
                                ints(i) as f64 / 7.0
                            },
                        )
                    })
                    .collect::<Float64Array>(),
            ),
        ),
        (
            "utf8",
            Arc::new(
                strings
                    .iter()
                    .map(|s| s.as_deref())
                    .collect::<StringArray>(),
            ),
        ),
        (
            "large_utf8",
            Arc::new(
                strings
                    .iter()
                    .map(|s| s.as_deref())
                    .collect::<LargeStringArray>(),
            ),
        ),
        (
            "binary",
            Arc::new(
                strings
                    .iter()
                    .map(|s| s.as_deref().map(str::as_bytes))
                    .collect::<BinaryArray>(),
            ),
        ),
        (
            "large_binary",
            Arc::new(
                strings
                    .iter()
                    .map(|s| s.as_deref().map(str::as_bytes))
                    .collect::<LargeBinaryArray>(),
            ),
        ),
        (
            "date32",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) as i32 % 100_000))
                    .collect::<Date32Array>(),
            ),
        ),
        (
            "date64",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i) * 1000))
                    .collect::<Date64Array>(),
            ),
        ),
        (
            "ts_s",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i)))
                    .collect::<TimestampSecondArray>(),
            ),
        ),
        (
            "ts_ms_utc",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i)))
                    .collect::<TimestampMillisecondArray>()
                    .with_timezone("UTC"),
            ),
        ),
        (
            "ts_us_paris",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i)))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("Europe/Paris"),
            ),
        ),
        (
            "ts_ns_offset",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i)))
                    .collect::<TimestampNanosecondArray>()
                    .with_timezone("+05:30"),
            ),
        ),
        (
            "ts_ns",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, ints(i)))
                    .collect::<TimestampNanosecondArray>(),
            ),
        ),
        (
            "decimal",
            Arc::new(
                (0..n)
                    .map(|i| opt(i, i128::from(ints(i)) * 1_000_000_007))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(38, 6)
                    .unwrap(),
            ),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// `v`, or null on every third row.
fn opt<T>(i: usize, v: T) -> Option<T> {
    if i % 3 == 1 { None } else { Some(v) }
}

/// Assert `got` equals `want` buffer for buffer in boundary layout (bit-exact).
fn assert_bit_exact(got: &RecordBatch, want: &RecordBatch) {
    assert_eq!(got.schema(), want.schema());
    assert_eq!(got.num_rows(), want.num_rows());
    for (i, field) in want.schema().fields().iter().enumerate() {
        let g = quiver_columnar_encode(got.column(i));
        let w = quiver_columnar_encode(want.column(i));
        assert_eq!(
            g,
            w,
            "column {} ({}) differs",
            field.name(),
            field.data_type()
        );
    }
}

/// The boundary buffers of an array (validity, offsets, values), owned.
fn quiver_columnar_encode(a: &ArrayRef) -> (Option<Vec<u8>>, Option<Vec<u8>>, Vec<u8>) {
    // The same rule the boundary uses, restated independently: validity only when nulls
    // exist; values of fixed-width types; offsets + values of variable-width types.
    let data = a.to_data();
    let validity = a
        .nulls()
        .filter(|n| n.null_count() > 0)
        .map(|n| n.inner().sliced().as_slice().to_vec());
    let buffers: Vec<Vec<u8>> = data
        .buffers()
        .iter()
        .map(|b| b.as_slice().to_vec())
        .collect();
    match buffers.len() {
        0 => (validity, None, Vec::new()),
        1 => (validity, None, buffers[0].clone()),
        _ => (validity, Some(buffers[0].clone()), buffers[1].clone()),
    }
}

#[test]
fn every_type_with_nulls_round_trips_bit_exact_at_every_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = load(&rt, plugins::PASSTHROUGH);
    for (n, config) in [0, 1, 1000, 70_000]
        .into_iter()
        .flat_map(|n| [(n, "{}"), (n, r#"{"copy": true}"#)])
    {
        let input = all_types(n);
        let mut t = plugin
            .transformer(config, input.schema(), &Sandbox::default())
            .unwrap();
        assert_eq!(
            t.output_schema(),
            input.schema(),
            "declared schema at {n} rows"
        );
        // Two batches through the same instance: reuse must not disturb the second.
        for round in 0..2 {
            let out = t.process(&input).unwrap();
            assert_eq!(out.len(), 1, "{n} rows, round {round}");
            assert_bit_exact(&out[0], &input);
        }
        assert!(t.finish().unwrap().is_empty());
    }
}

#[test]
fn sliced_input_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = load(&rt, plugins::PASSTHROUGH);
    let full = all_types(1000);
    // An odd offset exercises bitmap re-packing and offset rebasing on the way in.
    let sliced = full.slice(13, 501);
    let mut t = plugin
        .transformer(r#"{"copy": true}"#, sliced.schema(), &Sandbox::default())
        .unwrap();
    let out = t.process(&sliced).unwrap();
    assert_eq!(out, vec![sliced]);
}

/// A dictionary column of strings, with a null.
fn colours() -> ArrayRef {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    for v in [Some("red"), None, Some("blue"), Some("red")] {
        match v {
            Some(v) => {
                b.append_value(v);
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

#[test]
fn dictionary_strings_cross_unpacked_under_contract_0_1() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let tagger = load(&rt, plugins::TAGGER);
    assert_eq!(tagger.contract(), quiver_host::ContractVersion::V0_1);
    let dict = colours();
    let input = RecordBatch::try_from_iter([("colour", dict.clone())]).unwrap();
    let mut t = tagger
        .transformer("{}", input.schema(), &Sandbox::default())
        .unwrap();
    assert_eq!(t.output_schema().field(0).data_type(), &DataType::Utf8);
    let out = t.process(&input).unwrap();
    let want = arrow_cast::cast(&dict, &DataType::Utf8).unwrap();
    assert_eq!(out[0].column(0), &want);
}

#[test]
fn dictionary_columns_cross_as_dictionaries_under_contract_0_2() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = load(&rt, plugins::PASSTHROUGH);
    let dict = colours();
    let input = RecordBatch::try_from_iter([("colour", dict)]).unwrap();
    for config in ["{}", r#"{"copy": true}"#] {
        let mut t = plugin
            .transformer(config, input.schema(), &Sandbox::default())
            .unwrap();
        assert_eq!(t.output_schema(), input.schema(), "{config}");
        assert_eq!(t.process(&input).unwrap(), vec![input.clone()], "{config}");
    }
}

#[test]
fn nested_columns_are_refused_naming_the_column_under_contract_0_1() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = load(&rt, plugins::TAGGER);
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let input = RecordBatch::try_from_iter([("tags", Arc::new(list) as ArrayRef)]).unwrap();
    let err = plugin
        .transformer("{}", input.schema(), &Sandbox::default())
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`tags`") && msg.contains("nested"), "{msg}");
}

/// Every type contract 0.2 carries (`quiver_columnar::samples`: primitives, temporal with
/// named zones, intervals, decimals up to 256 bits, fixed-size binary, lists, large lists,
/// fixed-size lists, structs, maps, dictionaries, nested two levels deep, nulls at every
/// level), at 0, 1, 1000 and 70000 rows, by reference and copied through the plugin: exactly
/// equal, and valid.
#[test]
fn every_arrow_type_round_trips_through_contract_0_2_at_every_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = load(&rt, plugins::PASSTHROUGH);
    for n in [0, 1, 1000, 70_000] {
        let columns = quiver_columnar::samples::columns(n);
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let input = RecordBatch::try_from_iter(columns.clone()).unwrap();
        for config in ["{}", r#"{"copy": true}"#] {
            let mut t = plugin
                .transformer(config, input.schema(), &Sandbox::default())
                .unwrap_or_else(|e| panic!("{n} rows, {config}: {e}"));
            assert_eq!(t.output_schema(), input.schema());
            let out = t.process(&input).unwrap();
            assert_eq!(out.len(), 1);
            for (i, name) in names.iter().enumerate() {
                let got = out[0].column(i);
                got.to_data()
                    .validate_full()
                    .unwrap_or_else(|e| panic!("{name} at {n} rows ({config}): {e}"));
                assert_eq!(
                    got.to_data(),
                    input.column(i).to_data(),
                    "{name} at {n} rows ({config})"
                );
            }
        }
    }
}
