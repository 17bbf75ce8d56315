"""Errors a transform raises, mapped onto the WIT `error` variant that says who is at fault.

Raise `ConfigError(key, message)` from `__init__` when the config does not fit the input
(`key` is the path of the offending key, e.g. `columns[2].scale`; empty for the whole
document), `DataError(message, column=..., row=...)` from `process`/`finish` when the input
data is wrong (`row` counts from 0 within the batch), and `InternalError(message)` for a bug
or an unexpected state. Any other exception escaping a transform becomes an `internal` error
carrying its traceback: the SDK never lets an exception trap the instance.

A host kernel's refusal arrives as one of the same three (`from_wit`): a data error naming
its row (the SDK adds the column the expression was built from), a config error for
arguments the kernel does not take (a type, a regex, a time zone), named with the column.
"""

from __future__ import annotations

from typing import Any, Optional

from ._wit import wit


class QuiverError(Exception):
    """Base of the three errors a transform can report; `to_wit()` gives the WIT value."""

    def to_wit(self) -> Any:
        raise NotImplementedError


class ConfigError(QuiverError):
    """The user's config is at fault: fix the pipeline file."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config `{key}`: {message}")
        self.key = str(key)
        self.message = str(message)

    def to_wit(self) -> Any:
        return wit.Error_Config(wit.ConfigError(key=self.key, message=self.message))


class DataError(QuiverError):
    """The input data is at fault. `column` and `row` (within the batch) when known."""

    def __init__(self, message: str, column: Optional[str] = None,
                 row: Optional[int] = None) -> None:
        super().__init__(f"data (column {column!r}, row {row!r}): {message}")
        self.message = str(message)
        self.column = None if column is None else str(column)
        self.row = None if row is None else int(row)

    def to_wit(self) -> Any:
        return wit.Error_Data(
            wit.DataError(column=self.column, row=self.row, message=self.message)
        )


class InternalError(QuiverError):
    """The plugin itself failed: a bug, or an unexpected state."""

    def __init__(self, message: str) -> None:
        super().__init__(f"internal: {message}")
        self.message = str(message)

    def to_wit(self) -> Any:
        return wit.Error_Internal(self.message)


def from_wit(error: Any, column: Optional[str] = None) -> QuiverError:
    """The exception for a WIT `error` a host call returned, naming `column` when given.

    A data error keeps the host's row and gains the column; a config error (the kernel's
    "invalid arguments") gets the column in front of its message, since its key is empty.
    """
    if isinstance(error, wit.Error_Data):
        d = error.value
        return DataError(d.message, column=d.column or column, row=d.row)
    if isinstance(error, wit.Error_Config):
        c = error.value
        message = c.message if column is None else f"column `{column}`: {c.message}"
        return ConfigError(c.key, message)
    if isinstance(error, wit.Error_Internal):
        text = error.value if column is None else f"column `{column}`: {error.value}"
        return InternalError(text)
    return InternalError(f"unexpected error value {error!r}")
