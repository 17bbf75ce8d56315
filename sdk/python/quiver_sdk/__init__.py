"""Write Quiver transforms in Python (componentize-py 0.25.1, world `plugin` of
quiver:transform@0.1.0).

A plugin is a module (`app.py`) with one `Transform` subclass and one export line:

    from array import array
    import quiver_sdk as q

    class Double(q.Transform):
        NAME = "double"
        DESCRIPTION = "Doubles a float64 column."
        CONFIG = q.Struct({"column": q.Str()})

        def __init__(self, config, input_schema):
            self.index = q.index_of(input_schema, config.column)
            if self.index is None:
                raise q.ConfigError("column", f"no column `{config.column}` in the input")
            self.schema = input_schema

        def output_schema(self):
            return self.schema

        def process(self, batch):
            col = batch.column(self.index)
            doubled = q.primitive(q.FLOAT64, array("d", [v * 2.0 for v in col.values]),
                                  col.validity)
            return [batch.replace(self.index, doubled)]

    Transform = q.export(Double)

Build it with `sdk/python/build.sh DIR OUT.wasm`, test it with `quiver test`.

Columns arrive as Arrow buffers (`bytes`) and are read through views (`columns`): typed
memoryviews for fixed-width values, masks for validity and booleans, offsets + bytes for
strings, decoded on demand. Write each output column as one list comprehension and use C-level
whole-buffer operations (`array.frombytes`, `bytes.join`, masks, `itertools.compress`) where
they apply; `map()` over bound dunder methods is slower than a comprehension inside the
component. See `sdk/python/README.md` for the measurements.
"""

from array import array  # noqa: F401  (re-exported for plugin code)

from .errors import (  # noqa: F401
    QuiverError,
    ConfigError,
    DataError,
    InternalError,
    config_error,
    data_error,
    internal_error,
)
from .datatypes import (  # noqa: F401
    NULL, BOOLEAN, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64,
    FLOAT32, FLOAT64, UTF8, LARGE_UTF8, BINARY, LARGE_BINARY, DATE32, DATE64,
    TimeUnit, timestamp, decimal128,
    is_integer, is_signed_integer, is_float, is_numeric, is_string, is_binary,
    is_var_width, is_large, typecode, fixed_width, integer_range, type_name,
    field, schema, index_of, names, with_field, replace_field,
)
from .columns import (  # noqa: F401
    Column, NullColumn, PrimitiveColumn, BooleanColumn, StringColumn, BinaryColumn,
    Decimal128Column, view, column, primitive, booleans, var_width, strings, binaries,
    nulls, from_pylist, validity_from_mask, take,
)
from .batch import Batch, make as make_batch, empty as empty_batch  # noqa: F401
from .config import (  # noqa: F401
    ConfigObject, Any, Str, Bool, Number, Integer, Enum, Optional, List, Struct,
    json_display,
)
from . import bitmap, compute, config, host  # noqa: F401
from .host import log, counter_add, Level  # noqa: F401
from .base import Transform, read_schema  # noqa: F401
from ._export import export  # noqa: F401

#: The WIT package version this SDK implements.
WIT_VERSION = "0.1.0"
