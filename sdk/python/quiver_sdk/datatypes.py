"""Schema and data-type helpers over the WIT `schema`, `field` and `data-type` values.

Schemas cross the boundary once per stream, as the generated dataclasses
(`Schema(fields, metadata)`, `Field(name, data_type, nullable)`, one `DataType_*` class per
variant); the SDK hands them to your transform as they are. This module names the types
(`INT64`, `UTF8`, `timestamp("ms", "UTC")`, ...), answers questions about them
(`is_integer`, `fixed_width`, `integer_range`, `type_name` — the same names arrow-rs prints,
so messages match the Rust plugins) and builds schemas (`field`, `schema`, `with_field`).
"""

from ._wit import wit

NULL = wit.DataType_Null()
BOOLEAN = wit.DataType_Boolean()
INT8 = wit.DataType_Int8()
INT16 = wit.DataType_Int16()
INT32 = wit.DataType_Int32()
INT64 = wit.DataType_Int64()
UINT8 = wit.DataType_Uint8()
UINT16 = wit.DataType_Uint16()
UINT32 = wit.DataType_Uint32()
UINT64 = wit.DataType_Uint64()
FLOAT32 = wit.DataType_Float32()
FLOAT64 = wit.DataType_Float64()
UTF8 = wit.DataType_Utf8()
LARGE_UTF8 = wit.DataType_LargeUtf8()
BINARY = wit.DataType_Binary()
LARGE_BINARY = wit.DataType_LargeBinary()
DATE32 = wit.DataType_Date32()
DATE64 = wit.DataType_Date64()

TimeUnit = wit.TimeUnit

_UNITS = {
    "s": TimeUnit.SECOND,
    "ms": TimeUnit.MILLISECOND,
    "us": TimeUnit.MICROSECOND,
    "µs": TimeUnit.MICROSECOND,
    "ns": TimeUnit.NANOSECOND,
}
_UNIT_NAMES = {
    TimeUnit.SECOND: "s",
    TimeUnit.MILLISECOND: "ms",
    TimeUnit.MICROSECOND: "µs",
    TimeUnit.NANOSECOND: "ns",
}


def timestamp(unit="us", timezone=None):
    """A timestamp type: `unit` is a `TimeUnit` or one of "s", "ms", "us", "ns"."""
    if not isinstance(unit, TimeUnit):
        unit = _UNITS[unit]
    return wit.DataType_Timestamp(wit.TimestampType(unit=unit, timezone=timezone))


def decimal128(precision, scale):
    """A 128-bit decimal type."""
    return wit.DataType_Decimal128(wit.DecimalType(precision=precision, scale=scale))


# Per fixed-width type: (array/memoryview typecode, width in bytes). Little-endian is
# assumed: wasm32 is little-endian, as is every host Quiver supports.
_FIXED = {
    wit.DataType_Int8: ("b", 1),
    wit.DataType_Int16: ("h", 2),
    wit.DataType_Int32: ("i", 4),
    wit.DataType_Int64: ("q", 8),
    wit.DataType_Uint8: ("B", 1),
    wit.DataType_Uint16: ("H", 2),
    wit.DataType_Uint32: ("I", 4),
    wit.DataType_Uint64: ("Q", 8),
    wit.DataType_Float32: ("f", 4),
    wit.DataType_Float64: ("d", 8),
    wit.DataType_Date32: ("i", 4),
    wit.DataType_Date64: ("q", 8),
    wit.DataType_Timestamp: ("q", 8),
}

_INTEGER = (
    wit.DataType_Int8, wit.DataType_Int16, wit.DataType_Int32, wit.DataType_Int64,
    wit.DataType_Uint8, wit.DataType_Uint16, wit.DataType_Uint32, wit.DataType_Uint64,
)
_FLOAT = (wit.DataType_Float32, wit.DataType_Float64)
_STRING = (wit.DataType_Utf8, wit.DataType_LargeUtf8)
_BINARY = (wit.DataType_Binary, wit.DataType_LargeBinary)
_LARGE = (wit.DataType_LargeUtf8, wit.DataType_LargeBinary)

_RANGES = {
    wit.DataType_Int8: (-(1 << 7), (1 << 7) - 1),
    wit.DataType_Int16: (-(1 << 15), (1 << 15) - 1),
    wit.DataType_Int32: (-(1 << 31), (1 << 31) - 1),
    wit.DataType_Int64: (-(1 << 63), (1 << 63) - 1),
    wit.DataType_Uint8: (0, (1 << 8) - 1),
    wit.DataType_Uint16: (0, (1 << 16) - 1),
    wit.DataType_Uint32: (0, (1 << 32) - 1),
    wit.DataType_Uint64: (0, (1 << 64) - 1),
    wit.DataType_Date32: (-(1 << 31), (1 << 31) - 1),
    wit.DataType_Date64: (-(1 << 63), (1 << 63) - 1),
    wit.DataType_Timestamp: (-(1 << 63), (1 << 63) - 1),
}


def is_integer(dt):
    """Signed or unsigned integer of any width (not dates or timestamps)."""
    return isinstance(dt, _INTEGER)


def is_signed_integer(dt):
    """int8, int16, int32 or int64."""
    return isinstance(dt, _INTEGER[:4])


def is_float(dt):
    """float32 or float64."""
    return isinstance(dt, _FLOAT)


def is_numeric(dt):
    """An integer or float type."""
    return isinstance(dt, _INTEGER + _FLOAT)


def is_string(dt):
    """utf8 or large-utf8."""
    return isinstance(dt, _STRING)


def is_binary(dt):
    """binary or large-binary."""
    return isinstance(dt, _BINARY)


def is_var_width(dt):
    """A type with an offsets buffer: utf8, binary and their large forms."""
    return isinstance(dt, _STRING + _BINARY)


def is_large(dt):
    """large-utf8 or large-binary (64-bit offsets)."""
    return isinstance(dt, _LARGE)


def offsets_typecode(dt):
    """The typecode of the offsets of a variable-width type: "i" (s32) or "q" (s64)."""
    return "q" if isinstance(dt, _LARGE) else "i"


def typecode(dt):
    """The `array`/`memoryview` typecode of a fixed-width primitive type, else None.

    Dates and timestamps give their integer typecode. Boolean (bit-packed) and decimal128
    (16 bytes, no typecode) give None: see `fixed_width`.
    """
    entry = _FIXED.get(type(dt))
    return entry[0] if entry else None


def fixed_width(dt):
    """Bytes per row of a fixed-width type (16 for decimal128), else None.

    Boolean is bit-packed and gives None.
    """
    if isinstance(dt, wit.DataType_Decimal128):
        return 16
    entry = _FIXED.get(type(dt))
    return entry[1] if entry else None


def integer_range(dt):
    """(lowest, highest) value of an integer, date or timestamp type, else None."""
    return _RANGES.get(type(dt))


def type_name(dt):
    """The type's name as arrow-rs displays it (`Int64`, `UInt8`, `Utf8`, `Timestamp(ms, "UTC")`)."""
    if isinstance(dt, wit.DataType_Timestamp):
        unit = _UNIT_NAMES[dt.value.unit]
        tz = dt.value.timezone
        if tz is None:
            return f"Timestamp({unit})"
        return f"Timestamp({unit}, {_rust_debug_str(tz)})"
    if isinstance(dt, wit.DataType_Decimal128):
        return f"Decimal128({dt.value.precision}, {dt.value.scale})"
    name = type(dt).__name__[len("DataType_"):]
    return name.replace("Uint", "UInt")


def _rust_debug_str(s):
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def field(name, data_type, nullable=True):
    """A schema field."""
    return wit.Field(name=name, data_type=data_type, nullable=nullable)


def schema(fields, metadata=()):
    """A schema from fields and (key, value) metadata pairs."""
    return wit.Schema(fields=list(fields), metadata=list(metadata))


def index_of(s, name):
    """Index of the first field called `name` in schema `s`, or None."""
    for i, f in enumerate(s.fields):
        if f.name == name:
            return i
    return None


def names(s):
    """The field names of schema `s`, in order."""
    return [f.name for f in s.fields]


def with_field(s, f):
    """A copy of schema `s` with field `f` appended (metadata kept)."""
    return wit.Schema(fields=list(s.fields) + [f], metadata=list(s.metadata))


def replace_field(s, index, f):
    """A copy of schema `s` with field `index` replaced by `f`."""
    fields = list(s.fields)
    fields[index] = f
    return wit.Schema(fields=fields, metadata=list(s.metadata))
