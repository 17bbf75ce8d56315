// A fake of the host's kernels for the unit tests: columns are plain JS arrays, and every
// call is logged, so a test can check which kernels a chain runs (e.g. one `affine`).

import { useKernels } from '../quiver-sdk/kernels.js';
import { encodeValues } from '../quiver-sdk/buffers.js';
import { toType } from '../quiver-sdk/types.js';

/** Handles the SDK dropped (through the dispose symbol, as jco's bindings are dropped). */
export const dropped = [];

export class FakeColumn {
  constructor(type, values) {
    this.type = type;
    this.values = values;
  }

  [Symbol.dispose || Symbol.for('dispose')]() {
    if (dropped.includes(this)) throw new Error('a handle dropped twice');
    dropped.push(this);
  }
}

const val = (s) => (s.tag === 'null' ? null : typeof s.val === 'bigint' ? Number(s.val) : s.val);
const side = (o, i) => (o.tag === 'column' ? o.val.values[i] : val(o.val));
const lenOf = (...ops) => ops.find((o) => o.tag === 'column').val.values.length;

/** Install the fake; returns the call log. `fail`: kernel name → error payload to throw. */
export function installFake(fail = {}) {
  const calls = [];
  const wrap = (name, f) => (...args) => {
    calls.push(name);
    if (fail[name]) throw { payload: fail[name] };
    return f(...args);
  };
  const ARITH = { add: (a, b) => a + b, subtract: (a, b) => a - b, multiply: (a, b) => a * b, divide: (a, b) => a / b };
  const CMP = { eq: (a, b) => a === b, ne: (a, b) => a !== b, lt: (a, b) => a < b, le: (a, b) => a <= b, gt: (a, b) => a > b, ge: (a, b) => a >= b };
  const map2 = (type, l, r, f) => new FakeColumn(type, Array.from({ length: lenOf(l, r) }, (_, i) => {
    const a = side(l, i);
    const b = side(r, i);
    return a === null || b === null ? null : f(a, b);
  }));
  const k = {
    batchColumn: (batch, i) => batch.columns[i],
    // New handles, as the host makes (never the ones `batchColumn` gave).
    batchColumns: (batch) => batch.columns.map((c) => new FakeColumn(c.type, c.values)),
    fromData: (type, data) => new FakeColumn(type[0].dataType.tag, data),
    dataType: (h) => toType(h.type),
    len: (h) => BigInt(h.values.length),
    nullCount: (h) => BigInt(h.values.filter((x) => x === null).length),
    read: (h) => encodeValues(h.type, h.values),
    affine: (h, scale, offset, min, max) => new FakeColumn(h.type, h.values.map((x) => {
      if (x === null) return null;
      let y = x * val(scale) + val(offset);
      if (min !== undefined) y = Math.max(y, val(min));
      if (max !== undefined) y = Math.min(y, val(max));
      return y;
    })),
    arith: (op, l, r) => map2('float64', l, r, ARITH[op]),
    clip: (h, min, max) => new FakeColumn(h.type, h.values.map((x) => (x === null ? null : Math.min(Math.max(x, min ? val(min) : -Infinity), max ? val(max) : Infinity)))),
    compare: (op, l, r) => map2('boolean', l, r, CMP[op]),
    logic: (op, a, b) => new FakeColumn('boolean', a.values.map((x, i) => (x === null || b.values[i] === null ? null : op === 'and' ? x && b.values[i] : x || b.values[i]))),
    isNull: (h) => new FakeColumn('boolean', h.values.map((x) => x === null)),
    fillNull: (h, v) => new FakeColumn(h.type, h.values.map((x, i) => (x === null ? side(v, i) : x))),
    slice: (h, o, n) => new FakeColumn(h.type, h.values.slice(o, o + n)),
    filter: (h, m) => new FakeColumn(h.type, h.values.filter((_, i) => m.values[i] === true)),
    filterMany: (hs, m) => hs.map((h) => new FakeColumn(h.type, h.values.filter((_, i) => m.values[i] === true))),
    aggregate: (op, h) => ({ tag: 'float64', val: h.values.reduce((a, b) => a + (b ?? 0), 0) }),
  };
  useKernels(Object.fromEntries(Object.entries(k).map(([n, f]) => [n, wrap(n, f)])));
  return calls;
}
