"""`features` (Python port, part of it): `standardise` and `one_hot`, pandas-style.

The Rust plugin `plugins/features` appends engineered columns with parameters fixed in the
config; this port implements two of its seven operations with the same config, output
names, types and errors, and passes the Rust plugin's golden cases for them:

- `standardise`: float64 `<col>_z` = `(x - mean) / std` — `(x.astype("float64") - mean) /
  std`: a cast (integer columns only), one `affine` and one `arith` call in the host.
- `one_hot`: int8 0/1 `<col>_<category>` per category, then `<col>_other`; a null row is
  null in every column — `(x == category).astype("int8")` per category and
  `(~x.isin(categories)).astype("int8")` for the rest: comparisons and casts in the host.

Nothing enters the plugin: every input column goes back by reference and every feature by
handle. The other operations (`min_max`, `log1p`, `bucketise`, `date_parts`, `length`) are a
config error at `features[i].op` naming this port.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import quiver_sdk as q
from quiver_sdk.config import json_display

OpName = Literal["standardise", "min_max", "log1p", "bucketise", "one_hot", "date_parts", "length"]
Part = Literal["year", "month", "day", "day_of_week", "hour"]

# The optional keys each operation takes, as the Rust plugin checks them.
KEYS = {
    "standardise": ("mean", "std", "output"),
    "min_max": ("min", "max", "clip", "output"),
    "log1p": ("output",),
    "length": ("output",),
    "bucketise": ("boundaries", "output"),
    "one_hot": ("categories",),
    "date_parts": ("parts",),
}
OPTIONAL = ("output", "mean", "std", "min", "max", "clip", "boundaries", "categories", "parts")


@dataclass
class Feature:
    column: str = field(metadata={"description": "Input column."})
    op: OpName = field(metadata={"description": "The operation (this port: standardise, one_hot)."})
    output: Optional[str] = field(default=None, metadata={"description": "Output column name (single-output ops)."})
    mean: Optional[float] = field(default=None, metadata={"description": "standardise: the mean (computed offline)."})
    std: Optional[float] = field(default=None, metadata={"description": "standardise: the standard deviation (> 0)."})
    min: Optional[float] = None
    max: Optional[float] = None
    clip: Optional[bool] = None
    boundaries: Optional[list[float]] = None
    categories: Optional[list[Any]] = field(default=None, metadata={
        "description": "one_hot: the categories (strings, integers or booleans, as the column)."})
    parts: Optional[list[Part]] = None


@dataclass
class Config:
    features: list[Feature] = field(metadata={"description": "The features, appended in this order."})


def number(v: Optional[float], key: str, what: str) -> float:
    if v is None:
        raise q.ConfigError(key, f"needs {what}")
    if not math.isfinite(v):
        raise q.ConfigError(key, f"{v} is not a finite number")
    return v


def rust_f64(v: float) -> str:
    return str(int(v)) if v == int(v) else repr(v)


class Features(q.Transform):
    NAME = "features"
    VERSION = "0.1.0"
    DESCRIPTION = (
        "Feature engineering with parameters fixed in the config (this Python port: standardise "
        "and one_hot), appended as new columns computed by the host's kernels."
    )
    CONFIG = Config

    def __init__(self, config: Config, input_schema: q.Schema) -> None:
        super().__init__(config, input_schema)
        if not config.features:
            raise q.ConfigError("features", "no feature; list at least one")
        schema = input_schema
        # (column, op, [(output name, parameter)]) per feature.
        self.plan: list[tuple[str, str, Any]] = []
        for i, f in enumerate(config.features):
            def key(k: str) -> str:
                return f"features[{i}].{k}"

            if f.column not in input_schema:
                raise q.ConfigError(key("column"), f"no column `{f.column}` in the input")
            for k in OPTIONAL:
                if getattr(f, k) is not None and k not in KEYS[f.op]:
                    raise q.ConfigError(key(k), f"`{k}` does not apply to op {f.op}; remove it")
            t = input_schema[f.column]
            if f.op == "standardise":
                if not (t.is_integer or t.is_float):
                    raise q.ConfigError(key("column"), f"column `{f.column}` has type {t}; op "
                                        "standardise needs a number column")
                mean = number(f.mean, key("mean"), "the mean (computed offline)")
                std = number(f.std, key("std"), "the standard deviation (computed offline)")
                if std <= 0:
                    raise q.ConfigError(key("std"), f"{rust_f64(std)} is not a positive deviation")
                new = [(f.output or f"{f.column}_z", "float64")]
                self.plan.append((f.column, "standardise", (new[0][0], mean, std)))
            elif f.op == "one_hot":
                if not (t.is_string or t.is_integer or t.is_boolean):
                    raise q.ConfigError(key("column"), f"column `{f.column}` has type {t}; op "
                                        "one_hot needs a text, integer or boolean column "
                                        "(bucketise floats first)")
                if not f.categories:
                    raise q.ConfigError(key("categories"), "needs a non-empty list of categories")
                cats: list[tuple[str, Any]] = []
                for j, v in enumerate(f.categories):
                    k = f"features[{i}].categories[{j}]"
                    if isinstance(v, str) and t.is_string:
                        text = v
                    elif isinstance(v, int) and not isinstance(v, bool) and t.is_integer \
                            and -(1 << 63) <= v < (1 << 64):
                        text = str(v)
                    elif isinstance(v, bool) and t.is_boolean:
                        text = "true" if v else "false"
                    else:
                        raise q.ConfigError(k, f"{json_display(v)} is not a category of a {t} column")
                    if any(text == c for c, _ in cats):
                        raise q.ConfigError(k, f"category {json_display(v)} is listed twice")
                    cats.append((text, v))
                new = [(f"{f.column}_{c}", "int8") for c, _ in cats] + [(f"{f.column}_other", "int8")]
                self.plan.append((f.column, "one_hot", ([n for n, _ in new], [v for _, v in cats])))
            else:
                raise q.ConfigError(key("op"), f"op {f.op} is not in this Python port of "
                                    "features (it has standardise and one_hot)")
            for name, dt in new:
                if not name or name in schema:
                    k = "output" if f.output is not None else "column"
                    hint = ("set another `output` name" if "output" in KEYS[f.op]
                            else "rename the clashing column first (shape)")
                    raise q.ConfigError(key(k), f"the output column `{name}` is empty or "
                                        f"already exists; {hint}")
                schema = schema.with_column(name, dt)
        self.schema = schema

    def output_schema(self) -> q.Schema:
        return self.schema

    def process(self, batch: q.Batch) -> q.Frame:
        out: q.Frame = batch
        for column, op, args in self.plan:
            x = batch[column]
            if op == "standardise":
                name, mean, std = args
                out = out.with_column(name, (x.astype("float64") - mean) / std)
            else:
                names, values = args
                for name, v in zip(names, values):
                    out = out.with_column(name, (x == v).astype("int8"))
                out = out.with_column(names[-1], (~x.isin(values)).astype("int8"))
        return out


Transform = q.export(Features)
