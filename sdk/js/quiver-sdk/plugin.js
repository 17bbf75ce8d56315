// `definePlugin`: a `Transform` subclass as the `transform` export of a 0.2 plugin.
//
// Lifecycle (the Rust SDK's `Transform` trait):
//   create(config JSON, input schema) -> new YourTransform(config, input)
//   outputSchema()                     -> once, before any data (default: the input schema)
//   process(batch)                     -> a Frame, an array of Frames, or nothing
//   finish()                           -> the same, once at the end (no input columns then)

import { u64 } from './host.js';
import { QuiverError, toWitError } from './errors.js';
import { Schema } from './types.js';
import { Frame } from './frame.js';
import { parseJson } from './config.js';
import { releaseHandles } from './kernels.js';

/**
 * Base class of a transform. The constructor gets `(config, input)` (the parsed config and
 * the input `Schema`) and throws `configError(...)` when they do not fit.
 */
export class Transform {
  constructor(config, input) {
    this.config = config;
    this.input = input;
  }
  /** The schema of every batch `process` returns. */
  outputSchema() {
    return this.input;
  }
  /** One input Frame → the Frame(s) to return. */
  process(batch) {
    return batch;
  }
  /** End of stream: what the transform still holds. */
  finish() {
    return [];
  }
}

/** The column handles `outs` hands to the host (it takes them over: not to be dropped). */
function handedOver(outs) {
  const kept = new Set();
  for (const o of outs) for (const c of o.columns) if (c.tag === 'handle') kept.add(c.val);
  return kept;
}

function outputs(result, names) {
  if (result === null || result === undefined) return [];
  const list = Array.isArray(result) ? result : [result];
  return list.map((f) => {
    if (!(f instanceof Frame)) throw new TypeError('process/finish must return Frames (the batch, or made from it)');
    return f.toOutput(names, u64);
  });
}

/**
 * The `transform` export: `export const transform = definePlugin({ name, version,
 * description, configSchema }, MyTransform);` (`configSchema`: an object or JSON text).
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
      this.input = input;
      this.names = output.names;
      this.outputWit = output.toWit();
    }
    static create(configText, inputWit) {
      try {
        const config = parseJson(configText.trim() === '' ? '{}' : configText);
        const input = Schema.fromWit(inputWit);
        const inner = new TransformClass(config, input);
        const output = inner.outputSchema();
        if (!(output instanceof Schema)) throw new TypeError('outputSchema() must return a Schema');
        return new Transformer(inner, input, output);
      } catch (e) {
        throw new QuiverError(toWitError(e));
      }
    }
    outputSchema() {
      return this.outputWit;
    }
    process(batch) {
      let outs = [];
      try {
        const frame = Frame.input(batch, this.input, Number(batch.numRows()));
        outs = outputs(this.inner.process(frame), this.names);
        return outs;
      } catch (e) {
        outs = [];
        throw new QuiverError(toWitError(e));
      } finally {
        releaseHandles(handedOver(outs));
      }
    }
    finish() {
      let outs = [];
      try {
        outs = outputs(this.inner.finish(), this.names);
        return outs;
      } catch (e) {
        outs = [];
        throw new QuiverError(toWitError(e));
      } finally {
        releaseHandles(handedOver(outs));
      }
    }
  }

  return { metadata: () => metadata, Transformer };
}
