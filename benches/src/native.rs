//! The native twins of the plugin kernels: the same code the plugins run inside wasm, run
//! directly on the host on the same batches. Each function says which plugin it mirrors;
//! keep them in step with the plugins, or the ratios in BENCHMARKS.md stop meaning anything.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Int64Array, PrimitiveArray, RecordBatch};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow_data::ArrayDataBuilder;

/// A deep copy of every buffer of `batch`, validated as it is rebuilt (utf8 included): the
/// least that crossing the boundary must do (the boundary copies twice and validates twice).
pub fn deep_copy(batch: &RecordBatch) -> RecordBatch {
    let columns = batch
        .columns()
        .iter()
        .map(|c| {
            let d = c.to_data();
            let buffers = d
                .buffers()
                .iter()
                .map(|b| Buffer::from_slice_ref(b.as_slice()))
                .collect();
            let nulls = d.nulls().map(|n| {
                NullBuffer::new(BooleanBuffer::new(
                    Buffer::from_slice_ref(n.buffer().as_slice()),
                    n.offset(),
                    n.len(),
                ))
            });
            let data = ArrayDataBuilder::new(d.data_type().clone())
                .len(d.len())
                .offset(d.offset())
                .buffers(buffers)
                .nulls(nulls)
                .build()
                .expect("a copy of a valid array is valid");
            arrow_array::make_array(data)
        })
        .collect();
    RecordBatch::try_new(batch.schema(), columns).expect("same schema")
}

fn replace(batch: &RecordBatch, index: usize, column: ArrayRef) -> RecordBatch {
    let mut columns = batch.columns().to_vec();
    columns[index] = column;
    RecordBatch::try_new(batch.schema(), columns).expect("same schema")
}

/// `plugins/map` on a float64 column: `clip(v * scale + offset, -inf, inf)`.
pub fn map_f64(batch: &RecordBatch, index: usize, scale: f64, offset: f64) -> RecordBatch {
    let (lo, hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let out = batch
        .column(index)
        .as_primitive::<Float64Type>()
        .unary::<_, Float64Type>(|v| (v * scale + offset).clamp(lo, hi));
    replace(batch, index, Arc::new(out))
}

/// `plugins/map` on an int64 column: exact arithmetic in i128, clipped, narrowed with a
/// range check (an error names the row).
pub fn map_i64(batch: &RecordBatch, index: usize, scale: i128, offset: i128) -> RecordBatch {
    let a = batch.column(index).as_primitive::<Int64Type>();
    let (min, max) = (i128::MIN, i128::MAX);
    let mut out = Vec::with_capacity(a.len());
    for (row, v) in a.values().iter().enumerate() {
        if a.is_null(row) {
            out.push(0);
            continue;
        }
        let y = i128::from(*v)
            .saturating_mul(scale)
            .saturating_add(offset)
            .clamp(min, max);
        out.push(i64::try_from(y).unwrap_or_else(|_| panic!("row {row} overflows")));
    }
    let out = PrimitiveArray::<Int64Type>::new(out.into(), a.nulls().cloned());
    replace(batch, index, Arc::new(out))
}

/// `plugins/filter` with `op = "gt"` on an int64 column, nulls dropped.
pub fn filter_gt_i64(batch: &RecordBatch, index: usize, value: i64) -> RecordBatch {
    let scalar = Int64Array::new_scalar(value);
    let (l, r): (&dyn Datum, &dyn Datum) = (batch.column(index), &scalar);
    let m = arrow_ord::cmp::gt(l, r).expect("same types");
    // The plugin's null rule (`drop`), with its row loop.
    let mask = match m.nulls() {
        None => m,
        Some(n) => {
            let values = m.values();
            BooleanArray::from(
                (0..m.len())
                    .map(|i| n.is_valid(i) && values.value(i))
                    .collect::<Vec<_>>(),
            )
        }
    };
    arrow_select::filter::filter_record_batch(batch, &mask).expect("same length")
}

/// `tests/guests/bench-kernels` `trim_lower`: trim + lowercase a utf8 column.
pub fn trim_lower(batch: &RecordBatch, index: usize) -> RecordBatch {
    let strings = batch.column(index).as_string::<i32>();
    let mut out = StringBuilder::with_capacity(strings.len(), strings.values().len());
    for v in strings {
        match v {
            Some(s) => out.append_value(s.trim().to_lowercase()),
            None => out.append_null(),
        }
    }
    replace(batch, index, Arc::new(out.finish()))
}

/// `plugins/anonymise` `method = "hash"` (hex) on a utf8 column: HMAC-SHA256 under `key`.
/// The plugin hashes text with the host's `hmac-sha256` kernel, so its twin is that kernel
/// called directly (keyed state computed once and copied per row).
///
/// Natively `sha2` uses the CPU's SHA extensions when it has them; inside wasm it cannot.
pub fn hmac_hex(batch: &RecordBatch, index: usize, key: &[u8]) -> RecordBatch {
    let tokens =
        quiver_kernels::hmac_sha256(batch.column(index), key, quiver_kernels::Encoding::Hex)
            .expect("a utf8 column and a key");
    replace(batch, index, tokens)
}
