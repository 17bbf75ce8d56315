"""The floor of a Python plugin's call: a plugin that returns its batch unchanged.

`benches/calls.rs` times it beside the `map` ports: what a componentize-py `process` call
costs before the plugin does anything. `benches/ports.sh` builds it (with python in LANGS).
"""

from __future__ import annotations

from dataclasses import dataclass

import quiver_sdk as q


@dataclass
class Config:
    pass


class Floor(q.Transform):
    NAME = "floor"
    VERSION = "0.1.0"
    DESCRIPTION = "Returns its input unchanged (benchmark floor)."
    CONFIG = Config

    def process(self, batch: q.Batch) -> q.Frame:
        return batch


Transform = q.export(Floor)
