"""`{{name}}`: a Quiver plugin written in Python. Replace this docstring with what it does.

Generated from the Python SDK's template: it upper-cases one text column, to show the parts
every plugin has — a config dataclass (its JSON Schema is derived for `plugin inspect`;
errors name the key), a constructor that checks the config against the input schema, the
output schema, and `process` written pandas-style: `batch[column].str.upper()` runs in the
host's string kernel, so the column never enters the plugin, and every other column goes
back by reference. See `sdk/python/README.md` in the Quiver repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import quiver_sdk as q


@dataclass
class Config:
    column: str = field(metadata={"description": "The text column to upper-case."})


class Plugin(q.Transform):
    NAME = "{{name}}"
    VERSION = "0.1.0"
    DESCRIPTION = "Upper-cases a text column (the Python SDK template; describe your plugin here)."
    CONFIG = Config

    def __init__(self, config: Config, input_schema: q.Schema) -> None:
        super().__init__(config, input_schema)
        if config.column not in input_schema:
            raise q.ConfigError("column", f"no column `{config.column}` in the input")
        if not input_schema[config.column].is_string:
            raise q.ConfigError(
                "column",
                f"column `{config.column}` has type {input_schema[config.column]}, not Utf8",
            )
        q.host.debug("upper-casing", column=config.column)  # host log, tagged with the plugin

    def process(self, batch: q.Batch) -> q.Frame:
        q.counter_add("rows-seen", len(batch))
        column = self.config.column
        return batch.with_column(column, batch[column].str.upper())  # nulls stay null


Transform = q.export(Plugin)
