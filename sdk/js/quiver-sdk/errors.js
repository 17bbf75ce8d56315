// Errors: what create/process/finish throw, and how a kernel's error gets its column.
//
// Thrown errors become the WIT `error` variant (`config`, `data`, `internal`). A kernel's
// error comes back from the host as that same variant; `hostError` adds the column the
// expression started from, so a message never leaves the reader guessing which column failed.

/** An error of the transform; `payload` is the WIT `error` variant value. */
export class QuiverError extends Error {
  constructor(payload, text) {
    super(text ?? describe(payload));
    this.name = 'QuiverError';
    this.payload = payload;
  }
}

function describe(p) {
  if (p.tag === 'config') return `config \`${p.val.key}\`: ${p.val.message}`;
  if (p.tag === 'data') return `data (column ${p.val.column ?? '?'}, row ${p.val.row ?? '?'}): ${p.val.message}`;
  return `internal: ${p.val}`;
}

/** The config is wrong at `key` (a path such as `columns[2].scale`; '' for the document). */
export function configError(key, message) {
  return new QuiverError({ tag: 'config', val: { key, message } });
}

/** The input data is wrong, in `column` at `row` (both optional: null when unknown). */
export function dataError(message, column = null, row = null) {
  const val = { message };
  if (column != null) val.column = column;
  if (row != null) val.row = BigInt(row);
  return new QuiverError({ tag: 'data', val });
}

/** The plugin itself failed (a bug, or an unexpected state). */
export function internalError(message) {
  return new QuiverError({ tag: 'internal', val: message });
}

const TAGS = new Set(['config', 'data', 'internal']);

/** The WIT `error` variant inside whatever a host call threw, or undefined. */
function witPayload(e) {
  const p = e !== null && typeof e === 'object' && 'payload' in e ? e.payload : e;
  return p !== null && typeof p === 'object' && TAGS.has(p.tag) ? p : undefined;
}

/**
 * The error a failed kernel call on `column` (a name, or null) becomes: a data error gets the
 * column when the host did not name one; any other error says the column and the kernel.
 */
export function hostError(e, column, kernel) {
  if (e instanceof QuiverError) return e;
  const p = witPayload(e);
  const where = column != null ? `column \`${column}\`: ` : '';
  if (p === undefined) return internalError(`${where}${kernel}: ${e instanceof Error ? e.message : String(e)}`);
  if (p.tag === 'data') {
    const val = { ...p.val };
    if (val.column == null && column != null) val.column = column;
    return new QuiverError({ tag: 'data', val });
  }
  if (p.tag === 'config') return new QuiverError({ tag: 'config', val: { key: p.val.key, message: `${where}${p.val.message}` } });
  return internalError(`${where}${p.val}`);
}

/** The WIT `error` variant of anything thrown by the plugin's code. */
export function toWitError(e) {
  if (e instanceof QuiverError) return e.payload;
  const p = witPayload(e);
  if (p !== undefined) return p;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { tag: 'internal', val: text };
}
