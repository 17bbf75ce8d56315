// {{name}}: a Quiver transform in C. Build: sdk/c/build.sh <this dir> {{name}}.wasm
//
// This template passes every batch through unchanged (moving the buffers, no copy) and counts
// rows; replace `process`.
#include <stdlib.h>

#include "quiver.h"
#include "quiver_config_schema.h"

static bool create(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output,
                   qv_error *err) {
  if (!qv_cfg_object(config, "", NULL, 0, NULL, 0, err)) return false;  // no config keys: `{}`
  qv_schema_copy_from(output, input);
  *state = NULL;
  return true;
}

static bool process(void *state, qv_batch *in, qv_batches *out, qv_error *err) {
  qv_counter_add("rows-seen", in->rows);
  quiver_transform_types_batch_t *b = qv_batches_push(out, (uint32_t)in->rows, in->num_columns);
  for (size_t c = 0; c < in->num_columns; c++) qv_column_move(in, c, &b->columns.ptr[c]);
  return true;
}

QUIVER_PLUGIN("{{name}}", "0.1.0", "{{name}}: a Quiver plugin written in C.", QUIVER_CONFIG_SCHEMA, create, process,
              NULL, NULL)
