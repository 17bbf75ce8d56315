// `Frame`: the batch a `process` call gets, and the output it returns, pandas-style.
//
// `batch.col(name)` is a `Col` over the host's column (nothing copied); `withColumn`,
// `drop`, `select`, `rename` and `filter` return a new Frame and leave the old one as it
// was. Every column of a Frame has the input's rows: `filter(mask)` does not move any data,
// it records a selection that the output applies to every column in one call of the host's
// `filterMany` kernel (a selection mask returned to the host would never be freed by jco). Untouched
// input columns go back by reference (`out-column.keep`), kernel results by handle,
// plugin-made columns as buffers.

import { Col } from './column.js';
import { internalError } from './errors.js';

export class Frame {
  /**
   * `batch`: the host's batch resource (null in `finish`); `schema`: the input Schema;
   * `entries`: `[name, Col]` pairs; `rows`: rows of every column; `selection`: the boolean
   * Col of the rows kept (a null row is dropped), or null; `selected`: how many rows it keeps.
   */
  constructor(batch, schema, entries, rows, selection = null, selected = rows) {
    this._batch = batch;
    this.schema = schema;
    this._entries = entries;
    this._rows = rows;
    this._selection = selection;
    /** Rows of the output (after the selection). */
    this.numRows = selected;
  }

  /** The input of one `process` call: every column of `schema`, by reference. */
  static input(batch, schema, rows) {
    const entries = schema.fields.map((f, i) => [f.name, new Col({ batch, index: i }, f.name, f.nodes)]);
    return new Frame(batch, schema, entries, rows);
  }

  /** A frame of plugin-made columns (`finish`, or a batch built from scratch): `{ name: Col }`. */
  static of(columns, rows) {
    return new Frame(null, null, Object.entries(columns), rows);
  }

  #with(entries, selection = this._selection, selected = this.numRows) {
    return new Frame(this._batch, this.schema, entries, this._rows, selection, selected);
  }

  /** Column names, in order. */
  get columns() {
    return this._entries.map(([n]) => n);
  }

  /** The column `name` (or at index `name`). Throws naming it when there is none. */
  col(name) {
    const e = typeof name === 'number' ? this._entries[name] : this._entries.find(([n]) => n === name);
    if (e === undefined) {
      throw internalError(`no column \`${name}\` in the batch (it has ${this.columns.map((c) => `\`${c}\``).join(', ')})`);
    }
    return e[1];
  }

  /** Whether a column `name` exists. */
  has(name) {
    return this._entries.some(([n]) => n === name);
  }

  /** This frame with `col` as column `name`: replaced in place, or appended when new. */
  withColumn(name, col) {
    if (!(col instanceof Col)) throw new TypeError(`withColumn(${JSON.stringify(name)}): give a Col (Col.fromValues for JS values)`);
    if (col.name === null) col.name = name; // a plugin-made column: its errors name it
    const i = this._entries.findIndex(([n]) => n === name);
    const entries = this._entries.slice();
    if (i < 0) entries.push([name, col]);
    else entries[i] = [name, col];
    return this.#with(entries);
  }

  /** Without the columns `names`. */
  drop(...names) {
    names.forEach((n) => this.col(n));
    return this.#with(this._entries.filter(([n]) => !names.includes(n)));
  }

  /** Only the columns `names`, in that order. */
  select(...names) {
    return this.#with(names.map((n) => [n, this.col(n)]));
  }

  /** Columns renamed by `{ old: 'new' }`. */
  rename(mapping) {
    Object.keys(mapping).forEach((n) => this.col(n));
    return this.#with(this._entries.map(([n, c]) => [mapping[n] ?? n, c]));
  }

  /**
   * The rows where `mask` (a boolean Col of this frame's rows) is true; null counts as false.
   * Nothing but the mask's bits crosses; a second filter narrows the first. The bits are
   * never looped over in JavaScript (an interpreter inside wasm: ~40 ms per million rows):
   * the host intersects masks (`and`) and counts the rows kept (`aggregate(sum)` of a
   * boolean column). A null is never folded into false here: `sum` counts only the true
   * rows that are not null, `filterMany` drops a null row, and Kleene `and` is true only
   * where both masks are true, so the count and the output agree without the `fill-null`
   * call (a host call and a handle drop less per filter).
   */
  filter(mask) {
    if (!(mask instanceof Col)) throw new TypeError('filter: the mask must be a boolean Col (e.g. batch.col("qty").gt(2))');
    if (mask.type !== 'boolean') {
      throw new TypeError(`filter: the mask${mask.name === null ? '' : ` \`${mask.name}\``} is ${mask.type}, not boolean (e.g. batch.col("qty").gt(2))`);
    }
    const m = this._selection === null ? mask : this._selection.and(mask);
    const selected = m.sum();
    if (selected === this._rows && this._selection === null) return this;
    return this.#with(this._entries, m, selected);
  }

  /**
   * The WIT `output` of this frame. `names`: the declared output schema's column names,
   * which must be this frame's; `u64` converts a row count for the bindings.
   */
  toOutput(names, u64) {
    const have = this.columns;
    if (have.length !== names.length || have.some((n, i) => n !== names[i])) {
      throw internalError(
        `the batch returned has columns [${have.join(', ')}]; the output schema declares [${names.join(', ')}]`,
      );
    }
    const given = new Set();
    const columns = this.#filtered().map((c) => {
      if (c.isInputOf(this._batch)) return { tag: 'keep', val: c.inputIndex };
      const data = c.data;
      if (data !== null) return { tag: 'data', val: data };
      let h = c.handle();
      // A handle goes to the host once: the same column twice is sent as a zero-copy slice.
      if (given.has(h)) h = c._k('slice', h, 0, c.len());
      given.add(h);
      return { tag: 'handle', val: h };
    });
    return { numRows: u64(this.numRows), columns };
  }

  /**
   * The output's columns: with a selection, every column filtered by the host in one
   * `filterMany` call (and the input handles it needs fetched in one `batchColumns` call),
   * rather than sent as a `selection` mask: jco never frees a returned mask's bytes, so a
   * long stream through a filter would run out of memory.
   */
  #filtered() {
    const cols = this._entries.map(([, c]) => c);
    const mask = this._selection;
    if (mask === null) return cols;
    const unfetched = cols.filter((c) => c.isInputOf(this._batch) && c._handle === null);
    if (unfetched.length > 1) {
      const all = mask._k('batchColumns', this._batch);
      for (const c of unfetched) c._handle = all[c.inputIndex];
    }
    const out = mask._k('filterMany', cols.map((c) => c.handle()), mask.handle());
    return cols.map((c, i) => new Col({ handle: out[i] }, c.name));
  }
}
