"""`Column`: a pandas-style Series over a host-owned column, computed by the host's kernels.

`batch["amount"]` is a `Column`. Operators and methods do not compute anything in Python:
they build an expression, and the first time a result is needed (an output, an aggregate,
`to_pylist()`) the SDK calls the host's kernels (`compute` in `wit/0.2.0/transform.wit`,
each described in `docs/kernels.md`) on column handles. The values never enter the plugin
unless you read them.

    gross = (batch["amount"] * 1.19).clip(lower=0)     # one `affine` kernel call
    big = batch["qty"] > 2                               # `compare` → a boolean column
    batch["city"].str.lower().str.strip()                # `str-unary` twice
    batch["ts"].dt(tz="Europe/Paris").hour               # `date-part` in that zone
    batch["amount"].fill_null(0).sum()                   # `fill-null`, then `aggregate`

What maps to what:

- `+ - * / % **`, unary `-`, `abs()`: `arith` / `unary`. Integer overflow and division by
  zero are data errors naming the column and the row (pandas would wrap silently). `/` is
  true division as in pandas: integers are cast to float64 first. `%` is `np.fmod` (the
  sign of the dividend), not Python's `%`. `//` is not offered (no floor-division kernel).
- `x * a + b`, `x * a - b`, `x + b` with numeric scalars, and a `clip` right after, run as
  **one** `affine` call (`clip(x × a + b, lo, hi)` in one native pass), exactly as the
  two-step arithmetic would, except that a product of `-0.0` clipped is `0.0`. Integer
  columns fuse only with integer scalars (a float scalar promotes them to float64 through
  `arith`, as pandas does).
- `round(n)`, `clip(lower, upper)`, `floor() ceil() sign() sqrt() exp() log() log10()
  log2() log1p()`, `pow(y)`.
- `== != < <= > >=` → boolean columns (null where either side is null); `& | ^ ~` with
  Kleene logic; `a & ~b` is one `and-not` call.
- `is_null()`/`isna()`, `notna()`/`is_not_null()`, `fill_null(v)`/`fillna(v)`,
  `coalesce(*others)`; `isin([...])`; `between(lo, hi)`.
- `cast("float64")`/`astype(...)` (a value that does not cast is a data error naming its
  row; `safe=True` makes it null instead).
- `.str.lower() .upper() .strip() .lstrip() .rstrip() .len() .contains(pat, regex=True)
  .startswith() .endswith() .match(regex) .fullmatch(regex) .replace(pat, repl, regex=True)
  .slice(start, stop) .cat(*others, sep="")`; `sha256()`, `hmac_sha256(key_file)`.
- `.dt.year .quarter .month .day .hour .minute .second .millisecond .microsecond
  .nanosecond .dayofweek .dayofyear .week`, in the column's zone or `.dt(tz="...")`.
- `.sum() .mean() .min() .max() .std() .var() .count() .nunique() .null_count()` → Python
  values (`aggregate`).
- `.to_pylist()` reads the values; `.buffers()` gives typed memoryviews over the buffers.

Errors name the column: a kernel's refusal becomes `DataError(column=..., row=...)` or a
`ConfigError` whose message starts with the column, using the input column the expression
was built from.

Rows: a column belongs to the rows of the frame it came from. Combining columns of a batch
and of a filtered frame is refused (`ValueError`) rather than silently misaligned.
"""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from ._wit import wit, wit_columns, wit_compute, Err
from . import buffers as _buf
from .dtypes import DataType, TypeLike, dtype as _dtype
from . import dtypes as _t
from .errors import DataError, from_wit

K = wit_compute

# ------------------------------------------------------------------------------ scalars

_I64 = (-(1 << 63), (1 << 63) - 1)
_EPOCH = datetime.date(1970, 1, 1)


_MEMO: dict = {}


def scalar(value: Any) -> Any:
    """The WIT scalar of a Python value, shared for repeated numbers (a plugin passes the
    same config values on every batch; the bindings only read them)."""
    key = (type(value), value)
    try:
        return _MEMO[key]
    except (KeyError, TypeError):
        pass
    s = _scalar(value)
    if key[0] in (int, float, bool, str) and len(_MEMO) < 1024:
        _MEMO[key] = s
    return s


def _scalar(value: Any) -> Any:
    """The WIT scalar of a Python value: None, bool, int (int64, or uint64 above it),
    float, str, bytes, `datetime.date`, `datetime.datetime` (microseconds; its zone's
    name when it has one), `decimal.Decimal` (decimal128)."""
    if value is None:
        return K.Scalar_Null()
    if isinstance(value, bool):
        return K.Scalar_Boolean(value)
    if isinstance(value, int):
        if _I64[0] <= value <= _I64[1]:
            return K.Scalar_Int64(value)
        if 0 <= value < (1 << 64):
            return K.Scalar_Uint64(value)
        raise OverflowError(f"{value} fits neither int64 nor uint64")
    if isinstance(value, float):
        return K.Scalar_Float64(value)
    if isinstance(value, str):
        return K.Scalar_Utf8(value)
    if isinstance(value, (bytes, bytearray)):
        return K.Scalar_Binary(bytes(value))
    if isinstance(value, datetime.datetime):
        tz = None
        if value.tzinfo is not None:
            tz = "UTC" if value.utcoffset() == datetime.timedelta(0) else str(value.tzinfo)
            micros = (value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) \
                // datetime.timedelta(microseconds=1)
        else:
            micros = (value - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1)
        return K.Scalar_Timestamp(K.TimestampValue(value=micros, unit=wit.TimeUnit.MICROSECOND,
                                                   timezone=tz))
    if isinstance(value, datetime.date):
        return K.Scalar_Date32((value - _EPOCH).days)
    if isinstance(value, decimal.Decimal):
        sign, digits, exp = value.as_tuple()
        scale = max(-int(exp), 0)
        unscaled = int(value.scaleb(scale))
        bits = unscaled & ((1 << 128) - 1)
        high = bits >> 64
        if high >= 1 << 63:
            high -= 1 << 64
        return K.Scalar_Decimal128(K.DecimalValue(low=bits & ((1 << 64) - 1), high=high,
                                                  precision=max(len(digits), scale, 1),
                                                  scale=scale))
    if isinstance(value, (K.Scalar_Null, K.Scalar_Boolean, K.Scalar_Int64, K.Scalar_Uint64,
                          K.Scalar_Float64, K.Scalar_Utf8, K.Scalar_Binary, K.Scalar_Date32,
                          K.Scalar_Timestamp, K.Scalar_Decimal128)):
        return value
    raise TypeError(f"no scalar for a {type(value).__name__} value ({value!r})")


def python_value(s: Any) -> Any:
    """The Python value of a WIT scalar (timestamps as their stored integer)."""
    if isinstance(s, K.Scalar_Null):
        return None
    if isinstance(s, K.Scalar_Date32):
        return _EPOCH + datetime.timedelta(days=s.value)
    if isinstance(s, K.Scalar_Timestamp):
        return s.value.value
    if isinstance(s, K.Scalar_Decimal128):
        d = s.value
        unscaled = (d.high << 64) | d.low
        return decimal.Decimal(unscaled).scaleb(-d.scale)
    return s.value


def _show(v: Any) -> str:
    if isinstance(v, Column):
        return v._explain()
    if isinstance(v, K.Scalar_Null):
        return "null"
    if hasattr(v, "value") and type(v).__name__.startswith("Scalar_"):
        return repr(python_value(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, Operand):
        return _show(v.value)
    if hasattr(v, "name") and hasattr(v, "value") and not isinstance(v, (str, bytes)):
        return str(v.name).lower()
    return repr(v)


# WIT operands of repeated numbers and strings, shared as the scalars are.
_OPERANDS: dict = {}


class Operand:
    """A column or a scalar, as one side of a kernel (`operand` in the WIT)."""

    __slots__ = ("value", "_wit")
    value: Any

    def __init__(self, value: Any) -> None:
        if isinstance(value, Column):
            self.value = value
            self._wit = None
        else:
            key = (type(value), value)
            w = _OPERANDS.get(key) if key[0] in (int, float, bool, str) else None
            if w is None:
                w = K.Operand_Scalar(scalar(value))
                if key[0] in (int, float, bool, str) and len(_OPERANDS) < 1024:
                    _OPERANDS[key] = w
            self.value = w.value
            self._wit = w

    def wit(self) -> Any:
        if self._wit is None:
            return K.Operand_Column(self.value._handle())
        return self._wit


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ------------------------------------------------------------------------------ columns

#: Rows of every column of a batch: the batch object itself is the token; a filtered
#: frame's columns carry the mask's token. `ANY` fits every frame (a made column).
ANY = None


def _domain(parts: Sequence[Any]) -> Any:
    dom = ANY
    for p in parts:
        if isinstance(p, Operand):
            p = p.value
        if isinstance(p, Column) and p._domain is not ANY:
            if dom is not ANY and dom is not p._domain:
                raise ValueError(
                    f"columns `{p.name}` and another come from differently filtered rows; "
                    "take both from the same frame"
                )
            dom = p._domain
    return dom


def _name(parts: Sequence[Any]) -> Optional[str]:
    for p in parts:
        if isinstance(p, Operand):
            p = p.value
        if isinstance(p, Column) and p.name is not None:
            return p.name
    return None


class Column:
    """A column of host-owned values, pandas-style; see the module documentation."""

    __slots__ = ("_op", "_args", "_h", "_dtype", "name", "_domain", "_source")

    def __init__(self, op: str, args: tuple, *, name: Optional[str] = None,
                 dtype: Optional[DataType] = None, domain: Any = ANY,
                 handle: Any = None, source: Any = None) -> None:
        self._op = op  # "input", "data", "affine" or a compute function's name
        self._args = args
        self._h = handle
        self._dtype = dtype
        #: The input column this expression was built from (named in errors).
        self.name = name
        self._domain = domain
        #: (batch, index) for an input column: returned by `keep`, never copied.
        self._source = source

    # -- construction ------------------------------------------------------------------

    @classmethod
    def _kernel(cls, fn: str, *args: Any, dtype: Optional[DataType] = None,
                name: Optional[str] = None) -> "Column":
        return cls(fn, args, name=name if name is not None else _name(args), dtype=dtype,
                   domain=_domain(args))

    @classmethod
    def from_pylist(cls, values: Sequence[Any], dtype: Optional[TypeLike] = None,
                    name: Optional[str] = None) -> "Column":
        """A host column from Python values (None for nulls), of `dtype` or the type pandas
        would infer (bool, int64, float64, utf8, binary). Its buffers cross once."""
        dt = _buf.infer(values) if dtype is None else _dtype(dtype)
        return cls("data", (dt, _buf.encode(values, dt)), name=name, dtype=dt)

    # -- evaluation --------------------------------------------------------------------

    def _call(self, fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except Err as e:
            err = from_wit(e.value, self.name)
        if isinstance(err, DataError) and err.row is not None:
            # Rows of a filtered frame: the host counts rows of the input batch.
            err.row = _input_row(self._domain, err.row)
        raise err

    def _handle(self) -> Any:
        """The host handle, computing the expression on first use."""
        h = self._h
        if h is None:
            h = self._h = self._eval()
        return h

    def _eval(self) -> Any:
        op, args = self._op, self._args
        if op == "input":
            batch, index = args
            return self._call(batch._lent.column, index)
        if op == "data":
            dt, nodes = args
            return self._call(wit_columns.from_data, dt.to_wit(), nodes)
        if op == "affine":
            base, s, o, lo, hi, stage = args
            if stage == "mul" and lo is None and hi is None:
                return self._call(K.arith, K.ArithOp.MULTIPLY, K.Operand_Column(base._handle()),
                                  K.Operand_Scalar(scalar(s)), True)
            as_ = float if (base._dtype or base.dtype).is_float else int
            return self._call(K.affine, base._handle(), scalar(as_(s)), scalar(as_(o)),
                              None if lo is None else scalar(as_(lo)),
                              None if hi is None else scalar(as_(hi)))
        fn = getattr(K, op)
        return self._call(fn, *[_lower(a) for a in args])

    def _explain(self) -> str:
        op, args = self._op, self._args
        if op == "input":
            return f"{self.name}"
        if op == "data":
            return f"data({args[0]})"
        if op == "affine":
            base, s, o, lo, hi, stage = args
            if stage == "mul" and lo is None and hi is None:
                return f"arith(multiply, {base._explain()}, {s!r}, True)"
            bounds = "" if lo is None and hi is None else f", {lo!r}, {hi!r}"
            return f"affine({base._explain()}, {s!r}, {o!r}{bounds})"
        return f"{op}(" + ", ".join(_show(a) for a in args) + ")"

    def explain(self) -> str:
        """The kernel calls this column stands for, e.g. `affine(amount, 1.19, 0, 0, None)`.
        Nothing is computed."""
        return self._explain()

    def __repr__(self) -> str:
        return f"<Column {self.name or ''} = {self._explain()}>"

    @property
    def dtype(self) -> DataType:
        """The column's type (asks the host for computed columns whose type the SDK does
        not know in advance)."""
        if self._dtype is None:
            self._dtype = DataType(self._call(self._handle().data_type))
        return self._dtype

    def __len__(self) -> int:
        return int(self._call(self._handle().len))

    def __bool__(self) -> bool:
        raise ValueError(
            "the truth value of a Column is ambiguous; use a.any()/a.all(), `&`/`|` instead of "
            "and/or, and batch.filter(mask) to keep rows"
        )

    def __iter__(self) -> Iterator[Any]:
        return iter(self.to_pylist())

    # -- reading values ----------------------------------------------------------------

    def buffers(self) -> _buf.Buffers:
        """Copy the column's buffers into the plugin once: typed memoryviews
        (`.values`, `.valid`, `.offsets`)."""
        if self._op == "input":
            batch, index = self._args
            nodes = self._call(batch._lent.read, index) if self._h is None else \
                self._call(self._h.read)
        else:
            nodes = self._call(self._handle().read)
        return _buf.Buffers(self.dtype, nodes)

    def to_pylist(self) -> list:
        """The values as a Python list, None for nulls (reads the column)."""
        return self.buffers().to_pylist()

    tolist = to_pylist

    # -- arithmetic --------------------------------------------------------------------

    def _fusable(self, k: Any) -> bool:
        t = k.__class__
        if t is float:
            dt = self._dtype or self.dtype
            return dt.is_float
        if t is int:
            dt = self._dtype or self.dtype
            return dt.is_float or (dt.is_integer and _I64[0] <= k <= _I64[1])
        return False

    def _pending(self, *stages: str) -> bool:
        return (self._op == "affine" and self._h is None and self._args[5] in stages
                and self._args[3] is None and self._args[4] is None)

    def _affine(self, base: "Column", s: Any, o: Any, stage: str,
                lo: Any = None, hi: Any = None) -> "Column":
        return Column("affine", (base, s, o, lo, hi, stage), name=base.name,
                      dtype=base._dtype, domain=base._domain)

    def _arith(self, op: Any, left: Any, right: Any) -> "Column":
        return Column._kernel("arith", op, Operand(left), Operand(right), True,
                              dtype=_promoted(left, right))

    def __add__(self, other: Any) -> "Column":
        if not isinstance(other, Column) and self._fusable(other):
            if self._pending("mul"):
                base, s = self._args[0], self._args[1]
                return self._affine(base, s, other, "muladd")
            return self._affine(self, 1, other, "add")
        return self._arith(K.ArithOp.ADD, self, other)

    def __radd__(self, other: Any) -> "Column":
        if isinstance(other, str):  # "x" + col: string concatenation
            return concat(other, self)
        return self.__add__(other)

    def __sub__(self, other: Any) -> "Column":
        if not isinstance(other, Column) and self._fusable(other):
            return self.__add__(-other)
        return self._arith(K.ArithOp.SUBTRACT, self, other)

    def __rsub__(self, other: Any) -> "Column":
        return self._arith(K.ArithOp.SUBTRACT, other, self)

    def __mul__(self, other: Any) -> "Column":
        if not isinstance(other, Column) and self._fusable(other):
            return self._affine(self, other, 0, "mul")
        return self._arith(K.ArithOp.MULTIPLY, self, other)

    __rmul__ = __mul__

    def _as_float(self) -> "Column":
        return self if not self.dtype.is_integer else self.cast(_t.float64)

    def __truediv__(self, other: Any) -> "Column":
        left = self._as_float()
        if isinstance(other, Column) and other.dtype.is_integer and not left.dtype.is_float:
            other = other.cast(_t.float64)
        return self._arith(K.ArithOp.DIVIDE, left, other)

    def __rtruediv__(self, other: Any) -> "Column":
        right = self._as_float()
        return self._arith(K.ArithOp.DIVIDE, float(other) if isinstance(other, int) else other,
                           right)

    def __floordiv__(self, other: Any) -> "Column":
        raise TypeError("`//` has no kernel; write (a / b).floor() (float) instead")

    def __mod__(self, other: Any) -> "Column":
        return self._arith(K.ArithOp.MODULO, self, other)

    def __rmod__(self, other: Any) -> "Column":
        return self._arith(K.ArithOp.MODULO, other, self)

    def __pow__(self, other: Any) -> "Column":
        return self._arith(K.ArithOp.POWER, self, other)

    def __rpow__(self, other: Any) -> "Column":
        return self._arith(K.ArithOp.POWER, other, self)

    pow = __pow__

    def _unary(self, op: Any) -> "Column":
        dt = self._dtype
        if dt is not None and op not in (K.UnaryOp.NEGATE, K.UnaryOp.ABS, K.UnaryOp.SIGN,
                                         K.UnaryOp.FLOOR, K.UnaryOp.CEIL):
            dt = dt if dt == _t.float32 else _t.float64 if dt.is_numeric else None
        return Column._kernel("unary", op, self, dtype=dt)

    def __neg__(self) -> "Column":
        return self._unary(K.UnaryOp.NEGATE)

    def __pos__(self) -> "Column":
        return self

    def __abs__(self) -> "Column":
        return self._unary(K.UnaryOp.ABS)

    def abs(self) -> "Column":
        """|x| (`unary(abs)`)."""
        return self._unary(K.UnaryOp.ABS)

    def sqrt(self) -> "Column":
        return self._unary(K.UnaryOp.SQRT)

    def exp(self) -> "Column":
        return self._unary(K.UnaryOp.EXP)

    def log(self) -> "Column":
        """Natural logarithm (`np.log`)."""
        return self._unary(K.UnaryOp.LN)

    def log10(self) -> "Column":
        return self._unary(K.UnaryOp.LOG10)

    def log2(self) -> "Column":
        return self._unary(K.UnaryOp.LOG2)

    def log1p(self) -> "Column":
        """ln(1 + x), as `(x + 1).log()` (less precise than `np.log1p` for tiny x)."""
        return (self._as_float() + 1).log()

    def floor(self) -> "Column":
        return self._unary(K.UnaryOp.FLOOR)

    def ceil(self) -> "Column":
        return self._unary(K.UnaryOp.CEIL)

    def sign(self) -> "Column":
        return self._unary(K.UnaryOp.SIGN)

    def round(self, decimals: int = 0) -> "Column":
        """Half-to-even at `decimals` digits (negative: before the point), same type."""
        return Column._kernel("round", self, int(decimals), dtype=self._dtype)

    def __round__(self, ndigits: Optional[int] = None) -> "Column":
        return self.round(ndigits or 0)

    def clip(self, lower: Any = None, upper: Any = None) -> "Column":
        """Values limited to [lower, upper] (None: no bound); fused into a pending
        `x * a + b` as one `affine` call."""
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"clip: lower {lower!r} is greater than upper {upper!r}")
        if self._pending("mul", "add", "muladd"):
            base = self._args[0]
            if (lower is None or base._fusable(lower)) and (upper is None or base._fusable(upper)):
                base, s, o, _, _, stage = self._args
                return self._affine(base, s, o, stage, lower, upper)
        return Column._kernel("clip", self, None if lower is None else scalar(lower),
                              None if upper is None else scalar(upper))

    # -- comparisons and logic ---------------------------------------------------------

    def _cmp(self, op: Any, other: Any) -> "Column":
        return Column._kernel("compare", op, Operand(self), Operand(other), dtype=_t.bool_)

    def __eq__(self, other: Any) -> "Column":  # type: ignore[override]
        return self._cmp(K.CmpOp.EQ, other)

    def __ne__(self, other: Any) -> "Column":  # type: ignore[override]
        return self._cmp(K.CmpOp.NE, other)

    def __lt__(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.LT, other)

    def __le__(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.LE, other)

    def __gt__(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.GT, other)

    def __ge__(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.GE, other)

    # `==` builds a column, as in pandas: a Column is not hashable.
    __hash__ = None  # type: ignore[assignment]

    def eq(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.EQ, other)

    def ne(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.NE, other)

    def lt(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.LT, other)

    def le(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.LE, other)

    def gt(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.GT, other)

    def ge(self, other: Any) -> "Column":
        return self._cmp(K.CmpOp.GE, other)

    def between(self, left: Any, right: Any) -> "Column":
        """`left <= x <= right`."""
        return (self >= left) & (self <= right)

    def _logic(self, op: Any, other: Any) -> "Column":
        if not isinstance(other, Column):
            raise TypeError(
                f"`{self.name}`: & | ^ combine two boolean columns, not a column and "
                f"{type(other).__name__}"
            )
        if op is K.LogicOp.AND and other._op == "not_" and other._h is None:
            return Column._kernel("logic", K.LogicOp.AND_NOT, self, other._args[0],
                                  dtype=_t.bool_)
        return Column._kernel("logic", op, self, other, dtype=_t.bool_)

    def __and__(self, other: Any) -> "Column":
        return self._logic(K.LogicOp.AND, other)

    def __rand__(self, other: Any) -> "Column":
        return self._logic(K.LogicOp.AND, other)

    def __or__(self, other: Any) -> "Column":
        return self._logic(K.LogicOp.OR, other)

    def __ror__(self, other: Any) -> "Column":
        return self._logic(K.LogicOp.OR, other)

    def __xor__(self, other: Any) -> "Column":
        return self._logic(K.LogicOp.XOR, other)

    def __invert__(self) -> "Column":
        return Column._kernel("not_", self, dtype=_t.bool_)

    # -- missing values, types, membership ---------------------------------------------

    def is_null(self) -> "Column":
        """Whether each row is null (NaN is a value, not a null)."""
        return Column._kernel("is_null", self, dtype=_t.bool_)

    isna = isnull = is_null

    def is_not_null(self) -> "Column":
        return Column._kernel("is_not_null", self, dtype=_t.bool_)

    notna = notnull = is_not_null

    def fill_null(self, value: Any) -> "Column":
        """Nulls replaced by `value` (a scalar or a column), cast to this column's type."""
        return Column._kernel("fill_null", self, Operand(value), dtype=self._dtype)

    fillna = fill_null

    def coalesce(self, *others: Any) -> "Column":
        """Row-wise the first non-null of this column and `others` (columns or scalars)."""
        return coalesce(self, *others)

    def cast(self, to: TypeLike, safe: bool = False) -> "Column":
        """This column as type `to` (`"float64"`, `q.timestamp("ms")`, `int`...). A value
        that does not cast is a data error naming its row, or null with `safe=True`."""
        dt = _dtype(to)
        return Column._kernel("cast", self, dt.to_wit(), bool(safe), dtype=dt)

    astype = cast

    def isin(self, values: Union["Column", Sequence[Any]]) -> "Column":
        """Whether each value is among `values` (a list or a column); null stays null."""
        if not isinstance(values, Column):
            values = list(values)
            dt = _buf.infer(values)
            if dt == _t.null and self._dtype is not None:
                dt = self._dtype
            values = Column("data", (dt, _buf.encode(values, dt)), dtype=dt)
        return Column._kernel("is_in", self, values, dtype=_t.bool_)

    # -- rows --------------------------------------------------------------------------

    def head(self, n: int = 5) -> "Column":
        """The first `n` rows (a zero-copy slice); the result has rows of its own."""
        c = Column._kernel("slice", self, 0, int(n), dtype=self._dtype)
        c._domain = object()
        return c

    # -- hashing -----------------------------------------------------------------------

    def sha256(self, encoding: str = "hex") -> "Column":
        """SHA-256 of each text/binary value: `hex`, `base64url` (utf8) or `raw` (binary)."""
        return Column._kernel("sha256", self, _encoding(encoding))

    def hmac_sha256(self, key_file: str, encoding: str = "hex") -> "Column":
        """HMAC-SHA256 of each value under the key in `key_file` (a path inside a
        directory granted to the stage): the file's bytes without trailing whitespace, at
        least 16 of them, read once per instance."""
        return Column._kernel("hmac_sha256", self, str(key_file), _encoding(encoding))

    # -- accessors ---------------------------------------------------------------------

    @property
    def str(self) -> "StringMethods":
        """String kernels (`.str.lower()`, ...)."""
        return StringMethods(self)

    @property
    def dt(self) -> "DateTimeMethods":
        """Date and time parts (`.dt.hour`; `.dt(tz="Europe/Paris").hour`)."""
        return DateTimeMethods(self)

    # -- aggregates --------------------------------------------------------------------

    def _agg(self, op: Any) -> Any:
        return python_value(self._call(K.aggregate, op, self._handle()))

    def sum(self) -> Any:
        """Sum of the non-null values (0 when there are none)."""
        return self._agg(K.AggOp.SUM)

    def mean(self) -> Optional[float]:
        return self._agg(K.AggOp.MEAN)

    def min(self) -> Any:
        return self._agg(K.AggOp.MIN)

    def max(self) -> Any:
        return self._agg(K.AggOp.MAX)

    def std(self) -> Optional[float]:
        """Sample standard deviation (ddof = 1)."""
        return self._agg(K.AggOp.STDDEV)

    def var(self) -> Optional[float]:
        """Sample variance (ddof = 1)."""
        return self._agg(K.AggOp.VARIANCE)

    def count(self) -> int:
        """Non-null values."""
        return self._agg(K.AggOp.COUNT)

    def null_count(self) -> int:
        return self._agg(K.AggOp.NULL_COUNT)

    def nunique(self) -> int:
        """Distinct non-null values."""
        return self._agg(K.AggOp.DISTINCT_COUNT)

    def any(self) -> bool:
        """Whether any value of a boolean column is true."""
        return bool(self._agg(K.AggOp.SUM))

    def all(self) -> bool:
        """Whether every non-null value of a boolean column is true."""
        return self._agg(K.AggOp.SUM) == self._agg(K.AggOp.COUNT)


def _promoted(left: Any, right: Any) -> Optional[DataType]:
    """The type `arith` gives integer and float operands (docs/kernels.md's promotion table,
    weak scalars included), so an expression's type is known without asking the host; None
    when the SDK does not predict it (the host is asked then)."""
    def kind(v: Any) -> Any:
        if isinstance(v, Column):
            return v._dtype
        return "int" if isinstance(v, int) and not isinstance(v, bool) else \
            "float" if isinstance(v, float) else None
    a, b = kind(left), kind(right)
    if isinstance(b, DataType) and not isinstance(a, DataType):
        a, b = b, a
    if not isinstance(a, DataType) or not (a.is_integer or a.is_float):
        return None
    if b == "int":
        return a
    if b == "float":
        return a if a.is_float else _t.float64
    if isinstance(b, DataType):
        if a == b:
            return a
        if (a.is_float or b.is_float) and (a.is_integer or b.is_integer):
            return _t.float64
        if a.is_float and b.is_float:
            return _t.float64 if _t.float64 in (a, b) else _t.float32
    return None


def _input_row(domain: Any, row: int) -> int:
    """Row `row` of the rows `domain` stands for, as a row of the batch (a filtered frame's
    row k is the k-th row its mask keeps)."""
    while isinstance(domain, Column):
        node = domain._handle().read()[0]
        n = node.len
        nb = (n + 7) >> 3
        v = int.from_bytes(node.values[:nb], "little")
        if node.validity is not None:
            v &= int.from_bytes(node.validity[:nb], "little")
        for _ in range(row):
            v &= v - 1  # drop the lowest kept row
        row = (v & -v).bit_length() - 1
        domain = domain._domain
    return row


def _lower(a: Any) -> Any:
    """A kernel argument in its WIT form (handles are computed here)."""
    if isinstance(a, Column):
        return a._handle()
    if isinstance(a, Operand):
        return a.wit()
    if isinstance(a, list) and a and isinstance(a[0], Operand):
        return [x.wit() for x in a]
    return a


def _encoding(name: str) -> Any:
    table = {"hex": K.Encoding.HEX, "base64url": K.Encoding.BASE64URL, "raw": K.Encoding.RAW}
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown encoding {name!r}; expected hex, base64url or raw") from None


def coalesce(*parts: Any) -> Column:
    """Row-wise the first non-null part (columns or scalars; a scalar is a default)."""
    if not any(isinstance(p, Column) for p in parts):
        raise TypeError("coalesce needs at least one column")
    return Column._kernel("coalesce", [Operand(p) for p in parts])


def concat(*parts: Any, sep: str = "") -> Column:
    """Each row's parts (text columns or strings) joined by `sep`; null if any part is."""
    if not any(isinstance(p, Column) for p in parts):
        raise TypeError("concat needs at least one column")
    return Column._kernel("concat", [Operand(p) for p in parts], str(sep))


# ----------------------------------------------------------------------------- accessors

# Characters the regex crate treats as meta (`regex_syntax::is_meta_character`).
_META = set("\\.+*?()|[]{}^$#&-~")
_GROUP = re.compile(r"\\(\d+)|\\g<(\w+)>|\$")


def escape(text: str) -> str:
    """`text` as a regex that matches it literally (regex-crate syntax)."""
    return "".join("\\" + c if c in _META else c for c in text)


def _replacement(repl: str) -> str:
    """A pandas/`re` replacement (`\\1`, `\\g<name>`) in the regex crate's syntax (`${1}`),
    with literal `$` doubled."""
    def sub(m: "re.Match[str]") -> str:
        if m.group(0) == "$":
            return "$$"
        return "${" + (m.group(1) or m.group(2)) + "}"
    return _GROUP.sub(sub, repl)


class StringMethods:
    """`col.str`: the string kernels (characters, not bytes, as Python counts them)."""

    __slots__ = ("_c",)

    def __init__(self, col: Column) -> None:
        self._c = col

    def _unary(self, op: Any, dtype: Optional[DataType] = None) -> Column:
        return Column._kernel("str_unary", op, self._c, dtype=dtype)

    def lower(self) -> Column:
        return self._unary(K.StrOp.TO_LOWER, self._c._dtype)

    def upper(self) -> Column:
        return self._unary(K.StrOp.TO_UPPER, self._c._dtype)

    def strip(self) -> Column:
        return self._unary(K.StrOp.TRIM, self._c._dtype)

    def lstrip(self) -> Column:
        return self._unary(K.StrOp.TRIM_START, self._c._dtype)

    def rstrip(self) -> Column:
        return self._unary(K.StrOp.TRIM_END, self._c._dtype)

    def len(self) -> Column:
        """Characters per value (int32; int64 for large_utf8)."""
        return self._unary(K.StrOp.LENGTH)

    def contains(self, pat: str, case: bool = True, regex: bool = True) -> Column:
        """Whether `pat` occurs (a regex by default, as in pandas; `regex=False`: literal)."""
        if not regex and case:
            return Column._kernel("str_match", K.StrMatchOp.CONTAINS, self._c, pat,
                                  dtype=_t.bool_)
        p = pat if regex else escape(pat)
        return self.match_anywhere(p if case else "(?i)" + p)

    def match_anywhere(self, regex: str) -> Column:
        """Whether `regex` matches anywhere in each value (`re.search`)."""
        return Column._kernel("regex_match", self._c, regex, dtype=_t.bool_)

    def startswith(self, prefix: str) -> Column:
        return Column._kernel("str_match", K.StrMatchOp.STARTS_WITH, self._c, prefix,
                              dtype=_t.bool_)

    def endswith(self, suffix: str) -> Column:
        return Column._kernel("str_match", K.StrMatchOp.ENDS_WITH, self._c, suffix,
                              dtype=_t.bool_)

    def match(self, regex: str) -> Column:
        """Whether each value starts with a match of `regex` (pandas' `str.match`)."""
        return self.match_anywhere(f"^(?:{regex})")

    def fullmatch(self, regex: str) -> Column:
        """Whether all of each value matches `regex`."""
        return self.match_anywhere(f"^(?:{regex})$")

    def replace(self, pat: str, repl: str, n: int = -1, regex: bool = True) -> Column:
        """Matches of `pat` replaced by `repl` (`\\1`, `\\g<name>` insert groups); every
        match (`n=-1`) or the first (`n=1`)."""
        if n not in (-1, 1):
            raise ValueError("replace: n is -1 (every match) or 1 (the first)")
        if regex:
            p, r = pat, _replacement(repl)
        else:
            p, r = escape(pat), repl.replace("$", "$$")
        return Column._kernel("regex_replace", self._c, p, r, n == -1, dtype=self._c._dtype)

    def slice(self, start: Optional[int] = None, stop: Optional[int] = None) -> Column:
        """Characters `start` to `stop` (Python slice rules for two non-negative or two
        negative bounds; a negative `start` with no `stop` takes the end)."""
        start = 0 if start is None else int(start)
        if stop is None:
            length = None
        elif (start >= 0) == (stop >= 0):
            length = max(int(stop) - start, 0)
        else:
            raise ValueError("str.slice: give start and stop of the same sign")
        return Column._kernel("substring", self._c, start, length, dtype=self._c._dtype)

    def __getitem__(self, key: Any) -> Column:
        if isinstance(key, slice) and key.step in (None, 1):
            return self.slice(key.start, key.stop)
        if isinstance(key, int):
            return self.slice(key, key + 1 if key != -1 else None)
        raise TypeError("str[...] takes a slice without a step, or an index")

    def cat(self, *others: Any, sep: str = "") -> Column:
        """This column and `others` (columns or strings; or one list of them) joined by
        `sep`, row by row."""
        if len(others) == 1 and isinstance(others[0], (list, tuple)):
            others = tuple(others[0])
        return concat(self._c, *others, sep=sep)


class DateTimeMethods:
    """`col.dt`: parts of dates and timestamps (int32), in the column's zone, or in `tz`
    (`col.dt(tz="Europe/Paris")`, `col.dt.tz_convert(...)`)."""

    __slots__ = ("_c", "_tz")

    def __init__(self, col: Column, tz: Optional[str] = None) -> None:
        self._c = col
        self._tz = tz

    def __call__(self, tz: Optional[str] = None) -> "DateTimeMethods":
        return DateTimeMethods(self._c, tz)

    def tz_convert(self, tz: str) -> "DateTimeMethods":
        return DateTimeMethods(self._c, tz)

    def _part(self, part: Any) -> Column:
        return Column._kernel("date_part", part, self._c, self._tz, dtype=_t.int32)

    year = property(lambda self: self._part(K.TemporalPart.YEAR))
    quarter = property(lambda self: self._part(K.TemporalPart.QUARTER))
    month = property(lambda self: self._part(K.TemporalPart.MONTH))
    day = property(lambda self: self._part(K.TemporalPart.DAY))
    hour = property(lambda self: self._part(K.TemporalPart.HOUR))
    minute = property(lambda self: self._part(K.TemporalPart.MINUTE))
    second = property(lambda self: self._part(K.TemporalPart.SECOND))
    millisecond = property(lambda self: self._part(K.TemporalPart.MILLISECOND))
    microsecond = property(lambda self: self._part(K.TemporalPart.MICROSECOND))
    nanosecond = property(lambda self: self._part(K.TemporalPart.NANOSECOND))
    #: Monday = 0 … Sunday = 6, as pandas.
    dayofweek = weekday = day_of_week = property(
        lambda self: self._part(K.TemporalPart.DAY_OF_WEEK))
    dayofyear = day_of_year = property(lambda self: self._part(K.TemporalPart.DAY_OF_YEAR))
    #: ISO 8601 week (1–53).
    week = property(lambda self: self._part(K.TemporalPart.WEEK))
