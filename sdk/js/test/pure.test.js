// Unit tests of the parts of the SDK that are plain JavaScript: types, scalars, buffers,
// config, errors. Run: node --test sdk/js/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Schema, Type, field, typeName } from '../quiver-sdk/types.js';
import { toScalar, fromScalar, Scalar } from '../quiver-sdk/scalar.js';
import { encodeValues, jsValues, typedValues, inferType } from '../quiver-sdk/buffers.js';
import { parseJson, checkObject } from '../quiver-sdk/config.js';
import { hostError, toWitError, QuiverError } from '../quiver-sdk/errors.js';

const node = (name, tag, val) => ({ name, dataType: val === undefined ? { tag } : { tag, val }, nullable: true });

test('a schema groups pre-order nodes into columns', () => {
  const s = Schema.fromWit({
    fields: [node('id', 'int64'), node('tags', 'list'), node('item', 'utf8'), node('p', 'struct', 2),
      node('x', 'float64'), node('y', 'float64'), node('when', 'timestamp', { unit: 'millisecond', timezone: 'UTC' })],
    metadata: [['k', 'v']],
  });
  assert.deepEqual(s.names, ['id', 'tags', 'p', 'when']);
  assert.equal(s.field('p').nodes.length, 3);
  assert.equal(typeName(s.field('when').dataType), 'Timestamp(ms, "UTC")');
  assert.equal(s.toWit().fields.length, 7);
  assert.deepEqual(s.toWit().metadata, [['k', 'v']]);
});

test('schema edits: withColumn, drop, select, rename', () => {
  const s = new Schema([field('a', 'int64'), field('b', 'utf8')]);
  assert.deepEqual(s.withColumn('c', Type.float64()).names, ['a', 'b', 'c']);
  assert.equal(typeName(s.withColumn('a', 'float32').field('a').dataType), 'Float32');
  assert.deepEqual(s.drop('a').names, ['b']);
  assert.deepEqual(s.select('b', 'a').names, ['b', 'a']);
  assert.deepEqual(s.rename({ a: 'z' }).names, ['z', 'b']);
  assert.throws(() => s.drop('nope'), /no column `nope`/);
  assert.deepEqual(Type.timestamp('ms', 'Europe/Paris')[0].dataType, { tag: 'timestamp', val: { unit: 'millisecond', timezone: 'Europe/Paris' } });
});

test('JS values become the scalars the kernels take', () => {
  assert.deepEqual(toScalar(2), { tag: 'int64', val: 2n });
  assert.deepEqual(toScalar(1.1), { tag: 'float64', val: 1.1 });
  assert.deepEqual(toScalar(1n << 63n), { tag: 'uint64', val: 1n << 63n });
  assert.deepEqual(toScalar('x'), { tag: 'utf8', val: 'x' });
  assert.deepEqual(toScalar(null), { tag: 'null' });
  assert.deepEqual(toScalar(Scalar.float64(2)), { tag: 'float64', val: 2 });
  assert.throws(() => toScalar({}), /not a scalar/);
  assert.equal(fromScalar({ tag: 'int64', val: 5n }), 5);
  assert.equal(fromScalar({ tag: 'int64', val: 1n << 60n }), 1n << 60n);
});

test('column buffers round-trip JS values, nulls included', () => {
  for (const [type, values] of [['utf8', ['a', null, 'ünï', '']], ['int64', [1, null, -3]], ['float64', [0.5, null]], ['boolean', [true, false, null]]]) {
    const [n] = encodeValues(type, values);
    assert.deepEqual(jsValues(type, n, values.length), values, type);
  }
  const [n] = encodeValues('int32', [1, 2, 3]);
  assert.deepEqual(Array.from(typedValues('int32', n, 3)), [1, 2, 3]);
  assert.equal(inferType([1, 2.5, null]), 'float64');
  assert.equal(inferType(['a', null]), 'utf8');
  assert.throws(() => inferType([1, 'a']), /mixed types/);
});

test('config: big integers stay exact, unknown keys are named like serde', () => {
  assert.equal(parseJson('{"a": 9223372036854775807}').a, 9223372036854775807n);
  assert.throws(() => checkObject({ x: 1 }, 'columns[0]', ['column']), (e) => e.payload.val.key === 'columns[0]'
    && e.payload.val.message === 'unknown field `x`, expected `column`');
});

test('a kernel error names the column it started from', () => {
  const e = hostError({ payload: { tag: 'data', val: { row: 2n, message: 'overflow' } } }, 'qty', 'affine');
  assert.ok(e instanceof QuiverError);
  assert.deepEqual(e.payload, { tag: 'data', val: { row: 2n, message: 'overflow', column: 'qty' } });
  const i = hostError({ payload: { tag: 'internal', val: 'cast: no such cast' } }, 'when', 'cast');
  assert.equal(i.payload.val, 'column `when`: cast: no such cast');
  assert.deepEqual(toWitError(new TypeError('x')), { tag: 'internal', val: 'TypeError: x' });
});
