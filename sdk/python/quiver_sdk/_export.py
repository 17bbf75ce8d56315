"""The glue between a `Transform` subclass and the componentize-py exports of contract 0.2.

componentize-py 0.25.1 binds the world's exported interface `transform` like this: the app
module (the one named on its command line) must have a class `Transform` whose instance
answers the free function `metadata()`, and the resource `transformer` is the class
`Transformer` of a top-level module named after the interface, `transform`, looked up when
the component is pre-initialised. `create` is called as a classmethod
`Transformer.create(config, input)`; an error result is signalled by raising
`componentize_py_types.Err(error)`.

`export(cls)` builds both for your subclass and registers the module `transform` in
`sys.modules`, so the plugin's only line beyond its class is

    Transform = quiver_sdk.export(MyTransform)

at the top level of the app module. The adapter parses the config into `cls.CONFIG`, wraps
the lent batch in a `Batch`, turns the frames you return into WIT outputs (input columns as
`keep`, computed ones by handle, a filter as a selection) and maps every exception to the
WIT `error` variant: never a trap.
"""

from __future__ import annotations

import gc
import sys
import traceback
import types as _types
from typing import Any

from ._wit import wit, wit_transform, Err
from . import config as _config
from .base import Transform as _Base
from .dtypes import Schema
from .errors import QuiverError, InternalError
from .frame import Batch, Frame, to_output


def _internal_from(e: BaseException) -> Any:
    """An internal WIT error for an unexpected exception, with the end of its traceback."""
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    text = "".join(tb[-6:]).strip()
    return wit.Error_Internal(f"{type(e).__name__}: {e}\n{text}")


def _fail(e: BaseException) -> Err:
    if isinstance(e, QuiverError):
        return Err(e.to_wit())
    return Err(_internal_from(e))


def _frames(result: Any) -> list:
    if result is None:
        return []
    if isinstance(result, Frame):
        return [result]
    return list(result)


def config_schema(cls: Any) -> str:
    """The JSON Schema text `metadata()` reports: `CONFIG_SCHEMA`, or derived from `CONFIG`."""
    if cls.CONFIG_SCHEMA is not None:
        return str(cls.CONFIG_SCHEMA)
    return _config.json_schema(cls.CONFIG, f"{cls.NAME} config")


def export(cls: Any) -> Any:
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
        config_schema=config_schema(cls),
    )
    wt = wit_transform

    class Transformer:
        """The `transformer` resource: one stream's worth of state."""

        _t: Any
        _input: Schema
        _output: Schema
        _output_wit: Any

        @classmethod
        def create(klass, config: str, input: Any) -> "Transformer":
            try:
                parsed = _config.parse(config, cls.CONFIG)
                schema = Schema.from_wit(input)
                t = cls(parsed, schema)
                if getattr(t, "input_schema", None) is None:
                    # Set even when a subclass's __init__ skips the base one.
                    t.input_schema = schema
                out = t.output_schema()
                if not isinstance(out, Schema):
                    raise InternalError(f"output_schema() returned {type(out).__name__}, "
                                        "not a quiver_sdk.Schema")
                out_wit = out.to_wit()
            except Exception as e:  # noqa: BLE001 - every failure becomes a WIT error
                raise _fail(e) from None
            r = klass()
            r._t, r._input, r._output, r._output_wit = t, schema, out, out_wit
            return r

        def output_schema(self) -> Any:
            return self._output_wit

        def process(self, input: Any) -> list:
            batch = Batch(self._input, input)
            try:
                return [to_output(f, self._output, batch, wt)
                        for f in _frames(self._t.process(batch))]
            except Exception as e:  # noqa: BLE001
                raise _fail(e) from None
            finally:
                # The batch and its input columns refer to each other; without this the
                # handles of every call would wait for the cyclic GC, and the host caps
                # the handles a plugin holds.
                batch._inputs.clear()

        def finish(self) -> list:
            try:
                return [to_output(f, self._output, None, wt) for f in _frames(self._t.finish())]
            except Exception as e:  # noqa: BLE001
                raise _fail(e) from None

    class TransformExport:
        """The interface `transform`'s free functions."""

        def metadata(self) -> Any:
            return metadata

    module = _types.ModuleType("transform", "componentize-py export of interface `transform`")
    setattr(module, "Transformer", Transformer)
    sys.modules["transform"] = module
    setattr(TransformExport, "transformer_class", Transformer)
    setattr(TransformExport, "transform_class", cls)
    # componentize-py snapshots the heap once the app module is imported, and every instance
    # starts from that image copy-on-write. A collection of the old generations walks every
    # object the imports made, writing to each one's GC header: time spent in a `process`
    # call, and pages of the image copied that the plugin never uses. Frozen, those objects
    # are left out of every collection (what `gc.freeze` is for before a fork). Measured
    # (six runs each, 1M rows): the `orders` example busy 48.1 -> 36.9 ms (median) at
    # 8,192-row batches and 24.0 -> 19.6 ms at 65,536; instance start unchanged.
    gc.collect()
    gc.freeze()
    return TransformExport
