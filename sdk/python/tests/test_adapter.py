"""The adapter's whole path in plain CPython, the host's kernels replaced by recorders
(`helpers.FakeHost`): which host calls `process` makes and the WIT output it returns."""

import unittest

from quiver_sdk._wit import wit_transform as wt

from helpers import FakeHost, create, load_example, schema

S = schema(id="int64", customer="str", amount="float64", qty="int64")


class AdapterTests(unittest.TestCase):
    def test_map_is_one_column_handle_and_one_affine_call_the_rest_kept(self):
        m = load_example("map")
        r = create(m, '{"columns":[{"column":"amount","scale":1.19,"min":0,"output":"gross"}]}', S)
        with FakeHost(rows=8) as host:
            [out] = r.process(host.lent())
        self.assertEqual([c for c, _ in host.calls], ["column", "affine"])
        self.assertEqual(out.num_rows, 8)
        self.assertIsNone(out.selection)
        self.assertEqual(out.columns[:4], [wt.OutColumn_Keep(i) for i in range(4)])
        self.assertIsInstance(out.columns[4], wt.OutColumn_Handle)
        self.assertEqual(out.columns[4].value.name, "affine")

    def test_a_filter_is_applied_by_one_host_kernel_call_on_every_column_not_sent_as_a_selection(self):
        # A returned selection mask is never freed by componentize-py: the plugin's memory
        # would grow by the mask's bytes on every call.
        m = load_example("filter")
        r = create(m, '{"column":"amount","op":"gt","value":100}', S)
        with FakeHost(rows=10, bits=b"\x05\x02") as host:
            [out] = r.process(host.lent())
        calls = [c for c, _ in host.calls]
        # One call for every input handle, the comparison, one filter for all four columns.
        self.assertEqual(calls, ["columns", "compare", "filter_many"])
        self.assertEqual(len(host.calls[-1][1][0]), 4)
        self.assertIsNone(out.selection)
        self.assertEqual(out.num_rows, 3)
        self.assertTrue(all(isinstance(c, wt.OutColumn_Handle) for c in out.columns))
        self.assertEqual([c.value.name for c in out.columns], ["filter"] * 4)

    def test_orders_filters_every_column_in_the_host_and_adds_one_affine_column(self):
        m = load_example("orders")
        r = create(m, "{}", S)
        with FakeHost(rows=8, bits=b"\x0f") as host:
            [out] = r.process(host.lent())
        calls = [c for c, _ in host.calls]
        self.assertEqual((calls.count("compare"), calls.count("affine")), (1, 1))
        self.assertEqual((calls.count("filter"), calls.count("filter_many")), (0, 1))
        self.assertEqual(len(host.calls[calls.index("filter_many")][1][0]), 5)
        self.assertIsNone(out.selection)
        self.assertEqual(out.num_rows, 4)
        self.assertEqual(len(out.columns), 5)
        self.assertTrue(all(isinstance(c, wt.OutColumn_Handle) for c in out.columns))

    def test_a_handle_used_twice_goes_back_once_and_then_as_a_slice(self):
        import quiver_sdk as q

        class Twice(q.Transform):
            NAME = "twice"

            def output_schema(self):
                return self.input_schema.with_column("a", "float64").with_column("b", "float64")

            def process(self, batch):
                x = batch["amount"] * 2.0
                return batch.assign(a=x, b=x)

        T = q.export(Twice)
        r = T.transformer_class.create("{}", S.to_wit())
        with FakeHost(rows=8) as host:
            [out] = r.process(host.lent())
        self.assertEqual([c for c, _ in host.calls], ["column", "arith", "slice"])
        self.assertIsNot(out.columns[4].value, out.columns[5].value)

    def test_a_data_error_of_a_filtered_column_names_the_batch_row(self):
        import quiver_sdk as q
        from quiver_sdk._wit import Err, wit, wit_compute

        class Big(q.Transform):
            NAME = "big"

            def output_schema(self):
                return self.input_schema.with_column("big", "int64")

            def process(self, batch):
                df = batch[batch["qty"] > 0]
                df["big"] = df["qty"] * 1000  # integer: runs on the filtered rows
                return df

        T = q.export(Big)
        r = T.transformer_class.create("{}", S.to_wit())
        with FakeHost(rows=8, bits=b"\xa4") as host:  # rows 2, 5, 7 kept
            def overflow(*args):
                raise Err(wit.Error_Data(wit.DataError(None, 1, "overflows Int64")))
            wit_compute.arith = overflow
            with self.assertRaises(Err) as e:
                r.process(host.lent())
        d = e.exception.value.value
        self.assertEqual((d.column, d.row), ("qty", 5))
