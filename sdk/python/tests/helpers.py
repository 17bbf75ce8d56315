"""Test helpers: load an example plugin as a module and call `create` as the host does.

Outside a component the host's imports are not implemented, so these tests drive only what
runs in pure Python: config reading, schema checks, the kernel calls an expression stands
for (`Column.explain()`). What the kernels compute is tested with real components
(`runtime/cli/tests/cli/sdk.rs`).
"""

import importlib.util
import os
import sys

import quiver_sdk as q
from quiver_sdk._wit import Err, wit

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load_example(name):
    """Import `examples/<name>/app.py` under a unique module name; returns the module."""
    path = os.path.join(EXAMPLES, name, "app.py")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def schema(**columns):
    """A `q.Schema` from `name="type"` pairs (all nullable)."""
    return q.Schema([(n, t, True) for n, t in columns.items()])


def create(mod, config, s):
    """`transformer.create` as the host calls it (WIT schema in); returns the resource."""
    return mod.Transform.transformer_class.create(config, s.to_wit())


def config_error(mod, config, s):
    """(key, message) of the config error `create` must return."""
    try:
        create(mod, config, s)
    except Err as e:
        assert isinstance(e.value, wit.Error_Config), e.value
        return e.value.value.key, e.value.value.message
    raise AssertionError(f"config {config} was accepted")


def batch(s, rows=8):
    """A `q.Batch` over no host batch: its columns can be combined and explained, not read."""
    return q.Batch(s, None, rows)


class FakeHandle:
    """A stand-in for a host column: `rows` rows of `node` type, a boolean mask's bits."""

    def __init__(self, name, rows, node=None, bits=None):
        self.name, self.rows = name, rows
        self.node = node or wit.TypeNode_Boolean()
        self.bits = bits

    def len(self):
        return self.rows

    def data_type(self):
        return [wit.Field("", self.node, True)]

    def read(self):
        nb = (self.rows + 7) // 8
        return [wit.Node(self.rows, None, None, self.bits or b"\xff" * nb)]


class FakeHost:
    """Patches the compute imports with recorders, so the adapter's whole path runs in plain
    CPython: `calls` lists (kernel, args) in order; every kernel returns a `FakeHandle`
    named after it; `bits` is what masks read back."""

    def __init__(self, rows=8, bits=None, width=4):
        from quiver_sdk._wit import wit_compute, wit_columns
        self.rows, self.bits, self.calls, self.width = rows, bits, [], width
        self._saved = {}
        self._mods = (wit_compute, wit_columns)

    def __enter__(self):
        compute, columns = self._mods
        for name in ("arith", "affine", "unary", "round", "clip", "compare", "logic", "not_",
                     "is_null", "is_not_null", "fill_null", "coalesce", "cast", "filter",
                     "filter_many", "take", "slice", "is_in", "str_unary", "str_match", "regex_match",
                     "regex_replace", "substring", "concat", "date_part", "sha256",
                     "hmac_sha256"):
            self._saved[(compute, name)] = getattr(compute, name)
            setattr(compute, name, self._recorder(name))
        self._saved[(columns, "from_data")] = columns.from_data
        columns.from_data = self._recorder("from_data")
        return self

    def __exit__(self, *exc):
        for (mod, name), f in self._saved.items():
            setattr(mod, name, f)

    def _recorder(self, name):
        def call(*args):
            self.calls.append((name, args))
            rows = self.rows
            if name in ("filter", "filter_many") and self.bits is not None:
                # What the host's `filter` keeps: the mask's set bits.
                rows = bin(int.from_bytes(self.bits, "little") & ((1 << self.rows) - 1)).count("1")
            if name == "filter_many":
                return [FakeHandle("filter", rows, bits=self.bits) for _ in args[0]]
            return FakeHandle(name, rows, bits=self.bits)
        return call

    def lent(self):
        host = self

        class Lent:
            def num_rows(self):
                return host.rows

            def column(self, i):
                host.calls.append(("column", (i,)))
                return FakeHandle(f"column{i}", host.rows)

            def columns(self):
                host.calls.append(("columns", ()))
                return [FakeHandle(f"column{i}", host.rows) for i in range(host.width)]

            def read(self, i):
                return FakeHandle(f"column{i}", host.rows).read()
        return Lent()
