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
