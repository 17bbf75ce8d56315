"""Column data in the guest: the WIT `column-data` (buffers per node) to and from Python.

Reading a column (`Column.to_pylist()`, `Column.buffers()`) copies its buffers into the
plugin once; this module turns them into values. `Buffers` gives the zero-copy views a
vectorised author wants: `values` is a `memoryview` cast to the column's type (`"d"`, `"q"`,
...), `valid` a 0/1-per-row mask or None. `to_pylist` gives Python values, None for nulls
(temporal columns as their stored integers; decimals as `decimal.Decimal`).

The other way, `encode(values, dtype)` builds the buffers of a column from Python values
(for `isin([...])` and `Column.from_pylist`), and `infer(values)` picks the type the
way pandas does for a list: bool, int64, float64, utf8 or binary.
"""

from __future__ import annotations

import decimal
import struct
from array import array
from itertools import accumulate, compress
from typing import Any, Optional, Sequence

from ._wit import wit
from . import bitmap
from .dtypes import DataType
from . import dtypes as _t

T = wit

# Per fixed-width node type: the `array`/`memoryview` typecode.
_CODES = {
    T.TypeNode_Int8: "b", T.TypeNode_Int16: "h", T.TypeNode_Int32: "i", T.TypeNode_Int64: "q",
    T.TypeNode_Uint8: "B", T.TypeNode_Uint16: "H", T.TypeNode_Uint32: "I",
    T.TypeNode_Uint64: "Q", T.TypeNode_Float16: "e", T.TypeNode_Float32: "f",
    T.TypeNode_Float64: "d", T.TypeNode_Date32: "i", T.TypeNode_Date64: "q",
    T.TypeNode_Timestamp: "q", T.TypeNode_Time32: "i", T.TypeNode_Time64: "q",
    T.TypeNode_Duration: "q",
}


def typecode(dt: DataType) -> Optional[str]:
    """The `memoryview` format of a fixed-width type's values, else None."""
    return _CODES.get(type(dt.node))


class Buffers:
    """One column's buffers as read into the guest, with typed views (no further copy)."""

    __slots__ = ("dtype", "node", "len")

    def __init__(self, dt: DataType, nodes: Sequence[Any]) -> None:
        self.dtype = dt
        self.node = nodes[0]
        self.len: int = self.node.len

    @property
    def validity(self) -> Optional[bytes]:
        """The validity bitmap (1 bit per row, 1 = valid), or None: every row is valid."""
        return self.node.validity

    @property
    def valid(self) -> Optional[bytes]:
        """One byte per row, 1 = valid, 0 = null; None when every row is valid."""
        v = self.node.validity
        return None if v is None else bitmap.unpack(v, self.len)

    @property
    def values(self) -> memoryview:
        """Fixed-width values as a typed memoryview (null rows hold arbitrary values);
        booleans as a 0/1 byte per row."""
        if isinstance(self.dtype.node, T.TypeNode_Boolean):
            return memoryview(bitmap.unpack(self.node.values, self.len))
        code = typecode(self.dtype)
        if code is None:
            raise TypeError(f"{self.dtype} has no fixed-width values view; use to_pylist()")
        width = struct.calcsize(code)
        return memoryview(self.node.values)[: self.len * width].cast(code)  # type: ignore[call-overload]

    @property
    def offsets(self) -> memoryview:
        """Offsets of a string/binary column (s32, s64 for the large types)."""
        code = "q" if self.dtype.is_large else "i"
        return memoryview(self.node.offsets or bytes(8))[: (self.len + 1) * (8 if code == "q" else 4)].cast(code)  # type: ignore[call-overload]

    def to_pylist(self) -> list:
        """Every row as a Python value, None for nulls."""
        n = self.len
        node = self.dtype.node
        if isinstance(node, T.TypeNode_Null):
            return [None] * n
        if isinstance(node, T.TypeNode_Boolean):
            vals: list = [b == 1 for b in bitmap.unpack(self.node.values, n)]
        elif self.dtype.is_string or self.dtype.is_binary:
            o = self.offsets
            data = self.node.values
            raw = [data[a:b] for a, b in zip(o, o[1:])]
            vals = [r.decode("utf-8") for r in raw] if self.dtype.is_string else raw
        elif isinstance(node, T.TypeNode_Decimal128):
            data = self.node.values
            scale = node.value.scale
            vals = [decimal.Decimal(int.from_bytes(data[16 * i:16 * i + 16], "little", signed=True)).scaleb(-scale)
                    for i in range(n)]
        elif typecode(self.dtype) is not None:
            vals = self.values.tolist()
        else:
            raise TypeError(f"to_pylist() does not read {self.dtype} columns")
        valid = self.valid
        if valid is not None:
            for i in compress(range(n), bitmap.mask_not(valid)):
                vals[i] = None
        return vals


def infer(values: Sequence[Any]) -> DataType:
    """The type pandas would give a list of Python values (None ignored): bool, int64,
    float64, utf8 or binary."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return _t.null
    if kinds == {bool}:
        return _t.bool_
    if kinds <= {int}:
        return _t.int64
    if kinds <= {int, float}:
        return _t.float64
    if kinds == {str}:
        return _t.utf8
    if kinds <= {bytes, bytearray}:
        return _t.binary
    names = ", ".join(sorted(k.__name__ for k in kinds))
    raise TypeError(f"cannot make one column of values of types {names}; give a dtype")


def encode(values: Sequence[Any], dt: DataType) -> list:
    """The WIT `column-data` of `values` (None for nulls) as a column of type `dt`."""
    values = list(values)
    n = len(values)
    valid = bytes(v is not None for v in values)
    validity = bitmap.pack(valid) if valid.count(0) else None
    node = dt.node
    if isinstance(node, T.TypeNode_Null):
        return [T.Node(len=n, validity=None, offsets=None, values=b"")]
    if isinstance(node, T.TypeNode_Boolean):
        return [T.Node(len=n, validity=validity, offsets=None,
                       values=bitmap.pack(bytes(bool(v) for v in values)))]
    if dt.is_string or dt.is_binary:
        enc = str.encode if dt.is_string else bytes
        parts = [b"" if v is None else enc(v) for v in values]
        offsets = array("q" if dt.is_large else "i", accumulate(map(len, parts), initial=0))
        return [T.Node(len=n, validity=validity, offsets=offsets.tobytes(),
                       values=b"".join(parts))]
    code = typecode(dt)
    if code is None:
        raise TypeError(f"cannot build a {dt} column from Python values")
    fill = 0.0 if dt.is_float else 0
    if code == "e":  # array has no float16; struct does
        packed = b"".join(struct.pack("<e", fill if v is None else v) for v in values)
    else:
        packed = array(code, [fill if v is None else v for v in values]).tobytes()
    return [T.Node(len=n, validity=validity, offsets=None, values=packed)]
