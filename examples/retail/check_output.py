#!/usr/bin/env python3
"""Check the retail demo's output against the libraries, outside Quiver.

Opens out/retail.parquet with pyarrow and, for every row:
- recomputes the `features` stage's columns from the row's own (imputed) input columns with
  train.py's feature code and model/forecast_params.json, and requires them to be equal
  (log1p to 1e-12: the guest's libm and the host's may round its last bit differently);
- predicts with XGBoost's own Booster.predict on the output's feature columns and requires
  `forecast_spend_30d` to match to 1e-6;
and requires the rows of demo-check.csv (written by train.py) to have the same predictions
in the output. Also summarises the dead-letter file and the run report.

    python3 examples/retail/check_output.py [out/retail.parquet]

Run `scripts/retail-demo.sh` first. Makes its own virtualenv under target/retail-check-venv
(pinned xgboost-cpu and pyarrow from PyPI) and re-runs itself there. `.ci/run` runs it.
"""

import collections
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")).resolve() / "retail-check-venv"
REQUIREMENTS = ["xgboost-cpu==3.2.0", "pyarrow==26.0.1"]


def ensure_venv() -> None:
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV:
        return
    if not python.exists():
        venv.create(VENV, with_pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def main() -> None:
    ensure_venv()
    import numpy as np
    import pyarrow.parquet as pq
    import xgboost as xgb

    sys.path.insert(0, str(HERE))
    import train

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "retail.parquet"
    table = pq.read_table(path)
    print(f"{path}: {table.num_rows} rows, {pq.ParquetFile(path).metadata.num_row_groups} row group(s)")
    print(table.schema.to_string(show_schema_metadata=False))

    params = json.loads((HERE / "model" / "forecast_params.json").read_text())
    rows = table.to_pylist()
    worst_log1p = 0.0
    for r in rows:
        src = {**r, "sold_at": r["sold_at"].isoformat()}
        for name, want in train.features(src, params).items():
            got = r[name]
            if name.endswith("_log1p"):
                worst_log1p = max(worst_log1p, abs(got - want))
                assert abs(got - want) <= 1e-12, (r["sale_id"], name, got, want)
            else:
                assert got == want, (r["sale_id"], name, got, want)
    print(f"features: every row's {len(train.features(src, params))} feature columns equal "
          f"train.py's (log1p within {worst_log1p:.1e})")

    feats = params["model_features"]
    x = np.column_stack([np.asarray(table.column(f).to_numpy(zero_copy_only=False), dtype=np.float64)
                         for f in feats])
    booster = xgb.Booster(model_file=str(HERE / "model" / params["model"]))
    want = booster.predict(xgb.DMatrix(x, feature_names=feats)).astype(np.float64)
    got = table.column("forecast_spend_30d").to_numpy()
    diff = np.abs(got - want)
    assert diff.max() <= 1e-6, diff.max()
    print(f"score: {len(got)} predictions, max |quiver - XGBoost Booster.predict| = {diff.max():.1e}")

    by_id = dict(zip(table.column("sale_id").to_pylist(), got))
    lines = (HERE / "demo-check.csv").read_text().splitlines()
    header = lines[0].split(",")
    i, p = header.index("sale_id"), header.index("forecast_spend_30d")
    n = 0
    for line in lines[1:]:
        cells = line.split(",")
        assert abs(by_id[int(cells[i])] - float(cells[p])) <= 1e-6, cells[i]
        n += 1
    print(f"demo-check.csv: its {n} rows are in the output with the same predictions")

    reasons = collections.Counter(r for r in table.column("_invalid_rules").to_pylist() if r)
    flagged = sum(1 for f in table.column("_invalid").to_pylist() if f)
    print(f"flagged rows (kept): {flagged}, by rules: {dict(reasons)}")
    emails = [e for e in table.column("email").to_pylist() if e is not None]
    assert all(re.fullmatch(r"[0-9a-f]{64}", e) for e in emails)
    assert "customer_name" not in table.column_names

    dead = ROOT / "out" / "retail-dead-letter.ndjson"
    records = [json.loads(line) for line in dead.read_text().splitlines()] if dead.exists() else []
    rules = collections.Counter(re.search(r"rule `([^`]+)`", d["error"]).group(1) for d in records)
    print(f"{dead.name}: {len(records)} rows, by rule: {dict(rules)}")
    report = ROOT / "out" / "retail-report.json"
    rep = json.loads(report.read_text())
    print(f"{report.name}: read {rep['rows_read']}, written {rep['rows_written']}, "
          f"dead-lettered {rep['rows_dead_lettered']}, skipped {rep['rows_skipped']}")
    # The run report counts every rule of `validate`: each dead-lettered row under the fail
    # rule that rejected it, each flagged row under its flag rule(s).
    counters = next(s for s in rep["stages"] if s["name"] == "validate")["counters"]
    for rule, n in rules.items():
        assert counters.get(f"rule:{rule}") == n, (rule, n, counters)
    for rule, n in reasons.items():
        assert counters.get(f"rule:{rule}") == n, (rule, n, counters)
    assert rep["rows_dead_lettered"] == len(records) == sum(rules.values())
    print(f"report: validate's per-rule counts {counters} match the dead-letter file and the "
          f"flag column")
    print("ok")


if __name__ == "__main__":
    main()
