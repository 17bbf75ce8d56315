// {{name}}: a Quiver transform in JavaScript. Build: quiver plugin build <this dir>
//
// The host's Arrow kernels do the work on column handles: `batch.col("x").mul(2).add(1)`,
// `.gt(0)`, `.str.lower()`, `.fillNull(0)`… run in the host, and only what you read with
// `.values()` / `.toArray()` enters the plugin. This template upper-cases the text column
// named in the config (nulls stay null) and counts rows; every other column goes back as it
// came, by reference.
import { Transform, definePlugin, counterAdd, checkObject, getString, configError, isString } from './quiver-sdk.js';
import configSchema from './quiver-config-schema.js';

class Plugin extends Transform {
  constructor(config, input) {
    super(config, input);
    checkObject(config, '', ['column']);
    this.column = getString(config, '', 'column', null);
    if (this.column !== null) {
      const f = input.field(this.column);
      if (f === undefined) throw configError('column', `no column \`${this.column}\` in the input`);
      if (!isString(f.dataType)) throw configError('column', `column \`${this.column}\` is not text`);
    }
  }

  outputSchema() {
    return this.input; // same columns, same types
  }

  process(batch) {
    counterAdd('rows-seen', batch.numRows);
    if (this.column === null) return batch;
    return batch.withColumn(this.column, batch.col(this.column).str.upper());
  }
}

export const transform = definePlugin(
  { name: '{{name}}', version: '0.1.0', description: '{{name}}: a Quiver plugin written in JavaScript.', configSchema },
  Plugin,
);
