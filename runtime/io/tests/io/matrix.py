"""The reader matrix's Python side, run once per test by `matrix.rs` in the test venv
(`scripts/install-test-deps.sh`: pinned pyarrow, Polars and DuckDB).

    python matrix.py read DIR    reads every file `DIR/expected.json` lists with pyarrow,
                                 Polars and DuckDB (where the reader has the format) and
                                 compares types and values with what Quiver wrote
    python matrix.py write DIR   writes the same kinds of columns with each of the three
                                 libraries, in every format each has, and lists them with
                                 their expected values in `DIR/written.json` for Quiver to read

Values are compared in a canonical JSON form: integers and floats as numbers, strings,
binary as hex, dates as `YYYY-MM-DD`, timestamps as microseconds since the epoch (UTC),
decimals as text with the column's scale, lists and structs as JSON arrays and objects.
Both modes print one JSON report on stdout; the Rust test asserts on it.
"""

import datetime
import decimal
import json
import math
import os
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

TYPED = {"parquet", "arrow_file", "arrow_stream"}

# Types a reader cannot represent, as (reader, format, expected kind) -> the kind it gives
# instead; values are still compared. Polars has no Date64: from Arrow IPC it reads one as
# a datetime (Quiver's Parquet stores Date64 as a DATE, which Polars reads as a date).
KNOWN = {
    ("polars", "arrow_file", "date", "day64"): "timestamp",
    ("polars", "arrow_stream", "date", "day64"): "timestamp",
}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def kind_of(t):
    """The kind of a pyarrow type, in the matrix's spelling."""
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return ("int" if pa.types.is_signed_integer(t) else "uint") + str(t.bit_width)
    if pa.types.is_floating(t):
        return "float" + str(t.bit_width)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return "list<" + kind_of(t.value_type) + ">"
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_dictionary(t):
        return kind_of(t.value_type)
    return str(t)


def polars_kind(dtype):
    """The kind of a Polars dtype (through its Arrow type)."""
    return kind_of(pl.Series([], dtype=dtype).to_arrow().type)


def canonical(value, kind):
    """One value in the canonical form, from what any of the libraries returned."""
    if value is None:
        return None
    if kind.startswith("timestamp"):
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            delta = value - EPOCH
            return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return int(value)
    if kind == "time":
        if isinstance(value, str):
            value = datetime.time.fromisoformat(value)
        if isinstance(value, datetime.time):
            return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return int(value)
    if kind == "date":
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.strftime("%Y-%m-%d")
        return str(value)[:10]
    if kind.startswith("decimal"):
        scale = int(kind.rstrip(")").split(",")[1])
        return str(decimal.Decimal(str(value)).quantize(decimal.Decimal(1).scaleb(-scale)))
    if kind == "binary":
        return bytes(value).hex() if not isinstance(value, str) else value
    if kind.startswith("list<"):
        inner = kind[5:-1]
        return [canonical(v, inner) for v in value]
    if kind == "struct":
        return {k: v for k, v in value.items()}
    if kind.startswith("float"):
        return float(value)
    if kind.startswith("int") or kind.startswith("uint"):
        return int(value)
    if kind == "bool":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    return value


def column_values(array, kind):
    """The canonical values of a pyarrow (chunked) array."""
    t = array.type
    if pa.types.is_dictionary(t):
        array = array.cast(t.value_type)
        t = t.value_type
    if pa.types.is_timestamp(t) and kind.startswith("timestamp"):
        us = pc.cast(array, pa.timestamp("us", tz=t.tz), safe=False)
        return pc.cast(us, pa.int64()).to_pylist()
    if pa.types.is_date(t):
        return pc.cast(array.cast(pa.date32()), pa.string()).to_pylist()
    if pa.types.is_time(t):
        return pc.cast(array.cast(pa.time64("us")), pa.int64()).to_pylist()
    return [canonical(v, kind) for v in array.to_pylist()]


def same(a, b, kind):
    if a is None or b is None:
        return a is None and b is None
    if kind == "float32":
        return math.isclose(a, b, rel_tol=1e-6)
    if kind == "float64":
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def compare(reader, path, fmt, table, columns, typed, kinds, failures):
    """Checks `table` (pyarrow) against the expected `columns`; returns cells checked."""
    checked = 0
    names = table.column_names
    for col in columns:
        name, kind, want = col["name"], col["kind"], col["values"]
        where = f"{reader} {os.path.basename(path)} {name}"
        if name not in names:
            failures.append(f"{where}: missing (has {names})")
            continue
        if typed:
            have_kind = kinds[name]
            if have_kind != kind and KNOWN.get((reader, fmt, kind, name)) != have_kind:
                failures.append(f"{where}: type {have_kind}, expected {kind}")
            zone = col.get("zone")
            t = table.column(name).type
            if zone and reader != "duckdb" and getattr(t, "tz", None) != zone:
                failures.append(f"{where}: zone {getattr(t, 'tz', None)}, expected {zone}")
        have = column_values(table.column(name), kind)
        if len(have) != len(want):
            failures.append(f"{where}: {len(have)} rows, expected {len(want)}")
            continue
        for row, (h, w) in enumerate(zip(have, want)):
            checked += 1
            if not same(h, w, kind):
                failures.append(f"{where} row {row}: {h!r}, expected {w!r}")
                break
    return checked


def read_pyarrow(path, fmt):
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "csv":
        # pyarrow reads an empty field as "" unless told that strings may be null.
        return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(strings_can_be_null=True))
    if fmt == "ndjson":
        return pa_json.read_json(path)
    if fmt == "arrow_file":
        return pa_ipc.open_file(path).read_all()
    if fmt == "arrow_stream":
        return pa_ipc.open_stream(path).read_all()
    return None


def read_polars(path, fmt):
    if fmt == "parquet":
        frame = pl.read_parquet(path)
    elif fmt == "csv":
        frame = pl.read_csv(path, try_parse_dates=True, infer_schema_length=None)
    elif fmt == "ndjson":
        frame = pl.read_ndjson(path)
    elif fmt == "arrow_file":
        frame = pl.read_ipc(path)
    elif fmt == "arrow_stream":
        frame = pl.read_ipc_stream(path)
    else:
        return None, None
    return frame.to_arrow(), {n: polars_kind(d) for n, d in frame.schema.items()}


def read_duckdb(path, fmt):
    function = {"parquet": "read_parquet", "csv": "read_csv", "ndjson": "read_json"}.get(fmt)
    if function is None:
        return None  # DuckDB reads Arrow IPC only through an extension downloaded at run time
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    extra = ", format = 'newline_delimited'" if fmt == "ndjson" else ""
    return con.sql(f"SELECT * FROM {function}('{path}'{extra})").to_arrow_table()


def read_mode(directory):
    with open(os.path.join(directory, "expected.json")) as f:
        expected = json.load(f)
    failures, checked, cells = [], 0, []
    for entry in expected["files"]:
        path, fmt = os.path.join(directory, entry["path"]), entry["format"]
        columns = [c for c in expected["columns"] if c["name"] in entry["columns"]]
        typed = fmt in TYPED
        for reader in ("pyarrow", "polars", "duckdb"):
            try:
                if reader == "pyarrow":
                    table = read_pyarrow(path, fmt)
                    kinds = table and {f.name: kind_of(f.type) for f in table.schema}
                elif reader == "polars":
                    table, kinds = read_polars(path, fmt)
                else:
                    table = read_duckdb(path, fmt)
                    kinds = table and {f.name: kind_of(f.type) for f in table.schema}
            except Exception as error:  # a reader refusing the file is a failure to report
                failures.append(f"{reader} {entry['path']}: cannot read: {error}")
                continue
            if table is None:
                continue
            cells.append(f"{reader}:{entry['path']}")
            checked += compare(reader, path, fmt, table, columns, typed, kinds, failures)
    print(json.dumps({"checked": checked, "read": cells, "failures": failures}))


def write_mode(directory):
    """Each library writes the table below in every format it has."""
    paris = datetime.timezone(datetime.timedelta(hours=1))
    table = pa.table(
        {
            "flag": pa.array([True, None, False], pa.bool_()),
            "i8": pa.array([-128, None, 127], pa.int8()),
            "i32": pa.array([-2_147_483_648, 7, None], pa.int32()),
            "i64": pa.array([None, -9_007_199_254_740_993, 9_007_199_254_740_993], pa.int64()),
            "u16": pa.array([0, None, 65_535], pa.uint16()),
            "u64": pa.array([10_000_000_000, None, 1], pa.uint64()),
            "f32": pa.array([0.5, None, -1.25], pa.float32()),
            "f64": pa.array([1.0 / 3.0, -2.5e10, None], pa.float64()),
            "text": pa.array(["Zoë, \"quoted\"", None, "東京"], pa.string()),
            # No empty string: CSV writes it and null alike, and Quiver reads both as null.
            "large": pa.array(["x" * 300, "y", None], pa.large_string()),
            "blob": pa.array([b"\x00\xff", None, b"quiver"], pa.binary()),
            "day": pa.array([datetime.date(2013, 1, 1), None, datetime.date(1969, 12, 31)], pa.date32()),
            "at_utc": pa.array(
                [datetime.datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=datetime.timezone.utc), None,
                 datetime.datetime(1969, 12, 31, 23, 0, tzinfo=datetime.timezone.utc)],
                pa.timestamp("ms", tz="UTC"),
            ),
            "at_paris": pa.array(
                [datetime.datetime(2026, 1, 1, 11, 0, 0, 654321, tzinfo=paris), None,
                 datetime.datetime(2026, 3, 1, 0, 0, tzinfo=paris)],
                pa.timestamp("us", tz="Europe/Paris"),
            ),
            "at_naive": pa.array([datetime.datetime(2013, 1, 1, 5, 0), None, datetime.datetime(2013, 12, 31, 23, 59, 59)],
                                 pa.timestamp("us")),
            "amount": pa.array([decimal.Decimal("12.34"), None, decimal.Decimal("-0.05")], pa.decimal128(10, 2)),
            "clock": pa.array([datetime.time(0, 0), None, datetime.time(12, 34, 56, 789000)], pa.time64("us")),
            "colour": pa.array(["red", None, "red"], pa.string()).dictionary_encode(),
            "tags": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
            "point": pa.array([{"x": 1, "label": "a"}, None, {"x": None, "label": "b"}],
                              pa.struct([("x", pa.int64()), ("label", pa.string())])),
        }
    )
    nested = {"blob", "tags", "point"}
    text_only = [n for n in table.column_names if n not in nested]
    ndjson_cols = [n for n in table.column_names if n != "blob"]
    files = []

    def add(name, fmt, writer, columns):
        kinds = {f.name: kind_of(f.type) for f in table.schema}
        files.append(
            {
                "path": name,
                "format": fmt,
                "writer": writer,
                "columns": [
                    {
                        "name": c,
                        "kind": kinds[c],
                        "zone": getattr(table.schema.field(c).type, "tz", None),
                        "values": column_values(table.column(c), kinds[c]),
                    }
                    for c in columns
                ],
            }
        )

    def at(name):
        return os.path.join(directory, name)

    # pyarrow
    pq.write_table(table, at("pyarrow.parquet"))
    add("pyarrow.parquet", "parquet", "pyarrow", table.column_names)
    with pa_ipc.new_file(at("pyarrow.arrow"), table.schema) as w:
        w.write_table(table)
    add("pyarrow.arrow", "arrow_file", "pyarrow", table.column_names)
    with pa_ipc.new_stream(at("pyarrow.arrows"), table.schema) as w:
        w.write_table(table)
    add("pyarrow.arrows", "arrow_stream", "pyarrow", table.column_names)
    pa_csv.write_csv(table.select(text_only), at("pyarrow.csv"))
    add("pyarrow.csv", "csv", "pyarrow", text_only)
    with pa.CompressedOutputStream(at("pyarrow.csv.gz"), "gzip") as out:
        pa_csv.write_csv(table.select(text_only), out)
    add("pyarrow.csv.gz", "csv", "pyarrow", text_only)
    with pa.CompressedOutputStream(at("pyarrow.arrows.zst"), "zstd") as out:
        with pa_ipc.new_stream(out, table.schema) as w:
            w.write_table(table)
    add("pyarrow.arrows.zst", "arrow_stream", "pyarrow", table.column_names)

    # Polars
    frame = pl.from_arrow(table)
    frame.write_parquet(at("polars.parquet"))
    add("polars.parquet", "parquet", "polars", table.column_names)
    frame.write_ipc(at("polars.arrow"), compression="uncompressed")
    add("polars.arrow", "arrow_file", "polars", table.column_names)
    frame.write_ipc_stream(at("polars.arrows"), compression="uncompressed")
    add("polars.arrows", "arrow_stream", "polars", table.column_names)
    frame.select(text_only).write_csv(at("polars.csv"))
    add("polars.csv", "csv", "polars", text_only)
    frame.select(ndjson_cols).write_ndjson(at("polars.ndjson"))
    add("polars.ndjson", "ndjson", "polars", ndjson_cols)

    # DuckDB (from the same Arrow table)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("src", table)
    con.execute(f"COPY src TO '{at('duckdb.parquet')}' (FORMAT parquet)")
    add("duckdb.parquet", "parquet", "duckdb", table.column_names)
    cols = ", ".join(f'"{c}"' for c in text_only)
    con.execute(f"COPY (SELECT {cols} FROM src) TO '{at('duckdb.csv')}' (FORMAT csv, HEADER)")
    add("duckdb.csv", "csv", "duckdb", text_only)
    con.execute(
        f"COPY (SELECT {cols} FROM src) TO '{at('duckdb.csv.zst')}' (FORMAT csv, HEADER, COMPRESSION zstd)"
    )
    add("duckdb.csv.zst", "csv", "duckdb", text_only)
    cols = ", ".join(f'"{c}"' for c in ndjson_cols)
    con.execute(f"COPY (SELECT {cols} FROM src) TO '{at('duckdb.ndjson')}' (FORMAT json)")
    add("duckdb.ndjson", "ndjson", "duckdb", ndjson_cols)

    with open(at("written.json"), "w") as f:
        json.dump({"files": files}, f)
    print(json.dumps({"written": [f["path"] for f in files]}))


if __name__ == "__main__":
    {"read": read_mode, "write": write_mode}[sys.argv[1]](sys.argv[2])
