// JavaScript values ↔ the WIT `scalar` of the compute kernels.
//
// A JS number is an integer scalar when it is an integer (so `col.mul(2)` on an int64 column
// stays exact and `affine` accepts it) and a float otherwise; wrap it with `Scalar.float64`
// to say otherwise. The host treats a scalar as weak: it takes the column's type when the
// value fits (docs/kernels.md), so `int32Col.add(1)` stays Int32.

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

/** A value already in WIT form, so `toScalar` takes it as is. */
class Explicit {
  constructor(wit) {
    this.wit = wit;
  }
}

/** Scalars of an explicit type, for when a JS value's own type is not the one meant. */
export const Scalar = {
  null: () => new Explicit({ tag: 'null' }),
  float64: (v) => new Explicit({ tag: 'float64', val: Number(v) }),
  int64: (v) => new Explicit({ tag: 'int64', val: BigInt(v) }),
  uint64: (v) => new Explicit({ tag: 'uint64', val: BigInt(v) }),
  utf8: (v) => new Explicit({ tag: 'utf8', val: String(v) }),
  date32: (days) => new Explicit({ tag: 'date32', val: days }),
  /** `unit`: the WIT name (`millisecond`, …). */
  timestamp: (value, unit = 'millisecond', timezone = undefined) => new Explicit({
    tag: 'timestamp', val: timezone == null ? { value: BigInt(value), unit } : { value: BigInt(value), unit, timezone },
  }),
};

/** Is `v` an integer scalar (a safe integer number or an int64/uint64 BigInt)? */
export function isIntegral(v) {
  if (v instanceof Explicit) return v.wit.tag === 'int64' || v.wit.tag === 'uint64';
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
}

/** The WIT scalar of a JS value: null, boolean, number, BigInt, string, Uint8Array, Date. */
export function toScalar(v) {
  if (v instanceof Explicit) return v.wit;
  if (v === null || v === undefined) return { tag: 'null' };
  switch (typeof v) {
    case 'boolean': return { tag: 'boolean', val: v };
    case 'number':
      return Number.isSafeInteger(v) ? { tag: 'int64', val: BigInt(v) } : { tag: 'float64', val: v };
    case 'bigint':
      if (v >= I64_MIN && v <= I64_MAX) return { tag: 'int64', val: v };
      if (v > I64_MAX && v <= U64_MAX) return { tag: 'uint64', val: v };
      throw new RangeError(`${v} does not fit a 64-bit integer`);
    case 'string': return { tag: 'utf8', val: v };
    default:
      if (v instanceof Uint8Array) return { tag: 'binary', val: v };
      if (v instanceof Date) return { tag: 'timestamp', val: { value: BigInt(v.getTime()), unit: 'millisecond', timezone: 'UTC' } };
      throw new TypeError(`${String(v)} is not a scalar (number, BigInt, string, boolean, null, Uint8Array or Date)`);
  }
}

/** A float64 scalar of a number or integer scalar (`affine` on a float column). */
export function asFloatScalar(v) {
  const s = toScalar(v);
  if (s.tag === 'int64' || s.tag === 'uint64') return { tag: 'float64', val: Number(s.val) };
  return s;
}

/** A 64-bit integer as a number when it is safe, else as a BigInt. */
export function intValue(v) {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
}

/** The JS value of a WIT scalar (an aggregate's result): integers as numbers when safe. */
export function fromScalar(s) {
  switch (s.tag) {
    case 'null': return null;
    case 'int64': case 'uint64': return intValue(s.val);
    case 'timestamp': return intValue(s.val.value);
    case 'decimal128': return s.val;
    default: return s.val;
  }
}
