"""The SDK's own pieces: bitmaps, column views and builders, row selection, config specs."""

import random
import unittest

import quiver_sdk as q
from quiver_sdk import bitmap, columns
from quiver_sdk._wit import wit


class BitmapTests(unittest.TestCase):
    def test_pack_unpack_roundtrip(self):
        rng = random.Random(1)
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 1000]:
            m = bytes(rng.getrandbits(1) for _ in range(n))
            b = bitmap.pack(m)
            self.assertEqual(len(b), (n + 7) // 8)
            self.assertEqual(bitmap.unpack(b, n), m)
            self.assertEqual(bitmap.count_set(b, n), m.count(1))
            self.assertEqual(bitmap.mask_not(m), bytes(1 - x for x in m))
            self.assertEqual(bitmap.mask_and(m, bitmap.ones(n)), m)


class ColumnTests(unittest.TestCase):
    def test_views_and_builders_roundtrip(self):
        cases = [
            (q.INT8, [1, None, -128, 127]),
            (q.UINT64, [0, (1 << 64) - 1, None]),
            (q.FLOAT32, [0.5, None, -2.0]),
            (q.FLOAT64, [1.25, None]),
            (q.BOOLEAN, [True, None, False, True]),
            (q.UTF8, ["a", None, "", "héllo"]),
            (q.LARGE_UTF8, ["x", "yz", None]),
            (q.BINARY, [b"\\x00", None, b"ab"]),
            (q.timestamp("ns", "UTC"), [1, None, -5]),
            (q.decimal128(10, 2), [12345, None, -1]),
            (q.NULL, [None, None]),
        ]
        for dt, values in cases:
            col = q.from_pylist(dt, values)
            for c in (col.validity, col.offsets, col.values):
                self.assertTrue(c is None or type(c) is bytes)
            v = q.view(dt, col, len(values))
            self.assertEqual(v.to_list(), values, q.type_name(dt))
            self.assertEqual(v.null_count, values.count(None))

    def test_selection_by_rows_and_by_runs_agree(self):
        rng = random.Random(2)
        dts = [q.INT64, q.UTF8, q.BOOLEAN, q.FLOAT64, q.LARGE_BINARY, q.decimal128(5, 1), q.NULL]
        n = 300
        data = {
            q.type_name(q.INT64): [rng.choice([None, rng.randint(-9, 9)]) for _ in range(n)],
            q.type_name(q.UTF8): [rng.choice([None, "a" * rng.randint(0, 3)]) for _ in range(n)],
            q.type_name(q.BOOLEAN): [rng.choice([None, True, False]) for _ in range(n)],
            q.type_name(q.FLOAT64): [rng.choice([None, rng.random()]) for _ in range(n)],
            q.type_name(q.LARGE_BINARY): [rng.choice([None, b"xy"]) for _ in range(n)],
            q.type_name(q.decimal128(5, 1)): [rng.choice([None, rng.randint(-99, 99)]) for _ in range(n)],
            q.type_name(q.NULL): [None] * n,
        }
        s = q.schema([q.field(f"c{i}", dt) for i, dt in enumerate(dts)])
        cols = [q.from_pylist(dt, data[q.type_name(dt)]) for dt in dts]
        b = q.Batch(s, n, cols)
        for density in (0.05, 0.5, 0.95):
            mask = bytes(rng.random() < density for _ in range(n))
            rows = bitmap.indices(mask)
            spans = columns.runs(mask)
            by_rows = b.take(rows)
            by_runs = q.Batch(s, len(rows), [columns.take_runs(f.data_type, c, n, spans)
                                             for f, c in zip(s.fields, cols)])
            want = [[data[q.type_name(dt)][i] for i in rows] for dt in dts]
            for got in (by_rows, by_runs, b.filter(mask)):
                self.assertEqual([got.column(i).to_list() for i in range(len(dts))], want)


class ConfigTests(unittest.TestCase):
    def test_paths_and_defaults(self):
        spec = q.Struct({"a": q.List(q.Struct({"x": q.Number(default=1.0), "y": q.Optional(q.Integer())}))})
        c = q.config.parse('{"a":[{"y":null},{"x":2,"y":3}]}', spec)
        self.assertEqual(c.a[0].x, 1.0)
        self.assertIsNone(c.a[0].y)
        self.assertEqual((c.a[1].x, c.a[1].y), (2.0, 3))
        for text, key in [('{"a":[{"x":"s"}]}', "a[0].x"), ('{"a":[{}, {"z":1}]}', "a[1].z"),
                          ('{"a":[{"x":1,"x":2}]}', "a[0].x"), ('[]', ""), ('{"a":{}}', "a")]:
            with self.assertRaises(q.ConfigError) as e:
                q.config.parse(text, spec)
            self.assertEqual(e.exception.key, key, text)


if __name__ == "__main__":
    unittest.main()
