"""What the host offers a plugin: structured logs and counters.

`log(level, message, **fields)` (or `trace`/`debug`/`info`/`warn`/`error`) emits a record
tagged with the plugin's name into the host's log; `counter_add(name, delta)` adds to a
counter of the plugin that appears in the run report and the stage's metrics (e.g.
`rows-rejected`). Field values are converted with `str()`.

Outside a component (local tests with generated bindings) the imports are not implemented:
logs then go to stderr and counters to `LOCAL_COUNTERS`, so plugin code runs unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

from ._wit import wit_host

#: Severity of a log record: `Level.TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`.
Level = wit_host.Level

#: Counters recorded when running outside a component (local tests only).
LOCAL_COUNTERS: dict = {}


def log(level: Any, message: str, **fields: Any) -> None:
    """Emit a log record at `level` with key/value `fields`."""
    pairs = [(str(k), str(v)) for k, v in fields.items()]
    try:
        wit_host.log(level, str(message), pairs)
    except NotImplementedError:
        extra = "".join(f" {k}={v}" for k, v in pairs)
        print(f"[{level.name.lower()}] {message}{extra}", file=sys.stderr)


def trace(message: str, **fields: Any) -> None:
    """Emit a trace-level record."""
    log(Level.TRACE, message, **fields)


def debug(message: str, **fields: Any) -> None:
    """Emit a debug-level record."""
    log(Level.DEBUG, message, **fields)


def info(message: str, **fields: Any) -> None:
    """Emit an info-level record."""
    log(Level.INFO, message, **fields)


def warn(message: str, **fields: Any) -> None:
    """Emit a warning."""
    log(Level.WARN, message, **fields)


def error(message: str, **fields: Any) -> None:
    """Emit an error-level record (reporting only: raise an error to fail the call)."""
    log(Level.ERROR, message, **fields)


def counter_add(name: str, delta: int = 1) -> None:
    """Add `delta` (0 <= delta < 2**64) to this plugin's counter `name`."""
    delta = int(delta)
    if delta < 0 or delta >= 1 << 64:
        raise ValueError(f"counter delta {delta} is not a u64")
    try:
        wit_host.counter_add(str(name), delta)
    except NotImplementedError:
        LOCAL_COUNTERS[name] = LOCAL_COUNTERS.get(name, 0) + delta
