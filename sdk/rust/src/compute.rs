//! The host's Arrow kernels on host columns (contract 0.2): the data never enters the
//! plugin unless it reads it.
//!
//! A [`Column`] is a handle to a host-owned array: an input column
//! ([`crate::Batch::host`]), a kernel's result, or one made from the plugin's own array
//! ([`Column::from_array`]). Kernels return new handles; put one in an output with
//! [`crate::Output::set_host`] / [`crate::Output::push_host`] (no copy either way), or
//! [`Column::read`] it when you need its values. Every kernel is described once in
//! `docs/kernels.md`; handles are valid for the call they were made in.

use arrow_array::ArrayRef;
use arrow_schema::DataType;
use std::rc::Rc;

use crate::Error;
use crate::bindings::quiver::transform::columns as wc;
use crate::bindings::quiver::transform::compute as wk;

pub use wk::{
    AggOp, ArithOp, CmpOp, Encoding, LogicOp, Scalar, StrMatchOp, StrOp, TemporalPart, UnaryOp,
};

/// A host-owned column, by handle.
#[derive(Debug, Clone)]
pub struct Column {
    pub(crate) inner: Rc<wc::Column>,
}

/// One side of a binary kernel: a column or a scalar.
#[derive(Debug)]
pub enum Value<'a> {
    /// A host column.
    Column(&'a Column),
    /// A value broadcast against the other side.
    Scalar(Scalar),
}

impl<'a> From<&'a Column> for Value<'a> {
    fn from(c: &'a Column) -> Self {
        Value::Column(c)
    }
}

impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Scalar(Scalar::Float64(v))
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Scalar(Scalar::Int64(v))
    }
}

impl From<u64> for Value<'_> {
    fn from(v: u64) -> Self {
        Value::Scalar(Scalar::Uint64(v))
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Scalar(Scalar::Boolean(v))
    }
}

impl From<&str> for Value<'_> {
    fn from(v: &str) -> Self {
        Value::Scalar(Scalar::Utf8(v.to_owned()))
    }
}

impl From<Scalar> for Value<'_> {
    fn from(v: Scalar) -> Self {
        Value::Scalar(v)
    }
}

impl<'a> Value<'a> {
    fn wit(&self) -> wk::Operand<'_> {
        match self {
            Value::Column(c) => wk::Operand::Column(&c.inner),
            Value::Scalar(s) => wk::Operand::Scalar(s.clone()),
        }
    }
}

use crate::error::from_wit;

fn column(
    r: Result<wc::Column, crate::bindings::quiver::transform::types::Error>,
) -> Result<Column, Error> {
    r.map(|c| Column { inner: Rc::new(c) }).map_err(from_wit)
}

impl Column {
    pub(crate) fn from_wit(c: wc::Column) -> Self {
        Column { inner: Rc::new(c) }
    }

    /// A host column holding `array` (its buffers are copied to the host once, validated).
    ///
    /// # Errors
    /// A type that cannot cross.
    pub fn from_array(array: &ArrayRef) -> Result<Column, Error> {
        let nodes = crate::tree::type_to_wit(array.data_type())?;
        let data = crate::tree::array_to_wit(array.as_ref())?;
        column(wc::from_data(&nodes, &data))
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.inner.len() as usize
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows that are null.
    pub fn null_count(&self) -> usize {
        self.inner.null_count() as usize
    }

    /// The column's arrow type.
    ///
    /// # Errors
    /// A type the SDK cannot read (a broken host).
    pub fn data_type(&self) -> Result<DataType, Error> {
        crate::tree::type_from_wit(self.inner.data_type())
    }

    /// Copy the column's values into the plugin, as an arrow-rs array.
    ///
    /// # Errors
    /// Buffers that do not fit the type (a broken host).
    pub fn read(&self) -> Result<ArrayRef, Error> {
        let ty = self.data_type()?;
        crate::tree::array_from_wit(&ty, self.inner.read())
    }

    /// `self op rhs` (`checked`: integer overflow and division by zero are data errors
    /// naming the row).
    ///
    /// # Errors
    /// What the kernel refuses (types, overflow).
    pub fn arith<'a>(
        &self,
        op: ArithOp,
        rhs: impl Into<Value<'a>>,
        checked: bool,
    ) -> Result<Column, Error> {
        let rhs = rhs.into();
        column(wk::arith(
            op,
            &wk::Operand::Column(&self.inner),
            &rhs.wit(),
            checked,
        ))
    }

    /// `self + rhs`, checked.
    ///
    /// # Errors
    /// As [`Column::arith`].
    pub fn add<'a>(&self, rhs: impl Into<Value<'a>>) -> Result<Column, Error> {
        self.arith(ArithOp::Add, rhs, true)
    }

    /// `self - rhs`, checked.
    ///
    /// # Errors
    /// As [`Column::arith`].
    pub fn sub<'a>(&self, rhs: impl Into<Value<'a>>) -> Result<Column, Error> {
        self.arith(ArithOp::Subtract, rhs, true)
    }

    /// `self * rhs`, checked.
    ///
    /// # Errors
    /// As [`Column::arith`].
    pub fn mul<'a>(&self, rhs: impl Into<Value<'a>>) -> Result<Column, Error> {
        self.arith(ArithOp::Multiply, rhs, true)
    }

    /// `self / rhs`, checked.
    ///
    /// # Errors
    /// As [`Column::arith`].
    pub fn div<'a>(&self, rhs: impl Into<Value<'a>>) -> Result<Column, Error> {
        self.arith(ArithOp::Divide, rhs, true)
    }

    /// `clip(self × scale + offset, min, max)` in one pass: integer columns exactly (a
    /// result that does not fit is a data error naming the row), floats in their own
    /// precision.
    ///
    /// # Errors
    /// Scalars that do not fit the column's type, or a result that does not fit.
    pub fn affine(
        &self,
        scale: Scalar,
        offset: Scalar,
        min: Option<Scalar>,
        max: Option<Scalar>,
    ) -> Result<Column, Error> {
        column(wk::affine(
            &self.inner,
            &scale,
            &offset,
            min.as_ref(),
            max.as_ref(),
        ))
    }

    /// A unary kernel (negate, abs, sqrt, exp, ln, log10, log2, floor, ceil, sign).
    ///
    /// # Errors
    /// A type the kernel does not take.
    pub fn unary(&self, op: UnaryOp) -> Result<Column, Error> {
        column(wk::unary(op, &self.inner))
    }

    /// Values rounded to `decimals` places.
    ///
    /// # Errors
    /// A type the kernel does not take.
    pub fn round(&self, decimals: i32) -> Result<Column, Error> {
        column(wk::round(&self.inner, decimals))
    }

    /// Values clipped to `[min, max]` (either bound optional).
    ///
    /// # Errors
    /// A bound that does not fit the column's type.
    pub fn clip(&self, min: Option<Scalar>, max: Option<Scalar>) -> Result<Column, Error> {
        column(wk::clip(&self.inner, min.as_ref(), max.as_ref()))
    }

    /// `self op rhs` as a boolean column (nulls propagate).
    ///
    /// # Errors
    /// Types that do not compare.
    pub fn compare<'a>(&self, op: CmpOp, rhs: impl Into<Value<'a>>) -> Result<Column, Error> {
        let rhs = rhs.into();
        column(wk::compare(
            op,
            &wk::Operand::Column(&self.inner),
            &rhs.wit(),
        ))
    }

    /// Boolean logic with another boolean column.
    ///
    /// # Errors
    /// A column that is not boolean.
    pub fn logic(&self, op: LogicOp, rhs: &Column) -> Result<Column, Error> {
        column(wk::logic(op, &self.inner, &rhs.inner))
    }

    /// Boolean negation.
    ///
    /// # Errors
    /// A column that is not boolean.
    pub fn not(&self) -> Result<Column, Error> {
        column(wk::not(&self.inner))
    }

    /// Whether each value is null.
    ///
    /// # Errors
    /// Never for a valid handle.
    pub fn is_null(&self) -> Result<Column, Error> {
        column(wk::is_null(&self.inner))
    }

    /// Whether each value is not null.
    ///
    /// # Errors
    /// Never for a valid handle.
    pub fn is_not_null(&self) -> Result<Column, Error> {
        column(wk::is_not_null(&self.inner))
    }

    /// Nulls replaced by `value` (cast to the column's type).
    ///
    /// # Errors
    /// A value that does not cast.
    pub fn fill_null<'a>(&self, value: impl Into<Value<'a>>) -> Result<Column, Error> {
        let value = value.into();
        column(wk::fill_null(&self.inner, &value.wit()))
    }

    /// The column cast to `to` (`safe`: values that do not cast become null; otherwise the
    /// first is a data error naming its row).
    ///
    /// # Errors
    /// A cast arrow does not do, or a value that does not cast.
    pub fn cast(&self, to: &DataType, safe: bool) -> Result<Column, Error> {
        let nodes = crate::tree::type_to_wit(to)?;
        column(wk::cast(&self.inner, &nodes, safe))
    }

    /// Rows where `mask` (a boolean column) is true.
    ///
    /// # Errors
    /// A mask of another length or type.
    pub fn filter(&self, mask: &Column) -> Result<Column, Error> {
        column(wk::filter(&self.inner, &mask.inner))
    }

    /// Whether each value is one of `values`.
    ///
    /// # Errors
    /// Types that do not compare.
    pub fn is_in(&self, values: &Column) -> Result<Column, Error> {
        column(wk::is_in(&self.inner, &values.inner))
    }

    /// A string kernel (length, to-lower, to-upper, trims).
    ///
    /// # Errors
    /// A column that is not text.
    pub fn str_unary(&self, op: StrOp) -> Result<Column, Error> {
        column(wk::str_unary(op, &self.inner))
    }

    /// Whether each string contains / starts with / ends with `pattern` (literal).
    ///
    /// # Errors
    /// A column that is not text.
    pub fn str_match(&self, op: StrMatchOp, pattern: &str) -> Result<Column, Error> {
        column(wk::str_match(op, &self.inner, pattern))
    }

    /// Whether each string matches the regular expression `pattern`.
    ///
    /// # Errors
    /// An invalid or too large pattern (a config error).
    pub fn regex_match(&self, pattern: &str) -> Result<Column, Error> {
        column(wk::regex_match(&self.inner, pattern))
    }

    /// A part of each date or timestamp (int32), in the column's zone or `timezone`.
    ///
    /// # Errors
    /// A column that is not temporal, or an unknown zone.
    pub fn date_part(&self, part: TemporalPart, timezone: Option<&str>) -> Result<Column, Error> {
        column(wk::date_part(part, &self.inner, timezone))
    }

    /// HMAC-SHA256 of each value with the key in `key_file` (a path inside a granted
    /// directory, as the plugin sees it): the file's bytes without trailing whitespace, at
    /// least 16 of them, read once per instance.
    ///
    /// # Errors
    /// The key file cannot be read (a config error), or a column that is not text/binary.
    pub fn hmac_sha256(&self, key_file: &str, encoding: Encoding) -> Result<Column, Error> {
        column(wk::hmac_sha256(&self.inner, key_file, encoding))
    }

    /// SHA-256 of each value.
    ///
    /// # Errors
    /// A column that is not text/binary.
    pub fn sha256(&self, encoding: Encoding) -> Result<Column, Error> {
        column(wk::sha256(&self.inner, encoding))
    }

    /// An aggregate of the column (count, sum, min, max, mean, stddev, …).
    ///
    /// # Errors
    /// A type the aggregate does not take, or overflow.
    pub fn aggregate(&self, op: AggOp) -> Result<Scalar, Error> {
        wk::aggregate(op, &self.inner).map_err(from_wit)
    }
}
