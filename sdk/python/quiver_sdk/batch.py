"""Batches: a view of an incoming WIT batch with its schema, and batch building.

`process` receives a `Batch`: `batch.num_rows`, `batch.schema`, `batch.column(i)` /
`batch.column("name")` (a column view, see `columns`), `batch.columns` (the WIT columns,
to pass through unchanged) and `batch.wit` (the WIT batch itself).

Return batches built with `make(num_rows, columns)` (WIT columns or views), with
`batch.replace(i, col)` / `batch.append(col)`, `batch.filter(mask)`, or the input `batch`
itself. A WIT `Batch` value is accepted as well.
"""

from ._wit import wit
from . import bitmap
from . import columns as _c
from . import datatypes as _s


def _wit_column(c):
    return c.wit if isinstance(c, _c.Column) else c


class Batch:
    """A record batch and the schema its columns follow."""

    __slots__ = ("schema", "num_rows", "columns", "_views")

    def __init__(self, schema, num_rows, columns):
        self.schema = schema
        self.num_rows = num_rows
        #: The WIT columns, in schema order.
        self.columns = columns
        self._views = {}

    @classmethod
    def from_wit(cls, schema, wit_batch):
        """Wrap a WIT batch (no copy)."""
        if len(wit_batch.columns) != len(schema.fields):
            from .errors import InternalError

            raise InternalError(
                f"batch has {len(wit_batch.columns)} columns, schema has {len(schema.fields)}"
            )
        return cls(schema, wit_batch.num_rows, wit_batch.columns)

    @property
    def wit(self):
        """The WIT batch."""
        return wit.Batch(num_rows=self.num_rows, columns=[_wit_column(c) for c in self.columns])

    def __len__(self):
        return self.num_rows

    def index(self, key):
        """Column index of `key` (an int or a column name); KeyError when absent."""
        if isinstance(key, int):
            return key
        i = _s.index_of(self.schema, key)
        if i is None:
            raise KeyError(key)
        return i

    def column(self, key):
        """The view of column `key` (an index or a name)."""
        i = self.index(key)
        v = self._views.get(i)
        if v is None:
            v = _c.view(self.schema.fields[i].data_type, self.columns[i], self.num_rows)
            self._views[i] = v
        return v

    def replace(self, key, col, schema=None):
        """A new batch with column `key` replaced by `col` (schema unchanged unless given)."""
        i = self.index(key)
        cols = list(self.columns)
        cols[i] = _wit_column(col)
        return Batch(schema or self.schema, self.num_rows, cols)

    def append(self, col, field=None, schema=None):
        """A new batch with `col` appended; give its `field` or the whole new `schema`."""
        if schema is None:
            if field is None:
                raise TypeError("append needs the new column's field or the new schema")
            schema = _s.with_field(self.schema, field)
        return Batch(schema, self.num_rows, list(self.columns) + [_wit_column(col)])

    def with_columns(self, schema, columns):
        """A new batch with the same row count, another schema and these columns."""
        return Batch(schema, self.num_rows, [_wit_column(c) for c in columns])

    def filter(self, mask):
        """The rows where `mask` (bytes, 0/1 per row; or an iterable of booleans) is 1."""
        if not isinstance(mask, (bytes, bytearray)):
            mask = bitmap.from_bools(mask)
        n = self.num_rows
        if len(mask) != n:
            raise ValueError(f"mask has {len(mask)} rows, batch has {n}")
        kept = mask.count(1)
        if kept == n:
            return self
        spans = _c.runs(mask)
        if len(spans) * 4 <= kept:
            # Mostly consecutive rows: copy whole runs (measured several times faster).
            fields = self.schema.fields
            cols = [_c.take_runs(f.data_type, c, n, spans) for f, c in zip(fields, self.columns)]
            return Batch(self.schema, kept, cols)
        return self.take(bitmap.indices(mask))

    def take(self, rows):
        """The given rows (a list of row numbers), in that order."""
        n = self.num_rows
        fields = self.schema.fields
        cols = [_c.take(f.data_type, c, n, rows) for f, c in zip(fields, self.columns)]
        return Batch(self.schema, len(rows), cols)

    def to_pylist(self):
        """Rows as dicts (for tests and small data)."""
        names = _s.names(self.schema)
        cols = [self.column(i).to_list() for i in range(len(names))]
        return [dict(zip(names, row)) for row in zip(*cols)]

    def __repr__(self):
        return f"<Batch rows={self.num_rows} columns={_s.names(self.schema)}>"


def make(schema, num_rows, columns):
    """A batch of `schema` from WIT columns or column views."""
    return Batch(schema, num_rows, [_wit_column(c) for c in columns])


def empty(schema):
    """A batch of `schema` with no rows."""
    cols = []
    for f in schema.fields:
        dt = f.data_type
        offsets = bytes(8 if _s.is_large(dt) else 4) if _s.is_var_width(dt) else None
        cols.append(_c.column(b"", offsets, None))
    return Batch(schema, 0, cols)
