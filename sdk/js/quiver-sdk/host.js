// The only module that imports the WIT interfaces of `quiver:transform@0.2.0` (bindings in
// one module). It installs the kernels for `Col` and converts the 64-bit integers the
// bindings take (BigInt) at this one border.

import { log as hostLog, counterAdd as hostCounterAdd } from 'quiver:transform/host@0.2.0';
import { fromData } from 'quiver:transform/columns@0.2.0';
import * as compute from 'quiver:transform/compute@0.2.0';
import { useKernels } from './kernels.js';

/** A 64-bit integer in the form the bindings take. */
export const u64 = (n) => BigInt(n);
const opt64 = (n) => (n === null || n === undefined ? undefined : u64(n));

useKernels({
  ...compute,
  batchColumn: (batch, i) => batch.column(i),
  batchColumns: (batch) => batch.columns(),
  fromData: (type, data) => fromData(type, data),
  dataType: (h) => h.dataType(),
  len: (h) => h.len(),
  nullCount: (h) => h.nullCount(),
  read: (h) => h.read(),
  slice: (h, offset, len) => compute.slice(h, u64(offset), u64(len)),
  substring: (h, start, len) => compute.substring(h, u64(start), opt64(len)),
});

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Emit a structured log record. `fields` is an object or an array of [key, value] pairs. */
export function log(level, message, fields = {}) {
  if (!LEVELS.includes(level)) throw new TypeError(`log level must be one of ${LEVELS.join(', ')}`);
  const pairs = Array.isArray(fields)
    ? fields.map(([k, v]) => [String(k), String(v)])
    : Object.entries(fields).map(([k, v]) => [k, String(v)]);
  hostLog(level, String(message), pairs);
}

/** Add `delta` (a non-negative integer) to the counter `name` (run report and metrics). */
export function counterAdd(name, delta) {
  hostCounterAdd(String(name), u64(delta));
}
