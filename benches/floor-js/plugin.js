// The floor of a JavaScript plugin's call: a plugin that returns its batch unchanged.
//
// `benches/calls.rs` times it beside the `map` ports (what a StarlingMonkey `process` call
// costs before the plugin does anything) and `benches/ports.sh` runs it over the ports' data
// (the least any JavaScript stage can be busy in a run). ports.sh builds it (with js in LANGS).
import { Transform, definePlugin } from './quiver-sdk.js';

class Floor extends Transform {
  outputSchema() {
    return this.input;
  }

  process(batch) {
    return batch;
  }
}

export const transform = definePlugin(
  { name: 'floor', version: '0.1.0', description: 'Returns its input unchanged (benchmark floor).', configSchema: '{}' },
  Floor,
);
