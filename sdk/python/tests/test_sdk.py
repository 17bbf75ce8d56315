"""The SDK's pure-Python parts: expressions (which kernels they call), config dataclasses and
their JSON Schema, type names and schemas, frames."""

from __future__ import annotations

import json
import unittest
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import quiver_sdk as q
from quiver_sdk import bitmap, buffers, config

from helpers import batch, schema

S = schema(id="int64", amount="float64", qty="int32", name="str", ts="timestamp[ms, UTC]",
           ok="bool")


class ExpressionTests(unittest.TestCase):
    def setUp(self):
        self.b = batch(S)

    def explain(self, col):
        return col.explain()

    def test_multiply_add_and_clip_fuse_into_one_affine_call(self):
        b = self.b
        self.assertEqual(self.explain(b["amount"] * 1.1 + 0.5), "affine(amount, 1.1, 0.5)")
        self.assertEqual(self.explain(2 * b["amount"] - 1), "affine(amount, 2, -1)")
        self.assertEqual(self.explain((b["amount"] * 1.19).clip(lower=0)),
                         "affine(amount, 1.19, 0, 0, None)")
        self.assertEqual(self.explain((b["qty"] + 3).clip(0, 10)), "affine(qty, 1, 3, 0, 10)")
        # A lone multiply stays `arith`: `x * a + 0.0` would turn -0.0 into 0.0.
        self.assertEqual(self.explain(b["amount"] * 2.0),
                         "arith(multiply, amount, 2.0, True)")

    def test_integer_columns_fuse_only_with_integer_scalars(self):
        b = self.b
        self.assertEqual(self.explain(b["qty"] * 3 - 1), "affine(qty, 3, -1)")
        self.assertEqual(self.explain(b["qty"] * 1.5 + 1),
                         "affine(arith(multiply, qty, 1.5, True), 1, 1)")
        self.assertEqual((b["qty"] * 1.5).dtype, q.float64)
        self.assertEqual((b["qty"] * 2).dtype, q.int32)

    def test_true_division_casts_integers_to_float(self):
        b = self.b
        self.assertEqual(self.explain(b["qty"] / 2),
                         "arith(divide, cast(qty, %s, False), 2, True)"
                         % self.explain_type("float64"))
        self.assertEqual(self.explain(b["amount"] / b["qty"]),
                         "arith(divide, amount, qty, True)")
        with self.assertRaises(TypeError):
            b["qty"] // 2

    def explain_type(self, t):
        from quiver_sdk.column import _show
        return _show(q.dtype(t).to_wit())

    def test_comparisons_logic_and_missing_values(self):
        b = self.b
        self.assertEqual(self.explain(b["qty"] > 2), "compare(gt, qty, 2)")
        self.assertEqual(self.explain(5 < b["qty"]), "compare(gt, qty, 5)")
        self.assertEqual(self.explain((b["qty"] > 2) & ~b["name"].isna()),
                         "logic(and_not, compare(gt, qty, 2), is_null(name))")
        self.assertEqual(self.explain((b["qty"] > 2) | b["ok"]),
                         "logic(or, compare(gt, qty, 2), ok)")
        self.assertEqual(self.explain(b["amount"].fillna(0)), "fill_null(amount, 0)")
        self.assertEqual(self.explain(b["amount"].coalesce(b["id"], 0)),
                         "coalesce([amount, id, 0])")
        self.assertEqual((b["qty"] > 2).dtype, q.bool_)
        with self.assertRaises(ValueError):
            bool(b["qty"] > 2)
        with self.assertRaises(TypeError):
            (b["qty"] > 2) & True

    def test_strings_and_dates(self):
        b = self.b
        self.assertEqual(self.explain(b["name"].str.lower().str.strip()),
                         "str_unary(trim, str_unary(to_lower, name))")
        self.assertEqual(self.explain(b["name"].str.contains("a.b")),
                         "regex_match(name, 'a.b')")
        self.assertEqual(self.explain(b["name"].str.contains("a.b", regex=False)),
                         "str_match(contains, name, 'a.b')")
        self.assertEqual(self.explain(b["name"].str.contains("a.b", regex=False, case=False)),
                         "regex_match(name, '(?i)a\\\\.b')")
        self.assertEqual(self.explain(b["name"].str.match("ab+")),
                         "regex_match(name, '^(?:ab+)')")
        self.assertEqual(self.explain(b["name"].str.replace(r"(\d+)-(\w)", r"\2:\1$")),
                         "regex_replace(name, '(\\\\d+)-(\\\\w)', '${2}:${1}$$', True)")
        self.assertEqual(self.explain(b["name"].str[1:4]), "substring(name, 1, 3)")
        self.assertEqual(self.explain(b["name"].str[-3:]), "substring(name, -3, None)")
        self.assertEqual(self.explain(b["name"].str.cat(b["name"], "x", sep="-")),
                         "concat([name, name, 'x'], '-')")
        self.assertEqual(self.explain(b["ts"].dt.hour), "date_part(hour, ts, None)")
        self.assertEqual(self.explain(b["ts"].dt(tz="Europe/Paris").dayofweek),
                         "date_part(day_of_week, ts, 'Europe/Paris')")
        self.assertEqual(b["ts"].dt.year.dtype, q.int32)

    def test_isin_sends_the_values_as_a_column(self):
        c = self.b["name"].isin(["a", "b", None])
        self.assertEqual(c.explain(), "is_in(name, data(Utf8))")
        data = c._args[1]._args[1]
        self.assertEqual(buffers.Buffers(q.utf8, data).to_pylist(), ["a", "b", None])

    def test_errors_name_the_column_the_expression_came_from(self):
        from quiver_sdk.errors import from_wit
        from quiver_sdk._wit import wit
        c = (self.b["qty"] * 2).clip(0)
        self.assertEqual(c.name, "qty")
        e = from_wit(wit.Error_Data(wit.DataError(column=None, row=3, message="overflow")), c.name)
        self.assertEqual((e.column, e.row), ("qty", 3))
        e = from_wit(wit.Error_Config(wit.ConfigError(key="", message="bad regex")), "name")
        self.assertEqual(e.message, "column `name`: bad regex")


class FrameTests(unittest.TestCase):
    def test_verbs_keep_untouched_columns_by_index(self):
        b = batch(S)
        f = b.with_column("gross", b["amount"] * 2).drop("ts").rename({"ok": "flag"})
        self.assertEqual(f.columns, ["id", "amount", "qty", "name", "ok", "gross"][:4] + ["flag", "gross"])
        self.assertEqual(f._slots[:5], [0, 1, 2, 3, 5])
        self.assertEqual(f.select("gross", "id").columns, ["gross", "id"])
        self.assertEqual(b[["name", "id"]].columns, ["name", "id"])
        g = b.with_column("amount", b["amount"].round(2))
        self.assertEqual(g.columns, b.columns)
        with self.assertRaises(KeyError):
            b.drop("nope")

    def test_filtered_frames_give_filtered_columns_and_refuse_mixed_rows(self):
        b = batch(S)
        f = b[b["qty"] > 2]
        self.assertEqual(f["amount"].explain(), "filter(amount, compare(gt, qty, 2))")
        # An input-rows expression goes with the selection; a filtered one applies it.
        self.assertIs(f.with_column("x", b["amount"] * 2)._mask, f._mask)
        g = f.with_column("x", f["qty"] * 2)  # integer arithmetic: filtered first
        self.assertIsNone(g._mask)
        self.assertEqual(g["id"].explain(), "filter(id, compare(gt, qty, 2))")
        with self.assertRaises(ValueError):
            b.with_column("x", f["amount"])
        with self.assertRaises(ValueError):
            f["amount"] + b["amount"]

    def test_setitem_and_assign(self):
        b = batch(S)
        b2 = b.assign(a=b["id"] + 1, c=b["name"].str.len())
        self.assertEqual(b2.columns[-2:], ["a", "c"])
        b["id"] = b["id"].abs()
        self.assertEqual(b["id"].explain(), "unary(abs, id)")


@dataclass
class Inner:
    column: str = field(metadata={"description": "The column."})
    scale: float = 1.0
    min: Optional[float] = None
    op: Literal["add", "mul"] = "mul"


@dataclass
class Cfg:
    columns: list[Inner]
    value: Any = None
    tags: dict[str, int] = field(default_factory=dict)


class ConfigTests(unittest.TestCase):
    def test_dataclasses_read_with_serde_paths_and_wording(self):
        c = config.parse('{"columns":[{"column":"a"},{"column":"b","scale":2,"op":"add"}]}', Cfg)
        self.assertEqual(c.columns[1], Inner("b", 2.0, None, "add"))
        self.assertIsInstance(c.columns[1].scale, float)
        self.assertIsNone(c.value)
        cases = [
            ('{"columns":[{"column":"a","scael":2}]}', "columns[0].scael",
             "unknown field `scael`, expected one of `column`, `scale`, `min`, `op`"),
            ('{"columns":[{"column":1}]}', "columns[0].column",
             "invalid type: integer `1`, expected a string"),
            ('{"columns":[{"column":"a","op":"div"}]}', "columns[0].op",
             "unknown variant `div`, expected `add` or `mul`"),
            ('{"columns":[{}]}', "columns[0]", "missing field `column`"),
            ('{}', "", "missing field `columns`"),
            ('{"columns":[],"tags":{"x":"y"}}', "tags.x", 'invalid type: string "y", expected i64'),
            ('{"columns":"x"}', "columns", 'invalid type: string "x", expected a sequence'),
        ]
        for text, key, message in cases:
            with self.assertRaises(q.ConfigError, msg=text) as e:
                config.parse(text, Cfg)
            self.assertEqual((e.exception.key, e.exception.message), (key, message), text)

    def test_the_json_schema_is_derived_from_the_dataclass(self):
        s = json.loads(config.json_schema(Cfg, "t config"))
        self.assertEqual(s["title"], "t config")
        self.assertEqual(s["required"], ["columns"])
        self.assertFalse(s["additionalProperties"])
        item = s["properties"]["columns"]["items"]
        self.assertEqual(item["required"], ["column"])
        self.assertEqual(item["properties"]["column"],
                         {"description": "The column.", "type": "string"})
        self.assertEqual(item["properties"]["scale"], {"type": "number", "default": 1.0})
        self.assertEqual(item["properties"]["min"], {"type": "number"})
        self.assertEqual(item["properties"]["op"], {"enum": ["add", "mul"], "default": "mul"})
        self.assertEqual(s["properties"]["tags"],
                         {"type": "object", "additionalProperties": {"type": "integer"}})


class TypeTests(unittest.TestCase):
    def test_names_map_to_arrow_types(self):
        self.assertEqual(q.dtype("float"), q.float64)
        self.assertEqual(q.dtype("str"), q.utf8)
        self.assertEqual(q.dtype(int), q.int64)
        self.assertEqual(str(q.dtype("timestamp[ms, Europe/Paris]")),
                         'Timestamp(ms, "Europe/Paris")')
        self.assertEqual(str(q.uint8), "UInt8")
        self.assertEqual(str(q.decimal128(10, 2)), "Decimal128(10, 2)")
        with self.assertRaises(ValueError):
            q.dtype("float128")

    def test_schema_roundtrip_and_verbs(self):
        self.assertEqual(q.Schema.from_wit(S.to_wit()), S)
        s = S.with_column("gross", "float64").drop("ts").rename({"ok": "flag"})
        self.assertEqual(s.names, ["id", "amount", "qty", "name", "flag", "gross"])
        self.assertEqual(s["gross"], q.float64)
        self.assertEqual(S.with_column("qty", "int64")["qty"], q.int64)

    def test_nested_columns_are_one_subtree_each(self):
        from quiver_sdk._wit import wit
        F = wit.Field
        fields = [F("a", wit.TypeNode_List(), True), F("item", wit.TypeNode_Struct(2), True),
                  F("x", wit.TypeNode_Int32(), True), F("y", wit.TypeNode_Utf8(), True),
                  F("b", wit.TypeNode_Float64(), False)]
        s = q.Schema.from_wit(wit.Schema(fields, []))
        self.assertEqual(s.names, ["a", "b"])
        self.assertEqual(len(s["a"].fields), 4)
        self.assertEqual(s.to_wit().fields, fields)


class BufferTests(unittest.TestCase):
    def test_encode_and_read_back(self):
        cases = [
            (q.int8, [1, None, -128, 127]), (q.uint64, [0, (1 << 64) - 1, None]),
            (q.float32, [0.5, None, -2.0]), (q.float64, [1.25, None]),
            (q.bool_, [True, None, False, True]), (q.utf8, ["a", None, "", "héllo"]),
            (q.large_utf8, ["x", "yz", None]), (q.binary, [b"\x00", None, b"ab"]),
            (q.null, [None, None]),
        ]
        for dt, values in cases:
            nodes = buffers.encode(values, dt)
            self.assertEqual(buffers.Buffers(dt, nodes).to_pylist(), values, str(dt))

    def test_infer_follows_pandas(self):
        self.assertEqual(buffers.infer([1, 2, None]), q.int64)
        self.assertEqual(buffers.infer([1, 2.5]), q.float64)
        self.assertEqual(buffers.infer([True]), q.bool_)
        self.assertEqual(buffers.infer(["a"]), q.utf8)
        with self.assertRaises(TypeError):
            buffers.infer(["a", 1])

    def test_bitmap_pack_unpack(self):
        m = bytes([1, 0, 1, 1, 0, 0, 0, 1, 1])
        self.assertEqual(bitmap.unpack(bitmap.pack(m), len(m)), m)


class LiftTests(unittest.TestCase):
    def test_float_expressions_of_a_filtered_frame_keep_the_selection(self):
        b = batch(S)
        df = b[b["qty"] > 2]
        df["gross"] = (df["amount"] * 1.19).clip(lower=0)
        self.assertIsNotNone(df._mask)
        self.assertEqual(df._slots[-1].explain(), "affine(amount, 1.19, 0, 0, None)")
        self.assertEqual(df._slots[:4], [0, 1, 2, 3])

    def test_integer_arithmetic_of_a_filtered_frame_filters_first(self):
        # qty * 1000 could overflow on a row the filter drops: computed after the filter.
        b = batch(S)
        df = b[b["qty"] > 2]
        df["big"] = df["qty"] * 1000
        self.assertIsNone(df._mask)
        self.assertEqual(df["big"].explain(),
                         "arith(multiply, filter(qty, compare(gt, qty, 2)), 1000, True)")
