//! Deterministic synthetic data: the batches every benchmark and the peer comparison run on.
//!
//! No `rand`: a SplitMix64 stream seeded per column, so every run (and Polars, which reads
//! the Parquet files written from these batches) sees the same values.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// SplitMix64: tiny, fast, good enough for test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `1 / n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

const FIRST: &[&str] = &[
    "Alice", "Bob", "Chloé", "Dmitri", "Eve", "Fatima", "Gustav", "Hiro", "Ines", "Jürgen",
];
const LAST: &[&str] = &[
    "Smith", "MÜLLER", "García", "O'Brien", "Nakamura", "Kowalski", "Dubois", "Rossi",
];

/// Schema of the "orders" data (transform and end-to-end benchmarks, peer comparison).
pub fn orders_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("qty", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, true),
    ]))
}

/// `rows` rows of "orders" starting at row `start`: `id` (row number), `qty` (0..10, 2% null),
/// `amount` (0..1000, 5% null), `email` (`user<n>@example.com`, 5% null) and `name` (a
/// padded, mixed-case "First Last" with some non-ASCII letters, 1% null).
///
/// Values depend only on the row number, so any split into batches gives the same data.
pub fn orders(start: u64, rows: usize) -> RecordBatch {
    let mut id = Vec::with_capacity(rows);
    let mut qty = Vec::with_capacity(rows);
    let mut amount = Vec::with_capacity(rows);
    let mut email = Vec::with_capacity(rows);
    let mut name = Vec::with_capacity(rows);
    for r in start..start + rows as u64 {
        let mut rng = Rng::new(r);
        id.push(r as i64);
        qty.push((!rng.one_in(50)).then(|| (rng.next() % 10) as i64));
        amount.push((!rng.one_in(20)).then(|| (rng.next() % 100_000) as f64 / 100.0));
        let user = rng.next() % 5_000_000;
        email.push((!rng.one_in(20)).then(|| format!("user{user}@example.com")));
        let (f, l) = (rng.next() as usize, rng.next() as usize);
        let pad = " ".repeat((rng.next() % 3) as usize);
        name.push((!rng.one_in(100)).then(|| {
            format!(
                "{pad}{} {}{pad}",
                FIRST[f % FIRST.len()],
                LAST[l % LAST.len()]
            )
        }));
    }
    RecordBatch::try_new(
        orders_schema(),
        vec![
            Arc::new(Int64Array::from(id)),
            Arc::new(Int64Array::from(qty)),
            Arc::new(Float64Array::from(amount)),
            Arc::new(StringArray::from(email)),
            Arc::new(StringArray::from(name)),
        ],
    )
    .expect("a valid orders batch")
}

/// A batch of `columns` columns cycling Int64, Float64, Utf8 (every one nullable, a null in
/// every 10th row), for the boundary benchmark.
pub fn mixed(rows: usize, columns: usize) -> RecordBatch {
    let mut fields = Vec::with_capacity(columns);
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns);
    for c in 0..columns {
        let mut rng = Rng::new(c as u64 + 1_000_000);
        let valid = |r: usize| !(r + c).is_multiple_of(10);
        let (t, a): (DataType, ArrayRef) = match c % 3 {
            0 => (
                DataType::Int64,
                Arc::new(
                    (0..rows)
                        .map(|r| valid(r).then(|| rng.next() as i64))
                        .collect::<Int64Array>(),
                ),
            ),
            1 => (
                DataType::Float64,
                Arc::new(
                    (0..rows)
                        .map(|r| valid(r).then(|| (rng.next() % 1_000_000) as f64 / 7.0))
                        .collect::<Float64Array>(),
                ),
            ),
            _ => (
                DataType::Utf8,
                Arc::new(
                    (0..rows)
                        .map(|r| valid(r).then(|| format!("value-{}", rng.next() % 100_000)))
                        .collect::<StringArray>(),
                ),
            ),
        };
        fields.push(Field::new(format!("c{c}"), t, true));
        arrays.push(a);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("a valid mixed batch")
}

/// Bytes of every buffer of `batch` (validity, offsets, values): what crosses the boundary.
pub fn buffer_bytes(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| {
            let d = c.to_data();
            let buffers: usize = d.buffers().iter().map(|b| b.len()).sum();
            (buffers + d.nulls().map_or(0, |n| n.buffer().len())) as u64
        })
        .sum()
}
