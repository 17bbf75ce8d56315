// `filter` (JavaScript port): keeps the rows where a column compares to a value.
//
// Same config and errors as plugins/filter (Rust): {"column", "op", "value", "nulls"}.
// A comparison with a null is neither true nor false: `nulls` says whether such rows are
// dropped (default) or kept. `is_null` / `is_not_null` take no value. The value is checked
// once, at creation, against the column's type; one that does not fit is a config error at
// `value`. The comparison runs in the host (`compare` kernel), and so does the filter (the
// host's `filter` kernel on every column): no value enters the plugin.

import {
  Transform, definePlugin, configError, checkObject, getString, getEnum, Scalar,
  typeName, typeTag, jsonText,
} from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

const OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'is_null', 'is_not_null'];

function range(tag) {
  const bits = BigInt({ int8: 8, int16: 16, int32: 32, int64: 64, date32: 32, date64: 64 }[tag.replace(/^u/, '')] ?? 64);
  return tag.startsWith('u') ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

/** Rust's `Value::as_i64` / `as_u64`: integers only (no fraction, no exponent), exact. */
function asInteger(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

/** The comparison value as a kernel scalar of the column's type, or throws a message. */
function scalar(dt, value) {
  const tag = typeTag(dt);
  const t = typeName(dt);
  // Like serde_json: an i64 (u64 for unsigned columns) first, then the column's narrower type.
  const intIn = ([lo, hi], unsigned) => {
    const v = asInteger(value);
    const [wlo, whi] = range(unsigned ? 'uint64' : 'int64');
    if (v === undefined || v < wlo || v > whi) {
      throw `${jsonText(value)} is not ${unsigned ? 'a non-negative integer' : 'an integer'}`;
    }
    if (v < lo || v > hi) throw `${v} does not fit in ${t}`;
    return v;
  };
  switch (tag) {
    case 'int8': case 'int16': case 'int32': case 'int64':
      return Scalar.int64(intIn(range(tag), false));
    case 'uint8': case 'uint16': case 'uint32': case 'uint64':
      return Scalar.uint64(intIn(range(tag), true));
    case 'date32':
      return Scalar.date32(Number(intIn(range(tag), false)));
    case 'date64': // milliseconds: compared as a wall-clock timestamp
      return Scalar.timestamp(intIn(range(tag), false), 'millisecond');
    case 'timestamp': {
      const v = asInteger(value);
      const [lo, hi] = range('int64');
      if (v === undefined || v < lo || v > hi) throw `${jsonText(value)} is not an integer timestamp`;
      return Scalar.timestamp(v, dt.val.unit, dt.val.timezone);
    }
    case 'float32': case 'float64':
      if (typeof value === 'number' || typeof value === 'bigint') return Scalar.float64(Number(value));
      break;
    case 'utf8': case 'large-utf8':
      if (typeof value === 'string') return Scalar.utf8(value);
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    default:
  }
  throw `cannot compare a ${t} column with ${jsonText(value)}`;
}

class Filter extends Transform {
  constructor(config, input) {
    super(config, input);
    checkObject(config, '', ['column', 'op', 'value', 'nulls'], ['column', 'op']);
    this.column = getString(config, '', 'column');
    this.op = getEnum(config, '', 'op', OPS);
    this.keepNulls = getEnum(config, '', 'nulls', ['drop', 'keep'], 'drop') === 'keep';
    const index = input.indexOf(this.column);
    if (index < 0) throw configError('column', `no column \`${this.column}\` in the input`);
    // `"value": null` is the same as no value (serde's Option).
    const value = config.value === null ? undefined : config.value;
    const isNullTest = this.op === 'is_null' || this.op === 'is_not_null';
    if (isNullTest && value !== undefined) throw configError('value', 'is_null and is_not_null take no value');
    if (!isNullTest && value === undefined) throw configError('value', 'a comparison needs a value');
    if (!isNullTest) {
      try {
        this.value = scalar(input.field(index).dataType, value);
      } catch (m) {
        if (typeof m === 'string') throw configError('value', m);
        throw m;
      }
    }
  }

  process(batch) {
    const col = batch.col(this.column);
    let mask;
    if (this.op === 'is_null') mask = col.isNull();
    else if (this.op === 'is_not_null') mask = col.isNotNull();
    else {
      mask = col[this.op](this.value);
      // A comparison with null is null, which a filter drops: `keep` makes it true.
      if (this.keepNulls) mask = mask.fillNull(true);
    }
    return batch.filter(mask);
  }
}

export const transform = definePlugin(
  {
    name: 'filter',
    version: '0.1.0',
    description: 'Keeps the rows where a column compares to a value. JavaScript port of the Rust filter plugin.',
    configSchema,
  },
  Filter,
);
