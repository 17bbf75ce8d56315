"""Markdown tables of the latest `cargo bench -p quiver-benches` results, with ratios.

Reads criterion's estimates (<target>/criterion/<group>/<fn>/<param>/new/estimates.json)
and prints, per group, the median time (and its 95% interval) of every benchmark, and for
every `plugin` row the ratio to the `native` row of the same parameter.

    python3 benches/summary.py [TARGET_DIR]
"""

import json
import os
import sys
from collections import defaultdict


def fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target")
    root = os.path.join(target, "criterion")
    results = defaultdict(dict)
    for dirpath, _, files in os.walk(root):
        if "estimates.json" not in files or not dirpath.endswith(os.sep + "new"):
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            meta = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)["median"]
        key = (meta["function_id"], meta.get("value_str"))
        results[meta["group_id"]][key] = (
            est["point_estimate"],
            est["confidence_interval"]["lower_bound"],
            est["confidence_interval"]["upper_bound"],
        )
    for group in sorted(results):
        rows = results[group]
        print(f"\n### {group}\n")
        print("| benchmark | parameter | median | 95% CI | × native |")
        print("|---|---|---|---|---|")

        def order(k):
            fn, param = k
            return (int(param) if param and param.isdigit() else 0, fn != "plugin", fn)

        for fn, param in sorted(rows, key=order):
            med, lo, hi = rows[(fn, param)]
            native = rows.get(("native", param))
            ratio = f"{med / native[0]:.2f}" if native and fn != "native" else ""
            print(f"| {fn} | {param or ''} | {fmt(med)} | {fmt(lo)}–{fmt(hi)} | {ratio} |")


if __name__ == "__main__":
    main()
