// Quiver JavaScript SDK: write a transform as a class, export it with `definePlugin`.
//
// The host hands every batch over as Arrow buffers (WIT `list<u8>`, lifted as Uint8Array).
// This module views them as typed arrays without per-row conversion, decodes strings only
// when asked, builds output columns in growable buffers and maps errors onto the WIT `error`
// variant. It has no dependencies; `sdk/js/build.sh` places it next to your plugin source
// so `import ... from './quiver-sdk.js'` resolves.
//
// Lifecycle (the same as the Rust SDK's `Transform` trait):
//   create(config JSON, input schema) -> new YourTransform(config, input)
//   outputSchema()                     -> once, before any data
//   process(batch)                     -> array of output batches, for every batch in order
//   finish()                           -> array of output batches, once at the end
//
// 64-bit integers: int64/uint64/date64/timestamp columns are exposed as BigInt64Array /
// BigUint64Array (exact; reading an element allocates a BigInt) and as an Int32Array of
// little-endian 32-bit words (`words`) for the fast exact path of `int64Number` /
// `setInt64Number`, which use plain numbers when |v| <= 2^53 - 1. See README.md.

import { log as hostLog, counterAdd as hostCounterAdd } from 'quiver:transform/host@0.1.0';
import { BACKEND } from './quiver-backend.js';

// ---------------------------------------------------------------------------------------
// Errors: thrown from create/process/finish; the SDK turns them into the WIT `error` variant.

/** An error of the transform; `payload` is the WIT `error` variant value. */
export class QuiverError extends Error {
  constructor(payload, text) {
    super(text);
    this.name = 'QuiverError';
    this.payload = payload;
  }
}

/** The config is wrong at `key` (a path such as `columns[2].scale`; '' for the document). */
export function configError(key, message) {
  return new QuiverError({ tag: 'config', val: { key, message } }, `config \`${key}\`: ${message}`);
}

/** The input data is wrong, in `column` at `row` (both optional: pass null when unknown). */
export function dataError(message, column = null, row = null) {
  const val = { message };
  if (column != null) val.column = column;
  if (row != null) val.row = BACKEND === 'qjs' ? Number(row) : BigInt(row);
  return new QuiverError({ tag: 'data', val }, `data (column ${column}, row ${row}): ${message}`);
}

/** The plugin itself failed (a bug, or an unexpected state). */
export function internalError(message) {
  return new QuiverError({ tag: 'internal', val: message }, `internal: ${message}`);
}

function toWitError(e) {
  if (e instanceof QuiverError) return e.payload;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { tag: 'internal', val: text };
}

// ---------------------------------------------------------------------------------------
// Host imports.

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Emit a structured log record. `fields` is an object or an array of [key, value] pairs. */
export function log(level, message, fields = {}) {
  if (!LEVELS.includes(level)) throw new TypeError(`log level must be one of ${LEVELS.join(', ')}`);
  const pairs = Array.isArray(fields)
    ? fields.map(([k, v]) => [String(k), String(v)])
    : Object.entries(fields).map(([k, v]) => [k, String(v)]);
  hostLog(level, String(message), pairs);
}

/** Add `delta` (a non-negative integer, number or BigInt) to the counter `name`. */
export function counterAdd(name, delta) {
  hostCounterAdd(String(name), BACKEND === 'qjs' ? Number(delta) : BigInt(delta));
}

// ---------------------------------------------------------------------------------------
// Types and schemas.

const TYPE_NAMES = {
  null: 'Null', boolean: 'Boolean', int8: 'Int8', int16: 'Int16', int32: 'Int32',
  int64: 'Int64', uint8: 'UInt8', uint16: 'UInt16', uint32: 'UInt32', uint64: 'UInt64',
  float32: 'Float32', float64: 'Float64', utf8: 'Utf8', 'large-utf8': 'LargeUtf8',
  binary: 'Binary', 'large-binary': 'LargeBinary', date32: 'Date32', date64: 'Date64',
};
const UNIT_NAMES = { second: 's', millisecond: 'ms', microsecond: 'µs', nanosecond: 'ns' };

/** Bytes per row of the fixed-width types (boolean is bit-packed: 0 here). */
const WIDTH = {
  null: 0, boolean: 0, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4,
  uint64: 8, float32: 4, float64: 8, date32: 4, date64: 8, timestamp: 8, decimal128: 16,
};

/** The type's tag: 'int64', 'utf8', 'timestamp', ... */
export function typeTag(dataType) {
  return typeof dataType === 'string' ? dataType : dataType.tag;
}

/** A data type in the form the WIT bindings use: `{ tag }` or `{ tag, val }`. */
export function dataType(tagOrType, val) {
  if (typeof tagOrType === 'object') return tagOrType;
  return val === undefined ? { tag: tagOrType } : { tag: tagOrType, val };
}

/** Arrow's display name of a type (`Int64`, `Utf8`, `Timestamp(ms, "UTC")`), for messages. */
export function typeName(t) {
  const tag = typeTag(t);
  if (tag === 'timestamp') {
    const u = UNIT_NAMES[t.val.unit];
    return t.val.timezone != null ? `Timestamp(${u}, ${JSON.stringify(t.val.timezone)})` : `Timestamp(${u})`;
  }
  if (tag === 'decimal128') return `Decimal128(${t.val.precision}, ${t.val.scale})`;
  return TYPE_NAMES[tag] ?? tag;
}

export const isSignedInt = (t) => ['int8', 'int16', 'int32', 'int64'].includes(typeTag(t));
export const isUnsignedInt = (t) => ['uint8', 'uint16', 'uint32', 'uint64'].includes(typeTag(t));
export const isInteger = (t) => isSignedInt(t) || isUnsignedInt(t);
export const isFloat = (t) => ['float32', 'float64'].includes(typeTag(t));
export const isVarWidth = (t) => ['utf8', 'large-utf8', 'binary', 'large-binary'].includes(typeTag(t));
const isLargeVar = (t) => ['large-utf8', 'large-binary'].includes(typeTag(t));

/** Smallest and largest value of an integer type, as BigInt. */
export function integerRange(t) {
  const tag = typeTag(t);
  const bits = BigInt(WIDTH[tag] * 8);
  return tag.startsWith('u') ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

/** One column of a schema: `{ name, dataType, nullable }` (dataType as in the WIT bindings). */
export function field(name, type, nullable = true) {
  return { name, dataType: dataType(type), nullable };
}

/** The columns of a stream. `fields` as made by `field`; `metadata` is [[key, value], ...]. */
export class Schema {
  constructor(fields, metadata = []) {
    this.fields = fields.map((f) => ({ name: f.name, dataType: dataType(f.dataType), nullable: !!f.nullable }));
    this.metadata = metadata.map(([k, v]) => [k, v]);
  }
  static fromWit(s) {
    return new Schema(s.fields, s.metadata);
  }
  /** Index of the column `name`, or -1. */
  indexOf(name) {
    return this.fields.findIndex((f) => f.name === name);
  }
  field(i) {
    return this.fields[i];
  }
  get length() {
    return this.fields.length;
  }
  toWit() {
    return {
      fields: this.fields.map((f) => ({ name: f.name, dataType: f.dataType, nullable: f.nullable })),
      metadata: this.metadata,
    };
  }
}

// ---------------------------------------------------------------------------------------
// Reading columns.

function view(Ctor, bytes) {
  // Lifted lists get their own ArrayBuffer (offset 0), but be safe about alignment.
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) bytes = bytes.slice();
  return new Ctor(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / Ctor.BYTES_PER_ELEMENT));
}

const ARRAY_OF = {
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  float32: Float32Array, float64: Float64Array, date32: Int32Array, date64: BigInt64Array,
  timestamp: BigInt64Array,
};

/** Is bit `i` of an LSB-first bitmap set? */
export function bit(bitmap, i) {
  return (bitmap[i >> 3] >> (i & 7)) & 1;
}

const decoder = new TextDecoder('utf-8');

/** A read-only column of an input batch: typed views over the Arrow buffers. */
export class Column {
  constructor(fieldDef, length, wit) {
    this.field = fieldDef;
    this.name = fieldDef.name;
    this.dataType = fieldDef.dataType;
    this.type = typeTag(fieldDef.dataType);
    this.length = length;
    /** Validity bitmap (Uint8Array, 1 = valid) or null when every row is valid. */
    this.validity = wit.validity ?? null;
    /** The raw values buffer (Uint8Array). */
    this.bytes = wit.values;
    this.rawOffsets = wit.offsets ?? null;
    this._values = undefined;
    this._offsets = undefined;
    this._words = undefined;
  }

  /** Is row `i` valid (not null)? */
  isValid(i) {
    if (this.type === 'null') return false;
    return this.validity === null || ((this.validity[i >> 3] >> (i & 7)) & 1) === 1;
  }
  isNull(i) {
    return !this.isValid(i);
  }
  /** Number of null rows. */
  nullCount() {
    if (this.type === 'null') return this.length;
    if (this.validity === null) return 0;
    let n = 0;
    for (let i = 0; i < this.length; i++) if (!((this.validity[i >> 3] >> (i & 7)) & 1)) n++;
    return n;
  }

  /**
   * The values as a typed array (Int32Array, Float64Array, BigInt64Array, ...) for the
   * fixed-width types; for boolean the bit-packed Uint8Array (use `bool(i)`); for
   * decimal128 the raw bytes (16 per row); for utf8/binary the bytes of all rows.
   * The value of a null row is unspecified.
   */
  get values() {
    if (this._values === undefined) {
      const Ctor = ARRAY_OF[this.type];
      this._values = Ctor ? view(Ctor, this.bytes) : this.bytes;
    }
    return this._values;
  }

  /** 64-bit types: the values as little-endian 32-bit words (row i = words[2i], words[2i+1]). */
  get words() {
    if (this._words === undefined) this._words = view(Int32Array, this.bytes);
    return this._words;
  }

  /** utf8/binary: Int32Array of length+1 offsets; large-utf8/large-binary: BigInt64Array. */
  get offsets() {
    if (this._offsets === undefined) {
      this._offsets = this.rawOffsets === null ? null
        : view(isLargeVar(this.type) ? BigInt64Array : Int32Array, this.rawOffsets);
    }
    return this._offsets;
  }

  /** Value of row `i` as a JS value (number, BigInt for 64-bit types, boolean, string, bytes), null for null. */
  get(i) {
    if (!this.isValid(i)) return null;
    switch (this.type) {
      case 'boolean': return this.bool(i);
      case 'utf8': case 'large-utf8': return this.string(i);
      case 'binary': case 'large-binary': return this.slice(i);
      case 'decimal128': return this.bytes.subarray(16 * i, 16 * i + 16);
      default: return this.values[i];
    }
  }

  /** Boolean row `i` (ignores validity). */
  bool(i) {
    return ((this.bytes[i >> 3] >> (i & 7)) & 1) === 1;
  }
  /** Start and end byte of row `i` of a variable-width column. */
  range(i) {
    const o = this.offsets;
    return isLargeVar(this.type) ? [Number(o[i]), Number(o[i + 1])] : [o[i], o[i + 1]];
  }
  /** The bytes of row `i` of a utf8/binary column (a view, no copy). */
  slice(i) {
    const [s, e] = this.range(i);
    return this.bytes.subarray(s, e);
  }
  /** Row `i` of a utf8 column, decoded now (nothing is decoded until asked). */
  string(i) {
    return decoder.decode(this.slice(i));
  }
  /** 64-bit integer row `i` as a number if |v| <= 2^53-1, else undefined (see `int64Number`). */
  number64(i) {
    return int64Number(this.words, i, this.type === 'uint64');
  }
  /** The column in the form the host takes back (unchanged buffers, no copy). */
  toWit() {
    const c = { values: this.bytes };
    if (this.validity !== null) c.validity = this.validity;
    if (this.rawOffsets !== null) c.offsets = this.rawOffsets;
    return c;
  }
}

const TWO32 = 4294967296;

/**
 * Row `i` of a 64-bit integer column given as 32-bit words, as an exact number, or
 * undefined when it is outside ±(2^53-1) (then read the BigInt from `values`).
 */
export function int64Number(words, i, unsigned = false) {
  const lo = words[2 * i] >>> 0;
  const hi = words[2 * i + 1];
  if (hi >= -0x200000 && hi < 0x200000 && !(unsigned && hi < 0)) {
    const v = hi * TWO32 + lo;
    if (v >= -Number.MAX_SAFE_INTEGER) return v;
  }
  return undefined;
}

/** Store the safe integer `v` (|v| <= 2^53-1) as row `i` of a 64-bit word array. */
export function setInt64Number(words, i, v) {
  const hi = Math.floor(v / TWO32);
  words[2 * i] = v - hi * TWO32;
  words[2 * i + 1] = hi;
}

/** An input batch: `numRows` and one `Column` per schema field. */
export class Batch {
  constructor(schema, numRows, columns) {
    this.schema = schema;
    this.numRows = numRows;
    this.columns = columns;
  }
  static fromWit(schema, wit) {
    if (wit.columns.length !== schema.length) {
      throw internalError(`host sent ${wit.columns.length} columns for a schema of ${schema.length}`);
    }
    const n = wit.numRows;
    return new Batch(schema, n, wit.columns.map((c, i) => new Column(schema.fields[i], n, c)));
  }
  /** The column at index `i`, or named `i`. */
  column(i) {
    return typeof i === 'number' ? this.columns[i] : this.columns[this.schema.indexOf(i)];
  }
}

// ---------------------------------------------------------------------------------------
// Building columns.

class Growable {
  constructor(capacity) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.len = 0;
  }
  reserve(extra) {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  finish() {
    return this.buf.slice(0, this.len);
  }
}

const encoder = new TextEncoder();

/**
 * Builds one output column of a given type, row by row: `append(value)` / `appendNull()`,
 * then `finish()` gives the column for an output batch. Values: numbers (or BigInt for the
 * 64-bit types), booleans, strings (utf8), Uint8Array (binary, decimal128's 16 bytes).
 */
export class ColumnBuilder {
  constructor(type, capacity = 1024) {
    this.dataType = dataType(type);
    this.type = typeTag(type);
    this.length = 0;
    this.nulls = 0;
    this.validity = new Growable((capacity + 7) >> 3);
    this.varWidth = isVarWidth(this.type);
    this.large = isLargeVar(this.type);
    const width = WIDTH[this.type] ?? 0;
    this.width = width;
    this.values = new Growable(this.varWidth ? capacity * 8 : Math.max(1, width) * capacity);
    if (this.varWidth) {
      this.offsets = new Growable((capacity + 1) * (this.large ? 8 : 4));
      this._pushOffset(0);
    }
    this._scratch = new DataView(new ArrayBuffer(8));
  }
  _pushOffset(o) {
    const g = this.offsets;
    const w = this.large ? 8 : 4;
    g.reserve(w);
    const dv = new DataView(g.buf.buffer);
    if (this.large) dv.setBigInt64(g.len, BigInt(o), true);
    else {
      if (o > 0x7fffffff) throw internalError('utf8/binary column exceeds 2 GiB; use large-utf8');
      dv.setInt32(g.len, o, true);
    }
    g.len += w;
  }
  _setValid(valid) {
    const i = this.length;
    if ((i & 7) === 0) {
      this.validity.reserve(1);
      this.validity.buf[this.validity.len++] = 0;
    }
    if (valid) this.validity.buf[i >> 3] |= 1 << (i & 7);
    else this.nulls++;
  }
  /** Append a value (null or undefined appends a null). */
  append(v) {
    if (v === null || v === undefined) return this.appendNull();
    this._setValid(true);
    this._put(v);
    this.length++;
    return this;
  }
  /** Append a null row. */
  appendNull() {
    this._setValid(false);
    if (this.varWidth) this._pushOffset(this.values.len);
    else if (this.type === 'boolean') this._putBool(false);
    else if (this.type !== 'null') {
      this.values.reserve(this.width);
      this.values.buf.fill(0, this.values.len, this.values.len + this.width);
      this.values.len += this.width;
    }
    this.length++;
    return this;
  }
  _putBool(b) {
    const i = this.length;
    if ((i & 7) === 0) {
      this.values.reserve(1);
      this.values.buf[this.values.len++] = 0;
    }
    if (b) this.values.buf[i >> 3] |= 1 << (i & 7);
  }
  _put(v) {
    const t = this.type;
    const g = this.values;
    if (this.varWidth) {
      const bytes = typeof v === 'string' ? encoder.encode(v) : v;
      g.reserve(bytes.length);
      g.buf.set(bytes, g.len);
      g.len += bytes.length;
      this._pushOffset(g.len);
      return;
    }
    if (t === 'boolean') return this._putBool(!!v);
    if (t === 'null') return;
    g.reserve(this.width);
    if (t === 'decimal128') {
      g.buf.set(v.subarray(0, 16), g.len);
      g.len += 16;
      return;
    }
    const dv = this._scratch;
    switch (t) {
      case 'int8': dv.setInt8(0, v); break;
      case 'uint8': dv.setUint8(0, v); break;
      case 'int16': dv.setInt16(0, v, true); break;
      case 'uint16': dv.setUint16(0, v, true); break;
      case 'int32': case 'date32': dv.setInt32(0, v, true); break;
      case 'uint32': dv.setUint32(0, v, true); break;
      case 'float32': dv.setFloat32(0, v, true); break;
      case 'float64': dv.setFloat64(0, v, true); break;
      case 'uint64': dv.setBigUint64(0, BigInt(v), true); break;
      default: dv.setBigInt64(0, BigInt(v), true); // int64, date64, timestamp
    }
    for (let k = 0; k < this.width; k++) g.buf[g.len + k] = dv.getUint8(k);
    g.len += this.width;
  }
  /** The finished column (validity omitted when there are no nulls). */
  finish() {
    const c = { values: this.values.finish() };
    if (this.nulls > 0 || this.type === 'null') c.validity = this.validity.finish();
    if (this.varWidth) c.offsets = this.offsets.finish();
    return c;
  }
}

/**
 * A fixed-width output column from a typed array of its values (no per-row work) and an
 * optional validity bitmap (Uint8Array, LSB first, 1 = valid; null = all valid).
 */
export function columnFromArray(typed, validity = null) {
  const c = { values: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
  if (validity) c.validity = validity;
  return c;
}

/** A new zero-filled typed array for `rows` values of a fixed-width type. */
export function allocValues(type, rows) {
  const Ctor = ARRAY_OF[typeTag(type)];
  if (!Ctor) throw new TypeError(`allocValues: ${typeName(type)} is not a fixed-width number type`);
  return new Ctor(rows);
}

/**
 * The rows of `column` where `mask[i]` is truthy (a Uint8Array of 0/1 per row, or an array),
 * as an output column of the same type. `count` is the number of kept rows.
 */
export function selectRows(column, mask, count) {
  const n = column.length;
  const t = column.type;
  let validity = null;
  if (column.validity !== null) {
    validity = new Uint8Array((count + 7) >> 3);
    let j = 0;
    let nulls = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      if ((column.validity[i >> 3] >> (i & 7)) & 1) validity[j >> 3] |= 1 << (j & 7);
      else nulls++;
      j++;
    }
    if (nulls === 0) validity = null;
  } else if (t === 'null') {
    validity = new Uint8Array((count + 7) >> 3);
  }
  const out = {};
  if (t === 'null') out.values = new Uint8Array(0);
  else if (t === 'boolean') {
    const v = new Uint8Array((count + 7) >> 3);
    let j = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      if ((column.bytes[i >> 3] >> (i & 7)) & 1) v[j >> 3] |= 1 << (j & 7);
      j++;
    }
    out.values = v;
  } else if (isVarWidth(t)) {
    const large = isLargeVar(t);
    const src = column.bytes;
    let total = 0;
    for (let i = 0; i < n; i++) if (mask[i]) { const [s, e] = column.range(i); total += e - s; }
    const values = new Uint8Array(total);
    const offsets = large ? new BigInt64Array(count + 1) : new Int32Array(count + 1);
    let j = 0;
    let pos = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const [s, e] = column.range(i);
      values.set(src.subarray(s, e), pos);
      pos += e - s;
      j++;
      offsets[j] = large ? BigInt(pos) : pos;
    }
    out.values = values;
    out.offsets = new Uint8Array(offsets.buffer);
  } else {
    const w = WIDTH[t];
    if (w === 8 || w === 4) {
      // Copy whole elements through 32-bit words: no BigInt, no per-byte loop.
      const words = w / 4;
      const src = view(Int32Array, column.bytes);
      const dst = new Int32Array(count * words);
      let j = 0;
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        for (let k = 0; k < words; k++) dst[j + k] = src[i * words + k];
        j += words;
      }
      out.values = new Uint8Array(dst.buffer);
    } else {
      const src = column.bytes;
      const dst = new Uint8Array(count * w);
      let j = 0;
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        for (let k = 0; k < w; k++) dst[j + k] = src[i * w + k];
        j += w;
      }
      out.values = dst;
    }
  }
  if (validity !== null) out.validity = validity;
  return out;
}

/** The rows of every column of `batch` where `mask[i]` is truthy, as an output batch. */
export function filterBatch(batch, mask) {
  let count = 0;
  for (let i = 0; i < batch.numRows; i++) if (mask[i]) count++;
  if (count === batch.numRows) return { numRows: count, columns: batch.columns.map((c) => c.toWit()) };
  return { numRows: count, columns: batch.columns.map((c) => selectRows(c, mask, count)) };
}

// ---------------------------------------------------------------------------------------
// Config.

/**
 * Parse a JSON document. Like JSON.parse, except that integers outside ±(2^53-1) become
 * BigInt (exact) instead of rounded numbers. Throws a config error at '' when invalid.
 */
export function parseJson(text) {
  let i = 0;
  const fail = (what) => {
    throw configError('', `${what} at character ${i} of the config`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = {};
      ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        ws();
        if (text[i++] !== ':') fail('expected `:`');
        o[k] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return o; }
        fail('expected `,` or `}`');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return a; }
        fail('expected `,` or `]`');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected input');
    i += m[0].length;
    const n = Number(m[0]);
    if (m[2] === undefined && m[3] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  };
  const str = () => {
    const start = i;
    i++;
    for (; i < text.length; i++) {
      if (text[i] === '\\') { i++; continue; }
      if (text[i] === '"') break;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

function kindOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'sequence';
  if (typeof v === 'bigint' || typeof v === 'number') return `${typeof v === 'number' && !Number.isInteger(v) ? 'floating point' : 'integer'} \`${v}\``;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  return 'map';
}

/** Path of `key` inside `path` (`columns[0]` + `scale` = `columns[0].scale`). */
export function keyPath(path, key) {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Check that `obj` (the value at `path`) is an object with only the `allowed` keys and all
 * the `required` ones. Errors read like the Rust SDK's (serde's) messages.
 */
export function checkObject(obj, path, allowed, required = []) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw configError(path, `invalid type: ${kindOf(obj)}, expected a map`);
  }
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      const list = allowed.map((a) => `\`${a}\``).join(', ');
      throw configError(path, `unknown field \`${k}\`, expected ${allowed.length === 1 ? list : `one of ${list}`}`);
    }
  }
  for (const k of required) {
    if (!(k in obj)) throw configError(path, `missing field \`${k}\``);
  }
  return obj;
}

/** `obj[key]` as a string; `def` when absent (or null, if `def` is given). */
export function getString(obj, path, key, def) {
  const v = obj[key];
  if (v === undefined || (v === null && def !== undefined)) return def;
  if (typeof v !== 'string') throw configError(keyPath(path, key), `invalid type: ${kindOf(v)}, expected a string`);
  return v;
}

/** `obj[key]` as a number (BigInt integers are rounded to numbers); `def` when absent. */
export function getNumber(obj, path, key, def) {
  const v = obj[key];
  if (v === undefined || (v === null && def === null)) return def;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw configError(keyPath(path, key), `invalid type: ${kindOf(v)}, expected f64`);
  return v;
}

/** `obj[key]` as an array; `def` when absent. */
export function getArray(obj, path, key, def) {
  const v = obj[key];
  if (v === undefined) return def;
  if (!Array.isArray(v)) throw configError(keyPath(path, key), `invalid type: ${kindOf(v)}, expected a sequence`);
  return v;
}

/** `obj[key]` as one of `choices`; `def` when absent. */
export function getEnum(obj, path, key, choices, def) {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !choices.includes(v)) {
    const list = choices.map((a) => `\`${a}\``).join(', ');
    const what = typeof v === 'string' ? `unknown variant \`${v}\`` : `invalid type: ${kindOf(v)}`;
    throw configError(keyPath(path, key), `${what}, expected one of ${list}`);
  }
  return v;
}

/** A JSON value written back as JSON text (BigInt digits included), for messages. */
export function jsonText(v) {
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------
// Transforms and the plugin export.

/**
 * Base class of a transform. Subclass it: the constructor gets `(config, input)` (the parsed
 * config document and the input `Schema`) and throws `configError(...)` when they do not fit.
 */
export class Transform {
  constructor(config, input) {
    this.config = config;
    this.input = input;
  }
  /** The schema of every batch `process` returns (default: the input schema). */
  outputSchema() {
    return this.input;
  }
  /** Transform one `Batch` into an array of output batches ({ numRows, columns }). */
  process(batch) {
    return [batch];
  }
  /** End of stream: return whatever the transform still holds. */
  finish() {
    return [];
  }
}

function isBytes(v) {
  return ArrayBuffer.isView(v) && v.BYTES_PER_ELEMENT === 1 && !(v instanceof DataView);
}

function batchToWit(b, output) {
  const columns = b.columns.map((c) => (c instanceof Column ? c.toWit() : c instanceof ColumnBuilder ? c.finish() : c));
  if (columns.length !== output.length) {
    throw internalError(`process returned a batch of ${columns.length} columns; the output schema has ${output.length}`);
  }
  const numRows = b.numRows;
  if (!Number.isInteger(numRows) || numRows < 0 || numRows > 0xffffffff) {
    throw internalError(`a batch has an invalid row count ${numRows}`);
  }
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    // Not `instanceof`: the bindings lift lists in another realm, so check the shape.
    if (!isBytes(c.values) || (c.validity != null && !isBytes(c.validity))
        || (c.offsets != null && !isBytes(c.offsets))) {
      throw internalError(`output column \`${output.fields[i].name}\`: values, validity and offsets must be Uint8Array`);
    }
  }
  return { numRows, columns };
}

/**
 * The `transform` export of a plugin. In your plugin.js:
 *   export const transform = definePlugin({ name, version, description, configSchema }, MyTransform);
 * `configSchema` is a JSON Schema, as an object or as JSON text.
 */
export function definePlugin(meta, TransformClass) {
  const metadata = {
    name: meta.name,
    version: meta.version,
    description: meta.description ?? '',
    configSchema: typeof meta.configSchema === 'string' ? meta.configSchema
      : JSON.stringify(meta.configSchema ?? { type: 'object' }),
  };

  class Transformer {
    constructor(inner, input, output) {
      this.inner = inner;
      this.inputSchema = input;
      this.output = output;
      this.outputWit = output.toWit();
    }
    static create(configText, inputWit) {
      try {
        const config = parseJson(configText.trim() === '' ? '{}' : configText);
        const input = Schema.fromWit(inputWit);
        const inner = new TransformClass(config, input);
        let output = inner.outputSchema();
        if (!(output instanceof Schema)) output = new Schema(output.fields, output.metadata ?? []);
        return new Transformer(inner, input, output);
      } catch (e) {
        throw new QuiverError(toWitError(e));
      }
    }
    outputSchema() {
      return this.outputWit;
    }
    process(batchWit) {
      try {
        const batch = Batch.fromWit(this.inputSchema, batchWit);
        return (this.inner.process(batch) ?? []).map((b) => batchToWit(b, this.output));
      } catch (e) {
        throw new QuiverError(toWitError(e));
      }
    }
    finish() {
      try {
        return (this.inner.finish() ?? []).map((b) => batchToWit(b, this.output));
      } catch (e) {
        throw new QuiverError(toWitError(e));
      }
    }
  }

  return {
    metadata() {
      return metadata;
    },
    Transformer,
  };
}
