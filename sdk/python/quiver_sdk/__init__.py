"""Write Quiver transforms in Python, pandas-style, computed by the host's Arrow kernels
(componentize-py 0.25.1, world `plugin` of quiver:transform@0.2.0).

A plugin is a module (`app.py`) with one `Transform` subclass and one export line:

    from dataclasses import dataclass
    import quiver_sdk as q

    @dataclass
    class Config:
        rate: float = 1.19

    class Gross(q.Transform):
        NAME = "gross"
        DESCRIPTION = "Keeps orders of more than 2 items and adds their gross amount."
        CONFIG = Config

        def output_schema(self):
            return self.input_schema.with_column("gross", "float64")

        def process(self, batch):
            batch = batch.filter(batch["qty"] > 2)
            return batch.with_column("gross", (batch["amount"] * self.config.rate).clip(0))

    Transform = q.export(Gross)

Build it with `sdk/python/build.sh DIR OUT.wasm` (or `quiver plugin build DIR`), test it
with `quiver test`.

The core concepts:

- `Batch` / `Frame` (`frame`): the columns of a call, by name. Untouched columns go back to
  the host by reference; `filter` runs the host's `filter` kernel on each column.
- `Column` (`column`): a Series-like expression over a host column handle. Operators and
  `.str` / `.dt` methods run in the host's kernels (`docs/kernels.md`); nothing enters the
  plugin unless you call `to_pylist()` or `buffers()`.
- `Schema`, `DataType`, `dtype("float64")` (`dtypes`): what `output_schema()` returns.
- `CONFIG`: a dataclass (`config`); its JSON Schema is derived for `plugin inspect`.
- `ConfigError`, `DataError`, `InternalError` (`errors`); `log`, `counter_add` (`host`).
"""

from .errors import QuiverError, ConfigError, DataError, InternalError  # noqa: F401
from .dtypes import (  # noqa: F401
    DataType, Schema, dtype, timestamp, decimal128, type_name,
    null, bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    float16, float32, float64, utf8, large_utf8, binary, large_binary, date32, date64,
)
from .column import Column, coalesce, concat, escape, scalar  # noqa: F401
from .frame import Batch, Frame  # noqa: F401
from .buffers import Buffers  # noqa: F401
from . import bitmap, config, host  # noqa: F401
from .config import json_schema  # noqa: F401
from .host import log, counter_add, Level  # noqa: F401
from .base import Transform, Outputs, read_schema  # noqa: F401
from ._export import export  # noqa: F401

#: The WIT package version this SDK implements.
WIT_VERSION = "0.2.0"
