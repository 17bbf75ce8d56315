"""`{{name}}`: a Quiver plugin written in Python. Replace this docstring with what it does.

Generated from the Python SDK's template: it upper-cases one utf8 column, to show the parts
every plugin has. A `Transform` subclass: the config spec (`CONFIG`, errors name the key), the
constructor that checks the config against the input schema, `output_schema`, `process` over
column views (values are decoded only when asked), building an output column, and the export
line at the end. See `sdk/python/README.md` in the Quiver repository.
"""

import quiver_sdk as q


class Plugin(q.Transform):
    NAME = "{{name}}"
    VERSION = "0.1.0"
    DESCRIPTION = "Upper-cases a utf8 column (the Python SDK template; describe your plugin here)."
    CONFIG_SCHEMA = q.read_schema(__file__)  # config.schema.json, read at build time
    CONFIG = q.Struct({"column": q.Str()})

    def __init__(self, config, input_schema):
        self.index = q.index_of(input_schema, config.column)
        if self.index is None:
            raise q.ConfigError("column", f"no column `{config.column}` in the input")
        data_type = input_schema.fields[self.index].data_type
        if not q.is_string(data_type):
            raise q.ConfigError(
                "column", f"column `{config.column}` has type {q.type_name(data_type)}, not Utf8"
            )
        self.large = q.is_large(data_type)
        self.schema = input_schema
        q.host.debug("upper-casing", column=config.column)  # host log, tagged with the plugin

    def output_schema(self):
        return self.schema

    def process(self, batch):
        col = batch.column(self.index)
        upper = [s.upper() for s in col.strings()]  # null rows decode as "" and stay null
        out = q.strings(upper, large=self.large)
        out.validity = col.validity
        q.counter_add("rows-seen", batch.num_rows)
        return [batch.replace(self.index, out)]


Transform = q.export(Plugin)
