// Arrow buffers in the guest: a column's `column-data` (list of nodes) as typed arrays, and
// JS values as `column-data`.
//
// The host copies a column in only when the plugin reads it (`Col.values()`); everything
// here is plain JavaScript with no host call, so it is unit-tested under node.

import { typeTag } from './types.js';

const ARRAY_OF = {
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  float32: Float32Array, float64: Float64Array, date32: Int32Array, date64: BigInt64Array,
  timestamp: BigInt64Array, time32: Int32Array, time64: BigInt64Array, duration: BigInt64Array,
};

/** A typed array over `bytes` (copied once if it is not aligned for `Ctor`). */
export function view(Ctor, bytes) {
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) bytes = bytes.slice();
  return new Ctor(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / Ctor.BYTES_PER_ELEMENT));
}

/** Is bit `i` of an LSB-first bitmap set? */
export function bit(bitmap, i) {
  return (bitmap[i >> 3] >> (i & 7)) & 1;
}

/**
 * The values of a column's top node as a typed array: Float64Array, Int32Array,
 * BigInt64Array (64-bit integers, dates, timestamps)…; for boolean a Uint8Array of 0/1 per
 * row. The value of a null row is whatever the buffer holds (zero as the host builds them).
 */
export function typedValues(type, node, rows) {
  const tag = typeTag(type);
  if (tag === 'boolean') {
    const out = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) out[i] = bit(node.values, i);
    return out;
  }
  const Ctor = ARRAY_OF[tag];
  if (!Ctor) throw new TypeError(`values(): a ${tag} column has no typed array; use toArray()`);
  return view(Ctor, node.values).subarray(0, rows);
}

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** The rows of a column's top node as JS values (null for null rows). */
export function jsValues(type, node, rows) {
  const tag = typeTag(type);
  const valid = node.validity ?? null;
  const out = new Array(rows);
  if (tag === 'utf8' || tag === 'binary' || tag === 'large-utf8' || tag === 'large-binary') {
    const large = tag.startsWith('large');
    const off = view(large ? BigInt64Array : Int32Array, node.offsets);
    for (let i = 0; i < rows; i++) {
      if (valid !== null && !bit(valid, i)) { out[i] = null; continue; }
      const bytes = node.values.subarray(Number(off[i]), Number(off[i + 1]));
      out[i] = tag.endsWith('utf8') ? decoder.decode(bytes) : bytes.slice();
    }
    return out;
  }
  if (tag === 'null') return out.fill(null);
  const values = typedValues(type, node, rows);
  const big = values instanceof BigInt64Array || values instanceof BigUint64Array;
  for (let i = 0; i < rows; i++) {
    if (valid !== null && !bit(valid, i)) out[i] = null;
    else if (tag === 'boolean') out[i] = values[i] === 1;
    else if (big) {
      const n = Number(values[i]);
      out[i] = Number.isSafeInteger(n) ? n : values[i];
    } else out[i] = values[i];
  }
  return out;
}

/** The type a list of JS values has: utf8, boolean, int64 (safe integers, BigInt) or float64. */
export function inferType(values) {
  let kind = null;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    let k;
    if (typeof v === 'string') k = 'utf8';
    else if (typeof v === 'boolean') k = 'boolean';
    else if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) k = 'int64';
    else if (typeof v === 'number') k = 'float64';
    else throw new TypeError(`${String(v)} cannot go in a column (string, boolean, number or BigInt)`);
    if (kind === null || kind === k) kind = k;
    else if ((kind === 'int64' && k === 'float64') || (kind === 'float64' && k === 'int64')) kind = 'float64';
    else throw new TypeError(`values of mixed types (${kind} and ${k}) cannot make one column`);
  }
  return kind ?? 'null';
}

/**
 * `column-data` (one node) for `values` of `type` ('utf8', 'boolean', 'int64', 'float64',
 * 'null', or a fixed-width tag of a typed array): null/undefined rows are null.
 */
export function encodeValues(type, values) {
  const tag = typeTag(type);
  const rows = values.length;
  let validity = null;
  for (let i = 0; i < rows; i++) {
    if (values[i] === null || values[i] === undefined) {
      validity ??= new Uint8Array((rows + 7) >> 3).fill(0xff);
      validity[i >> 3] &= ~(1 << (i & 7));
    }
  }
  const node = { len: BigInt(rows), values: new Uint8Array(0) };
  if (tag === 'null') {
    node.validity = new Uint8Array((rows + 7) >> 3);
    return [node];
  }
  if (validity !== null) node.validity = validity;
  if (tag === 'utf8') {
    const parts = values.map((v) => (v == null ? new Uint8Array(0) : encoder.encode(v)));
    const offsets = new Int32Array(rows + 1);
    let total = 0;
    parts.forEach((p, i) => { total += p.length; offsets[i + 1] = total; });
    const bytes = new Uint8Array(total);
    parts.forEach((p, i) => bytes.set(p, offsets[i]));
    node.offsets = new Uint8Array(offsets.buffer);
    node.values = bytes;
    return [node];
  }
  if (tag === 'boolean') {
    const bits = new Uint8Array((rows + 7) >> 3);
    for (let i = 0; i < rows; i++) if (values[i]) bits[i >> 3] |= 1 << (i & 7);
    node.values = bits;
    return [node];
  }
  const Ctor = ARRAY_OF[tag];
  if (!Ctor) throw new TypeError(`cannot build a ${tag} column from JS values`);
  const big = Ctor === BigInt64Array || Ctor === BigUint64Array;
  const arr = new Ctor(rows);
  for (let i = 0; i < rows; i++) {
    const v = values[i];
    if (v != null) arr[i] = big ? BigInt(v) : Number(v);
  }
  node.values = new Uint8Array(arr.buffer);
  return [node];
}

/** `column-data` from a typed array and an optional validity bitmap (no per-row work). */
export function encodeTyped(typed, validity = null) {
  const node = { len: BigInt(typed.length), values: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
  if (validity) node.validity = validity;
  return [node];
}
