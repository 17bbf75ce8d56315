"""`filter` (Python port): keeps the rows where a column compares to a value.

`{"column": "amount", "op": "gt", "value": 100, "nulls": "drop"}` keeps rows whose `amount`
is greater than 100. A comparison with a null is neither true nor false, so the config says
what happens to null rows: `drop` (the default) or `keep`. `is_null` and `is_not_null` test
for nulls directly and take no value. Same config, semantics and errors as the Rust plugin
`plugins/filter`, whose golden cases it passes.

The comparison value is checked once, at creation, against the column's type: a value that
does not fit (300 for an int8 column, a string for a number column) is a config error. Per
batch, the comparison runs in the host (`batch[column] > value`, the `compare` kernel, in
arrow's total order for floats as the Rust plugin's `arrow-ord`), and so does the filter
(the host's `filter` kernel on every column): no value crosses into the plugin.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

import quiver_sdk as q
from quiver_sdk.config import json_display

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "is_null", "is_not_null"]


@dataclass
class Config:
    column: str = field(metadata={"description": "The column to test."})
    op: Op = field(metadata={"description": "Comparison, or a null test (is_null, is_not_null)."})
    value: Any = field(default=None, metadata={
        "description": "The value compared with (in the column's type); not for the null tests."})
    nulls: Literal["drop", "keep"] = field(default="drop", metadata={
        "description": "What a comparison with a null keeps: drop (default) or keep the row."})


def as_i64(v: Any) -> int | None:
    """serde_json's `Value::as_i64`: an integer in i64 range, else None."""
    if isinstance(v, int) and not isinstance(v, bool) and -(1 << 63) <= v < (1 << 63):
        return v
    return None


def as_u64(v: Any) -> int | None:
    """serde_json's `Value::as_u64`: a non-negative integer in u64 range, else None."""
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < (1 << 64):
        return v
    return None


def to_f32(v: float) -> float:
    """`v as f32` in Rust: round to nearest, overflow to infinity."""
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


_RANGES = {
    "Int8": (-(1 << 7), (1 << 7) - 1), "Int16": (-(1 << 15), (1 << 15) - 1),
    "Int32": (-(1 << 31), (1 << 31) - 1), "Int64": (-(1 << 63), (1 << 63) - 1),
    "UInt8": (0, (1 << 8) - 1), "UInt16": (0, (1 << 16) - 1),
    "UInt32": (0, (1 << 32) - 1), "UInt64": (0, (1 << 64) - 1),
    "Date32": (-(1 << 31), (1 << 31) - 1), "Date64": (-(1 << 63), (1 << 63) - 1),
}


def scalar(dt: q.DataType, value: Any) -> Any:
    """The comparison value in the column's type, as the scalar the kernel gets."""
    name = str(dt)
    shown = json_display(value)
    if dt.is_signed_integer or name in ("Date32", "Date64"):
        v = as_i64(value)
        if v is None:
            raise ValueError(f"{shown} is not an integer")
        lo, hi = _RANGES[name]
        if not lo <= v <= hi:
            raise ValueError(f"{v} does not fit in {name}")
        if name == "Date32":
            return q.column.K.Scalar_Date32(v)
        return v
    if dt.is_integer:
        v = as_u64(value)
        if v is None:
            raise ValueError(f"{shown} is not a non-negative integer")
        if v > _RANGES[name][1]:
            raise ValueError(f"{v} does not fit in {name}")
        return v
    if dt.is_float and isinstance(value, (int, float)) and not isinstance(value, bool):
        f = float(value)
        return to_f32(f) if name == "Float32" else f
    if name.startswith("Timestamp"):
        v = as_i64(value)
        if v is None:
            raise ValueError(f"{shown} is not an integer timestamp")
        ts = dt.node.value
        return q.column.K.Scalar_Timestamp(
            q.column.K.TimestampValue(value=v, unit=ts.unit, timezone=ts.timezone))
    if dt.is_string and isinstance(value, str):
        return value
    if dt.is_boolean and isinstance(value, bool):
        return value
    raise ValueError(f"cannot compare a {name} column with {shown}")


class Filter(q.Transform):
    NAME = "filter"
    VERSION = "0.1.0"
    DESCRIPTION = (
        "Keeps the rows where a column compares to a value (eq, ne, lt, le, gt, ge) or is "
        "(not) null; a null in a comparison is dropped or kept as the config says. The Python "
        "port of the Rust `filter` plugin, built with the Quiver Python SDK."
    )
    CONFIG = Config

    def __init__(self, config: Config, input_schema: q.Schema) -> None:
        super().__init__(config, input_schema)
        if config.column not in input_schema:
            raise q.ConfigError("column", f"no column `{config.column}` in the input")
        dt = input_schema[config.column]
        if config.op in ("is_null", "is_not_null"):
            if config.value is not None:
                raise q.ConfigError("value", "is_null and is_not_null take no value")
        elif config.value is None:
            raise q.ConfigError("value", "a comparison needs a value")
        else:
            try:
                self.value = scalar(dt, config.value)
            except ValueError as e:
                raise q.ConfigError("value", str(e)) from None

    def process(self, batch: q.Batch) -> q.Frame:
        c = self.config
        col = batch[c.column]
        if c.op == "is_null":
            return batch.filter(col.is_null())
        if c.op == "is_not_null":
            return batch.filter(col.notna())
        mask = getattr(col, c.op)(self.value)
        if c.nulls == "keep":
            # A comparison with null is null: keep those rows.
            mask = mask.fill_null(True)
        return batch.filter(mask)  # null counts as false: dropped


Transform = q.export(Filter)
