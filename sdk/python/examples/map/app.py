"""`map` (Python port): arithmetic on numeric columns, `clip(value * scale + offset, min, max)`.

Same config, semantics and errors as the Rust plugin `plugins/map`, whose golden cases it
passes. Float columns are computed in their own precision; integer columns stay integers:
`scale`, `offset`, `min` and `max` must be integers (a config error names the key
otherwise) and a result that does not fit the column's type is a data error naming the
column and the row. Nulls stay null. With `output`, the result is appended as a new column
and the input column is kept.

Written the pandas way: `(batch[c] * scale + offset).clip(min, max)`. The SDK fuses that
into one `affine` kernel call in the host, as the Rust plugin makes: no column enters the
plugin, and the columns it does not change go back by reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

import quiver_sdk as q


def rust_f64(v: float) -> str:
    """An f64 as Rust's `Display` prints it (`2`, `1.19`, `inf`, `NaN`)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v):
        s = str(int(v))
        return "-0" if s == "0" and math.copysign(1.0, v) < 0 else s
    return format(Decimal(repr(v)), "f")


def integral(key: str, v: float) -> int:
    """An integer-valued f64 as an int, else a config error (the Rust plugin's rule)."""
    if not math.isfinite(v) or v != math.floor(v) or abs(v) > 9.0e18:
        raise q.ConfigError(key, f"{rust_f64(v)} must be an integer for an integer column")
    return int(v)


@dataclass
class ColumnConfig:
    column: str = field(metadata={"description": "Numeric input column."})
    scale: float = field(default=1.0, metadata={
        "description": "Multiplier (default 1). Must be an integer for integer columns."})
    offset: float = field(default=0.0, metadata={
        "description": "Added after scaling (default 0). Must be an integer for integer columns."})
    min: Optional[float] = field(default=None, metadata={"description": "Lower clip bound (optional)."})
    max: Optional[float] = field(default=None, metadata={"description": "Upper clip bound (optional)."})
    output: Optional[str] = field(default=None, metadata={
        "description": "Write the result to this new column (appended) instead of replacing "
                       "the input column."})


@dataclass
class Config:
    columns: list[ColumnConfig] = field(metadata={
        "description": "One entry per column to transform, applied as "
                       "clip(value * scale + offset, min, max)."})


@dataclass
class Step:
    column: str
    output: str
    scale: float | int
    offset: float | int
    lo: float | int | None
    hi: float | int | None


class Map(q.Transform):
    NAME = "map"
    VERSION = "0.1.0"
    DESCRIPTION = (
        "Arithmetic on numeric columns: clip(value * scale + offset, min, max) per column, "
        "exact for integer columns (overflow is a data error), in place or appended as a new "
        "column. The Python port of the Rust `map` plugin, built with the Quiver Python SDK."
    )
    CONFIG = Config

    def __init__(self, config: Config, input_schema: q.Schema) -> None:
        super().__init__(config, input_schema)
        schema = input_schema
        self.steps: list[Step] = []
        for i, c in enumerate(config.columns):
            def key(k: str) -> str:
                return f"columns[{i}].{k}"

            if c.column not in input_schema:
                raise q.ConfigError(key("column"), f"no column `{c.column}` in the input")
            dt = input_schema[c.column]
            if c.min is not None and c.max is not None and c.min > c.max:
                raise q.ConfigError(
                    key("min"), f"min {rust_f64(c.min)} is greater than max {rust_f64(c.max)}"
                )
            if dt.is_float:
                step = Step(c.column, c.column, c.scale, c.offset, c.min, c.max)
            elif dt.is_integer:
                step = Step(
                    c.column, c.column, integral(key("scale"), c.scale),
                    integral(key("offset"), c.offset),
                    None if c.min is None else integral(key("min"), c.min),
                    None if c.max is None else integral(key("max"), c.max),
                )
            else:
                raise q.ConfigError(
                    key("column"),
                    f"column `{c.column}` has type {dt}; map works on integer and float columns",
                )
            if c.output is not None:
                if c.output in schema:
                    raise q.ConfigError(key("output"), f"a column `{c.output}` already exists")
                schema = schema.with_column(c.output, dt, input_schema.nullable(c.column))
                step.output = c.output
            self.steps.append(step)
        self.schema = schema

    def output_schema(self) -> q.Schema:
        return self.schema

    def process(self, batch: q.Batch) -> q.Frame:
        # Every step reads its column as it arrived; appended outputs follow the input
        # columns in the order of the config.
        out: q.Frame = batch
        for s in self.steps:
            out = out.with_column(s.output, (batch[s.column] * s.scale + s.offset).clip(s.lo, s.hi))
        return out


Transform = q.export(Map)
