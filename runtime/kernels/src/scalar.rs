//! [`Scalar`] values and [`Operand`]s: what a kernel's argument can be — a column (an
//! arrow array the host owns) or one value that broadcasts over every row, as arrow's
//! `Datum` does. The scalar variants are the ones a WIT variant can carry one-to-one.

use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{
    Date32Type, Decimal128Type, DecimalType, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array,
    Int64Array, NullArray, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
};
use arrow_schema::DataType;
pub use arrow_schema::TimeUnit;

use crate::KernelError;

/// One value, broadcast over every row when passed as an [`Operand::Scalar`], and the
/// result of [`aggregate`](crate::aggregate).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// The null value: as an operand it takes the other operand's type.
    Null,
    /// A boolean.
    Boolean(bool),
    /// A signed integer. As an operand next to an integer column it takes the column's type
    /// when it fits (a "weak" literal, as in NumPy 2 and Polars): `int32_col + 1` stays Int32.
    Int64(i64),
    /// An unsigned integer; weak like [`Scalar::Int64`].
    UInt64(u64),
    /// A float. Next to a Float32 column it stays Float32; next to an integer column the
    /// result is Float64.
    Float64(f64),
    /// A string (`Utf8`; weak next to `LargeUtf8`).
    Utf8(String),
    /// Bytes (`Binary`; weak next to `LargeBinary`).
    Binary(Vec<u8>),
    /// Days since 1970-01-01.
    Date32(i32),
    /// An instant (with a zone) or a wall-clock time (without): `value` ticks of `unit`
    /// since 1970-01-01T00:00:00 UTC.
    Timestamp {
        /// Ticks since the epoch.
        value: i64,
        /// The tick.
        unit: TimeUnit,
        /// An IANA name (`Europe/Paris`) or a fixed offset (`+02:00`); `None` for wall-clock.
        timezone: Option<String>,
    },
    /// A fixed-point decimal: `value × 10^-scale`, at most `precision` digits.
    Decimal128 {
        /// The unscaled integer.
        value: i128,
        /// Total digits, 1..=38.
        precision: u8,
        /// Digits after the point.
        scale: i8,
    },
}

impl Scalar {
    /// The arrow type of this value (`Null` for [`Scalar::Null`]).
    pub fn data_type(&self) -> DataType {
        match self {
            Scalar::Null => DataType::Null,
            Scalar::Boolean(_) => DataType::Boolean,
            Scalar::Int64(_) => DataType::Int64,
            Scalar::UInt64(_) => DataType::UInt64,
            Scalar::Float64(_) => DataType::Float64,
            Scalar::Utf8(_) => DataType::Utf8,
            Scalar::Binary(_) => DataType::Binary,
            Scalar::Date32(_) => DataType::Date32,
            Scalar::Timestamp { unit, timezone, .. } => {
                DataType::Timestamp(*unit, timezone.as_deref().map(Arc::from))
            }
            Scalar::Decimal128 {
                precision, scale, ..
            } => DataType::Decimal128(*precision, *scale),
        }
    }

    /// This value as a one-row array.
    ///
    /// # Errors
    /// [`KernelError::Invalid`] for a time zone arrow does not know, or a decimal whose
    /// precision or scale is out of range or whose value has more digits than its precision.
    pub fn to_array(&self) -> Result<ArrayRef, KernelError> {
        const KERNEL: &str = "scalar";
        Ok(match self {
            Scalar::Null => Arc::new(NullArray::new(1)),
            Scalar::Boolean(v) => Arc::new(BooleanArray::from(vec![*v])),
            Scalar::Int64(v) => Arc::new(Int64Array::from(vec![*v])),
            Scalar::UInt64(v) => Arc::new(UInt64Array::from(vec![*v])),
            Scalar::Float64(v) => Arc::new(Float64Array::from(vec![*v])),
            Scalar::Utf8(v) => Arc::new(StringArray::from(vec![v.as_str()])),
            Scalar::Binary(v) => Arc::new(BinaryArray::from(vec![v.as_slice()])),
            Scalar::Date32(v) => Arc::new(Date32Array::from(vec![*v])),
            Scalar::Timestamp {
                value,
                unit,
                timezone,
            } => {
                if let Some(tz) = timezone {
                    parse_timezone(KERNEL, tz)?;
                }
                let tz = timezone.as_deref();
                match unit {
                    TimeUnit::Second => {
                        Arc::new(TimestampSecondArray::from(vec![*value]).with_timezone_opt(tz))
                    }
                    TimeUnit::Millisecond => Arc::new(
                        TimestampMillisecondArray::from(vec![*value]).with_timezone_opt(tz),
                    ),
                    TimeUnit::Microsecond => Arc::new(
                        TimestampMicrosecondArray::from(vec![*value]).with_timezone_opt(tz),
                    ),
                    TimeUnit::Nanosecond => {
                        Arc::new(TimestampNanosecondArray::from(vec![*value]).with_timezone_opt(tz))
                    }
                }
            }
            Scalar::Decimal128 {
                value,
                precision,
                scale,
            } => {
                let invalid =
                    |e| KernelError::invalid(KERNEL, crate::error::strip_arrow_prefix(&e));
                Decimal128Type::validate_decimal_precision(*value, *precision, *scale)
                    .map_err(invalid)?;
                Arc::new(
                    Decimal128Array::from(vec![*value])
                        .with_precision_and_scale(*precision, *scale)
                        .map_err(invalid)?,
                )
            }
        })
    }

    /// The value at `row` of `array` (integers widened to 64 bits, floats to Float64,
    /// `LargeUtf8` to [`Scalar::Utf8`]).
    ///
    /// # Errors
    /// [`KernelError::Invalid`] for a type no variant holds (Date64, Time, Duration,
    /// nested types) or a row out of range.
    pub fn from_array(array: &dyn Array, row: usize) -> Result<Scalar, KernelError> {
        const KERNEL: &str = "scalar";
        if row >= array.len() {
            return Err(KernelError::invalid(
                KERNEL,
                format!("row {row} is out of range for {} rows", array.len()),
            ));
        }
        if array.is_null(row) {
            return Ok(Scalar::Null);
        }
        Ok(match array.data_type() {
            DataType::Null => Scalar::Null,
            DataType::Boolean => Scalar::Boolean(array.as_boolean().value(row)),
            DataType::Int8 => Scalar::Int64(array.as_primitive::<Int8Type>().value(row).into()),
            DataType::Int16 => Scalar::Int64(array.as_primitive::<Int16Type>().value(row).into()),
            DataType::Int32 => Scalar::Int64(array.as_primitive::<Int32Type>().value(row).into()),
            DataType::Int64 => Scalar::Int64(array.as_primitive::<Int64Type>().value(row)),
            DataType::UInt8 => Scalar::UInt64(array.as_primitive::<UInt8Type>().value(row).into()),
            DataType::UInt16 => {
                Scalar::UInt64(array.as_primitive::<UInt16Type>().value(row).into())
            }
            DataType::UInt32 => {
                Scalar::UInt64(array.as_primitive::<UInt32Type>().value(row).into())
            }
            DataType::UInt64 => Scalar::UInt64(array.as_primitive::<UInt64Type>().value(row)),
            DataType::Float16 => {
                Scalar::Float64(array.as_primitive::<Float16Type>().value(row).to_f64())
            }
            DataType::Float32 => {
                Scalar::Float64(array.as_primitive::<Float32Type>().value(row).into())
            }
            DataType::Float64 => Scalar::Float64(array.as_primitive::<Float64Type>().value(row)),
            DataType::Utf8 => Scalar::Utf8(array.as_string::<i32>().value(row).to_string()),
            DataType::LargeUtf8 => Scalar::Utf8(array.as_string::<i64>().value(row).to_string()),
            DataType::Binary => Scalar::Binary(array.as_binary::<i32>().value(row).to_vec()),
            DataType::LargeBinary => Scalar::Binary(array.as_binary::<i64>().value(row).to_vec()),
            DataType::Date32 => Scalar::Date32(array.as_primitive::<Date32Type>().value(row)),
            DataType::Timestamp(unit, tz) => {
                let value = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().value(row)
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().value(row)
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().value(row)
                    }
                };
                Scalar::Timestamp {
                    value,
                    unit: *unit,
                    timezone: tz.as_deref().map(str::to_string),
                }
            }
            DataType::Decimal128(precision, scale) => Scalar::Decimal128 {
                value: array.as_primitive::<Decimal128Type>().value(row),
                precision: *precision,
                scale: *scale,
            },
            other => {
                return Err(KernelError::invalid(
                    KERNEL,
                    format!("a {other} value has no scalar form; cast it first"),
                ));
            }
        })
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Boolean(v)
    }
}

impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int64(v)
    }
}

impl From<u64> for Scalar {
    fn from(v: u64) -> Self {
        Scalar::UInt64(v)
    }
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float64(v)
    }
}

impl From<&str> for Scalar {
    fn from(v: &str) -> Self {
        Scalar::Utf8(v.to_string())
    }
}

/// A kernel argument: a column, or a scalar that broadcasts over the other operands' rows.
#[derive(Debug, Clone)]
pub enum Operand<'a> {
    /// A column the host owns.
    Column(&'a ArrayRef),
    /// One value for every row.
    Scalar(Scalar),
}

impl<'a> From<&'a ArrayRef> for Operand<'a> {
    fn from(column: &'a ArrayRef) -> Self {
        Operand::Column(column)
    }
}

impl From<Scalar> for Operand<'_> {
    fn from(scalar: Scalar) -> Self {
        Operand::Scalar(scalar)
    }
}

/// A time zone name as arrow reads it: an IANA name (`Europe/Paris`, following daylight
/// saving) or a fixed offset (`+02:00`).
///
/// # Errors
/// [`KernelError::Invalid`] naming the zone when arrow does not know it.
pub(crate) fn parse_timezone(kernel: &str, name: &str) -> Result<Tz, KernelError> {
    Tz::from_str(name).map_err(|_| {
        KernelError::invalid(
            kernel,
            format!(
                "unknown time zone {name:?}: expected an IANA name such as \"Europe/Paris\" \
                 or an offset such as \"+02:00\""
            ),
        )
    })
}
