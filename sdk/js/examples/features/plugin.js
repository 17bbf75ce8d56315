// `features` (JavaScript port, part): `standardise`, `min_max`, `log1p`, `length` and
// `date_parts` of plugins/features (Rust), with the same config, outputs and errors.
//
// `standardise`, an unclipped `min_max`, `length` and `date_parts` run in the host's kernels
// (`cast`, `arith`, `str-unary`, `date-part`): neither their input nor their result enters
// the plugin. A clipped `min_max` and `log1p` read their column as float64 values — the
// Rust plugin does the same, so that `-0.0` survives the clip and `log1p` is exactly
// `ln_1p`. `bucketise` and `one_hot` are not ported (a config error at `op` says so).

import {
  Transform, definePlugin, configError, dataError, checkObject, getString, getEnum, getArray,
  Col, Scalar, typeName, isNumeric, isString, typeTag, keyPath, jsonText,
} from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

const OPS = ['standardise', 'min_max', 'log1p', 'bucketise', 'one_hot', 'date_parts', 'length'];
const KEYS = ['column', 'op', 'output', 'mean', 'std', 'min', 'max', 'clip', 'boundaries', 'categories', 'parts'];
const OP_KEYS = {
  standardise: ['mean', 'std', 'output'], min_max: ['min', 'max', 'clip', 'output'], log1p: ['output'],
  length: ['output'], bucketise: ['boundaries', 'output'], one_hot: ['categories'], date_parts: ['parts'],
};
const SUFFIX = { standardise: 'z', min_max: 'scaled', log1p: 'log1p', length: 'length' };
const PARTS = { year: 'year', month: 'month', day: 'day', day_of_week: 'dayOfWeek', hour: 'hour' };

/** Rust's `{}` of an f64: integers without a fraction. */
const fmt = (v) => (Number.isInteger(v) ? String(v) : String(v));

/** A config number (serde's `Option<f64>`): present, a number, finite. */
function number(c, i, k, what) {
  const key = `features[${i}].${k}`;
  const v = c[k];
  if (v === undefined || v === null) throw configError(key, `needs ${what}`);
  if (typeof v !== 'number' && typeof v !== 'bigint') throw configError(key, `invalid type: ${jsonText(v)}, expected f64`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw configError(key, `${n} is not a finite number`);
  return n;
}

class Features extends Transform {
  constructor(config, input) {
    super(config, input);
    checkObject(config, '', ['features'], ['features']);
    const list = getArray(config, '', 'features');
    list.forEach((c, i) => {
      const path = keyPath('features', i);
      checkObject(c, path, KEYS, ['column', 'op']);
      getString(c, path, 'column');
      getEnum(c, path, 'op', OPS);
    });
    if (list.length === 0) throw configError('features', 'no feature; list at least one');
    let schema = input;
    this.features = list.map((c, i) => {
      const key = (k) => `features[${i}].${k}`;
      const name = c.column;
      const f = input.field(name);
      if (f === undefined) throw configError(key('column'), `no column \`${name}\` in the input`);
      for (const k of KEYS.slice(2)) {
        if (c[k] !== undefined && c[k] !== null && !OP_KEYS[c.op].includes(k)) {
          throw configError(key(k), `\`${k}\` does not apply to op ${c.op}; remove it`);
        }
      }
      const t = f.dataType;
      const wrongType = (wants) => configError(key('column'), `column \`${name}\` has type ${typeName(t)}; op ${c.op} needs ${wants}`);
      const feature = { op: c.op, name, outputs: [] };
      const single = (type) => [[c.output ?? `${name}_${SUFFIX[c.op]}`, type]];
      let fields;
      if (['standardise', 'min_max', 'log1p'].includes(c.op) && !isNumeric(t)) throw wrongType('a number column');
      if (c.op === 'standardise') {
        feature.shift = number(c, i, 'mean', 'the mean (computed offline)');
        feature.scale = number(c, i, 'std', 'the standard deviation (computed offline)');
        if (feature.scale <= 0) throw configError(key('std'), `${fmt(feature.scale)} is not a positive deviation`);
        fields = single('float64');
      } else if (c.op === 'min_max') {
        const min = number(c, i, 'min', 'the minimum (computed offline)');
        const max = number(c, i, 'max', 'the maximum (computed offline)');
        if (max <= min) throw configError(key('max'), `max ${fmt(max)} is not above min ${fmt(min)}`);
        feature.shift = min;
        feature.scale = max - min;
        feature.clip = c.clip ?? false;
        if (typeof feature.clip !== 'boolean') throw configError(key('clip'), `invalid type: ${jsonText(c.clip)}, expected a boolean`);
        fields = single('float64');
      } else if (c.op === 'log1p') {
        fields = single('float64');
      } else if (c.op === 'length') {
        if (!isString(t)) throw wrongType('a text column');
        fields = single('int32');
      } else if (c.op === 'date_parts') {
        const isDate = ['date32', 'date64'].includes(typeTag(t));
        if (!isDate && typeTag(t) !== 'timestamp') throw wrongType('a date or timestamp column');
        const parts = getArray(c, keyPath('features', i), 'parts', null);
        if (parts === null || parts.length === 0) {
          throw configError(key('parts'), 'needs a non-empty list of parts (year, month, day, day_of_week, hour)');
        }
        parts.forEach((p, j) => {
          const k = `features[${i}].parts[${j}]`;
          if (!(p in PARTS)) throw configError(k, `unknown variant \`${p}\`, expected one of ${Object.keys(PARTS).map((x) => `\`${x}\``).join(', ')}`);
          if (parts.slice(0, j).includes(p)) throw configError(k, `part ${p} is listed twice`);
          if (isDate && p === 'hour') throw configError(k, `column \`${name}\` is a date: it has no hour`);
        });
        feature.parts = parts;
        fields = parts.map((p) => [`${name}_${p}`, 'int32']);
      } else {
        throw configError(key('op'), `op ${c.op} is not in the JavaScript port; use the Rust features plugin`);
      }
      for (const [out, type] of fields) {
        if (out === '' || schema.indexOf(out) >= 0) {
          const k = c.output !== undefined && c.output !== null ? 'output' : 'column';
          const hint = OP_KEYS[c.op].includes('output') ? 'set another `output` name' : 'rename the clashing column first (shape)';
          throw configError(key(k), `the output column \`${out}\` is empty or already exists; ${hint}`);
        }
        schema = schema.withColumn(out, type);
        feature.outputs.push(out);
      }
      feature.float64 = typeTag(t) === 'float64';
      feature.large = typeTag(t) === 'large-utf8';
      return feature;
    });
    this.schema = schema;
  }

  outputSchema() {
    return this.schema;
  }

  process(batch) {
    let out = batch;
    for (const f of this.features) {
      const x = batch.col(f.name);
      const asFloat = () => (f.float64 ? x : x.cast('float64'));
      if (f.op === 'standardise' || (f.op === 'min_max' && !f.clip)) {
        // (x - shift) / scale, as the Rust plugin computes it (two kernels, not reassociated).
        out = out.withColumn(f.outputs[0], asFloat().sub(Scalar.float64(f.shift)).div(Scalar.float64(f.scale)));
      } else if (f.op === 'min_max' || f.op === 'log1p') {
        const c = asFloat();
        const v = c.values();
        const valid = c.validity();
        const y = new Float64Array(v.length);
        for (let i = 0; i < v.length; i++) {
          if (valid !== null && !((valid[i >> 3] >> (i & 7)) & 1)) continue;
          if (f.op === 'log1p') {
            if (v[i] <= -1) throw dataError(`log1p needs values above -1, got ${fmt(v[i])}; filter or shift the column first`, f.name, i);
            y[i] = Math.log1p(v[i]);
          } else {
            const z = (v[i] - f.shift) / f.scale;
            y[i] = z < 0 ? 0 : z > 1 ? 1 : z;
          }
        }
        out = out.withColumn(f.outputs[0], Col.fromTyped(y, 'float64', valid));
      } else if (f.op === 'length') {
        const n = x.str.len();
        out = out.withColumn(f.outputs[0], f.large ? n.cast('int32') : n);
      } else {
        f.parts.forEach((p, j) => {
          out = out.withColumn(f.outputs[j], x.dt[PARTS[p]]());
        });
      }
    }
    return out;
  }
}

export const transform = definePlugin(
  {
    name: 'features',
    version: '0.1.0',
    description: 'Feature engineering with parameters from the config (standardise, min_max, log1p, length, date_parts). JavaScript port of part of the Rust features plugin.',
    configSchema,
  },
  Features,
);
