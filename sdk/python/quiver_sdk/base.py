"""The `Transform` base class: the lifecycle every Python plugin implements.

The same lifecycle as the Rust SDK's `Transform` trait. The host creates one transform per
stream (per parallel instance): the SDK parses the stage's JSON config with your `CONFIG`
spec and calls `create(config, input_schema)` (by default your `__init__(config, input)`);
it asks for `output_schema()` once, before any data; calls `process(batch)` for every batch in
order; then `finish()` once at the end of the stream. `process` and `finish` return a list of
zero or more batches of the output schema.

Class attributes describe the plugin (`quiver plugin inspect` shows them): `NAME` (lowercase
letters, digits, `-`, `_`), `VERSION` (semver), `DESCRIPTION` (one paragraph),
`CONFIG_SCHEMA` (JSON Schema of the config, as text; `read_schema(__file__)` reads the
plugin folder's `config.schema.json` at build time) and `CONFIG` (a `config` spec; None
passes the parsed JSON value through).

`self.input_schema` is always set on the instance (by the SDK, if your `__init__` does not
call the base one).

Report failures by raising `ConfigError`, `DataError` or `InternalError` (see `errors`).
"""

import os


class Transform:
    """Subclass this, then export it with `quiver_sdk.export(YourTransform)`."""

    #: Plugin name: lowercase letters, digits, `-` and `_`.
    NAME = None
    #: Semantic version of the plugin.
    VERSION = "0.1.0"
    #: One paragraph for humans.
    DESCRIPTION = ""
    #: JSON Schema (as JSON text) of the config the plugin accepts.
    CONFIG_SCHEMA = '{"type": "object"}'
    #: Spec the config document is parsed with (see `quiver_sdk.config`); None: raw JSON.
    CONFIG = None

    @classmethod
    def create(cls, config, input_schema):
        """Validate `config` (already parsed with `CONFIG`) against `input_schema`; build the
        transform. Raise `ConfigError(key, message)` naming the offending key. The default
        calls `cls(config, input_schema)`."""
        return cls(config, input_schema)

    def __init__(self, config, input_schema):
        self.config = config
        self.input_schema = input_schema

    def output_schema(self):
        """The schema of every batch this transform returns (default: the input schema)."""
        return self.input_schema

    def process(self, batch):
        """Transform one `Batch` into a list of zero or more batches of `output_schema()`."""
        raise NotImplementedError(f"{type(self).__name__}.process")

    def finish(self):
        """End of stream: return whatever the transform still holds (default: nothing)."""
        return []


def read_schema(module_file, name="config.schema.json"):
    """The text of `name` next to `module_file` (pass `__file__`).

    Call it at module level: componentize-py runs the module's top level at build time, so
    the file is read then and its text is part of the component.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(module_file)), name)
    with open(path, encoding="utf-8") as f:
        return f.read()
