// {{name}}: a Quiver transform in JavaScript. Build: sdk/js/build.sh <this dir> {{name}}.wasm
//
// This template passes every batch through unchanged and counts rows; replace `process`.
import { Transform, definePlugin, counterAdd, checkObject } from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

class Plugin extends Transform {
  constructor(config, input) {
    super(config, input);
    checkObject(config, '', []); // this plugin takes no config keys: `{}`
  }

  outputSchema() {
    return this.input;
  }

  process(batch) {
    counterAdd('rows-seen', batch.numRows);
    return [{ numRows: batch.numRows, columns: batch.columns }];
  }

  finish() {
    return [];
  }
}

export const transform = definePlugin(
  { name: '{{name}}', version: '0.1.0', description: '{{name}}: a Quiver plugin written in JavaScript.', configSchema },
  Plugin,
);
