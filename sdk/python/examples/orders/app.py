"""`orders`: the Python SDK README's main example, written the way a pandas user would.

Keeps the orders of more than `min_qty` items and adds their gross amount,
`clip(amount * rate, 0)`, as a new column `gross`. `benches/ports.sh` times it against the
same job done by the Rust `filter` and `map` plugins.

    df = df[df["qty"] > 2]
    df["gross"] = (df["amount"] * 1.19).clip(lower=0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import quiver_sdk as q


@dataclass
class Config:
    min_qty: int = field(default=2, metadata={"description": "Keep rows whose qty is above this."})
    rate: float = field(default=1.19, metadata={"description": "Gross = amount × rate, at least 0."})


class Orders(q.Transform):
    NAME = "orders"
    DESCRIPTION = "Keeps orders of more than min_qty items and adds gross = clip(amount * rate, 0)."
    CONFIG = Config

    def output_schema(self) -> q.Schema:
        return self.input_schema.with_column("gross", "float64")

    def process(self, batch: q.Batch) -> q.Frame:
        df = batch[batch["qty"] > self.config.min_qty]
        df["gross"] = (df["amount"] * self.config.rate).clip(lower=0)
        return df


Transform = q.export(Orders)
