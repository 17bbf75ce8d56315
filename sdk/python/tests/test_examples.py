"""The Python ports of `filter` and `map` against the cases of `tests/all/plugins.rs`.

Exact outputs over several batches (one empty) with nulls, and every config error by key,
mirroring the Rust plugins' tests, plus the float and integer edge cases of the ports.
"""

import math
import unittest

import quiver_sdk as q
from quiver_sdk._wit import Err, wit

from helpers import batch, config_error, create, load_example, rows

FILTER = load_example("filter")
MAP = load_example("map")

AMOUNTS = q.schema([q.field("amount", q.FLOAT64), q.field("qty", q.INT32)])
PEOPLE = q.schema([q.field("id", q.INT64), q.field("name", q.UTF8)])


def people_batches():
    return [
        batch(PEOPLE, [[1, 5, None, 9], ["a", "b", "c", None]]),
        batch(PEOPLE, [[], []]),
        batch(PEOPLE, [[7], ["d"]]),
    ]


class MapTests(unittest.TestCase):
    def test_scales_offsets_and_clips_floats_and_ints_exactly(self):
        r = create(MAP, '''{"columns": [
            {"column": "amount", "scale": 2.0, "offset": 1.0, "max": 100.0},
            {"column": "qty", "scale": 3, "offset": -1, "min": 0}]}''', AMOUNTS)
        out = rows(r, [
            batch(AMOUNTS, [[1.5, None, 60.0], [1, 0, None]]),
            batch(AMOUNTS, [[], []]),
            batch(AMOUNTS, [[-2.0], [-5]]),
        ])
        self.assertEqual(out, [
            [[4.0, None, 100.0], [2, 0, None]],
            [[], []],
            [[-3.0], [0]],
        ])

    def test_appends_an_output_column(self):
        r = create(MAP, '{"columns": [{"column": "amount", "scale": 1.5, "output": "gross"}]}', AMOUNTS)
        s = r.output_schema()
        self.assertEqual(q.names(s), ["amount", "qty", "gross"])
        self.assertEqual(s.fields[2].data_type, q.FLOAT64)
        self.assertEqual(rows(r, [batch(AMOUNTS, [[10.0, None], [1, 2]])]),
                         [[[10.0, None], [1, 2], [15.0, None]]])

    def test_overflow_is_a_data_error_with_column_and_row(self):
        s = q.schema([q.field("small", q.INT8)])
        r = create(MAP, '{"columns":[{"column":"small","scale":2}]}', s)
        with self.assertRaises(Err) as e:
            r.process(batch(s, [[1, 100]]))
        err = e.exception.value
        self.assertIsInstance(err, wit.Error_Data)
        self.assertEqual((err.value.column, err.value.row), ("small", 1))
        self.assertEqual(err.value.message, "100 * 2 + 0 = 200 does not fit in Int8")
        # Not a trap: the same transformer goes on.
        self.assertEqual(rows(r, [batch(s, [[3]])]), [[[6]]])

    def test_int64_and_uint64_are_exact(self):
        s = q.schema([q.field("a", q.INT64), q.field("b", q.UINT64)])
        r = create(MAP, '{"columns":[{"column":"a","offset":-1},{"column":"b","scale":1,"offset":1}]}', s)
        big = (1 << 63) - 1
        self.assertEqual(rows(r, [batch(s, [[big, None], [(1 << 64) - 2, None]])]),
                         [[[big - 1, None], [(1 << 64) - 1, None]]])
        with self.assertRaises(Err) as e:
            r.process(batch(s, [[0, -(1 << 63)], [0, 0]]))
        self.assertEqual((e.exception.value.value.column, e.exception.value.value.row), ("a", 1))

    def test_nulls_never_overflow(self):
        s = q.schema([q.field("x", q.INT8)])
        r = create(MAP, '{"columns":[{"column":"x","scale":100}]}', s)
        col = q.primitive(q.INT8, q.array("b", [1, 127]), q.validity_from_mask(b"\x01\x00"))
        out = r.process(wit.Batch(num_rows=2, columns=[col]))
        self.assertEqual(q.Batch.from_wit(s, out[0]).column(0).to_list(), [100, None])
        self.assertEqual(out[0].columns[0].values, bytes([100, 0]))

    def test_float32_rounds_like_rust(self):
        s = q.schema([q.field("f", q.FLOAT32)])
        r = create(MAP, '{"columns":[{"column":"f","scale":1.1,"offset":0.1}]}', s)
        out = rows(r, [batch(s, [[1.0, 3.0, float("nan")]])])[0][0]
        f = lambda x: q.array("f", [x])[0]
        expect = [f(f(1.0 * f(1.1)) + f(0.1)), f(f(3.0 * f(1.1)) + f(0.1))]
        self.assertEqual(out[:2], expect)
        self.assertTrue(math.isnan(out[2]))

    def test_config_errors_name_the_key(self):
        cases = [
            ('{"columns":[{"column":"nope"}]}', "columns[0].column"),
            ('{"columns":[{"column":"amount"},{"column":"qty","scale":1.5}]}', "columns[1].scale"),
            ('{"columns":[{"column":"amount","min":5,"max":1}]}', "columns[0].min"),
            ('{"columns":[{"column":"amount","output":"qty"}]}', "columns[0].output"),
            ('{"columns":[{"column":"amount","scael":2}]}', "columns[0].scael"),
            ('{"colums":[]}', "colums"),
            ('{"columns":[{"scale":2}]}', "columns[0]"),
            ('{"columns":[{"column":"amount","scale":"x"}]}', "columns[0].scale"),
            ("", ""),
            ("{nope", ""),
        ]
        for config, key in cases:
            got, message = config_error(MAP, config, AMOUNTS)
            self.assertEqual(got, key, f"{config}: {message}")
        self.assertEqual(config_error(MAP, cases[1][0], AMOUNTS)[1],
                         "1.5 must be an integer for an integer column")
        self.assertEqual(config_error(MAP, cases[2][0], AMOUNTS)[1],
                         "min 5 is greater than max 1")
        s = q.schema([q.field("name", q.UTF8)])
        self.assertEqual(config_error(MAP, '{"columns":[{"column":"name"}]}', s),
                         ("columns[0].column",
                          "column `name` has type Utf8; map works on integer and float columns"))


class FilterTests(unittest.TestCase):
    def check(self, config, expected):
        r = create(FILTER, config, PEOPLE)
        self.assertEqual(rows(r, people_batches()), expected)

    def test_compares_and_handles_nulls_by_rule(self):
        self.check('{"column":"id","op":"gt","value":4}',
                   [[[5, 9], ["b", None]], [[], []], [[7], ["d"]]])
        self.check('{"column":"id","op":"gt","value":4,"nulls":"keep"}',
                   [[[5, None, 9], ["b", "c", None]], [[], []], [[7], ["d"]]])
        self.check('{"column":"name","op":"is_null"}',
                   [[[9], [None]], [[], []], [[], []]])
        self.check('{"column":"name","op":"eq","value":"b"}',
                   [[[5], ["b"]], [[], []], [[], []]])
        self.check('{"column":"name","op":"ge","value":"b"}',
                   [[[5, None], ["b", "c"]], [[], []], [[7], ["d"]]])

    def test_floats_compare_in_total_order(self):
        s = q.schema([q.field("x", q.FLOAT64)])
        nan = float("nan")
        data = [[-0.0, 0.0, 1.0, nan, -1.0]]
        def run(config):
            r = create(FILTER, config, s)
            return [repr(v) for v in rows(r, [batch(s, data)])[0][0]]
        self.assertEqual(run('{"column":"x","op":"ge","value":0}'), ["0.0", "1.0", "nan"])
        self.assertEqual(run('{"column":"x","op":"eq","value":0}'), ["0.0"])
        self.assertEqual(run('{"column":"x","op":"lt","value":0.5}'), ["-0.0", "0.0", "-1.0"])
        data[0] = [-0.0, 0.0, 2.0]
        self.assertEqual(run('{"column":"x","op":"lt","value":0}'), ["-0.0"])
        data[0] = [0.5, 0.0, 2.0]
        self.assertEqual(run('{"column":"x","op":"gt","value":0.5}'), ["2.0"])

    def test_other_types(self):
        s = q.schema([q.field("b", q.BOOLEAN), q.field("u", q.UINT64), q.field("f", q.FLOAT32),
                      q.field("t", q.timestamp("ms", "UTC")), q.field("n", q.NULL)])
        data = [[True, False, None], [1, (1 << 64) - 1, 3], [0.5, 1.5, None], [1, 2, 3],
                [None, None, None]]
        def run(config):
            r = create(FILTER, config, s)
            return rows(r, [batch(s, data)])[0]
        self.assertEqual(run('{"column":"b","op":"eq","value":true}')[1], [1])
        self.assertEqual(run('{"column":"u","op":"gt","value":2}')[1], [(1 << 64) - 1, 3])
        self.assertEqual(run('{"column":"f","op":"ge","value":1.5,"nulls":"keep"}')[2], [1.5, None])
        self.assertEqual(run('{"column":"t","op":"le","value":2}')[3], [1, 2])
        self.assertEqual(run('{"column":"n","op":"is_not_null"}')[4], [None, None, None])

    def test_config_errors_name_the_key(self):
        for config, key in [
            ('{"column":"nope","op":"eq","value":1}', "column"),
            ('{"column":"id","op":"eq"}', "value"),
            ('{"column":"id","op":"eq","value":"x"}', "value"),
            ('{"column":"id","op":"is_null","value":1}', "value"),
            ('{"column":"id","op":"between","value":1}', "op"),
            ('{"column":"id","op":"eq","value":1,"nulls":"maybe"}', "nulls"),
            ('{"column":"id","op":"eq","value":1,"extra":1}', "extra"),
            ('{"op":"eq","value":1}', ""),
        ]:
            got, message = config_error(FILTER, config, PEOPLE)
            self.assertEqual(got, key, f"{config}: {message}")
        self.assertEqual(config_error(FILTER, '{"column":"id","op":"eq","value":"x"}', PEOPLE)[1],
                         '"x" is not an integer')
        s = q.schema([q.field("s", q.INT8)])
        self.assertEqual(config_error(FILTER, '{"column":"s","op":"eq","value":300}', s)[1],
                         "300 does not fit in Int8")
        self.assertEqual(config_error(FILTER, '{"column":"name","op":"eq","value":1}', PEOPLE)[1],
                         "cannot compare a Utf8 column with 1")

    def test_metadata(self):
        m = FILTER.Transform().metadata()
        self.assertEqual((m.name, m.version), ("filter", "0.1.0"))
        self.assertIn("Python port", m.description)
        self.assertIn('"nulls"', m.config_schema)
        m = MAP.Transform().metadata()
        self.assertEqual((m.name, m.version), ("map", "0.1.0"))


if __name__ == "__main__":
    unittest.main()
