// Unit tests of the chaining API against a fake host: which kernels a chain runs, what a
// Frame sends back, and that errors name the column.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { installFake, FakeColumn } from './fake-host.js';
import { Col } from '../quiver-sdk/column.js';
import { Frame } from '../quiver-sdk/frame.js';
import { Schema, field } from '../quiver-sdk/types.js';

function frame() {
  const schema = new Schema([field('amount', 'float64'), field('qty', 'int64'), field('name', 'utf8')]);
  const batch = { columns: [new FakeColumn('float64', [1, null, 3, -4]), new FakeColumn('int64', [1, 2, 3, 4]), new FakeColumn('utf8', ['a', 'b', 'c', 'd'])] };
  return Frame.input(batch, schema, 4);
}
const u64 = (n) => BigInt(n);

test('multiply, add and clip on a float column are one affine call', () => {
  const calls = installFake();
  const c = frame().col('amount').mul(1.1).add(0.5).clip(0);
  assert.deepEqual(calls, []); // nothing runs before it is needed
  const v = c.toArray();
  assert.deepEqual(calls, ['batchColumn', 'affine', 'read']);
  assert.equal(v[0], 1 * 1.1 + 0.5);
  assert.equal(v[1], null);
  assert.equal(v[3], 0);
});

test('a float scale on an integer column runs arith (the result is float64)', () => {
  const calls = installFake();
  frame().col('qty').mul(1.5).add(1).handle();
  assert.deepEqual(calls, ['batchColumn', 'arith', 'arith']);
});

test('a chain that is not x * a + b is not reassociated', () => {
  const calls = installFake();
  frame().col('amount').mul(2).mul(3).handle();
  assert.deepEqual(calls, ['batchColumn', 'affine', 'arith']);
});

test('a filter is applied by one host kernel call on every column, not sent as a selection', () => {
  // jco never frees a returned selection mask: the plugin's memory would grow every call.
  const calls = installFake();
  const b = frame();
  const out = b.filter(b.col('amount').gt(0)).withColumn('gross', b.col('amount').mul(2)).drop('name');
  const o = out.toOutput(['amount', 'qty', 'gross'], u64);
  assert.equal(o.numRows, 2n);
  assert.equal(o.selection, undefined);
  assert.deepEqual(o.columns.map((c) => c.tag), ['handle', 'handle', 'handle']);
  assert.deepEqual(o.columns.map((c) => c.val.values), [[1, 3], [1, 3], [2, 6]]);
  assert.equal(calls.filter((c) => c === 'filterMany').length, 1);
  assert.equal(calls.filter((c) => c === 'filter').length, 0);
});

test('a second filter narrows the first, in the host', () => {
  const calls = installFake();
  const b = frame();
  const out = b.filter(b.col('amount').gt(0)).filter(b.col('qty').gt(1));
  const o = out.toOutput(['amount', 'qty', 'name'], u64);
  assert.equal(o.numRows, 1n);
  assert.equal(o.selection, undefined);
  assert.deepEqual(o.columns.map((c) => c.val.values.length), [1, 1, 1]);
  assert.ok(calls.includes('logic') && calls.includes('aggregate'));
});

test('a null in a mask drops its row; the count and the output agree without fill-null', () => {
  const calls = installFake();
  const b = frame();
  // amount is [1, null, 3, -4]: `gt(0)` is [true, null, true, false].
  const out = b.filter(b.col('amount').gt(0));
  assert.equal(out.numRows, 2);
  const o = out.toOutput(['amount', 'qty', 'name'], u64);
  assert.equal(o.numRows, 2n);
  assert.deepEqual(o.columns.map((c) => c.val.values), [[1, 3], [1, 3], ['a', 'c']]);
  assert.ok(!calls.includes('fillNull'));
  assert.ok(!calls.includes('dataType'), 'a comparison is known to be boolean');
});

test('a mask that is not boolean is refused, naming it', () => {
  installFake();
  const b = frame();
  assert.throws(() => b.filter(b.col('qty')), /mask `qty` is int64, not boolean/);
});

test('a mask that keeps every row is no selection at all', () => {
  installFake();
  const b = frame();
  const o = b.filter(b.col('qty').gt(0)).toOutput(['amount', 'qty', 'name'], u64);
  assert.equal(o.selection, undefined);
  assert.equal(o.numRows, 4n);
});

test('the same handle twice goes back once and as a slice', () => {
  const calls = installFake();
  const b = frame();
  const c = b.col('amount').isNull();
  const o = b.withColumn('n1', c).withColumn('n2', c).toOutput(['amount', 'qty', 'name', 'n1', 'n2'], u64);
  assert.notEqual(o.columns[3].val, o.columns[4].val);
  assert.ok(calls.includes('slice'));
});

test('plugin-made columns go as data; fillNull, and, sum', () => {
  installFake();
  const b = frame();
  const o = b.withColumn('flag', Col.fromValues([true, false, null, true])).select('flag').toOutput(['flag'], u64);
  assert.equal(o.columns[0].tag, 'data');
  assert.deepEqual(b.col('amount').fillNull(0).toArray(), [1, 0, 3, -4]);
  assert.deepEqual(b.col('amount').gt(0).and(b.col('qty').lt(3)).toArray(), [true, null, false, false]);
  assert.equal(b.col('qty').sum(), 10);
});

test('output columns must be the declared ones, by name', () => {
  installFake();
  assert.throws(() => frame().drop('qty').toOutput(['amount', 'qty', 'name'], u64), /declares \[amount, qty, name\]/);
});

test('a kernel error names the column of the chain', () => {
  installFake({ affine: { tag: 'data', val: { row: 3n, message: 'overflows Int64' } } });
  assert.throws(() => frame().col('qty').mul(2).handle(), (e) => e.payload.tag === 'data' && e.payload.val.column === 'qty' && e.payload.val.row === 3n);
  installFake();
  assert.throws(() => frame().col('nope'), /no column `nope`.*`amount`, `qty`, `name`/);
});

test('every handle a call made is dropped at its end, except those handed to the host', async () => {
  const { releaseHandles, liveHandles } = await import('../quiver-sdk/kernels.js');
  const { dropped } = await import('./fake-host.js');
  installFake();
  dropped.length = 0;
  const b = frame();
  const out = b.filter(b.col('qty').gt(1)).withColumn('gross', b.col('amount').mul(2));
  const o = out.toOutput(['amount', 'qty', 'name', 'gross'], u64);
  const handed = new Set(o.columns.filter((c) => c.tag === 'handle').map((c) => c.val));
  assert.equal(handed.size, 4, 'the filter gives back a handle per column');
  const made = liveHandles();
  releaseHandles(handed);
  assert.equal(liveHandles(), 0);
  assert.equal(dropped.length, made - handed.size, 'everything else made in the call is dropped');
  assert.ok(dropped.every((h) => !handed.has(h)), 'no handle the host took over is dropped');
});
