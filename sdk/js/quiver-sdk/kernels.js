// Where the host's `compute` and `columns` functions come from.
//
// `host.js` (the only module that imports the WIT interfaces) installs them when the plugin
// loads; the unit tests install a fake. Everything else calls `kernels()`, so the chaining
// API is plain JavaScript that node can test without a component around it.

let installed = null;

// Column handles are host resources the plugin owns until it drops them. StarlingMonkey
// would drop one only when a garbage collection finalizes its JS object, which a plugin
// that allocates little never gets to: a JavaScript filter kept every handle of every call
// and the host refused it after 16,383 batches (65,536 handles alive). So every handle a
// kernel returns is recorded, and `releaseHandles` drops them at the end of each call.
const DISPOSE = Symbol.dispose || Symbol.for('dispose');
let live = [];

function track(result) {
  if (Array.isArray(result)) {
    // `filterMany`, `batchColumns`: a list of handles.
    for (const r of result) track(r);
  } else if (result !== null && typeof result === 'object' && typeof result[DISPOSE] === 'function') {
    live.push(result);
  }
  return result;
}

/** Install the kernel functions (the WIT `compute` interface plus `fromData`). */
export function useKernels(k) {
  installed = Object.fromEntries(Object.entries(k).map(([name, f]) => [name, (...args) => track(f(...args))]));
  live = [];
}

/**
 * Drop every column handle the kernels returned since the last release, except those in
 * `keep` (handed to the host in the output, which takes them over). Called by `plugin.js`
 * when `process` or `finish` returns or throws: a column handle lives for one call, so a
 * transform keeps values (`toArray()`), not `Col`s, from one batch to the next.
 */
export function releaseHandles(keep = new Set()) {
  const held = live;
  live = [];
  for (const h of held) {
    if (!keep.has(h)) h[DISPOSE]();
  }
}

/** Column handles alive (returned by kernels and not yet released). */
export function liveHandles() {
  return live.length;
}

/** The installed kernel functions. */
export function kernels() {
  if (installed === null) throw new Error('no compute kernels installed (not running inside a Quiver host?)');
  return installed;
}
