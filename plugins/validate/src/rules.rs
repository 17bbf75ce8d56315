//! The checks, each built once from its config entry and then run per batch, giving one
//! "failed" bit per row.
//!
//! A null never fails a check other than `not_null` (SQL `CHECK` semantics: use `not_null`
//! to forbid nulls), and nulls are never duplicates of each other for `unique` (SQL
//! `UNIQUE`). Comparisons run with arrow's kernels against bounds converted to the column's
//! own type at creation; `unique` and `allowed` compare arrow row-format encodings, which
//! are equal exactly when the values are.

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Scalar};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{ArrowError, DataType};

/// A comparison operator.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The operator as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
        }
    }

    /// The operator as written in SQL, for messages.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn apply(self, l: &dyn Datum, r: &dyn Datum) -> Result<BooleanArray, ArrowError> {
        match self {
            Op::Eq => arrow_ord::cmp::eq(l, r),
            Op::Ne => arrow_ord::cmp::neq(l, r),
            Op::Lt => arrow_ord::cmp::lt(l, r),
            Op::Le => arrow_ord::cmp::lt_eq(l, r),
            Op::Gt => arrow_ord::cmp::gt(l, r),
            Op::Ge => arrow_ord::cmp::gt_eq(l, r),
        }
    }
}

/// A check, ready to run.
pub enum Check {
    /// The value is not null.
    NotNull,
    /// The value has not been seen earlier in the stream.
    Unique {
        /// Encodes values into comparable bytes.
        converter: RowConverter,
        /// Every non-null value seen so far (the state).
        seen: HashSet<Box<[u8]>>,
        /// Values first seen in the current call: moved into `seen` only by
        /// [`Check::commit`], once the whole call succeeded, so a call that fails (and whose
        /// rows the host may send again) leaves the state as it was.
        pending: HashSet<Box<[u8]>>,
        /// At most this many distinct values are remembered; one more is a data error.
        max_values: usize,
    },
    /// `min <= value <= max` (either bound optional).
    Range {
        /// Lower bound in the column's type.
        min: Option<Scalar<ArrayRef>>,
        /// Upper bound in the column's type.
        max: Option<Scalar<ArrayRef>>,
    },
    /// The text matches the pattern (anywhere, unless anchored with `^...$`).
    Regex(regex::Regex),
    /// The value is one of a fixed set.
    Allowed {
        /// Encodes values into comparable bytes.
        converter: RowConverter,
        /// The allowed values, encoded.
        values: HashSet<Box<[u8]>>,
    },
    /// The text has between `min` and `max` characters (Unicode scalar values).
    Length {
        /// Fewest characters.
        min: Option<u64>,
        /// Most characters.
        max: Option<u64>,
    },
    /// `value op other` where `other` is another column of the same row.
    Compare {
        /// The operator.
        op: Op,
        /// Index of the right-hand column.
        right: usize,
    },
}

/// Encode the values of `array` in the row format (a converter over its one column).
pub fn converter(data_type: &DataType) -> Result<RowConverter, ArrowError> {
    RowConverter::new(vec![SortField::new(data_type.clone())])
}

/// The encoded values of `array`.
pub fn encode(converter: &RowConverter, array: &ArrayRef) -> Result<Vec<Box<[u8]>>, ArrowError> {
    let rows = converter.convert_columns(std::slice::from_ref(array))?;
    Ok(rows.iter().map(|r| r.as_ref().into()).collect())
}

/// Why a check could not run over a batch (besides arrow errors).
pub enum Trouble {
    /// An arrow kernel failed.
    Arrow(ArrowError),
    /// `unique` reached its memory bound at this row.
    TooManyValues {
        /// Row within the batch.
        row: usize,
        /// The bound.
        max_values: usize,
    },
}

impl From<ArrowError> for Trouble {
    fn from(e: ArrowError) -> Self {
        Trouble::Arrow(e)
    }
}

/// Resolve a comparison result (null where an input was null) into "failed" bits: a null
/// comparison passes.
fn failed_where_false(result: &BooleanArray) -> Vec<bool> {
    (0..result.len())
        .map(|i| result.is_valid(i) && !result.value(i))
        .collect()
}

impl Check {
    /// Keep what the last [`Check::run`] learned (the values a `unique` rule saw): called
    /// once the whole `process` call succeeded.
    pub fn commit(&mut self) {
        if let Check::Unique { seen, pending, .. } = self {
            seen.extend(pending.drain());
        }
    }

    /// The failed bit of every row of `column`; `right` is the other column of a `compare`
    /// rule (the plugin reads only the columns its rules use).
    pub fn run(
        &mut self,
        column: &ArrayRef,
        right: Option<&ArrayRef>,
    ) -> Result<Vec<bool>, Trouble> {
        let n = column.len();
        Ok(match self {
            Check::NotNull => (0..n).map(|i| column.is_null(i)).collect(),
            Check::Unique {
                converter,
                seen,
                pending,
                max_values,
            } => {
                pending.clear();
                let keys = encode(converter, column)?;
                let mut failed = vec![false; n];
                for (row, key) in keys.into_iter().enumerate() {
                    if column.is_null(row) || seen.contains(&key) || pending.contains(&key) {
                        failed[row] = column.is_valid(row);
                        continue;
                    }
                    if seen.len() + pending.len() >= *max_values {
                        return Err(Trouble::TooManyValues {
                            row,
                            max_values: *max_values,
                        });
                    }
                    pending.insert(key);
                }
                failed
            }
            Check::Range { min, max } => {
                let mut failed = vec![false; n];
                for (bound, op) in [(min, Op::Ge), (max, Op::Le)] {
                    if let Some(b) = bound {
                        let ok = op.apply(column, b)?;
                        for (f, g) in failed.iter_mut().zip(failed_where_false(&ok)) {
                            *f |= g;
                        }
                    }
                }
                failed
            }
            Check::Regex(re) => strings(column, |s| !re.is_match(s)),
            Check::Allowed { converter, values } => {
                let keys = encode(converter, column)?;
                keys.iter()
                    .enumerate()
                    .map(|(row, k)| column.is_valid(row) && !values.contains(k))
                    .collect()
            }
            Check::Length { min, max } => strings(column, |s| {
                let len = s.chars().count() as u64;
                min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m)
            }),
            Check::Compare { op, .. } => match right {
                Some(right) => failed_where_false(&op.apply(column, right)?),
                None => {
                    return Err(Trouble::Arrow(ArrowError::InvalidArgumentError(
                        "a compare rule run without its other column".into(),
                    )));
                }
            },
        })
    }
}

/// `test` over the non-null strings of a utf8 or large-utf8 column (checked at creation).
fn strings(column: &ArrayRef, test: impl Fn(&str) -> bool) -> Vec<bool> {
    match column.data_type() {
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .map(|v| v.is_some_and(&test))
            .collect(),
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .map(|v| v.is_some_and(&test))
            .collect(),
        _ => vec![false; column.len()],
    }
}
