"""`filter` (Python port): keeps the rows where a column compares to a value.

`{"column": "amount", "op": "gt", "value": 100, "nulls": "drop"}` keeps rows whose `amount`
is greater than 100. A comparison with a null is neither true nor false, so the config says
what happens to null rows: `drop` (the default) or `keep`. `is_null` and `is_not_null` test
for nulls directly and take no value. Same config, semantics and errors as the Rust plugin
`plugins/filter`, whose golden cases it passes.

The comparison value is built once, at creation, in the column's own type: a value that does
not fit (300 for an int8 column, a string for a number column) is a config error. Per batch,
the comparison is one comprehension over the column's typed memoryview (or the raw bytes of
each string: no decoding), giving a 0/1 mask (`quiver_sdk.compute.compare`); nulls are
resolved with whole-mask big-integer operations; `Batch.filter` gathers the kept rows of
every column. Floats compare in arrow's total order (-0.0 < 0.0, NaN above everything), like
arrow's kernels: the native comparison is used unless the column holds a NaN or the other
zero, when an exact comparison of total-order keys takes over.
"""

import math
import struct

import quiver_sdk as q
from quiver_sdk import bitmap
from quiver_sdk.config import json_display

from quiver_sdk.compute import compare

OPS = ("eq", "ne", "lt", "le", "gt", "ge", "is_null", "is_not_null")


def as_i64(v):
    """serde_json's `Value::as_i64`: an integer in i64 range, else None."""
    if isinstance(v, int) and not isinstance(v, bool) and -(1 << 63) <= v < (1 << 63):
        return v
    return None


def as_u64(v):
    """serde_json's `Value::as_u64`: a non-negative integer in u64 range, else None."""
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < (1 << 64):
        return v
    return None


def to_f32(v):
    """`v as f32` in Rust: round to nearest, overflow to infinity."""
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def scalar(dt, value):
    """The comparison value in the column's type (Python int, float, bytes or bool)."""
    name = q.type_name(dt)
    shown = json_display(value)
    if q.is_signed_integer(dt) or isinstance(dt, (type(q.DATE32), type(q.DATE64))):
        v = as_i64(value)
        if v is None:
            raise ValueError(f"{shown} is not an integer")
        lo, hi = q.integer_range(dt)
        if not lo <= v <= hi:
            raise ValueError(f"{v} does not fit in {name}")
        return v
    if q.is_integer(dt):
        v = as_u64(value)
        if v is None:
            raise ValueError(f"{shown} is not a non-negative integer")
        lo, hi = q.integer_range(dt)
        if v > hi:
            raise ValueError(f"{v} does not fit in {name}")
        return v
    if q.is_float(dt) and isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        return to_f32(v) if isinstance(dt, type(q.FLOAT32)) else v
    if isinstance(dt, type(q.timestamp())):
        v = as_i64(value)
        if v is None:
            raise ValueError(f"{shown} is not an integer timestamp")
        return v
    if q.is_string(dt) and isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(dt, type(q.BOOLEAN)) and isinstance(value, bool):
        return int(value)
    raise ValueError(f"cannot compare a {name} column with {shown}")


def total_key_f64(bits):
    """Key of an f64 (as its signed 64-bit pattern) in IEEE total order, as Rust's total_cmp."""
    return bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)


def total_key_f32(bits):
    """Key of an f32 (as its signed 32-bit pattern) in IEEE total order."""
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


class Filter(q.Transform):
    NAME = "filter"
    VERSION = "0.1.0"
    DESCRIPTION = (
        "Keeps the rows where a column compares to a value (eq, ne, lt, le, gt, ge) or is "
        "(not) null; a null in a comparison is dropped or kept as the config says. The Python "
        "port of the Rust `filter` plugin, built with the Quiver Python SDK."
    )
    CONFIG_SCHEMA = q.read_schema(__file__)
    CONFIG = q.Struct(
        {
            "column": q.Str(),
            "op": q.Enum(*OPS),
            "value": q.Any(),
            "nulls": q.Enum("drop", "keep", default="drop"),
        }
    )

    def __init__(self, config, input_schema):
        index = q.index_of(input_schema, config.column)
        if index is None:
            raise q.ConfigError("column", f"no column `{config.column}` in the input")
        dt = input_schema.fields[index].data_type
        op, value = config.op, config.value
        if op in ("is_null", "is_not_null"):
            if value is not None:
                raise q.ConfigError("value", "is_null and is_not_null take no value")
            self.scalar = None
        elif value is None:
            raise q.ConfigError("value", "a comparison needs a value")
        else:
            try:
                self.scalar = scalar(dt, value)
            except ValueError as e:
                raise q.ConfigError("value", str(e)) from None
        self.schema = input_schema
        self.index = index
        self.data_type = dt
        self.op = op
        self.keep_nulls = config.nulls == "keep"

    def output_schema(self):
        return self.schema

    def compare(self, col):
        """The 0/1 mask of `column OP value`, ignoring nulls."""
        s = self.scalar
        if isinstance(col, q.BooleanColumn):
            return compare(col.mask(), self.op, s)
        if isinstance(col, q.StringColumn):
            return compare(col.raw_values(), self.op, s)
        if q.is_float(self.data_type):
            return self.compare_floats(col, s)
        return compare(col.values, self.op, s)

    def compare_floats(self, col, s):
        values = col.values
        f32 = isinstance(self.data_type, type(q.FLOAT32))
        bits = values.cast("B").cast("i" if f32 else "q")
        # Native comparison equals arrow's total order unless a NaN is present or the
        # scalar is a zero and the column holds the other zero.
        exact = math.isnan(sum(values, 0.0))
        if not exact and s == 0.0:
            other_zero = 0 if math.copysign(1.0, s) < 0 else (-(1 << 31) if f32 else -(1 << 63))
            exact = other_zero in bits
        if not exact:
            return compare(values, self.op, s)
        key = total_key_f32 if f32 else total_key_f64
        sbits = struct.unpack("<i" if f32 else "<q", struct.pack("<f" if f32 else "<d", s))[0]
        return compare([key(b) for b in bits], self.op, key(sbits))

    def process(self, batch):
        col = batch.column(self.index)
        n = batch.num_rows
        # None: no nulls. A `null`-typed column counts as having none, as in the Rust plugin
        # (arrow-rs `NullArray::is_null` is false: its nulls are only logical).
        valid = None if isinstance(col, q.NullColumn) else col.valid_mask()
        if self.op == "is_null":
            mask = bitmap.constant(0, n) if valid is None else bitmap.mask_not(valid)
        elif self.op == "is_not_null":
            mask = bitmap.ones(n) if valid is None else valid
        else:
            mask = self.compare(col)
            if valid is not None:
                # A comparison with null is null: resolve it by the config's rule.
                if self.keep_nulls:
                    mask = bitmap.mask_or(mask, bitmap.mask_not(valid))
                else:
                    mask = bitmap.mask_and(mask, valid)
        return [batch.filter(mask)]


Transform = q.export(Filter)
