// `Col`: a host column by handle, with chaining methods that run the host's Arrow kernels.
//
// `batch.col("amount").mul(1.1).add(0.5).clip(0)` builds no array in the plugin: each method
// returns a new `Col`, and the host computes it when it is needed (an output, a mask, values
// read). A scalar multiply, then add, then clip on one column is fused into one `affine`
// call — one pass in the host instead of three — because `x * a + b` clipped is exactly what
// `affine` computes; any other chain runs kernel by kernel, so results are what the same
// chain would give in pandas or Polars (no reassociation of float arithmetic).
//
// Every Col remembers the column its expression started from, and a kernel's error names it.

import { hostError, internalError } from './errors.js';
import { kernels } from './kernels.js';
import { toScalar, asFloatScalar, isIntegral, fromScalar } from './scalar.js';
import { toType, typeTag, isFloat, isInteger } from './types.js';
import { typedValues, jsValues, inferType, encodeValues, encodeTyped } from './buffers.js';

const ENCODINGS = { hex: 'hex', base64url: 'base64url', raw: 'raw' };
const BOOLEAN = toType('boolean');

export class Col {
  /**
   * Use `batch.col(name)`, `Col.fromValues(...)` or a kernel's result rather than this.
   * `source`: `{ handle }`, `{ batch, index }` (an input column, fetched on first use),
   * `{ base, affine }` (a pending fused multiply-add) or `{ data, type }` (guest buffers).
   */
  constructor(source, name = null, type = null) {
    this._src = source;
    /** The column the expression started from (for error messages), or null. */
    this.name = name;
    this._type = type;
    this._handle = source.handle ?? null;
  }

  /** A column of JS values (type inferred: utf8, boolean, int64 or float64, unless given). */
  static fromValues(values, type = null, name = null) {
    const t = type ?? inferType(values);
    return new Col({ data: encodeValues(t, values), type: toType(t) }, name, toType(t));
  }

  /** A column of a typed array (`Float64Array` → float64 …), with an optional validity bitmap. */
  static fromTyped(typed, type, validity = null, name = null) {
    return new Col({ data: encodeTyped(typed, validity), type: toType(type) }, name, toType(type));
  }

  /** Input column index when this Col is an input column untouched, else -1. */
  get inputIndex() {
    return this._src.batch !== undefined ? this._src.index : -1;
  }

  /** Whether this Col is an input column of `batch` (a batch resource), untouched. */
  isInputOf(batch) {
    return batch !== null && this._src.batch === batch;
  }

  /** Guest-made buffers when this Col was built in the plugin and not sent yet, else null. */
  get data() {
    return this._src.data !== undefined && this._handle === null ? this._src.data : null;
  }

  /** Call kernel `name` with `args`; errors name this column. */
  _k(name, ...args) {
    try {
      return kernels()[name](...args);
    } catch (e) {
      throw hostError(e, this.name, name);
    }
  }

  /** A Col of the kernel `name`'s result. */
  _new(name, ...args) {
    return new Col({ handle: this._k(name, ...args) }, this.name);
  }

  /** A Col of the kernel `name`'s result, which is boolean (a mask: its type is known). */
  _mask(name, ...args) {
    return new Col({ handle: this._k(name, ...args) }, this.name, BOOLEAN);
  }

  /** The host handle, computing the column if it is not yet. */
  handle() {
    if (this._handle !== null) return this._handle;
    const s = this._src;
    if (s.batch !== undefined) this._handle = this._k('batchColumn', s.batch, s.index);
    else if (s.data !== undefined) this._handle = this._k('fromData', s.type, s.data);
    else if (s.base !== undefined) this._handle = this._fused(s.base, s.affine);
    else throw internalError('a column without a source');
    return this._handle;
  }

  /** The type as pre-order nodes (asked of the host once when not known). */
  dataType() {
    if (this._type === null) {
      if (this._src.base !== undefined && isFloat(this._src.base.dataType())) this._type = this._src.base.dataType();
      else this._type = this._k('dataType', this.handle());
    }
    return this._type;
  }

  /** The type's tag: 'float64', 'utf8', … */
  get type() {
    return typeTag(this.dataType());
  }

  len() {
    return Number(this._k('len', this.handle()));
  }

  nullCount() {
    return Number(this._k('nullCount', this.handle()));
  }

  // ------------------------------------------------------------------------------------
  // Values in the plugin (the column crosses into the guest here, and only here).

  _read() {
    const nodes = this._k('read', this.handle());
    return nodes[0];
  }

  /** The values as a typed array (Float64Array, Int32Array, BigInt64Array, …; booleans as 0/1). */
  values() {
    const node = this._read();
    return typedValues(this.dataType(), node, Number(node.len));
  }

  /** The validity bitmap (LSB first, 1 = valid), or null when no row is null. */
  validity() {
    return this._read().validity ?? null;
  }

  /** The rows as JS values, null for nulls (64-bit integers as numbers when safe). */
  toArray() {
    const node = this._read();
    return jsValues(this.dataType(), node, Number(node.len));
  }

  // ------------------------------------------------------------------------------------
  // Arithmetic. A scalar multiply, add/subtract and clip are fused into one `affine`.

  _operand(x) {
    if (x instanceof Col) return { tag: 'column', val: x.handle() };
    return { tag: 'scalar', val: toScalar(x) };
  }

  _arith(op, x) {
    return this._new('arith', op, this._operand(this), this._operand(x), true);
  }

  /** The pending affine of this Col, if it is one and `stage` may still be added. */
  _pending(stage) {
    const a = this._src.affine;
    if (a === undefined) return null;
    const order = { scale: 0, offset: 1, clip: 2 };
    return order[stage] > a.stage ? a : null;
  }

  _affine(base, a) {
    return new Col({ base, affine: a }, this.name);
  }

  /** `this + x` (x: a scalar or a Col). Integer overflow is a data error naming the row. */
  add(x) {
    if (x instanceof Col) return this._arith('add', x);
    const p = this._pending('offset');
    if (p !== null) return this._affine(this._src.base, { ...p, offset: x, stage: 1 });
    if (this._src.affine !== undefined) return this._arith('add', x);
    return this._affine(this, { scale: 1, offset: x, stage: 1 });
  }

  /** `this - x`. */
  sub(x) {
    if (x instanceof Col || typeof x === 'object') return this._arith('subtract', x);
    return this.add(-x);
  }

  /** `this * x`. */
  mul(x) {
    if (x instanceof Col || this._src.affine !== undefined) return this._arith('multiply', x);
    return this._affine(this, { scale: x, offset: 0, stage: 0 });
  }

  /** `this / x` (integers truncate toward zero; `cast` to float64 first for true division). */
  div(x) {
    return this._arith('divide', x);
  }

  /** Remainder with the sign of `this` (C, Rust, SQL). */
  mod(x) {
    return this._arith('modulo', x);
  }

  pow(x) {
    return this._arith('power', x);
  }

  /** Limit to `[min, max]` (either may be null). Fused into a pending multiply-add. */
  clip(min = null, max = null) {
    const p = this._pending('clip');
    if (p !== null) return this._affine(this._src.base, { ...p, min, max, stage: 2 });
    const lo = min === null ? undefined : toScalar(min);
    const hi = max === null ? undefined : toScalar(max);
    return this._new('clip', this.handle(), lo, hi);
  }

  /** Compute a pending `base * scale + offset` (clipped): one `affine` when the types allow. */
  _fused(base, a) {
    const h = base.handle();
    const bounds = [a.min ?? null, a.max ?? null];
    const ints = [a.scale, a.offset, ...bounds.filter((b) => b !== null)].every(isIntegral);
    const t = base.dataType();
    if (isFloat(t) || (isInteger(t) && ints)) {
      const s = isFloat(t) ? asFloatScalar : toScalar;
      const opt = (b) => (b === null ? undefined : s(b));
      return this._k('affine', h, s(a.scale), s(a.offset), opt(bounds[0]), opt(bounds[1]));
    }
    // Not one affine (a float scalar on an integer column: the result is Float64): kernel by kernel.
    let c = base;
    if (!(a.scale === 1 && a.stage >= 1)) c = c._arith('multiply', a.scale);
    if (a.stage >= 1) c = c._arith('add', a.offset);
    if (a.stage >= 2) c = c.clip(bounds[0], bounds[1]);
    return c.handle();
  }

  _unary(op) {
    return this._new('unary', op, this.handle());
  }
  neg() { return this._unary('negate'); }
  abs() { return this._unary('abs'); }
  sqrt() { return this._unary('sqrt'); }
  exp() { return this._unary('exp'); }
  log() { return this._unary('ln'); }
  log10() { return this._unary('log10'); }
  log2() { return this._unary('log2'); }
  floor() { return this._unary('floor'); }
  ceil() { return this._unary('ceil'); }
  sign() { return this._unary('sign'); }
  /** Half to even at `decimals` digits (negative: before the point). */
  round(decimals = 0) {
    return this._new('round', this.handle(), decimals);
  }

  // ------------------------------------------------------------------------------------
  // Comparisons and logic: boolean columns (masks).

  _cmp(op, x) {
    return this._mask('compare', op, this._operand(this), this._operand(x));
  }
  eq(x) { return this._cmp('eq', x); }
  ne(x) { return this._cmp('ne', x); }
  lt(x) { return this._cmp('lt', x); }
  le(x) { return this._cmp('le', x); }
  gt(x) { return this._cmp('gt', x); }
  ge(x) { return this._cmp('ge', x); }

  _logic(op, other) {
    if (!(other instanceof Col)) throw new TypeError(`${op}: the other side must be a column (a mask)`);
    return this._mask('logic', op, this.handle(), other.handle());
  }
  /** Kleene AND (`false AND null` is false). */
  and(other) { return this._logic('and', other); }
  or(other) { return this._logic('or', other); }
  xor(other) { return this._logic('xor', other); }
  /** `this AND NOT other`. */
  andNot(other) { return this._logic('and-not', other); }
  not() { return this._mask('not', this.handle()); }

  // ------------------------------------------------------------------------------------
  // Missing values, types, selection.

  isNull() { return this._mask('isNull', this.handle()); }
  isNotNull() { return this._mask('isNotNull', this.handle()); }
  /** Nulls replaced by `value` (a scalar or a Col), cast to this column's type. */
  fillNull(value) { return this._new('fillNull', this.handle(), this._operand(value)); }
  /** Row-wise first non-null of this and `others` (Cols or a scalar default). */
  coalesce(...others) {
    return this._new('coalesce', [this, ...others].map((x) => this._operand(x)));
  }
  /**
   * Cast to `type` ('float64', `Type.timestamp('ms', 'UTC')`, a node list). `safe: true`
   * turns values that do not cast into nulls; otherwise the first is a data error.
   */
  cast(type, { safe = false } = {}) {
    return this._new('cast', this.handle(), toType(type), safe);
  }
  /** The rows where `mask` is true (a shorter column; for a whole batch use `batch.filter`). */
  filter(mask) { return this._new('filter', this.handle(), mask.handle()); }
  /** The rows at `indices` (a Col of uint32/uint64, or an array of row numbers). */
  take(indices) {
    const idx = indices instanceof Col ? indices : Col.fromValues(indices, 'uint32');
    return this._new('take', this.handle(), idx.handle());
  }
  slice(offset, length) { return this._new('slice', this.handle(), offset, length); }
  /** Whether each value is among `values` (an array of JS values, or a Col). */
  isIn(values) {
    const v = values instanceof Col ? values : Col.fromValues(values);
    return this._mask('isIn', this.handle(), v.handle());
  }

  // ------------------------------------------------------------------------------------
  // Strings, dates, hashing.

  /** String kernels: `.str.lower()`, `.str.contains("x")`, … */
  get str() {
    return new StrOps(this);
  }
  /** Date and time parts: `.dt.hour({ tz: 'Europe/Paris' })`, … */
  get dt() {
    return new DtOps(this);
  }
  /** SHA-256 of each value: `encoding` 'hex' (default), 'base64url' or 'raw'. */
  sha256({ encoding = 'hex' } = {}) {
    return this._new('sha256', this.handle(), ENCODINGS[encoding] ?? encoding);
  }
  /** HMAC-SHA256 under the key in `keyFile` (a path in a directory granted to the stage). */
  hmacSha256(keyFile, { encoding = 'hex' } = {}) {
    return this._new('hmacSha256', this.handle(), keyFile, ENCODINGS[encoding] ?? encoding);
  }

  // ------------------------------------------------------------------------------------
  // Aggregates: one JS value each (nulls skipped; integers as numbers when safe).

  _agg(op) {
    return fromScalar(this._k('aggregate', op, this.handle()));
  }
  count() { return this._agg('count'); }
  countAll() { return this._agg('count-all'); }
  sum() { return this._agg('sum'); }
  min() { return this._agg('min'); }
  max() { return this._agg('max'); }
  mean() { return this._agg('mean'); }
  std() { return this._agg('stddev'); }
  var() { return this._agg('variance'); }
  nunique() { return this._agg('distinct-count'); }
}

/** String kernels of a column (`col.str`). */
export class StrOps {
  constructor(col) {
    this.col = col;
  }
  _u(op) { return this.col._new('strUnary', op, this.col.handle()); }
  /** Characters per string. */
  len() { return this._u('length'); }
  lower() { return this._u('to-lower'); }
  upper() { return this._u('to-upper'); }
  strip() { return this._u('trim'); }
  lstrip() { return this._u('trim-start'); }
  rstrip() { return this._u('trim-end'); }
  _m(op, s) { return this.col._mask('strMatch', op, this.col.handle(), s); }
  /** Literal substring test (`regex: true` for a regular expression). */
  contains(s, { regex = false } = {}) {
    return regex ? this.col._mask('regexMatch', this.col.handle(), s) : this._m('contains', s);
  }
  startsWith(s) { return this._m('starts-with', s); }
  endsWith(s) { return this._m('ends-with', s); }
  /** A regex match anywhere (anchor with `^…$`). */
  match(pattern) { return this.col._mask('regexMatch', this.col.handle(), pattern); }
  /** Regex replace: the first match, or every one with `all` (the default). `$1` inserts a group. */
  replace(pattern, replacement, { all = true } = {}) {
    return this.col._new('regexReplace', this.col.handle(), pattern, replacement, all);
  }
  /** `length` characters from `start` (negative: from the end); no length = to the end. */
  slice(start, length = null) { return this.col._new('substring', this.col.handle(), start, length); }
  /** This column's strings joined row by row with `parts` (Cols or strings) by `sep`. */
  concat(parts, sep = '') {
    const all = [this.col, ...parts].map((x) => this.col._operand(x));
    return this.col._new('concat', all, sep);
  }
}

/** Date and time parts of a column (`col.dt`), as int32 columns. */
export class DtOps {
  constructor(col) {
    this.col = col;
  }
  _p(part, tz) { return this.col._new('datePart', part, this.col.handle(), tz ?? undefined); }
  year({ tz } = {}) { return this._p('year', tz); }
  quarter({ tz } = {}) { return this._p('quarter', tz); }
  month({ tz } = {}) { return this._p('month', tz); }
  day({ tz } = {}) { return this._p('day', tz); }
  /** Monday = 0. */
  dayOfWeek({ tz } = {}) { return this._p('day-of-week', tz); }
  dayOfYear({ tz } = {}) { return this._p('day-of-year', tz); }
  hour({ tz } = {}) { return this._p('hour', tz); }
  minute({ tz } = {}) { return this._p('minute', tz); }
  second({ tz } = {}) { return this._p('second', tz); }
  millisecond({ tz } = {}) { return this._p('millisecond', tz); }
  microsecond({ tz } = {}) { return this._p('microsecond', tz); }
  nanosecond({ tz } = {}) { return this._p('nanosecond', tz); }
  /** ISO 8601 week, 1–53. */
  week({ tz } = {}) { return this._p('week', tz); }
}
