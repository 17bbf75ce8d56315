// Config documents: a JSON reader that keeps big integers exact, and checks that name the
// key at fault with the Rust SDK's (serde's) wording, so a port's errors match the golden
// cases of the Rust plugin it ports.

import { configError } from './errors.js';

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

