"""The examples and the template without a host: their config errors (by key, with the Rust
plugins' messages), output schemas, and the kernel calls `process` makes."""

import json
import os
import unittest

import quiver_sdk as q
from quiver_sdk._wit import wit

from helpers import batch, config_error, create, load_example, schema

S = schema(id="int64", customer="str", amount="float64", qty="int64", small="int8")


class MapTests(unittest.TestCase):
    def setUp(self):
        self.m = load_example("map")

    def test_config_errors_name_the_key(self):
        cases = [
            ('{"columns":[{"column":"nope"}]}', "columns[0].column", "no column `nope` in the input"),
            ('{"columns":[{"column":"qty","scale":1.5}]}', "columns[0].scale",
             "1.5 must be an integer for an integer column"),
            ('{"columns":[{"column":"amount","min":2,"max":1}]}', "columns[0].min",
             "min 2 is greater than max 1"),
            ('{"columns":[{"column":"customer"}]}', "columns[0].column",
             "column `customer` has type Utf8; map works on integer and float columns"),
            ('{"columns":[{"column":"qty","output":"amount"}]}', "columns[0].output",
             "a column `amount` already exists"),
        ]
        for text, key, message in cases:
            self.assertEqual(config_error(self.m, text, S), (key, message), text)

    def test_each_column_is_one_affine_call_and_the_rest_is_kept(self):
        r = create(self.m, '{"columns":[{"column":"amount","scale":1.19,"min":0,"output":"gross"},'
                           '{"column":"qty","scale":3,"offset":-1}]}', S)
        self.assertEqual(q.Schema.from_wit(r.output_schema()).names, S.names + ["gross"])
        out = r._t.process(batch(S))
        self.assertEqual(out._slots[:3], [0, 1, 2])
        self.assertEqual(out["gross"].explain(), "affine(amount, 1.19, 0.0, 0.0, None)")
        self.assertEqual(out["qty"].explain(), "affine(qty, 3, -1)")

    def test_the_derived_schema_matches_the_rust_plugins(self):
        mine = json.loads(self.m.Transform().metadata().config_schema)
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "..", "plugins", "map", "config.schema.json")) as f:
            rust = json.load(f)
        item, ritem = mine["properties"]["columns"]["items"], rust["properties"]["columns"]["items"]
        self.assertEqual(mine["required"], rust["required"])
        self.assertEqual(item["required"], ritem["required"])
        self.assertEqual(sorted(item["properties"]), sorted(ritem["properties"]))


class FilterTests(unittest.TestCase):
    def setUp(self):
        self.m = load_example("filter")

    def test_config_errors_name_the_key(self):
        cases = [
            ('{"column":"nope","op":"eq","value":1}', "column", "no column `nope` in the input"),
            ('{"column":"qty","op":"eq"}', "value", "a comparison needs a value"),
            ('{"column":"qty","op":"is_null","value":1}', "value",
             "is_null and is_not_null take no value"),
            ('{"column":"small","op":"gt","value":300}', "value", "300 does not fit in Int8"),
            ('{"column":"amount","op":"gt","value":"x"}', "value",
             'cannot compare a Float64 column with "x"'),
            ('{"column":"qty","op":"between"}', "op",
             "unknown variant `between`, expected one of `eq`, `ne`, `lt`, `le`, `gt`, `ge`, "
             "`is_null`, `is_not_null`"),
        ]
        for text, key, message in cases:
            self.assertEqual(config_error(self.m, text, S), (key, message), text)

    def test_the_mask_is_a_kernel_call_and_nulls_follow_the_config(self):
        r = create(self.m, '{"column":"amount","op":"gt","value":0,"nulls":"keep"}', S)
        out = r._t.process(batch(S))
        self.assertEqual(out._slots, list(range(len(S))))
        self.assertEqual(out._mask.explain(), "fill_null(compare(gt, amount, 0.0), True)")


class TemplateTests(unittest.TestCase):
    def test_upper_cases_in_the_host(self):
        import importlib.util
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "template", "app.py")
        spec = importlib.util.spec_from_file_location("template_app", path)
        mod = importlib.util.module_from_spec(spec)
        import sys
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        r = create(mod, '{"column":"customer"}', S)
        out = r._t.process(batch(S))
        self.assertEqual(out["customer"].explain(), "str_unary(to_upper, customer)")
        self.assertEqual(config_error(mod, '{"column":"qty"}', S),
                         ("column", "column `qty` has type Int64, not Utf8"))
