"""The glue between a `Transform` subclass and the componentize-py exports.

componentize-py 0.25.1 binds the world's exported interface `transform` like this: the app
module (the one named on its command line) must have a class `Transform` whose instance
answers the free function `metadata()`, and the resource `transformer` is the class
`Transformer` of a top-level module named after the interface, `transform`, looked up when the
component is pre-initialised. `create` is called as a classmethod
`Transformer.create(config, input)`; methods on the instance it returns; an error result is
signalled by raising `componentize_py_types.Err(error)`.

`export(cls)` builds both for your subclass and registers the module `transform` in
`sys.modules`, so the plugin's only line beyond its class is

    Transform = quiver_sdk.export(MyTransform)

at the top level of the app module. The adapter parses the config with `cls.CONFIG`, wraps
incoming batches in `Batch` views, turns what you return into WIT batches (checking column
counts and buffer sizes against the output schema) and maps every exception to the WIT
`error` variant: never a trap.
"""

import sys
import traceback
import types as _types

from ._wit import wit, Err
from . import config as _config
from . import datatypes as _s
from .base import Transform as _Base
from .batch import Batch
from .columns import _as_bytes
from .errors import QuiverError, InternalError


def _internal_from(e):
    """An internal WIT error for an unexpected exception, with the end of its traceback."""
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    text = "".join(tb[-6:]).strip()
    return wit.Error_Internal(f"{type(e).__name__}: {e}\n{text}")


def _fail(e):
    if isinstance(e, QuiverError):
        return Err(e.to_wit())
    return Err(_internal_from(e))


def _check_schema(s):
    if not isinstance(s, wit.Schema):
        raise InternalError(f"output_schema() returned {type(s).__name__}, not a Schema")
    for f in s.fields:
        if not isinstance(f, wit.Field) or not isinstance(f.name, str):
            raise InternalError("output_schema() holds something that is not a Field")


def _to_wit_batch(b, out_schema):
    """A returned batch as a WIT batch, with its buffers checked against the output schema."""
    if isinstance(b, Batch):
        n, cols = b.num_rows, b.columns
    elif isinstance(b, wit.Batch):
        n, cols = b.num_rows, b.columns
    else:
        raise InternalError(f"process/finish returned a {type(b).__name__}, not a Batch")
    fields = out_schema.fields
    if len(cols) != len(fields):
        raise InternalError(
            f"returned batch has {len(cols)} columns, the output schema has {len(fields)}"
        )
    out = []
    for f, c in zip(fields, cols):
        if hasattr(c, "wit") and not isinstance(c, wit.Column):
            c = c.wit
        dt = f.data_type
        validity, offsets, values = _as_bytes(c.validity), _as_bytes(c.offsets), _as_bytes(c.values)
        if values is None:
            values = b""
        if validity is not None and len(validity) < (n + 7) >> 3:
            raise InternalError(f"column `{f.name}`: validity too short for {n} rows")
        if _s.is_var_width(dt):
            ow = 8 if _s.is_large(dt) else 4
            if offsets is None or len(offsets) < (n + 1) * ow:
                raise InternalError(f"column `{f.name}`: offsets missing or too short for {n} rows")
        else:
            w = _s.fixed_width(dt)
            need = n * w if w else ((n + 7) >> 3 if isinstance(dt, wit.DataType_Boolean) else 0)
            if len(values) < need:
                raise InternalError(
                    f"column `{f.name}` ({_s.type_name(dt)}): values buffer of {len(values)} "
                    f"bytes, {need} needed for {n} rows"
                )
        if c.validity is validity and c.offsets is offsets and c.values is values:
            out.append(c)
        else:
            out.append(wit.Column(validity=validity, offsets=offsets, values=values))
    return wit.Batch(num_rows=n, columns=out)


def export(cls):
    """Export the `Transform` subclass `cls` as this component's plugin.

    Returns the class componentize-py needs under the name `Transform` in the app module:
    write `Transform = quiver_sdk.export(MyTransform)` at its top level.
    """
    if not (isinstance(cls, type) and issubclass(cls, _Base)):
        raise TypeError("export() takes a subclass of quiver_sdk.Transform")
    if not cls.NAME:
        raise TypeError(f"{cls.__name__}.NAME must be set (lowercase letters, digits, - and _)")

    metadata = wit.PluginMetadata(
        name=str(cls.NAME),
        version=str(cls.VERSION),
        description=str(cls.DESCRIPTION),
        config_schema=str(cls.CONFIG_SCHEMA),
    )

    class Transformer:
        """The `transformer` resource: one stream's worth of state."""

        @classmethod
        def create(klass, config, input):
            try:
                parsed = _config.parse(config, cls.CONFIG)
                t = cls.create(parsed, input)
                if getattr(t, "input_schema", None) is None:
                    # Set even when a subclass's __init__ skips the base one, so the default
                    # output_schema() (and plugin code) can rely on it.
                    t.input_schema = input
                out = t.output_schema()
                _check_schema(out)
            except Exception as e:  # noqa: BLE001 - every failure becomes a WIT error
                raise _fail(e) from None
            r = klass()
            r._t, r._input, r._output = t, input, out
            return r

        def output_schema(self):
            return self._output

        def _convert(self, result, what):
            if result is None:
                return []
            if isinstance(result, (Batch, wit.Batch)):
                result = [result]
            return [_to_wit_batch(b, self._output) for b in result]

        def process(self, input):
            try:
                batch = Batch.from_wit(self._input, input)
                return self._convert(self._t.process(batch), "process")
            except Exception as e:  # noqa: BLE001
                raise _fail(e) from None

        def finish(self):
            try:
                return self._convert(self._t.finish(), "finish")
            except Exception as e:  # noqa: BLE001
                raise _fail(e) from None

    class TransformExport:
        """The interface `transform`'s free functions."""

        def metadata(self):
            return metadata

    module = _types.ModuleType("transform", "componentize-py export of interface `transform`")
    module.Transformer = Transformer
    sys.modules["transform"] = module
    TransformExport.transformer_class = Transformer
    TransformExport.transform_class = cls
    return TransformExport
