"""The `Transform` base class: the lifecycle every Python plugin implements.

The same lifecycle as the Rust SDK's `Transform` trait. The host creates one transform per
stream (per parallel instance): the SDK parses the stage's JSON config into your `CONFIG`
dataclass and calls `__init__(config, input_schema)`; it asks for `output_schema()` once,
before any data; calls `process(batch)` for every batch in order; then `finish()` once at
the end of the stream. `process` and `finish` return a `Frame`, a list of them, or None.

Class attributes describe the plugin (`quiver plugin inspect` shows them): `NAME`
(lowercase letters, digits, `-`, `_`), `VERSION` (semver), `DESCRIPTION` (one paragraph),
`CONFIG` (a dataclass; None passes the parsed JSON value through) and `CONFIG_SCHEMA` (JSON
Schema text; by default derived from `CONFIG`, see `quiver_sdk.config`).

Report failures by raising `ConfigError`, `DataError` or `InternalError` (see `errors`).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Optional, Sequence, Union

from .dtypes import Schema
from .frame import Batch, Frame

#: What `process` and `finish` may return.
Outputs = Union[Frame, Sequence[Frame], None]


class Transform:
    """Subclass this, then export it with `quiver_sdk.export(YourTransform)`."""

    #: Plugin name: lowercase letters, digits, `-` and `_`.
    NAME: ClassVar[str] = ""
    #: Semantic version of the plugin.
    VERSION: ClassVar[str] = "0.1.0"
    #: One paragraph for humans.
    DESCRIPTION: ClassVar[str] = ""
    #: The config dataclass the stage's JSON document is read into; None: raw JSON.
    CONFIG: ClassVar[Optional[type]] = None
    #: JSON Schema (as JSON text) of the config; None: derived from `CONFIG`.
    CONFIG_SCHEMA: ClassVar[Optional[str]] = None

    def __init__(self, config: Any, input_schema: Schema) -> None:
        """Check `config` against `input_schema` (raise `ConfigError(key, message)` naming
        the offending key) and prepare the transform."""
        self.config = config
        self.input_schema = input_schema

    def output_schema(self) -> Schema:
        """The schema of every frame this transform returns (default: the input schema)."""
        return self.input_schema

    def process(self, batch: Batch) -> Outputs:
        """Transform one batch; return a `Frame` (e.g. the batch itself), a list, or None."""
        raise NotImplementedError(f"{type(self).__name__}.process")

    def finish(self) -> Outputs:
        """End of stream: return whatever the transform still holds (default: nothing)."""
        return None


def read_schema(module_file: str, name: str = "config.schema.json") -> str:
    """The text of `name` next to `module_file` (pass `__file__`), read at build time
    (componentize-py runs the module's top level then), for a hand-written schema."""
    path = os.path.join(os.path.dirname(os.path.abspath(module_file)), name)
    with open(path, encoding="utf-8") as f:
        return f.read()
