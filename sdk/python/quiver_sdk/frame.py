"""`Batch` and `Frame`: a pandas-style table over the host's columns.

`process` receives a `Batch`, the batch of the call (lent by the host: its handles are
valid for the call only). Its verbs return `Frame`s; return one (or a list) from
`process`:

    def process(self, batch):
        batch = batch.filter(batch["qty"] > 2)                   # nothing crosses
        return batch.with_column("gross", batch["amount"] * 1.19)

- `batch["amount"]`: a `Column` (no copy); `batch[mask]` is `filter(mask)` and
  `batch[["a", "b"]]` is `select`, as in pandas. `batch.columns` / `batch.schema`.
- `filter(mask)`: the rows where the boolean column `mask` is true (null counts as false).
  Nothing is copied: the host applies the mask to every output column with its
  `filter-many` kernel (one call for all of them; a returned selection mask would stay in
  the plugin's memory, as componentize-py never frees it).
- `with_column(name, value)` (`assign(name=value)`, `frame[name] = value`): replaces a
  column of that name in place, or appends one; `value` is a `Column` or a scalar.
- `drop(*names)`, `select(*names)` (`frame[[...]]`), `rename({old: new})`.

Columns that are not touched go back to the host by reference (`keep`): they are never
read into the plugin. Computed columns go back by handle: their values never enter it
either. The output must have the column names of `output_schema()`, in that order (the
adapter says which differ); the host checks the types.

Rows: the columns of a filtered frame (`frame[name]` after `filter`) are the selected rows
(the host's `filter` kernel runs on them when you use them), so
`batch.filter(m)["amount"].sum()` sums the kept rows, as in pandas. Putting such a column
into the filtered frame makes every column of it a filtered host column.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ._wit import wit_compute, Err
from . import dtypes as _t
from .column import ANY, Column, Operand
from .dtypes import Schema
from .errors import InternalError, from_wit

K = wit_compute

#: A frame's column: the input column at this index (kept), or a computed `Column`.
Slot = Union[int, Column]


class Frame:
    """An immutable table of named columns over one batch's rows (see the module docs)."""

    __slots__ = ("_batch", "_names", "_slots", "_domain", "_mask", "_rows")

    def __init__(self, batch: Optional["Batch"], names: Sequence[str], slots: Sequence[Slot],
                 domain: Any, mask: Optional[Column] = None,
                 rows: Optional[int] = None) -> None:
        self._batch = batch
        self._names: list = list(names)
        self._slots: list = list(slots)
        #: Whose rows the slots hold: the batch (input rows), a mask (filtered rows), ANY.
        self._domain = domain
        #: A selection not yet applied (in the slots' rows), or None.
        self._mask = mask
        self._rows = rows

    def _copy(self, names: Sequence[str], slots: Sequence[Slot]) -> "Frame":
        return Frame(self._batch, names, slots, self._domain, self._mask, self._rows)

    # Frames never change their lists in place (a batch shares its schema's).

    # -- columns -----------------------------------------------------------------------

    @property
    def columns(self) -> list:
        """Column names, in order."""
        return list(self._names)

    def __contains__(self, name: Any) -> bool:
        return name in self._names

    def _index(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise KeyError(f"no column `{name}` (columns: {', '.join(self._names)})") from None

    def _slot_column(self, i: int) -> Column:
        s = self._slots[i]
        if s.__class__ is int:
            return self._batch._input(s)  # type: ignore[union-attr]
        return s

    def __getitem__(self, key: Union[str, Sequence[str]]) -> Any:
        if key.__class__ is str:
            c = self._slot_column(self._index(key))
            if self._mask is not None:
                return _filtered(c, self._mask)
            return c
        if isinstance(key, Column):  # df[mask], as in pandas
            return self.filter(key)
        return self.select(*key)

    def __len__(self) -> int:
        return self.num_rows

    @property
    def num_rows(self) -> int:
        """Rows of the frame (counts a pending selection's kept rows)."""
        if self._mask is not None:
            return _selection(self._mask, self._base_rows())[1]
        return self._base_rows()

    def _base_rows(self) -> int:
        if self._rows is not None:
            return self._rows
        for i in range(len(self._slots)):
            return len(self._slot_column(i))
        return 0

    # -- verbs -------------------------------------------------------------------------

    def with_column(self, name: str, value: Any) -> "Frame":
        """Column `name` set to `value` (a `Column` or a scalar): replaced in place when the
        frame has one, else appended."""
        if not isinstance(name, str):
            raise TypeError(f"a column name is a str, not {type(name).__name__}")
        frame = self
        if value.__class__ is Column and (value._domain is frame._domain or value._domain is ANY):
            pass
        elif not isinstance(value, Column):
            dt = _t.dtype(type(value)) if value is not None else _t.null
            value = Column.from_pylist([value] * frame._base_rows(), dt, name=name)
            value._domain = frame._domain
        elif value._domain is not ANY and value._domain is not frame._domain:
            if frame._mask is not None and value._domain is frame._mask:
                lifted = frame._lifted(value)
                if lifted is not None:
                    value = lifted
                else:
                    frame = frame._applied()
            else:
                raise ValueError(
                    f"column `{name}`: the value comes from other rows than this frame's "
                    "(a column of another batch or of a differently filtered frame)"
                )
        names, slots = list(frame._names), list(frame._slots)
        if name in names:
            slots[names.index(name)] = value
        else:
            names.append(name)
            slots.append(value)
        return frame._copy(names, slots)

    def assign(self, **columns: Any) -> "Frame":
        """`with_column` for each keyword, in order (pandas' `assign`)."""
        frame = self
        for name, value in columns.items():
            frame = frame.with_column(name, value)
        return frame

    def drop(self, *names: Union[str, Sequence[str]], columns: Optional[Sequence[str]] = None) -> "Frame":
        """Without the named columns (each must exist)."""
        flat = _flatten(names) + list(columns or [])
        for n in flat:
            self._index(n)
        keep = [i for i, n in enumerate(self._names) if n not in flat]
        return self._copy([self._names[i] for i in keep], [self._slots[i] for i in keep])

    def select(self, *names: Union[str, Sequence[str]]) -> "Frame":
        """Only the named columns, in that order."""
        idx = [self._index(n) for n in _flatten(names)]
        return self._copy([self._names[i] for i in idx], [self._slots[i] for i in idx])

    def rename(self, mapping: Optional[Mapping[str, str]] = None, *,
               columns: Optional[Mapping[str, str]] = None) -> "Frame":
        """Columns renamed by `{old: new}` (`rename(columns={...})` as in pandas)."""
        m = dict(mapping or {})
        m.update(columns or {})
        for n in m:
            self._index(n)
        return self._copy([m.get(n, n) for n in self._names], self._slots)

    def filter(self, mask: Column) -> "Frame":
        """The rows where `mask` (a boolean column of this frame's rows) is true; null
        counts as false."""
        if not isinstance(mask, Column):
            raise TypeError(f"filter takes a boolean Column, not {type(mask).__name__}")
        frame = self
        if frame._mask is not None:
            if mask._domain is frame._mask:
                frame = frame._applied()
            else:
                # Both in the frame's own rows: one selection, the two masks and-ed.
                return Frame(frame._batch, frame._names, frame._slots, frame._domain,
                             frame._mask & mask, frame._rows)
        if mask._domain is not ANY and mask._domain is not frame._domain:
            raise ValueError(f"filter: mask `{mask.name}` comes from other rows than this frame's")
        return Frame(frame._batch, frame._names, frame._slots, frame._domain, mask, frame._rows)

    def _lifted(self, value: Column) -> Optional[Column]:
        """`value`, a column of this frame's pending selection, rebuilt over the unselected
        rows when that cannot change it: every kernel in it is row-wise and cannot fail on
        data (no integer arithmetic, no strict cast), so computing the rows the selection
        drops anyway raises nothing. The selection then stays one mask for every column."""
        mask = self._mask
        fail = _FAIL

        def lift(c: Any) -> Any:
            if isinstance(c, Operand):
                v = lift(c.value)
                return fail if v is fail else (c if v is c.value else Operand(v))
            if isinstance(c, list):
                parts = [lift(x) for x in c]
                return fail if any(p is fail for p in parts) else parts
            if not isinstance(c, Column):
                return c
            if c._domain is not mask:
                return c if c._domain is ANY else fail
            if c._op == "filter" and c._args[1] is mask:
                return c._args[0]
            if c._h is not None or not _infallible(c):
                return fail
            args = []
            for a in c._args:
                b = lift(a)
                if b is fail:
                    return fail
                args.append(b)
            return Column(c._op, tuple(args), name=c.name, dtype=c._dtype, domain=self._domain)

        out = lift(value)
        return None if out is fail else out

    def __setitem__(self, name: str, value: Any) -> None:
        f = self.with_column(name, value)
        for attr in Frame.__slots__:
            setattr(self, attr, getattr(f, attr))

    def _applied(self) -> "Frame":
        """The pending selection applied to every column by the host's `filter` kernel."""
        mask = self._mask
        assert mask is not None
        slots = [_filtered(self._slot_column(i), mask) for i in range(len(self._slots))]
        return Frame(self._batch, self._names, slots, mask, None, None)

    def _filtered_now(self) -> "Frame":
        """`_applied`, computed: every column's handle, then one `filter-many` call for all
        of them (one host call where a column each took one)."""
        mask = self._mask
        assert mask is not None
        cols = [self._slot_column(i) for i in range(len(self._slots))]
        batch = self._batch
        if batch is not None and sum(1 for c in cols if c._op == "input" and c._h is None) > 1:
            batch._fetch_inputs()
        handles = [c._handle() for c in cols]
        try:
            out = wit_compute.filter_many(handles, mask._handle())
        except Err as e:
            raise from_wit(e.value, None) from None
        slots = []
        for c, h in zip(cols, out):
            f = Column("filter", (c, mask), name=c.name, dtype=c._dtype, domain=mask, handle=h)
            slots.append(f)
        return Frame(self._batch, self._names, slots, mask, None, None)

    def to_pylist(self) -> list:
        """Rows as dicts (reads every column: for tests and small data)."""
        cols = [self[n].to_pylist() for n in self._names]
        return [dict(zip(self._names, row)) for row in zip(*cols)]

    def __repr__(self) -> str:
        sel = " filtered" if self._mask is not None else ""
        return f"<Frame{sel} columns={self._names}>"

    @classmethod
    def from_pydict(cls, data: Mapping[str, Sequence[Any]],
                    schema: Optional[Schema] = None) -> "Frame":
        """A frame of new columns from Python lists (for `finish`, which has no batch);
        types from `schema` when given, else inferred."""
        names = list(data)
        slots = []
        rows = None
        for n in names:
            values = list(data[n])
            rows = len(values) if rows is None else rows
            if len(values) != rows:
                raise ValueError(f"column `{n}` has {len(values)} values, `{names[0]}` {rows}")
            slots.append(Column.from_pylist(values, schema[n] if schema else None, name=n))
        return Frame(None, names, slots, ANY, None, rows or 0)


_FAIL = object()

# Row-wise kernels that never fail on data whatever the values (integer arithmetic, strict
# casts and regexes on bad input can): see docs/kernels.md.
_SAFE = {"compare", "logic", "not_", "is_null", "is_not_null", "str_unary", "str_match",
         "substring", "concat", "date_part", "sha256", "is_in", "coalesce", "fill_null",
         "clip", "regex_match", "regex_replace"}


def _infallible(c: Column) -> bool:
    op = c._op
    if op in _SAFE:
        return True
    if op == "cast":
        src, to = c._args[0]._dtype, c._dtype
        # safe: a value that does not cast becomes null; numbers always cast to floats.
        return bool(c._args[2]) or (src is not None and src.is_numeric and to is not None
                                    and to.is_float)
    if op in ("arith", "affine", "unary", "round"):
        base = c._args[0] if op == "affine" else None
        dt = (base._dtype if base is not None else c._dtype)
        return dt is not None and dt.is_float
    return False


def _flatten(names: Iterable[Any]) -> list:
    out = []
    for n in names:
        if isinstance(n, str):
            out.append(n)
        else:
            out.extend(n)
    return out


def _filtered(c: Column, mask: Column) -> Column:
    col = Column._kernel("filter", c, mask, dtype=c._dtype, name=c.name)
    col._domain = mask
    return col


def _selection(mask: Column, rows: Optional[int]) -> tuple:
    """The selection bitmap of a boolean mask column (null = false) and its set bits."""
    if mask._dtype is not _t.bool_ and mask.dtype != _t.bool_:
        raise InternalError(f"filter: the mask `{mask.name}` is {mask.dtype}, not Boolean")
    try:
        node = mask._handle().read()[0]
    except Err as e:
        raise from_wit(e.value, mask.name) from None
    n = node.len
    if rows is not None and n != rows:
        raise InternalError(f"filter: the mask has {n} rows, the frame {rows}")
    nb = (n + 7) >> 3
    v = int.from_bytes(node.values[:nb], "little")
    if node.validity is not None:
        v &= int.from_bytes(node.validity[:nb], "little")
    v &= (1 << n) - 1
    return v.to_bytes(nb, "little"), v.bit_count()


class Batch(Frame):
    """The batch a `process` call works on: every input column, kept by reference until you
    change it. `schema` is the input schema; handles are valid during the call only."""

    __slots__ = ("schema", "_lent", "_inputs")

    def __init__(self, schema: Schema, lent: Any, num_rows: Optional[int] = None) -> None:
        # The schema's own lists, shared: every verb makes new ones before it changes them.
        self._batch = self
        self._names = schema._names
        self._slots = schema._slots
        self._domain = self
        self._mask = None
        self._rows = num_rows
        self.schema = schema
        self._lent = lent
        self._inputs: dict = {}

    def _base_rows(self) -> int:
        if self._rows is None:
            self._rows = int(self._lent.num_rows())
        return self._rows

    def _fetch_inputs(self) -> None:
        """A handle to every input column in one host call (`batch.columns`), for the
        columns that have none yet."""
        try:
            handles = self._lent.columns()
        except Err as e:
            raise from_wit(e.value, None) from None
        for i, h in enumerate(handles):
            c = self._input(i)
            if c._h is None:
                c._h = h

    def _input(self, i: int) -> Column:
        c = self._inputs.get(i)
        if c is None:
            name = self.schema.names[i]
            c = Column("input", (self, i), name=name, dtype=self.schema[i], domain=self,
                       source=(self, i))
            self._inputs[i] = c
        return c

    def __repr__(self) -> str:
        return f"<Batch rows={self._rows} columns={self._names}>"


# ------------------------------------------------------------------------------- output


#: `keep` columns by index: plain values the bindings only read, so shared across calls.
_KEEP: dict = {}


def to_output(frame: Frame, schema: Schema, batch: Optional[Batch], wt: Any) -> Any:
    """The WIT `output` of a frame returned by `process`/`finish`, whose column names must
    be `schema`'s. Input columns of `batch` go back as `keep`, computed ones by handle."""
    if not isinstance(frame, Frame):
        raise InternalError(f"process/finish returned a {type(frame).__name__}, not a Frame")
    if frame._names is not schema._names and frame._names != schema._names:
        raise InternalError(
            f"an output has the columns {frame._names}; the declared output schema has "
            f"{schema.names}"
        )
    domain = frame._domain
    keep_ok = batch is not None and domain is batch
    if not keep_ok and domain is not ANY and not isinstance(domain, Column):
        raise InternalError("an output holds columns of another call's batch")
    selection = None
    rows = None
    if frame._mask is not None:
        # The host applies the filter (its `filter-many` kernel on every column, handles
        # back) rather than taking a `selection` mask: componentize-py never frees a
        # returned mask's bytes, so a long stream through a filter would run out of memory.
        frame = frame._filtered_now()
        keep_ok = False
    # Keep what can be kept; compute every other column before any handle moves into the
    # output (one column's handle may be another's argument).
    out: list = []
    for i, s in enumerate(frame._slots):
        if s.__class__ is not int:
            src = s._source
            if src is None or not keep_ok or src[0] is not batch:
                s._handle()
                out.append(s)
                continue
            s = src[1]
        elif not keep_ok:
            if frame._batch is None:
                raise InternalError(f"output column `{frame._names[i]}` keeps an input "
                                    "column, but finish has no input")
            c = frame._slot_column(i)
            c._handle()
            out.append(c)
            continue
        k = _KEEP.get(s)
        if k is None:
            k = _KEEP[s] = wt.OutColumn_Keep(s)
        out.append(k)
    seen: Optional[set] = None
    for i, c in enumerate(out):
        if c.__class__ is not Column:
            continue
        h = c._h
        if seen is None:
            seen = set()
        elif id(h) in seen:
            # A handle moves into the output once; a second use sends a zero-copy slice.
            try:
                h = K.slice(h, 0, h.len())
            except Err as e:
                raise from_wit(e.value, c.name) from None
        seen.add(id(h))
        out[i] = wt.OutColumn_Handle(h)
        if rows is None and not keep_ok:
            rows = int(h.len())
    if rows is None:
        rows = batch._base_rows() if keep_ok else frame._base_rows()  # type: ignore[union-attr]
    return wt.Output(num_rows=rows, selection=selection, columns=out)
