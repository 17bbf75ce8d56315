"""Errors a transform raises, mapped onto the WIT `error` variant that says who is at fault.

Raise `ConfigError(key, message)` from `__init__`/`create` when the config does not fit the
input (`key` is the path of the offending key, e.g. `columns[2].scale`; empty for the whole
document), `DataError(message, column=..., row=...)` from `process`/`finish` when the input
data is wrong (`row` counts from 0 within the batch), and `InternalError(message)` for a bug
or an unexpected state. Any other exception escaping a transform becomes an `internal` error
carrying its traceback: the SDK never lets an exception trap the instance.
"""

from ._wit import wit


class QuiverError(Exception):
    """Base of the three errors a transform can report; `to_wit()` gives the WIT value."""

    def to_wit(self):
        raise NotImplementedError


class ConfigError(QuiverError):
    """The user's config is at fault: fix the pipeline file."""

    def __init__(self, key, message):
        super().__init__(f"config `{key}`: {message}")
        self.key = str(key)
        self.message = str(message)

    def to_wit(self):
        return wit.Error_Config(wit.ConfigError(key=self.key, message=self.message))


class DataError(QuiverError):
    """The input data is at fault. `column` and `row` (within the batch) when known."""

    def __init__(self, message, column=None, row=None):
        super().__init__(f"data (column {column!r}, row {row!r}): {message}")
        self.message = str(message)
        self.column = None if column is None else str(column)
        self.row = None if row is None else int(row)

    def to_wit(self):
        return wit.Error_Data(
            wit.DataError(column=self.column, row=self.row, message=self.message)
        )


class InternalError(QuiverError):
    """The plugin itself failed: a bug, or an unexpected state."""

    def __init__(self, message):
        super().__init__(f"internal: {message}")
        self.message = str(message)

    def to_wit(self):
        return wit.Error_Internal(self.message)


def config_error(key, message):
    """A `ConfigError` at `key`, to `raise`."""
    return ConfigError(key, message)


def data_error(message, column=None, row=None):
    """A `DataError` in `column` at `row` (either may be None), to `raise`."""
    return DataError(message, column=column, row=row)


def internal_error(message):
    """An `InternalError`, to `raise`."""
    return InternalError(message)
