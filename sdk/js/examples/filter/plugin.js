// `filter` (JavaScript port): keeps the rows where a column compares to a value.
//
// Same config and errors as plugins/filter (Rust): {"column", "op", "value", "nulls"}.
// A comparison with a null is neither true nor false: `nulls` says whether such rows are
// dropped (default) or kept. `is_null` / `is_not_null` take no value. The comparison value
// is converted once, at creation, to the column's own type; one that does not fit is a
// config error at `value`. Floats compare in IEEE total order (as arrow's kernels do), strings
// by their UTF-8 bytes.

import {
  Transform, definePlugin, configError, internalError, checkObject, getString, getEnum,
  typeName, typeTag, integerRange, jsonText, filterBatch, int64Number,
} from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

const OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'is_null', 'is_not_null'];

/** Rust's `Value::as_i64` / `as_u64`: integers only (no fraction, no exponent), exact. */
function asInteger(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

/** The comparison value in the column's type, as { kind, value } or throws a message. */
function scalar(dt, value) {
  const tag = typeTag(dt);
  const t = typeName(dt);
  // Like serde_json: the value must be an i64 (an u64 for unsigned columns) first, then
  // fit the column's narrower type.
  const intIn = (lo, hi, unsigned) => {
    const v = asInteger(value);
    const [wlo, whi] = integerRange(unsigned ? 'uint64' : 'int64');
    if (v === undefined || v < wlo || v > whi) {
      throw `${jsonText(value)} is not ${unsigned ? 'a non-negative integer' : 'an integer'}`;
    }
    if (v < lo || v > hi) throw `${v} does not fit in ${t}`;
    return v;
  };
  switch (tag) {
    case 'int8': case 'int16': case 'int32': case 'int64':
    case 'date32': case 'date64': {
      const [lo, hi] = integerRange(tag === 'date32' ? 'int32' : tag === 'date64' ? 'int64' : tag);
      return intIn(lo, hi, false);
    }
    case 'uint8': case 'uint16': case 'uint32': case 'uint64':
      return intIn(...integerRange(tag), true);
    case 'timestamp': {
      const v = asInteger(value);
      const [lo, hi] = integerRange('int64');
      if (v === undefined || v < lo || v > hi) throw `${jsonText(value)} is not an integer timestamp`;
      return v;
    }
    case 'float32': case 'float64':
      if (typeof value === 'number' || typeof value === 'bigint') {
        const f = Number(value);
        return tag === 'float32' ? Math.fround(f) : f;
      }
      break;
    case 'utf8': case 'large-utf8':
      if (typeof value === 'string') return new TextEncoder().encode(value);
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    default:
  }
  throw `cannot compare a ${t} column with ${jsonText(value)}`;
}

/** IEEE 754 total order, as arrow compares floats (-0 < +0, NaN above everything). */
function cmpFloat(a, b) {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) {
    if (a !== 0) return 0;
    const na = Object.is(a, -0);
    const nb = Object.is(b, -0);
    return na === nb ? 0 : na ? -1 : 1;
  }
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  return an && bn ? 0 : an ? 1 : -1;
}

function cmpBytes(src, s, e, b) {
  const n = Math.min(e - s, b.length);
  for (let k = 0; k < n; k++) {
    const d = src[s + k] - b[k];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const la = e - s;
  return la === b.length ? 0 : la < b.length ? -1 : 1;
}

const TEST = {
  eq: (c) => c === 0, ne: (c) => c !== 0, lt: (c) => c < 0,
  le: (c) => c <= 0, gt: (c) => c > 0, ge: (c) => c >= 0,
};

class Filter extends Transform {
  constructor(config, input) {
    super(config, input);
    checkObject(config, '', ['column', 'op', 'value', 'nulls'], ['column', 'op']);
    const column = getString(config, '', 'column');
    const op = getEnum(config, '', 'op', OPS);
    const nulls = getEnum(config, '', 'nulls', ['drop', 'keep'], 'drop');
    const index = input.indexOf(column);
    if (index < 0) throw configError('column', `no column \`${column}\` in the input`);
    // `"value": null` is the same as no value (serde's Option).
    const value = config.value === null ? undefined : config.value;
    const isNullTest = op === 'is_null' || op === 'is_not_null';
    if (isNullTest && value !== undefined) throw configError('value', 'is_null and is_not_null take no value');
    if (!isNullTest && value === undefined) throw configError('value', 'a comparison needs a value');
    this.index = index;
    this.op = op;
    this.keepNulls = nulls === 'keep';
    this.dt = input.field(index).dataType;
    if (!isNullTest) {
      try {
        this.scalar = scalar(this.dt, value);
      } catch (m) {
        if (typeof m === 'string') throw configError('value', m);
        throw m;
      }
    }
  }

  process(batch) {
    const col = batch.columns[this.index];
    const n = batch.numRows;
    const mask = new Uint8Array(n);
    if (this.op === 'is_null' || this.op === 'is_not_null') {
      const want = this.op === 'is_null';
      for (let i = 0; i < n; i++) mask[i] = col.isNull(i) === want ? 1 : 0;
      return [filterBatch(batch, mask)];
    }
    const test = TEST[this.op];
    const keepNulls = this.keepNulls ? 1 : 0;
    const s = this.scalar;
    const validity = col.validity;
    const valid = (i) => validity === null || ((validity[i >> 3] >> (i & 7)) & 1) === 1;
    const tag = col.type;
    if (tag === 'utf8' || tag === 'large-utf8') {
      const src = col.bytes;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { mask[i] = keepNulls; continue; }
        const [a, b] = col.range(i);
        mask[i] = test(cmpBytes(src, a, b, s)) ? 1 : 0;
      }
    } else if (tag === 'boolean') {
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { mask[i] = keepNulls; continue; }
        const v = col.bool(i);
        mask[i] = test(v === s ? 0 : v ? 1 : -1) ? 1 : 0;
      }
    } else if (tag === 'float32' || tag === 'float64') {
      const v = col.values;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { mask[i] = keepNulls; continue; }
        mask[i] = test(cmpFloat(v[i], s)) ? 1 : 0;
      }
    } else if (tag === 'int64' || tag === 'uint64' || tag === 'date64' || tag === 'timestamp') {
      // 64-bit integers: compare as exact numbers when both sides are safe, else as BigInt.
      const words = col.words;
      const unsigned = tag === 'uint64';
      const sn = s >= -9007199254740991n && s <= 9007199254740991n ? Number(s) : undefined;
      const big = col.values;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { mask[i] = keepNulls; continue; }
        const x = int64Number(words, i, unsigned);
        let c;
        if (x !== undefined && sn !== undefined) c = x < sn ? -1 : x > sn ? 1 : 0;
        else { const y = big[i]; c = y < s ? -1 : y > s ? 1 : 0; }
        mask[i] = test(c) ? 1 : 0;
      }
    } else {
      // 8-, 16- and 32-bit integers and date32: exact as numbers.
      const v = col.values;
      const sn = Number(s);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) { mask[i] = keepNulls; continue; }
        const x = v[i];
        mask[i] = test(x < sn ? -1 : x > sn ? 1 : 0) ? 1 : 0;
      }
    }
    if (s === undefined) throw internalError('comparison without a value');
    return [filterBatch(batch, mask)];
  }
}

export const transform = definePlugin(
  {
    name: 'filter',
    version: '0.1.0',
    description:
      'Keeps the rows where a column compares to a value; null rows are dropped or kept as the config says. JavaScript port of the Rust filter plugin.',
    configSchema,
  },
  Filter,
);
