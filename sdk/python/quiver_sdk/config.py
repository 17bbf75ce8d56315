"""The JSON config of a stage, parsed and checked the way the Rust SDK's serde does it.

Declare the config as a spec and put it on your transform as `CONFIG`; the SDK parses the
stage's JSON document with it before calling your constructor, and every mistake becomes a
`ConfigError` whose key is the path of the offending entry, exactly as the Rust SDK names it
(`column`, `columns[1].scale`, `columns[0].scael` for an unknown key, `""` for the document):

    CONFIG = Struct({
        "columns": List(Struct({
            "column": Str(),
            "scale": Number(default=1.0),
            "min": Optional(Number()),
        })),
    })

A `Struct` yields a `ConfigObject` (a dict whose keys are also attributes: `c.columns[0].scale`).
Specs: `Str`, `Number` (f64: JSON integers become floats, as serde's `f64`), `Integer`
(i64), `Bool`, `Enum(*names)`, `List(item)`, `Struct(fields, allow_unknown=False)`,
`Optional(spec)` (absent or null gives None) and `Any` (the JSON value as parsed; null gives
None, like serde's `Option<Value>`). A field absent from the document takes the spec's
`default`; without one it is a "missing field" error. Unknown keys are errors (serde's
`deny_unknown_fields`), reported at their own path.

An empty or blank document reads as `{}`. Messages follow serde's wording, without the
" at line L column C" suffix serde_json adds.
"""

import json
import math

from .errors import ConfigError

_MISSING = object()


class ConfigObject(dict):
    """A parsed `Struct`: a dict whose keys are also readable as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Pairs(list):
    """A JSON object as its (key, value) pairs in document order (duplicates kept)."""


def _join(path, key):
    return key if not path else f"{path}.{key}"


def _reject_constant(name):
    raise ValueError(f"invalid number `{name}`")


def parse(text, spec=None):
    """Parse a config document with `spec` (None: the JSON value as is, objects as dicts)."""
    if text is None or not text.strip():
        text = "{}"
    try:
        doc = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except ValueError as e:
        raise ConfigError("", str(e)) from None
    if spec is None:
        return _plain(doc)
    return spec.read(doc, "")


def _plain(v):
    if isinstance(v, _Pairs):
        return {k: _plain(x) for k, x in v}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def json_display(v):
    """A JSON value shown as serde_json shows it (compact, `1e20` rather than `1e+20`)."""
    if isinstance(v, _Pairs):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{json_display(x)}" for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(json_display(x) for x in v) + "]"
    if isinstance(v, float):
        r = repr(v)
        if "e" in r:
            mant, exp = r.split("e")
            sign = "-" if exp.startswith("-") else ""
            r = f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
        return r
    return json.dumps(_plain(v), ensure_ascii=False, separators=(",", ":"))


def _one_of(names, none):
    """serde's `OneOf` wording: "expected `a`", "expected `a` or `b`", "expected one of ..."."""
    quoted = [f"`{n}`" for n in names]
    if not quoted:
        return none
    if len(quoted) == 1:
        return f"expected {quoted[0]}"
    if len(quoted) == 2:
        return f"expected {quoted[0]} or {quoted[1]}"
    return "expected one of " + ", ".join(quoted)


def _unexpected(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean `{'true' if v else 'false'}`"
    if isinstance(v, int):
        return f"integer `{v}`"
    if isinstance(v, float):
        return f"floating point `{json_display(v)}`"
    if isinstance(v, str):
        return f"string {json.dumps(v, ensure_ascii=False)}"
    if isinstance(v, _Pairs):
        return "map"
    return "sequence"


class Spec:
    """Base of the config specs."""

    expecting = "a value"

    def __init__(self, default=_MISSING):
        self.default = default

    def invalid(self, v, path):
        return ConfigError(path, f"invalid type: {_unexpected(v)}, expected {self.expecting}")

    def read(self, v, path):
        raise NotImplementedError


class Any(Spec):
    """Any JSON value, as parsed (objects become dicts); null is None."""

    def __init__(self, default=None):
        super().__init__(default)

    def read(self, v, path):
        return _plain(v)


class Str(Spec):
    """A JSON string."""

    expecting = "a string"

    def read(self, v, path):
        if not isinstance(v, str):
            raise self.invalid(v, path)
        return v


class Bool(Spec):
    """A JSON boolean."""

    expecting = "a boolean"

    def read(self, v, path):
        if not isinstance(v, bool):
            raise self.invalid(v, path)
        return v


class Number(Spec):
    """A JSON number, as a float (serde's `f64`: integers are converted)."""

    expecting = "f64"

    def read(self, v, path):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.invalid(v, path)
        try:
            f = float(v)
        except OverflowError:
            raise ConfigError(path, "number out of range") from None
        if math.isinf(f):
            raise ConfigError(path, "number out of range")
        return f


class Integer(Spec):
    """A JSON integer in the i64 range (serde's `i64`)."""

    expecting = "i64"

    def read(self, v, path):
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.invalid(v, path)
        if not -(1 << 63) <= v < (1 << 63):
            raise ConfigError(path, f"invalid value: integer `{v}`, expected i64")
        return v


class Enum(Spec):
    """One of the given strings (serde's unit enum variants)."""

    def __init__(self, *names, default=_MISSING):
        super().__init__(default)
        self.names = names
        self.expecting = "variant identifier"

    def read(self, v, path):
        if not isinstance(v, str):
            raise ConfigError(path, f"invalid type: {_unexpected(v)}, expected variant identifier")
        if v not in self.names:
            raise ConfigError(
                path, f"unknown variant `{v}`, {_one_of(self.names, 'there are no variants')}"
            )
        return v


class Optional(Spec):
    """`spec`, or None when absent or null (serde's `Option`)."""

    def __init__(self, spec):
        super().__init__(None)
        self.spec = spec

    def read(self, v, path):
        return None if v is None else self.spec.read(v, path)


class List(Spec):
    """A JSON array of `item`."""

    expecting = "a sequence"

    def __init__(self, item, default=_MISSING):
        super().__init__(default)
        self.item = item

    def read(self, v, path):
        if not isinstance(v, list) or isinstance(v, _Pairs):
            raise self.invalid(v, path)
        return [self.item.read(x, f"{path}[{i}]") for i, x in enumerate(v)]


class Struct(Spec):
    """A JSON object with the given fields (name -> spec); unknown keys are errors."""

    def __init__(self, fields, name="Config", allow_unknown=False, default=_MISSING):
        super().__init__(default)
        self.fields = dict(fields)
        self.allow_unknown = allow_unknown
        self.expecting = f"struct {name}"

    def read(self, v, path):
        if not isinstance(v, _Pairs):
            raise self.invalid(v, path)
        out = ConfigObject()
        for key, x in v:
            spec = self.fields.get(key)
            here = _join(path, key)
            if spec is None:
                if self.allow_unknown:
                    continue
                expected = _one_of(list(self.fields), "there are no fields")
                raise ConfigError(here, f"unknown field `{key}`, {expected}")
            if key in out:
                raise ConfigError(here, f"duplicate field `{key}`")
            out[key] = spec.read(x, here)
        for key, spec in self.fields.items():
            if key not in out:
                if spec.default is _MISSING:
                    raise ConfigError(path, f"missing field `{key}`")
                out[key] = spec.default
        return out
