"""Test helpers: load an example plugin as a module and drive it like the host does."""

import importlib.util
import os

import quiver_sdk as q
from quiver_sdk._wit import Err, wit

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load_example(name):
    """Import `examples/<name>/app.py` under a unique module name; returns the module."""
    path = os.path.join(EXAMPLES, name, "app.py")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def batch(schema, rows_by_column):
    """A WIT batch of `schema` from one Python list per column (None for nulls)."""
    cols = [q.from_pylist(f.data_type, v) for f, v in zip(schema.fields, rows_by_column)]
    n = len(rows_by_column[0]) if rows_by_column else 0
    return wit.Batch(num_rows=n, columns=cols)


def create(mod, config, schema):
    """`transformer.create` as the host calls it; returns the resource or raises Err."""
    return mod.Transform.transformer_class.create(config, schema)


def config_error(mod, config, schema):
    """(key, message) of the config error `create` must return."""
    try:
        create(mod, config, schema)
    except Err as e:
        assert isinstance(e.value, wit.Error_Config), e.value
        return e.value.value.key, e.value.value.message
    raise AssertionError(f"config {config} was accepted")


def rows(resource, wit_batches):
    """Run batches through a created resource; each output batch as lists per column."""
    out_schema = resource.output_schema()
    result = []
    for b in wit_batches:
        for o in resource.process(b):
            v = q.Batch.from_wit(out_schema, o)
            result.append([v.column(i).to_list() for i in range(len(out_schema.fields))])
    return result
