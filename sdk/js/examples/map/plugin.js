// `map` (JavaScript port): clip(value * scale + offset, min, max) on numeric columns.
//
// Same config and errors as plugins/map (Rust). The arithmetic runs in the host: the chain
// `col.mul(scale).add(offset).clip(min, max)` is one `affine` kernel call per column, so no
// column enters the plugin and the untouched ones go back by reference. Float columns
// compute in their own precision; integer columns stay integers, exactly, and a result that
// does not fit the column's type is a data error naming the column and row. With `output` the
// result is appended as a new column.

import {
  Transform, definePlugin, configError, checkObject, getString, getNumber, getArray, keyPath,
  typeName, isInteger, isFloat,
} from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

const KEYS = ['column', 'scale', 'offset', 'min', 'max', 'output'];

/** The Rust plugin's `integral`: an integer-valued f64 within ±9e18, as BigInt. */
function integral(key, v) {
  if (!Number.isFinite(v) || Math.trunc(v) !== v || Math.abs(v) > 9.0e18) {
    throw configError(key, `${v} must be an integer for an integer column`);
  }
  return BigInt(v);
}

class MapTransform extends Transform {
  constructor(config, input) {
    super(config, input);
    // Shape first, for every entry (like serde, which parses the whole document first).
    checkObject(config, '', ['columns'], ['columns']);
    const entries = getArray(config, '', 'columns').map((c, i) => {
      const path = keyPath('columns', i);
      checkObject(c, path, KEYS, ['column']);
      return {
        column: getString(c, path, 'column'),
        scale: getNumber(c, path, 'scale', 1),
        offset: getNumber(c, path, 'offset', 0),
        min: getNumber(c, path, 'min', null),
        max: getNumber(c, path, 'max', null),
        output: getString(c, path, 'output', null),
      };
    });
    let schema = input;
    this.steps = entries.map((c, i) => {
      const key = (k) => `columns[${i}].${k}`;
      const f = input.field(c.column);
      if (f === undefined) throw configError(key('column'), `no column \`${c.column}\` in the input`);
      if (c.min !== null && c.max !== null && c.min > c.max) {
        throw configError(key('min'), `min ${c.min} is greater than max ${c.max}`);
      }
      let step;
      if (isFloat(f.dataType)) {
        step = { scale: c.scale, offset: c.offset, min: c.min, max: c.max };
      } else if (isInteger(f.dataType)) {
        step = {
          scale: integral(key('scale'), c.scale),
          offset: integral(key('offset'), c.offset),
          min: c.min === null ? null : integral(key('min'), c.min),
          max: c.max === null ? null : integral(key('max'), c.max),
        };
      } else {
        throw configError(
          key('column'),
          `column \`${c.column}\` has type ${typeName(f.dataType)}; map works on integer and float columns`,
        );
      }
      if (c.output !== null) {
        if (schema.indexOf(c.output) >= 0) throw configError(key('output'), `a column \`${c.output}\` already exists`);
        schema = schema.withColumn(c.output, f.nodes, f.nullable);
      }
      return { ...step, column: c.column, output: c.output ?? c.column };
    });
    this.schema = schema;
  }

  outputSchema() {
    return this.schema;
  }

  process(batch) {
    // Every step reads its column as it arrived; appended outputs follow in config order.
    let out = batch;
    for (const s of this.steps) {
      out = out.withColumn(s.output, batch.col(s.column).mul(s.scale).add(s.offset).clip(s.min, s.max));
    }
    return out;
  }
}

export const transform = definePlugin(
  {
    name: 'map',
    version: '0.1.0',
    description:
      'Arithmetic on numeric columns: clip(value * scale + offset, min, max), exact for integers. JavaScript port of the Rust map plugin.',
    configSchema,
  },
  MapTransform,
);
