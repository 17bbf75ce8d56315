// `map` (JavaScript port): clip(value * scale + offset, min, max) on numeric columns.
//
// Same config and errors as plugins/map (Rust). Float columns compute in their own precision
// (float32 through Math.fround, which is exact float32 arithmetic). Integer columns stay
// integers and the arithmetic is exact: plain numbers when every intermediate is within
// ±(2^53-1) (checked per batch for narrow types, per row for 64-bit ones), BigInt otherwise;
// a result that does not fit the column's type is a data error naming the column and row.
// Nulls stay null. With `output` the result is appended as a new column.

import {
  Transform, Schema, definePlugin, configError, dataError, checkObject, getString, getNumber,
  getArray, keyPath, typeName, isInteger, isFloat, integerRange, int64Number, setInt64Number,
} from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

const KEYS = ['column', 'scale', 'offset', 'min', 'max', 'output'];
const SAFE = Number.MAX_SAFE_INTEGER;

/** The Rust plugin's `integral`: an integer-valued f64 within ±9e18, as BigInt. */
function integral(key, v) {
  if (!Number.isFinite(v) || Math.trunc(v) !== v || Math.abs(v) > 9.0e18) {
    throw configError(key, `${v} must be an integer for an integer column`);
  }
  return BigInt(v);
}

const bigMin = (a, b) => (a < b ? a : b);
const bigMax = (a, b) => (a > b ? a : b);

class MapTransform extends Transform {
  constructor(config, input) {
    super(config, input);
    // Shape first, for every entry (like serde, which parses the whole document first).
    checkObject(config, '', ['columns'], ['columns']);
    const entries = getArray(config, '', 'columns');
    const parsed = entries.map((c, i) => {
      const path = keyPath('columns', i);
      checkObject(c, path, KEYS, ['column']);
      return {
        column: getString(c, path, 'column'),
        scale: getNumber(c, path, 'scale', 1),
        offset: getNumber(c, path, 'offset', 0),
        min: getNumber(c, path, 'min', null),
        max: getNumber(c, path, 'max', null),
        output: getString(c, path, 'output', null),
      };
    });
    const fields = input.fields.map((f) => ({ ...f }));
    this.steps = parsed.map((c, i) => {
      const key = (k) => `columns[${i}].${k}`;
      const index = input.indexOf(c.column);
      if (index < 0) throw configError(key('column'), `no column \`${c.column}\` in the input`);
      const f = input.field(index);
      if (c.min !== null && c.max !== null && c.min > c.max) {
        throw configError(key('min'), `min ${c.min} is greater than max ${c.max}`);
      }
      let op;
      if (isFloat(f.dataType)) {
        op = {
          float: true,
          scale: c.scale,
          offset: c.offset,
          min: c.min ?? -Infinity,
          max: c.max ?? Infinity,
        };
      } else if (isInteger(f.dataType)) {
        const scale = integral(key('scale'), c.scale);
        const offset = integral(key('offset'), c.offset);
        const min = c.min === null ? null : integral(key('min'), c.min);
        const max = c.max === null ? null : integral(key('max'), c.max);
        op = { float: false, scale, offset, min, max, range: integerRange(f.dataType) };
      } else {
        throw configError(
          key('column'),
          `column \`${c.column}\` has type ${typeName(f.dataType)}; map works on integer and float columns`,
        );
      }
      if (c.output !== null) {
        if (fields.some((g) => g.name === c.output)) {
          throw configError(key('output'), `a column \`${c.output}\` already exists`);
        }
        fields.push({ name: c.output, dataType: f.dataType, nullable: f.nullable });
      }
      return { input: index, append: c.output !== null, op, name: c.column, type: f.dataType };
    });
    this.schema = new Schema(fields, input.metadata);
  }

  outputSchema() {
    return this.schema;
  }

  process(batch) {
    // Every step reads its column as it arrived; appended outputs follow in config order.
    const columns = batch.columns.map((c) => c.toWit());
    for (const step of this.steps) {
      const col = batch.columns[step.input];
      const values = step.op.float ? floats(col, step.op) : ints(col, step.op, step.name);
      const out = { values: new Uint8Array(values.buffer) };
      if (col.validity !== null) out.validity = col.validity;
      if (step.append) columns.push(out);
      else columns[step.input] = out;
    }
    return [{ numRows: batch.numRows, columns }];
  }
}

function floats(col, { scale, offset, min, max }) {
  const v = col.values;
  const n = col.length;
  if (col.type === 'float64') {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const y = v[i] * scale + offset;
      out[i] = y < min ? min : y > max ? max : y;
    }
    return out;
  }
  const f = Math.fround;
  const s = f(scale), o = f(offset), lo = f(min), hi = f(max);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = f(f(v[i] * s) + o);
    out[i] = y < lo ? lo : y > hi ? hi : y;
  }
  return out;
}

function overflow(where, i, x, op, y) {
  return dataError(
    `${x} * ${op.scale} + ${op.offset} = ${y} does not fit in ${typeName(where.type)}`,
    where.column, i,
  );
}

/** Exact integer arithmetic, clipped, then range-checked for the column's type. */
function ints(col, op, column) {
  const n = col.length;
  const validity = col.validity;
  const valid = (i) => validity === null || ((validity[i >> 3] >> (i & 7)) & 1) === 1;
  const [tlo, thi] = op.range;
  const bigLo = op.min === null ? null : op.min;
  const bigHi = op.max === null ? null : op.max;
  const where = { type: col.dataType, column };
  // The BigInt path: exact for everything.
  const exact = (x) => {
    let y = x * op.scale + op.offset;
    if (bigLo !== null) y = bigMax(y, bigLo);
    if (bigHi !== null) y = bigMin(y, bigHi);
    return y;
  };
  const s = Number(op.scale);
  const o = Number(op.offset);
  const lo = op.min === null ? -Infinity : Number(op.min);
  const hi = op.max === null ? Infinity : Number(op.max);
  // |x| <= limit keeps x * s + o within ±(2^53-1), so the number path is exact there.
  const limit = s === 0 ? Infinity : (SAFE - Math.abs(o)) / Math.abs(s);
  const minOk = op.min === null || (op.min >= -BigInt(SAFE) && op.min <= BigInt(SAFE));
  const maxOk = op.max === null || (op.max >= -BigInt(SAFE) && op.max <= BigInt(SAFE));
  const numbersOk = Math.abs(o) <= SAFE && minOk && maxOk;

  if (col.type === 'int64' || col.type === 'uint64') {
    const unsigned = col.type === 'uint64';
    const words = col.words;
    const big = col.values;
    const out = new Int32Array(2 * n);
    const outBig = unsigned ? new BigUint64Array(out.buffer) : new BigInt64Array(out.buffer);
    const nlo = Number(tlo);
    for (let i = 0; i < n; i++) {
      if (!valid(i)) continue;
      const x = numbersOk ? int64Number(words, i, unsigned) : undefined;
      if (x !== undefined && Math.abs(x) <= limit) {
        let y = x * s + o;
        y = y < lo ? lo : y > hi ? hi : y;
        if (y < nlo) throw overflow(where, i, x, op, y);
        setInt64Number(out, i, y);
      } else {
        const xb = big[i];
        const y = exact(xb);
        if (y < tlo || y > thi) throw overflow(where, i, xb, op, y);
        outBig[i] = y;
      }
    }
    return out;
  }

  // 8-, 16- and 32-bit integers: the values are exact numbers.
  const v = col.values;
  const out = new v.constructor(n);
  const nlo = Number(tlo);
  const nhi = Number(thi);
  const fast = numbersOk && Math.max(Math.abs(nlo), nhi) <= limit;
  for (let i = 0; i < n; i++) {
    if (!valid(i)) continue;
    const x = v[i];
    if (fast) {
      let y = x * s + o;
      y = y < lo ? lo : y > hi ? hi : y;
      if (y < nlo || y > nhi) throw overflow(where, i, x, op, y);
      out[i] = y;
    } else {
      const y = exact(BigInt(x));
      if (y < tlo || y > thi) throw overflow(where, i, x, op, y);
      out[i] = Number(y);
    }
  }
  return out;
}

export const transform = definePlugin(
  {
    name: 'map',
    version: '0.1.0',
    description:
      'Arithmetic on numeric columns: clip(value * scale + offset, min, max), exact for integers. JavaScript port of the Rust map plugin.',
    configSchema,
  },
  MapTransform,
);
