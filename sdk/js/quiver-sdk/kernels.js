// Where the host's `compute` and `columns` functions come from.
//
// `host.js` (the only module that imports the WIT interfaces) installs them when the plugin
// loads; the unit tests install a fake. Everything else calls `kernels()`, so the chaining
// API is plain JavaScript that node can test without a component around it.

let installed = null;

/** Install the kernel functions (the WIT `compute` interface plus `fromData`). */
export function useKernels(k) {
  installed = k;
}

/** The installed kernel functions. */
export function kernels() {
  if (installed === null) throw new Error('no compute kernels installed (not running inside a Quiver host?)');
  return installed;
}
