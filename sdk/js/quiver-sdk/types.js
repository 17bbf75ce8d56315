// Data types and schemas of contract 0.2: a type is a pre-order list of nodes (WIT has no
// recursive types), a schema the nodes of every column in a row.
//
// In the bindings a node's type is `{ tag }` or `{ tag, val }` (`{ tag: 'timestamp', val:
// { unit: 'millisecond', timezone: 'UTC' } }`). This module groups the flat list back into
// columns, names types the way arrow does in messages, and builds the types `cast` takes.

const NAMES = {
  null: 'Null', boolean: 'Boolean', int8: 'Int8', int16: 'Int16', int32: 'Int32', int64: 'Int64',
  uint8: 'UInt8', uint16: 'UInt16', uint32: 'UInt32', uint64: 'UInt64', float16: 'Float16',
  float32: 'Float32', float64: 'Float64', utf8: 'Utf8', 'large-utf8': 'LargeUtf8',
  binary: 'Binary', 'large-binary': 'LargeBinary', date32: 'Date32', date64: 'Date64',
  list: 'List', 'large-list': 'LargeList', struct: 'Struct', map: 'Map',
};
const UNITS = { second: 's', millisecond: 'ms', microsecond: 'µs', nanosecond: 'ns' };
const UNIT_OF = { s: 'second', ms: 'millisecond', us: 'microsecond', ns: 'nanosecond' };

/** The node's tag: 'int64', 'utf8', 'timestamp', ... */
export function typeTag(t) {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t[0].dataType.tag;
  return t.tag;
}

/** Children that follow a node in pre-order. */
export function childCount(node) {
  switch (node.tag) {
    case 'list': case 'large-list': case 'fixed-size-list': case 'map': case 'dictionary': return 1;
    case 'struct': return node.val;
    default: return 0;
  }
}

/** Nodes of the subtree that starts at `fields[start]`. */
function subtreeEnd(fields, start) {
  let need = 1;
  let i = start;
  while (need > 0) {
    if (i >= fields.length) throw new TypeError('a schema ends inside a nested type');
    need += childCount(fields[i].dataType) - 1;
    i++;
  }
  return i;
}

/** Arrow's display name of a type (`Int64`, `Timestamp(ms, "UTC")`), for messages. */
export function typeName(t) {
  const node = typeof t === 'string' ? { tag: t } : Array.isArray(t) ? t[0].dataType : t;
  switch (node.tag) {
    case 'timestamp': {
      const u = UNITS[node.val.unit];
      return node.val.timezone != null ? `Timestamp(${u}, ${JSON.stringify(node.val.timezone)})` : `Timestamp(${u})`;
    }
    case 'decimal32': case 'decimal64': case 'decimal128': case 'decimal256':
      return `Decimal${node.tag.slice(7)}(${node.val.precision}, ${node.val.scale})`;
    case 'time32': case 'time64': return `Time${node.tag.slice(4)}(${UNITS[node.val]})`;
    case 'duration': return `Duration(${UNITS[node.val]})`;
    case 'fixed-size-binary': return `FixedSizeBinary(${node.val})`;
    case 'dictionary': return 'Dictionary';
    default: return NAMES[node.tag] ?? node.tag;
  }
}

const SIGNED = new Set(['int8', 'int16', 'int32', 'int64']);
const UNSIGNED = new Set(['uint8', 'uint16', 'uint32', 'uint64']);
const FLOAT = new Set(['float16', 'float32', 'float64']);
const STRING = new Set(['utf8', 'large-utf8']);
export const isSignedInt = (t) => SIGNED.has(typeTag(t));
export const isUnsignedInt = (t) => UNSIGNED.has(typeTag(t));
export const isInteger = (t) => isSignedInt(t) || isUnsignedInt(t);
export const isFloat = (t) => FLOAT.has(typeTag(t));
export const isNumeric = (t) => isInteger(t) || isFloat(t);
export const isString = (t) => STRING.has(typeTag(t));

/**
 * A type in the form `cast` and `field` take: a pre-order list of nodes. Accepts a tag
 * (`'float64'`), a node (`{ tag: 'timestamp', val: ... }`) or a list of nodes as is.
 */
export function toType(t) {
  if (Array.isArray(t)) return t;
  const node = typeof t === 'string' ? { tag: t } : t;
  if (childCount(node) > 0) throw new TypeError(`${typeName(node)} needs its children: pass the list of nodes`);
  return [{ name: '', dataType: node, nullable: true }];
}

/** Constructors for the types people cast to. `Type.timestamp('ms', 'UTC')`. */
export const Type = {
  boolean: () => toType('boolean'), int8: () => toType('int8'), int16: () => toType('int16'),
  int32: () => toType('int32'), int64: () => toType('int64'), uint8: () => toType('uint8'),
  uint16: () => toType('uint16'), uint32: () => toType('uint32'), uint64: () => toType('uint64'),
  float32: () => toType('float32'), float64: () => toType('float64'), utf8: () => toType('utf8'),
  largeUtf8: () => toType('large-utf8'), binary: () => toType('binary'), date32: () => toType('date32'),
  /** `unit`: 's', 'ms', 'us' or 'ns' (or the WIT names); `timezone`: IANA name, offset or none. */
  timestamp: (unit = 'us', timezone = null) => toType({
    tag: 'timestamp',
    val: timezone == null ? { unit: UNIT_OF[unit] ?? unit } : { unit: UNIT_OF[unit] ?? unit, timezone },
  }),
  decimal128: (precision, scale) => toType({ tag: 'decimal128', val: { precision, scale } }),
};

/** One column: its name, type (the pre-order nodes; the first one named) and nullability. */
export function field(name, type, nullable = true) {
  const nodes = toType(type).map((f) => ({ ...f }));
  nodes[0] = { name, dataType: nodes[0].dataType, nullable };
  return nodes;
}

/**
 * The columns of a stream. `schema.fields[i]` is column i: `{ name, dataType, nullable,
 * nodes }` with `dataType` its top node and `nodes` its whole type.
 */
export class Schema {
  /** `columns`: lists of nodes, as `field` makes them (or `{ nodes }` / Schema fields). */
  constructor(columns = [], metadata = []) {
    this.fields = columns.map((c) => {
      const nodes = Array.isArray(c) ? c : c.nodes;
      return { name: nodes[0].name, dataType: nodes[0].dataType, nullable: nodes[0].nullable, nodes };
    });
    this.metadata = metadata.map(([k, v]) => [k, v]);
  }
  /** The schema the bindings give (`{ fields: [pre-order nodes], metadata }`). */
  static fromWit(s) {
    const columns = [];
    for (let i = 0; i < s.fields.length;) {
      const end = subtreeEnd(s.fields, i);
      columns.push(s.fields.slice(i, end));
      i = end;
    }
    return new Schema(columns, s.metadata ?? []);
  }
  toWit() {
    return { fields: this.fields.flatMap((f) => f.nodes), metadata: this.metadata };
  }
  get length() {
    return this.fields.length;
  }
  get names() {
    return this.fields.map((f) => f.name);
  }
  /** Index of the column `name`, or -1. */
  indexOf(name) {
    return this.fields.findIndex((f) => f.name === name);
  }
  field(i) {
    return typeof i === 'number' ? this.fields[i] : this.fields[this.indexOf(i)];
  }
  #index(name) {
    const i = this.indexOf(name);
    if (i < 0) throw new TypeError(`the schema has no column \`${name}\``);
    return i;
  }
  #nodes() {
    return this.fields.map((f) => f.nodes);
  }
  /** This schema with column `name` of `type` replaced, or appended when it is new. */
  withColumn(name, type, nullable = true) {
    const cols = this.#nodes();
    const i = this.indexOf(name);
    if (i < 0) cols.push(field(name, type, nullable));
    else cols[i] = field(name, type, nullable);
    return new Schema(cols, this.metadata);
  }
  /** Without the columns `names`. */
  drop(...names) {
    names.forEach((n) => this.#index(n));
    return new Schema(this.fields.filter((f) => !names.includes(f.name)).map((f) => f.nodes), this.metadata);
  }
  /** Only the columns `names`, in that order. */
  select(...names) {
    return new Schema(names.map((n) => this.fields[this.#index(n)].nodes), this.metadata);
  }
  /** Columns renamed by `{ old: 'new' }`. */
  rename(mapping) {
    Object.keys(mapping).forEach((n) => this.#index(n));
    return new Schema(this.fields.map((f) => field(mapping[f.name] ?? f.name, f.nodes, f.nullable)), this.metadata);
  }
}
