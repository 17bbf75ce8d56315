"""Data types and schemas over the WIT `type-node`/`field`/`schema` values (contract 0.2).

A type crosses as the pre-order nodes of one field (`list<field>`); a schema as the pre-order
nodes of all its columns. This module wraps both:

- `DataType`: one column's type (its nodes), named as arrow-rs prints it (`Float64`,
  `Timestamp(ms, "UTC")`), so messages match the Rust plugins. Make one with the constants
  (`float64`, `utf8`, ...), `timestamp(unit, tz)`, `decimal128(p, s)`, or by name with
  `dtype("float64")` — the names pandas and pyarrow users write (`"int64"`, `"float"`,
  `"str"`, `"bool"`, `"timestamp[ms, UTC]"`, ...).
- `Schema`: the columns of a stream by name: `schema["amount"]` (a `DataType`),
  `schema.names`, and the same verbs as a batch (`with_column`, `drop`, `select`,
  `rename`) so a transform declares its output schema the way it builds its output.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ._wit import wit

T = wit  # the generated `types` interface


def _children(node: Any) -> int:
    """How many child subtrees follow `node` in pre-order."""
    if isinstance(node, (T.TypeNode_List, T.TypeNode_LargeList, T.TypeNode_FixedSizeList,
                         T.TypeNode_Map, T.TypeNode_Dictionary)):
        return 1
    if isinstance(node, T.TypeNode_Struct):
        return node.value
    return 0


def subtree_len(fields: Sequence[Any], start: int) -> int:
    """Nodes in the subtree of `fields[start]` (the node and all its descendants)."""
    i = start
    pending = 1
    while pending:
        if i >= len(fields):
            raise ValueError("a schema's pre-order nodes end inside a column's type")
        pending += _children(fields[i].data_type) - 1
        i += 1
    return i - start


_UNITS = {
    "s": T.TimeUnit.SECOND,
    "ms": T.TimeUnit.MILLISECOND,
    "us": T.TimeUnit.MICROSECOND,
    "µs": T.TimeUnit.MICROSECOND,
    "ns": T.TimeUnit.NANOSECOND,
}
_UNIT_NAMES = {
    T.TimeUnit.SECOND: "s",
    T.TimeUnit.MILLISECOND: "ms",
    T.TimeUnit.MICROSECOND: "µs",
    T.TimeUnit.NANOSECOND: "ns",
}

_INTS = (T.TypeNode_Int8, T.TypeNode_Int16, T.TypeNode_Int32, T.TypeNode_Int64,
         T.TypeNode_Uint8, T.TypeNode_Uint16, T.TypeNode_Uint32, T.TypeNode_Uint64)
_FLOATS = (T.TypeNode_Float16, T.TypeNode_Float32, T.TypeNode_Float64)
_STRINGS = (T.TypeNode_Utf8, T.TypeNode_LargeUtf8)
_BINARIES = (T.TypeNode_Binary, T.TypeNode_LargeBinary)
_TEMPORAL = (T.TypeNode_Date32, T.TypeNode_Date64, T.TypeNode_Timestamp)


def _rust_debug_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class DataType:
    """One column's type: the pre-order nodes of one field (the first node's name is "")."""

    __slots__ = ("fields", "is_integer", "is_signed_integer", "is_float", "is_numeric",
                 "is_string", "is_binary", "is_boolean", "is_temporal", "is_large")

    def __init__(self, fields: Sequence[Any]) -> None:
        self.fields: tuple = tuple(fields)
        if not self.fields:
            raise ValueError("a data type has at least one node")
        n = self.fields[0].data_type
        self.is_integer = isinstance(n, _INTS)
        self.is_signed_integer = isinstance(n, _INTS[:4])
        self.is_float = isinstance(n, _FLOATS)
        self.is_numeric = isinstance(n, _INTS + _FLOATS + (T.TypeNode_Decimal128,))
        self.is_string = isinstance(n, _STRINGS)
        self.is_binary = isinstance(n, _BINARIES)
        self.is_boolean = isinstance(n, T.TypeNode_Boolean)
        self.is_temporal = isinstance(n, _TEMPORAL)
        self.is_large = isinstance(n, (T.TypeNode_LargeUtf8, T.TypeNode_LargeBinary))

    @classmethod
    def of(cls, node: Any, nullable: bool = True) -> "DataType":
        """The type of one node without children (`DataType.of(T.TypeNode_Int64())`)."""
        return cls([T.Field(name="", data_type=node, nullable=nullable)])

    @property
    def node(self) -> Any:
        """The top node (`TypeNode_Float64()`, `TypeNode_Timestamp(...)`, ...)."""
        return self.fields[0].data_type

    def to_wit(self) -> list:
        """The `list<field>` that `cast` and `from-data` take."""
        return [T.Field(name=f.name if i else "", data_type=f.data_type, nullable=f.nullable)
                for i, f in enumerate(self.fields)]

    def __eq__(self, other: Any) -> bool:
        if other is self:
            return True
        if isinstance(other, str):
            other = dtype(other)
        if not isinstance(other, DataType):
            return NotImplemented
        return [(f.data_type) for f in self.fields] == [(f.data_type) for f in other.fields]

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return type_name(self.node)

    def __repr__(self) -> str:
        return f"DataType({self})"

    # Questions, named as pandas' `pd.api.types.is_*_dtype`; plain attributes set once, as
    # they are read on every expression a plugin builds.
    is_integer: bool
    is_signed_integer: bool
    is_float: bool
    is_numeric: bool
    is_string: bool
    is_binary: bool
    is_boolean: bool
    is_temporal: bool
    is_large: bool


def type_name(node: Any) -> str:
    """A type node's name as arrow-rs displays it (`Int64`, `UInt8`, `Timestamp(ms, "UTC")`)."""
    if isinstance(node, T.TypeNode_Timestamp):
        unit = _UNIT_NAMES[node.value.unit]
        tz = node.value.timezone
        return f"Timestamp({unit})" if tz is None else f"Timestamp({unit}, {_rust_debug_str(tz)})"
    if isinstance(node, (T.TypeNode_Decimal128, T.TypeNode_Decimal256,
                         T.TypeNode_Decimal32, T.TypeNode_Decimal64)):
        kind = type(node).__name__[len("TypeNode_"):]
        return f"{kind}({node.value.precision}, {node.value.scale})"
    name = type(node).__name__[len("TypeNode_"):]
    return name.replace("Uint", "UInt")


null = DataType.of(T.TypeNode_Null())
bool_ = DataType.of(T.TypeNode_Boolean())
int8 = DataType.of(T.TypeNode_Int8())
int16 = DataType.of(T.TypeNode_Int16())
int32 = DataType.of(T.TypeNode_Int32())
int64 = DataType.of(T.TypeNode_Int64())
uint8 = DataType.of(T.TypeNode_Uint8())
uint16 = DataType.of(T.TypeNode_Uint16())
uint32 = DataType.of(T.TypeNode_Uint32())
uint64 = DataType.of(T.TypeNode_Uint64())
float16 = DataType.of(T.TypeNode_Float16())
float32 = DataType.of(T.TypeNode_Float32())
float64 = DataType.of(T.TypeNode_Float64())
utf8 = DataType.of(T.TypeNode_Utf8())
large_utf8 = DataType.of(T.TypeNode_LargeUtf8())
binary = DataType.of(T.TypeNode_Binary())
large_binary = DataType.of(T.TypeNode_LargeBinary())
date32 = DataType.of(T.TypeNode_Date32())
date64 = DataType.of(T.TypeNode_Date64())


def timestamp(unit: str = "us", tz: Optional[str] = None) -> DataType:
    """A timestamp type: `unit` one of "s", "ms", "us", "ns"; `tz` an IANA zone or offset."""
    if unit not in _UNITS:
        raise ValueError(f"unknown time unit {unit!r}; expected s, ms, us or ns")
    return DataType.of(T.TypeNode_Timestamp(T.TimestampType(unit=_UNITS[unit], timezone=tz)))


def decimal128(precision: int, scale: int) -> DataType:
    """A 128-bit decimal type."""
    return DataType.of(T.TypeNode_Decimal128(T.DecimalType(precision=precision, scale=scale)))


_NAMES = {
    "null": null,
    "bool": bool_, "boolean": bool_,
    "int8": int8, "int16": int16, "int32": int32, "int64": int64, "int": int64,
    "uint8": uint8, "uint16": uint16, "uint32": uint32, "uint64": uint64,
    "float16": float16, "float32": float32, "float64": float64, "float": float64,
    "double": float64,
    "str": utf8, "string": utf8, "utf8": utf8,
    "large_string": large_utf8, "large_utf8": large_utf8,
    "bytes": binary, "binary": binary, "large_binary": large_binary,
    "date32": date32, "date": date32, "date64": date64,
}
_TIMESTAMP = re.compile(r"^(?:timestamp|datetime64)\[(s|ms|us|ns)(?:,\s*(?:tz=)?([^\]]+))?\]$")

TypeLike = Union[DataType, str, type]


def dtype(spec: TypeLike) -> DataType:
    """A `DataType` from itself, a name (`"float64"`, `"str"`, `"timestamp[ms, UTC]"`,
    `"datetime64[ns]"`) or a Python type (`int` → int64, `float` → float64, `str` → utf8,
    `bool` → boolean, `bytes` → binary)."""
    if isinstance(spec, DataType):
        return spec
    if isinstance(spec, type):
        by_type = {int: int64, float: float64, str: utf8, bool: bool_, bytes: binary}
        if spec in by_type:
            return by_type[spec]
        raise TypeError(f"no Arrow type for the Python type {spec.__name__}")
    if not isinstance(spec, str):
        raise TypeError(f"a type is a DataType, a name or a Python type, not {spec!r}")
    name = spec.strip().lower()
    if name in _NAMES:
        return _NAMES[name]
    m = _TIMESTAMP.match(name)
    if m:
        tz = m.group(2)
        if tz is not None:
            tz = spec.strip()[spec.strip().lower().index(tz):][: len(tz)].strip()
        return timestamp(m.group(1), tz)
    raise ValueError(
        f"unknown type name {spec!r}; expected one of {', '.join(sorted(_NAMES))} or "
        "timestamp[unit] / timestamp[unit, zone]"
    )


class Schema:
    """The columns of a stream: names, types and nullability, in order.

    Wraps the WIT `schema` (pre-order nodes); `schema.to_wit()` gives it back. Verbs return
    new schemas and mirror the batch's: `with_column(name, type)` replaces a column of that
    name in place or appends one, `drop`, `select`, `rename`.
    """

    __slots__ = ("_cols", "metadata", "_index", "_names", "_slots")

    def __init__(self, columns: Iterable[tuple], metadata: Sequence[tuple] = ()) -> None:
        # (name, DataType, nullable) per top-level column.
        self._cols: list = [(n, dtype(t), bool(nl)) for n, t, nl in columns]
        self.metadata: list = list(metadata)
        self._index: dict = {}
        for i, (n, _, _) in enumerate(self._cols):
            self._index.setdefault(n, i)
        # Shared with every batch of this schema (frames copy before they change them).
        self._names: list = [n for n, _, _ in self._cols]
        self._slots: list = list(range(len(self._cols)))

    @classmethod
    def from_wit(cls, s: Any) -> "Schema":
        """The schema of a WIT `schema` value (its top-level columns' subtrees)."""
        fields = list(s.fields)
        cols = []
        i = 0
        while i < len(fields):
            k = subtree_len(fields, i)
            f = fields[i]
            cols.append((f.name, DataType(fields[i:i + k]), f.nullable))
            i += k
        return cls(cols, [tuple(p) for p in s.metadata])

    def to_wit(self) -> Any:
        """The WIT `schema` value."""
        fields = []
        for name, t, nullable in self._cols:
            for j, f in enumerate(t.fields):
                if j == 0:
                    fields.append(T.Field(name=name, data_type=f.data_type, nullable=nullable))
                else:
                    fields.append(f)
        return T.Schema(fields=fields, metadata=list(self.metadata))

    @property
    def names(self) -> list:
        """Column names, in order."""
        return list(self._names)

    def __len__(self) -> int:
        return len(self._cols)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: Any) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        """Position of column `name`; `KeyError` naming the columns there are."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no column `{name}` (columns: {', '.join(self.names)})") from None

    def get(self, name: str) -> Optional[int]:
        """Position of column `name`, or None."""
        return self._index.get(name)

    def __getitem__(self, name: Union[str, int]) -> DataType:
        i = name if isinstance(name, int) else self.index(name)
        return self._cols[i][1]

    def nullable(self, name: str) -> bool:
        """Whether column `name` may hold nulls."""
        return self._cols[self.index(name)][2]

    def columns(self) -> list:
        """(name, DataType, nullable) per column."""
        return list(self._cols)

    def with_column(self, name: str, type_: TypeLike, nullable: bool = True) -> "Schema":
        """Column `name` of `type_` replaced in place, or appended when there is none."""
        cols = list(self._cols)
        entry = (name, dtype(type_), nullable)
        i = self._index.get(name)
        if i is None:
            cols.append(entry)
        else:
            cols[i] = entry
        return Schema(cols, self.metadata)

    def drop(self, *names: str) -> "Schema":
        """Without the named columns (each must exist)."""
        for n in names:
            self.index(n)
        return Schema([c for c in self._cols if c[0] not in names], self.metadata)

    def select(self, *names: str) -> "Schema":
        """Only the named columns, in that order."""
        return Schema([self._cols[self.index(n)] for n in names], self.metadata)

    def rename(self, mapping: Mapping[str, str]) -> "Schema":
        """Columns renamed by `{old: new}` (each old name must exist)."""
        for n in mapping:
            self.index(n)
        return Schema([(mapping.get(n, n), t, nl) for n, t, nl in self._cols], self.metadata)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Schema) and self._cols == other._cols

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}: {t}" for n, t, _ in self._cols)
        return f"Schema({inner})"
