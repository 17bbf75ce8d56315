"""Column views over the WIT buffers, and builders that make output columns.

A WIT `column` carries Arrow's buffers as `bytes`: `validity` (bit-packed, or None when every
row is valid), `offsets` (variable-width types) and `values`. `view(data_type, column, n)`
wraps one without copying anything:

- `PrimitiveColumn` (integers, floats, dates, timestamps): `.values` is a `memoryview` cast
  to the type (`"q"`, `"d"`, ...), so `sum(col.values)`, `map(f, col.values)` and
  `array(tc, ...)` run over the buffer at C speed.
- `BooleanColumn`: `.mask()` gives one 0/1 byte per row.
- `StringColumn` / `BinaryColumn`: `.offsets` is a memoryview of s32 (or s64) offsets and
  `.data` the bytes; `.raw(i)` slices one row, `.value(i)` decodes one row on demand,
  `.raw_values()` slices every row. There are never per-row WIT strings.
- `Decimal128Column`: `.value(i)` is the unscaled int, `.decimal(i)` a `decimal.Decimal`.
- `NullColumn`: every row null.

Every view has `.validity` (bitmap or None), `.null_count`, `.is_valid(i)`,
`.valid_mask()` (0/1 byte per row, or None when all valid), `.to_list()` (None for nulls;
for tests and small data) and `.wit` (the column it wraps, to pass through unchanged).

Builders return WIT columns (buffers as `bytes`, as the bindings require):
`primitive(data_type, values, validity=None)` from an `array`, bytes or any iterable of
numbers; `from_pylist(data_type, values)` from Python values with None for nulls;
`strings(values)` / `binaries(values)` from str/bytes with None; `var_width(offsets, data,
validity=None)` from ready offsets and bytes; `booleans(mask, validity=None)`;
`nulls(n)`. `validity_from_mask(mask)` packs a 0/1-per-row mask (None when all valid).
`take(data_type, column, n, rows)` selects rows; `take_runs(data_type, column, n, spans)`
copies runs of consecutive rows with whole-buffer slices (both used by `Batch.filter`, which
picks runs when the kept rows are mostly consecutive).
"""

import decimal
import re
from array import array
from itertools import accumulate, compress
from operator import itemgetter

from ._wit import wit
from . import bitmap
from . import datatypes as _s


def _as_bytes(buf):
    """`bytes` of a buffer (the bindings accept nothing else for `list<u8>`)."""
    if buf is None or type(buf) is bytes:
        return buf
    if isinstance(buf, array):
        return buf.tobytes()
    if isinstance(buf, memoryview):
        return buf.tobytes()
    return bytes(buf)


def column(values, offsets=None, validity=None):
    """A WIT column from raw buffers (any bytes-like objects; None for absent ones)."""
    return wit.Column(
        validity=_as_bytes(validity), offsets=_as_bytes(offsets), values=_as_bytes(values)
    )


def validity_from_mask(mask):
    """The validity bitmap of a 0/1-per-row mask (1 = valid); None if every row is valid."""
    if not isinstance(mask, (bytes, bytearray)):
        mask = bitmap.from_bools(mask)
    if mask.count(0) == 0:
        return None
    return bitmap.pack(mask)


# ---------------------------------------------------------------------------------- views


class Column:
    """A read-only view of one column of a batch; see the module docs."""

    __slots__ = ("data_type", "wit", "num_rows", "_null_count")

    def __init__(self, data_type, wit_column, num_rows):
        self.data_type = data_type
        self.wit = wit_column
        self.num_rows = num_rows
        self._null_count = None

    @property
    def validity(self):
        """The validity bitmap (bytes, 1 bit per row, 1 = valid), or None: all valid."""
        return self.wit.validity

    @property
    def null_count(self):
        """Number of null rows."""
        if self._null_count is None:
            v = self.wit.validity
            n = self.num_rows
            self._null_count = 0 if v is None else n - bitmap.count_set(v, n)
        return self._null_count

    def __len__(self):
        return self.num_rows

    def is_valid(self, i):
        """Whether row `i` holds a value."""
        v = self.wit.validity
        return v is None or bitmap.get(v, i)

    def is_null(self, i):
        """Whether row `i` is null."""
        return not self.is_valid(i)

    def valid_mask(self):
        """One byte per row, 1 = valid, 0 = null; None when every row is valid."""
        v = self.wit.validity
        if v is None:
            return None
        return bitmap.unpack(v, self.num_rows)

    def value(self, i):
        """The value of row `i`, ignoring validity (see `get` for None on nulls)."""
        raise NotImplementedError

    def get(self, i):
        """The value of row `i`, or None when it is null."""
        return self.value(i) if self.is_valid(i) else None

    def _values_list(self):
        return [self.value(i) for i in range(self.num_rows)]

    def to_list(self):
        """All rows as Python values, None for nulls (for tests and small data)."""
        vals = self._values_list()
        m = self.valid_mask()
        if m is not None:
            for i in compress(range(self.num_rows), bitmap.mask_not(m)):
                vals[i] = None
        return vals

    def __repr__(self):
        return f"<{type(self).__name__} {_s.type_name(self.data_type)} rows={self.num_rows}>"


class NullColumn(Column):
    """A column of type `null`: every row is null."""

    __slots__ = ()

    @property
    def null_count(self):
        return self.num_rows

    def is_valid(self, i):
        return False

    def valid_mask(self):
        return bytes(self.num_rows)

    def value(self, i):
        return None


class PrimitiveColumn(Column):
    """Integers, floats, dates and timestamps: `.values` is a typed memoryview."""

    __slots__ = ("_values",)

    def __init__(self, data_type, wit_column, num_rows):
        super().__init__(data_type, wit_column, num_rows)
        self._values = None

    @property
    def typecode(self):
        """The `array` typecode of the values ("b", "h", "i", "q", "B", ..., "f", "d")."""
        return _s.typecode(self.data_type)

    @property
    def width(self):
        """Bytes per value."""
        return _s.fixed_width(self.data_type)

    @property
    def values(self):
        """The values as a memoryview of the column's type (null rows hold arbitrary values)."""
        if self._values is None:
            n = self.num_rows
            w = self.width
            buf = memoryview(self.wit.values)
            if len(buf) < n * w:
                raise ValueError(
                    f"values buffer of {len(buf)} bytes is too short for {n} rows of width {w}"
                )
            self._values = buf[: n * w].cast(self.typecode)
        return self._values

    def value(self, i):
        return self.values[i]

    def _values_list(self):
        return self.values.tolist()

    def to_array(self):
        """A mutable `array.array` copy of the values."""
        return array(self.typecode, self.values)


class BooleanColumn(Column):
    """Bit-packed booleans: `.mask()` gives one 0/1 byte per row."""

    __slots__ = ("_mask",)

    def __init__(self, data_type, wit_column, num_rows):
        super().__init__(data_type, wit_column, num_rows)
        self._mask = None

    def mask(self):
        """One byte per row: 1 = true, 0 = false (null rows hold arbitrary values)."""
        if self._mask is None:
            self._mask = bitmap.unpack(self.wit.values, self.num_rows)
        return self._mask

    def value(self, i):
        return bitmap.get(self.wit.values, i)

    def _values_list(self):
        return [b == 1 for b in self.mask()]


class VarWidthColumn(Column):
    """Offsets + data: row i is `data[offsets[i]:offsets[i+1]]`."""

    __slots__ = ("_offsets",)

    def __init__(self, data_type, wit_column, num_rows):
        super().__init__(data_type, wit_column, num_rows)
        self._offsets = None

    @property
    def offsets(self):
        """The num_rows + 1 offsets as a memoryview of s32 (s64 for the large types)."""
        if self._offsets is None:
            tc = _s.offsets_typecode(self.data_type)
            w = 8 if tc == "q" else 4
            buf = self.wit.offsets
            if buf is None:
                if self.num_rows == 0:
                    buf = bytes(w)
                else:
                    raise ValueError("variable-width column without offsets")
            n1 = self.num_rows + 1
            mv = memoryview(buf)
            if len(mv) < n1 * w:
                raise ValueError(f"offsets buffer too short for {self.num_rows} rows")
            self._offsets = mv[: n1 * w].cast(tc)
        return self._offsets

    @property
    def data(self):
        """The concatenated bytes of all rows."""
        return self.wit.values

    def raw(self, i):
        """The bytes of row `i`."""
        o = self.offsets
        return self.wit.values[o[i]:o[i + 1]]

    def raw_values(self):
        """A list of the bytes of every row (null rows hold whatever their slot holds)."""
        o = self.offsets
        data = self.wit.values
        return [data[a:b] for a, b in zip(o, o[1:])]

    def lengths(self):
        """A list of the byte length of every row."""
        o = self.offsets
        return [b - a for a, b in zip(o, o[1:])]

    def value(self, i):
        return self.raw(i)

    def _values_list(self):
        return self.raw_values()


class BinaryColumn(VarWidthColumn):
    """binary / large-binary: values are `bytes`."""

    __slots__ = ()


class StringColumn(VarWidthColumn):
    """utf8 / large-utf8: `.value(i)` decodes one row on demand; `.raw(i)` gives its bytes.

    Compare and hash the raw bytes when you can: UTF-8 byte order is code-point order,
    the order arrow uses, and it saves the decoding.
    """

    __slots__ = ()

    def value(self, i):
        return self.raw(i).decode("utf-8")

    def strings(self):
        """A list decoding every row (null rows decode whatever they hold, usually "")."""
        return [r.decode() for r in self.raw_values()]

    def _values_list(self):
        return self.strings()


class Decimal128Column(Column):
    """16-byte two's-complement decimals: `.value(i)` is the unscaled int."""

    __slots__ = ()

    @property
    def scale(self):
        """Digits after the point."""
        return self.data_type.value.scale

    def value(self, i):
        return int.from_bytes(self.wit.values[16 * i:16 * i + 16], "little", signed=True)

    def decimal(self, i):
        """Row `i` as a `decimal.Decimal` (exact)."""
        return decimal.Decimal(self.value(i)).scaleb(-self.scale)


_VIEWS = {
    wit.DataType_Null: NullColumn,
    wit.DataType_Boolean: BooleanColumn,
    wit.DataType_Utf8: StringColumn,
    wit.DataType_LargeUtf8: StringColumn,
    wit.DataType_Binary: BinaryColumn,
    wit.DataType_LargeBinary: BinaryColumn,
    wit.DataType_Decimal128: Decimal128Column,
}


def view(data_type, wit_column, num_rows):
    """The view class fitting `data_type`, wrapping `wit_column` (no copy)."""
    cls = _VIEWS.get(type(data_type), PrimitiveColumn)
    return cls(data_type, wit_column, num_rows)


# ------------------------------------------------------------------------------- builders


def primitive(data_type, values, validity=None):
    """A fixed-width column (integers, floats, dates, timestamps, decimal128).

    `values`: an `array.array` of the right typecode, bytes-like data already in the
    column's little-endian layout, or any iterable of numbers (packed with `array`, which
    raises `OverflowError` for a value that does not fit). For decimal128, an iterable of
    unscaled ints or the raw 16-byte-per-row bytes. `validity`: a bitmap, or None.
    """
    tc = _s.typecode(data_type)
    if isinstance(data_type, wit.DataType_Decimal128):
        if not isinstance(values, (bytes, bytearray, memoryview)):
            values = b"".join(int(v).to_bytes(16, "little", signed=True) for v in values)
    elif tc is None:
        raise TypeError(f"{_s.type_name(data_type)} is not a fixed-width primitive type")
    elif isinstance(values, array):
        if values.typecode != tc:
            values = array(tc, values)
    elif not isinstance(values, (bytes, bytearray, memoryview)):
        values = array(tc, values)
    return column(values, None, validity)


def booleans(mask, validity=None):
    """A boolean column from a mask (0/1 byte per row, or an iterable of booleans)."""
    return column(bitmap.pack(mask), None, validity)


def var_width(offsets, data, validity=None, large=False):
    """A utf8/binary column from ready offsets (array/bytes/iterable of ints) and data bytes."""
    tc = "q" if large else "i"
    if isinstance(offsets, array):
        if offsets.typecode != tc:
            offsets = array(tc, offsets)
    elif not isinstance(offsets, (bytes, bytearray, memoryview)):
        offsets = array(tc, offsets)
    return column(data, offsets, validity)


def _var(values, encode, large):
    if not isinstance(values, list):
        values = list(values)
    valid = bytes(v is not None for v in values)
    if valid.count(0):
        parts = [b"" if v is None else encode(v) for v in values]
        validity = bitmap.pack(valid)
    else:
        parts = list(map(encode, values))
        validity = None
    offsets = array("q" if large else "i", accumulate(map(len, parts), initial=0))
    return column(b"".join(parts), offsets, validity)


def strings(values, large=False):
    """A utf8 (or large-utf8) column from an iterable of str / None."""
    return _var(values, str.encode, large)


def binaries(values, large=False):
    """A binary (or large-binary) column from an iterable of bytes / None."""
    return _var(values, bytes, large)


def nulls(num_rows):
    """A column of type `null` with `num_rows` rows."""
    return column(b"", None, bytes((num_rows + 7) >> 3) if num_rows else None)


def from_pylist(data_type, values):
    """A column of `data_type` from Python values, None for nulls (for tests and small data)."""
    values = list(values)
    valid = bytes(v is not None for v in values)
    validity = bitmap.pack(valid) if valid.count(0) else None
    if isinstance(data_type, wit.DataType_Null):
        return nulls(len(values))
    if isinstance(data_type, wit.DataType_Boolean):
        return booleans(bytes(bool(v) for v in values), validity)
    if _s.is_string(data_type):
        return strings(values, _s.is_large(data_type))
    if _s.is_binary(data_type):
        return binaries(values, _s.is_large(data_type))
    fill = 0.0 if _s.is_float(data_type) else 0
    return primitive(data_type, [fill if v is None else v for v in values], validity)


def _gather(seq, rows):
    """`[seq[i] for i in rows]` at C speed."""
    if len(rows) == 0:
        return []
    if len(rows) == 1:
        return [seq[rows[0]]]
    return itemgetter(*rows)(seq)


def take(data_type, col, num_rows, rows):
    """A WIT column of the given rows (a list of row numbers) of `col` (a WIT column)."""
    k = len(rows)
    validity = None
    if col.validity is not None:
        vmask = bitmap.unpack(col.validity, num_rows)
        picked = bytes(_gather(vmask, rows))
        if picked.count(0):
            validity = bitmap.pack(picked)
    if isinstance(data_type, wit.DataType_Null):
        return nulls(k)
    if isinstance(data_type, wit.DataType_Boolean):
        m = bitmap.unpack(col.values, num_rows)
        return column(bitmap.pack(bytes(_gather(m, rows))), None, validity)
    if _s.is_var_width(data_type):
        v = VarWidthColumn(data_type, col, num_rows)
        o = v.offsets
        data = col.values
        parts = [data[o[i]:o[i + 1]] for i in rows]
        offsets = array(o.format, accumulate(map(len, parts), initial=0))
        return column(b"".join(parts), offsets, validity)
    if isinstance(data_type, wit.DataType_Decimal128):
        data = col.values
        return column(b"".join([data[16 * i:16 * i + 16] for i in rows]), None, validity)
    w = _s.fixed_width(data_type)
    # Unsigned codes move the bits unchanged (floats included: no NaN canonicalisation).
    utc = {1: "B", 2: "H", 4: "I", 8: "Q"}[w]
    mv = memoryview(col.values)[: num_rows * w].cast(utc)
    if k == 0:
        return column(b"", None, validity)
    if k == 1:
        return column(array(utc, [mv[rows[0]]]), None, validity)
    # itemgetter gathers at C speed (faster than a comprehension or map(mv.__getitem__)).
    return column(array(utc, itemgetter(*rows)(mv)), None, validity)


_RUN = re.compile(b"\x01+")


def runs(mask):
    """The (start, end) spans of consecutive 1s in a 0/1 mask (regex, C speed per run)."""
    return [m.span() for m in _RUN.finditer(mask)]


def _bits_runs(bits, num_rows, spans):
    m = bitmap.unpack(bits, num_rows)
    return b"".join([m[a:b] for a, b in spans])


def take_runs(data_type, col, num_rows, spans):
    """A WIT column of the rows in `spans` ((start, end) pairs, ascending) of `col`.

    Each run is copied as one slice of each buffer, so this is much faster than `take` when
    the runs are long (a filter that keeps or drops most rows).
    """
    k = sum(b - a for a, b in spans)
    validity = None
    if col.validity is not None:
        picked = _bits_runs(col.validity, num_rows, spans)
        if picked.count(0):
            validity = bitmap.pack(picked)
    if isinstance(data_type, wit.DataType_Null):
        return nulls(k)
    if isinstance(data_type, wit.DataType_Boolean):
        return column(bitmap.pack(_bits_runs(col.values, num_rows, spans)), None, validity)
    if _s.is_var_width(data_type):
        o = VarWidthColumn(data_type, col, num_rows).offsets
        data = col.values
        parts = []
        out = array(o.format, [0])
        cum = 0
        for a, b in spans:
            lo, hi = o[a], o[b]
            parts.append(data[lo:hi])
            delta = cum - lo
            if delta:
                out.extend([x + delta for x in o[a + 1:b + 1]])
            else:
                out.extend(o[a + 1:b + 1])
            cum += hi - lo
        return column(b"".join(parts), out, validity)
    w = _s.fixed_width(data_type)
    data = col.values
    return column(b"".join([data[a * w:b * w] for a, b in spans]), None, validity)
