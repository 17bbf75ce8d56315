// The Quiver JavaScript SDK on contract 0.2: the modules, one import.
//
//   types.js   Schema, field, Type, type predicates (pure)
//   scalar.js  JS values ↔ kernel scalars (pure)
//   buffers.js column buffers ↔ typed arrays (pure)
//   config.js  the config reader and checks (pure)
//   errors.js  configError / dataError / internalError, kernel errors naming the column (pure)
//   column.js  Col: chaining over host columns (kernels installed by host.js)
//   frame.js   Frame: the batch in, the output back
//   host.js    the WIT imports (the only module that knows them), log, counterAdd
//   plugin.js  Transform, definePlugin

export { QuiverError, configError, dataError, internalError } from './errors.js';
export { Schema, Type, field, typeTag, typeName, isInteger, isSignedInt, isUnsignedInt, isFloat, isNumeric, isString } from './types.js';
export { Scalar } from './scalar.js';
export { bit } from './buffers.js';
export { parseJson, checkObject, getString, getNumber, getArray, getEnum, keyPath, jsonText } from './config.js';
export { Col } from './column.js';
export { Frame } from './frame.js';
export { log, counterAdd } from './host.js';
export { Transform, definePlugin } from './plugin.js';
