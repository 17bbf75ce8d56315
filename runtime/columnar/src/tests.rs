//! Unit tests of the boundary layout: round trips of every type (sliced and not, with and
//! without nulls) and rejection of every kind of malformed buffer.

use std::sync::Arc;

use arrow_array::*;
use arrow_schema::{DataType, TimeUnit};

use super::*;

fn samples() -> Vec<ArrayRef> {
    vec![
        Arc::new(NullArray::new(5)),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
            Some(true),
            None,
        ])),
        Arc::new(Int8Array::from(vec![
            Some(-1),
            None,
            Some(3),
            Some(i8::MIN),
            Some(i8::MAX),
        ])),
        Arc::new(Int16Array::from(vec![
            Some(-1),
            None,
            Some(3),
            Some(4),
            Some(5),
        ])),
        Arc::new(Int32Array::from(vec![
            Some(-1),
            None,
            Some(3),
            Some(4),
            Some(5),
        ])),
        Arc::new(Int64Array::from(vec![
            Some(i64::MIN),
            None,
            Some(3),
            Some(4),
            Some(i64::MAX),
        ])),
        Arc::new(UInt8Array::from(vec![
            Some(1),
            None,
            Some(3),
            Some(4),
            Some(u8::MAX),
        ])),
        Arc::new(UInt16Array::from(vec![
            Some(1),
            None,
            Some(3),
            Some(4),
            Some(5),
        ])),
        Arc::new(UInt32Array::from(vec![
            Some(1),
            None,
            Some(3),
            Some(4),
            Some(5),
        ])),
        Arc::new(UInt64Array::from(vec![
            Some(1),
            None,
            Some(3),
            Some(4),
            Some(u64::MAX),
        ])),
        Arc::new(Float32Array::from(vec![
            Some(1.5),
            None,
            Some(f32::NAN),
            Some(-0.0),
            Some(5.0),
        ])),
        Arc::new(Float64Array::from(vec![
            Some(1.5),
            None,
            Some(f64::INFINITY),
            Some(4.0),
            Some(5.0),
        ])),
        Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some(""),
            Some("ünï"),
            Some("long string"),
        ])),
        Arc::new(LargeStringArray::from(vec![
            Some("a"),
            None,
            Some(""),
            Some("d"),
            Some("e"),
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&b"\x00\xff"[..]),
            None,
            Some(b""),
            Some(b"d"),
            Some(b"e"),
        ])),
        Arc::new(LargeBinaryArray::from(vec![
            Some(&b"a"[..]),
            None,
            Some(b""),
            Some(b"d"),
            Some(b"e"),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(0),
            None,
            Some(-1),
            Some(19000),
            Some(5),
        ])),
        Arc::new(Date64Array::from(vec![
            Some(0),
            None,
            Some(-86_400_000),
            Some(4),
            Some(5),
        ])),
        Arc::new(TimestampSecondArray::from(vec![
            Some(0),
            None,
            Some(3),
            Some(4),
            Some(5),
        ])),
        Arc::new(
            TimestampMillisecondArray::from(vec![Some(0), None, Some(3), Some(4), Some(5)])
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from(vec![Some(0), None, Some(3), Some(4), Some(5)])
                .with_timezone("+02:00"),
        ),
        Arc::new(TimestampNanosecondArray::from(vec![
            Some(0),
            None,
            Some(3),
            Some(4),
            Some(5),
        ])),
        Arc::new(
            Decimal128Array::from(vec![Some(12345), None, Some(-1), Some(i128::MAX), Some(0)])
                .with_precision_and_scale(38, 4)
                .unwrap(),
        ),
    ]
}

fn round_trip(array: &ArrayRef) -> ArrayRef {
    let owned = encode_owned(array.as_ref()).unwrap();
    decode(array.data_type(), array.len(), owned).unwrap()
}

#[test]
fn every_type_round_trips_with_nulls() {
    for array in samples() {
        assert_eq!(&round_trip(&array), &array, "{}", array.data_type());
    }
}

#[test]
fn every_slice_round_trips() {
    for array in samples() {
        for offset in 0..array.len() {
            for len in 0..=array.len() - offset {
                let sliced = array.slice(offset, len);
                assert_eq!(
                    round_trip(&sliced).as_ref(),
                    sliced.as_ref(),
                    "{} offset {offset} len {len}",
                    array.data_type()
                );
            }
        }
    }
}

#[test]
fn unsliced_buffers_are_borrowed_not_copied() {
    let array = Int64Array::from(vec![1, 2, 3]);
    let b = encode(&array).unwrap();
    assert!(matches!(b.values, Cow::Borrowed(_)));
    assert!(b.validity.is_none());
    let strings = StringArray::from(vec!["ab", "c"]);
    let b = encode(&strings).unwrap();
    assert!(matches!(b.offsets, Some(Cow::Borrowed(_))));
}

#[test]
fn aligned_vectors_are_adopted_without_copy() {
    let values: Vec<u8> = (0..64u8).collect();
    let ptr = values.as_ptr();
    // A Vec<u8> from the global allocator of this size is at least 8-aligned in practice;
    // the decode path must adopt it rather than copy it.
    if ptr.align_offset(8) == 0 {
        let array = decode(
            &DataType::Int64,
            8,
            OwnedBuffers {
                values,
                ..Default::default()
            },
        )
        .unwrap();
        let a = array.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(a.values().inner().as_ptr(), ptr);
    }
}

#[test]
fn misaligned_vectors_are_copied_and_still_correct() {
    // Build a Vec<u8> whose data starts at an odd address by slicing off one byte.
    let mut backing = [0u8; 8 * 3 + 1];
    backing[1..9].copy_from_slice(&7i64.to_le_bytes());
    let values = backing[1..].to_vec();
    let array = decode(
        &DataType::Int64,
        3,
        OwnedBuffers {
            values,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        array
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0),
        7
    );
}

fn invalid(data_type: DataType, rows: usize, buffers: OwnedBuffers) -> String {
    match decode(&data_type, rows, buffers) {
        Err(LayoutError::Invalid { reason, .. }) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn short_values_are_refused() {
    let reason = invalid(
        DataType::Int32,
        3,
        OwnedBuffers {
            values: vec![0; 11],
            ..Default::default()
        },
    );
    assert!(reason.contains("11 bytes"), "{reason}");
}

#[test]
fn short_validity_is_refused() {
    let reason = invalid(
        DataType::Int8,
        9,
        OwnedBuffers {
            validity: Some(vec![0xff]),
            values: vec![0; 9],
            ..Default::default()
        },
    );
    assert!(reason.contains("validity"), "{reason}");
}

#[test]
fn out_of_bounds_offsets_are_refused() {
    let offsets = [0i32, 2, 9].iter().flat_map(|o| o.to_le_bytes()).collect();
    let reason = invalid(
        DataType::Utf8,
        2,
        OwnedBuffers {
            offsets: Some(offsets),
            values: b"abc".to_vec(),
            ..Default::default()
        },
    );
    assert!(reason.contains("past the end"), "{reason}");
}

#[test]
fn decreasing_offsets_are_refused() {
    let offsets = [0i32, 2, 1].iter().flat_map(|o| o.to_le_bytes()).collect();
    let reason = invalid(
        DataType::Utf8,
        2,
        OwnedBuffers {
            offsets: Some(offsets),
            values: b"abc".to_vec(),
            ..Default::default()
        },
    );
    assert!(reason.contains("decrease at row 1"), "{reason}");
}

#[test]
fn invalid_utf8_is_refused() {
    let offsets = [0i32, 2].iter().flat_map(|o| o.to_le_bytes()).collect();
    let reason = invalid(
        DataType::Utf8,
        1,
        OwnedBuffers {
            offsets: Some(offsets),
            values: vec![0xc3, 0x28],
            ..Default::default()
        },
    );
    assert!(reason.to_lowercase().contains("utf"), "{reason}");
}

#[test]
fn layout_validation_still_refuses_what_would_be_unsafe_to_read() {
    let layout = |data_type: DataType, rows: usize, buffers: OwnedBuffers| {
        decode_with(&data_type, rows, buffers, Validation::Layout)
            .expect_err("must be refused")
            .to_string()
    };
    // Offsets past the end of the values.
    let offsets = [0i32, 9].iter().flat_map(|o| o.to_le_bytes()).collect();
    let reason = layout(
        DataType::Utf8,
        1,
        OwnedBuffers {
            offsets: Some(offsets),
            values: vec![b'a'],
            ..Default::default()
        },
    );
    assert!(reason.contains("past the end"), "{reason}");
    // A values buffer too short for the rows.
    let reason = layout(
        DataType::Int64,
        2,
        OwnedBuffers {
            values: vec![0; 8],
            ..Default::default()
        },
    );
    assert!(reason.contains("values buffer"), "{reason}");
    // Valid input decodes to the same array as under full validation.
    let array = StringArray::from(vec![Some("é"), None, Some("東京")]);
    let back = decode_with(
        &DataType::Utf8,
        3,
        encode_owned(&array).unwrap(),
        Validation::Layout,
    )
    .unwrap();
    assert_eq!(back.as_ref(), &array as &dyn Array);
}

#[test]
fn missing_offsets_are_refused() {
    let reason = invalid(
        DataType::Binary,
        1,
        OwnedBuffers {
            values: vec![1],
            ..Default::default()
        },
    );
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn nested_and_dictionary_types_are_refused_with_a_reason() {
    let list = DataType::List(Arc::new(arrow_schema::Field::new(
        "item",
        DataType::Int32,
        true,
    )));
    assert!(matches!(
        check_type(&list),
        Err(LayoutError::Unsupported { .. })
    ));
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    assert!(check_type(&dict).is_err());
    assert_eq!(boundary_type(&dict).unwrap(), DataType::Utf8);
    assert!(boundary_type(&DataType::Timestamp(TimeUnit::Second, None)).is_ok());
}
