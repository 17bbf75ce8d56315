"""The JSON config of a stage, declared as a dataclass and read the way serde reads it.

Declare the config as a `@dataclass` and put the class on your transform as `CONFIG`; the
SDK parses the stage's JSON document into an instance before calling your constructor, and
derives the JSON Schema `quiver plugin inspect` shows from the same class:

    @dataclass
    class Column:
        column: str = field(metadata={"description": "Numeric input column."})
        scale: float = 1.0
        min: Optional[float] = None
        op: Literal["add", "mul"] = "mul"

    @dataclass
    class Config:
        columns: list[Column]

Types: `str`, `bool`, `int` (i64), `float` (f64: JSON integers become floats, as serde's
`f64`), `Literal["a", "b"]` (serde's unit enum), `Optional[T]` / `T | None` (absent or null
gives None), `list[T]`, `dict[str, T]`, a nested dataclass, and `Any` (the JSON value as
parsed). A field absent from the document takes its default; without one it is a "missing
field" error (an `Optional` field without a default is None, as serde's `Option`). Unknown
keys are errors (serde's `deny_unknown_fields`). `__post_init__` may raise `ConfigError`
for checks across fields.

Every mistake is a `ConfigError` whose key is the path of the offending entry, as the Rust
SDK names it (`column`, `columns[1].scale`, `columns[0].scael` for an unknown key, `""` for
the document), with serde's wording (without the " at line L column C" suffix). An empty or
blank document reads as `{}`. A field's `metadata={"description": ...}` becomes its
description in the JSON Schema.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import math
import types
import typing
from typing import Any, Literal, Optional, Union, get_args, get_origin

from .errors import ConfigError

_MISSING = object()


class _Pairs(list):
    """A JSON object as its (key, value) pairs in document order (duplicates kept)."""


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid number `{name}`")


def parse(text: Optional[str], cls: Optional[type] = None) -> Any:
    """Parse a config document into the dataclass `cls` (None: the JSON value as is,
    objects as dicts)."""
    if text is None or not text.strip():
        text = "{}"
    try:
        doc = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except ValueError as e:
        raise ConfigError("", str(e)) from None
    if cls is None:
        return _plain(doc)
    return _read(cls, doc, "")


def _plain(v: Any) -> Any:
    if isinstance(v, _Pairs):
        return {k: _plain(x) for k, x in v}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def json_display(v: Any) -> str:
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


def _one_of(names: Any, none: str) -> str:
    """serde's `OneOf` wording: "expected `a`", "expected `a` or `b`", "expected one of ..."."""
    quoted = [f"`{n}`" for n in names]
    if not quoted:
        return none
    if len(quoted) == 1:
        return f"expected {quoted[0]}"
    if len(quoted) == 2:
        return f"expected {quoted[0]} or {quoted[1]}"
    return "expected one of " + ", ".join(quoted)


def _unexpected(v: Any) -> str:
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



def _expecting(tp: Any) -> str:
    if tp is str:
        return "a string"
    if tp is bool:
        return "a boolean"
    if tp is int:
        return "i64"
    if tp is float:
        return "f64"
    if dataclasses.is_dataclass(tp):
        return f"struct {getattr(tp, '__name__', 'Config')}"
    origin = get_origin(tp)
    if origin in (list, tuple):
        return "a sequence"
    if origin is dict:
        return "a map"
    return "a value"


def _invalid(tp: Any, v: Any, path: str) -> ConfigError:
    return ConfigError(path, f"invalid type: {_unexpected(v)}, expected {_expecting(tp)}")


def _optional(tp: Any) -> Optional[Any]:
    """T for `Optional[T]` / `T | None`, else None."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) != len(get_args(tp)) and len(args) == 1:
            return args[0]
    return None


def _read(tp: Any, v: Any, path: str) -> Any:
    if tp is Any or tp is object:
        return _plain(v)
    inner = _optional(tp)
    if inner is not None:
        return None if v is None else _read(inner, v, path)
    origin = get_origin(tp)
    if origin is Literal:
        names = get_args(tp)
        if not isinstance(v, str):
            raise ConfigError(path, f"invalid type: {_unexpected(v)}, expected variant identifier")
        if v not in names:
            raise ConfigError(path, f"unknown variant `{v}`, {_one_of(names, 'there are no variants')}")
        return v
    if origin in (list, tuple, collections.abc.Sequence) or tp is list:
        if not isinstance(v, list) or isinstance(v, _Pairs):
            raise _invalid(tp, v, path)
        args = get_args(tp)
        item = args[0] if args else Any
        return [_read(item, x, f"{path}[{i}]") for i, x in enumerate(v)]
    if origin is dict or tp is dict:
        if not isinstance(v, _Pairs):
            raise _invalid(tp, v, path)
        args = get_args(tp)
        item = args[1] if len(args) == 2 else Any
        return {k: _read(item, x, _join(path, k)) for k, x in v}
    if dataclasses.is_dataclass(tp):
        return _read_struct(tp, v, path)
    if tp is str:
        if not isinstance(v, str):
            raise _invalid(tp, v, path)
        return v
    if tp is bool:
        if not isinstance(v, bool):
            raise _invalid(tp, v, path)
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _invalid(tp, v, path)
        if not -(1 << 63) <= v < (1 << 63):
            raise ConfigError(path, f"invalid value: integer `{v}`, expected i64")
        return v
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _invalid(tp, v, path)
        try:
            f = float(v)
        except OverflowError:
            raise ConfigError(path, "number out of range") from None
        if math.isinf(f):
            raise ConfigError(path, "number out of range")
        return f
    raise TypeError(f"config type {tp!r} is not supported (see quiver_sdk.config)")


def _hints(cls: Any) -> dict:
    return typing.get_type_hints(cls)


def _read_struct(cls: Any, v: Any, path: str) -> Any:
    if not isinstance(v, _Pairs):
        raise _invalid(cls, v, path)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    out: dict = {}
    for key, x in v:
        here = _join(path, key)
        f = fields.get(key)
        if f is None:
            raise ConfigError(here, f"unknown field `{key}`, {_one_of(list(fields), 'there are no fields')}")
        if key in out:
            raise ConfigError(here, f"duplicate field `{key}`")
        out[key] = _read(hints[key], x, here)
    for name, f in fields.items():
        if name in out:
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            if _optional(hints[name]) is not None or hints[name] is Any:
                out[name] = None
            else:
                raise ConfigError(path, f"missing field `{name}`")
    try:
        return cls(**out)
    except ConfigError as e:
        if path and e.key and not e.key.startswith(path):
            raise ConfigError(_join(path, e.key), e.message) from None
        raise


def _simple_default(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float)) or (
        isinstance(v, list) and all(_simple_default(x) for x in v))


def schema_of(tp: Any) -> dict:
    """The JSON Schema (draft 2020-12) of one config type."""
    if tp is Any or tp is object:
        return {}
    inner = _optional(tp)
    if inner is not None:
        return schema_of(inner)
    origin = get_origin(tp)
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (list, tuple, collections.abc.Sequence) or tp is list:
        args = get_args(tp)
        return {"type": "array", "items": schema_of(args[0]) if args else {}}
    if origin is dict or tp is dict:
        args = get_args(tp)
        return {"type": "object", "additionalProperties": schema_of(args[1]) if len(args) == 2 else {}}
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        props: dict = {}
        required = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            p = dict(schema_of(hints[f.name]))
            desc = f.metadata.get("description") if f.metadata else None
            if desc:
                p = {"description": desc, **p}
            if f.default is not dataclasses.MISSING:
                if f.default is not None and _simple_default(f.default):
                    p["default"] = f.default
            elif f.default_factory is dataclasses.MISSING and _optional(hints[f.name]) is None \
                    and hints[f.name] is not Any:
                required.append(f.name)
            props[f.name] = p
        out: dict = {"type": "object", "additionalProperties": False}
        doc = tp.__doc__ or ""
        if doc and not doc.startswith(getattr(tp, "__name__", "") + "("):
            out["description"] = " ".join(doc.split())
        if required:
            out["required"] = required
        out["properties"] = props
        return out
    return {str: {"type": "string"}, bool: {"type": "boolean"}, int: {"type": "integer"},
            float: {"type": "number"}}.get(tp) or _unsupported(tp)


def _unsupported(tp: Any) -> dict:
    raise TypeError(f"config type {tp!r} is not supported (see quiver_sdk.config)")


def json_schema(cls: Optional[type], title: str = "config") -> str:
    """The JSON Schema document (text) of the config dataclass `cls` (None: any object)."""
    doc: dict = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title}
    doc.update(schema_of(cls) if cls is not None else {"type": "object"})
    return json.dumps(doc, indent=2)
