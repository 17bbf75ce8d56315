// {{name}}: a Quiver transform in C. Build: quiver plugin build <this dir>
//
// The host's Arrow kernels do the work on column handles (`quiver_col_affine`,
// `quiver_col_compare`, `quiver_col_str_unary`, … in quiver.h): no column enters the plugin
// unless it reads one with `quiver_col_read`. This template upper-cases the text column named
// in the config (nulls stay null) and counts rows; every other column goes back as it came,
// by reference.
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "quiver_config_schema.h"

typedef struct {
  int column;  // the column to upper-case, or -1
} plugin;

static void destroy(void *state) { free(state); }

static bool create(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output,
                   qv_error *err) {
  static const char *const keys[] = {"column"};
  const char *name;
  if (!qv_cfg_object(config, "", keys, 1, NULL, 0, err)) return false;
  if (!qv_cfg_string(config, "", "column", NULL, true, &name, err)) return false;
  plugin *p = calloc(1, sizeof *p);
  if (!p) abort();
  p->column = -1;
  if (name) {
    p->column = qv_schema_index(input, name);
    if (p->column < 0) {
      free(p);
      return qv_error_config(err, "column", "no column `%s` in the input", name);
    }
    if (!qv_type_is_string(&qv_schema_field(input, (size_t)p->column)->data_type)) {
      free(p);
      return qv_error_config(err, "column", "column `%s` is not text", name);
    }
  }
  qv_schema_copy_from(output, input);  // same columns, same types
  *state = p;
  return true;
}

static bool process(void *state, qv_batch *in, qv_outputs *out, qv_error *err) {
  plugin *p = state;
  qv_counter_add("rows-seen", in->rows);
  qv_output *o = qv_outputs_push_input(out, in);  // every column by reference
  if (p->column < 0) return true;
  quiver_col text, upper;
  if (!quiver_batch_col(in, (size_t)p->column, &text, err)) return false;
  bool ok = quiver_col_str_unary(&upper, QV_STR_TO_UPPER, &text, err);
  quiver_col_drop(&text);
  if (ok) qv_out_set_col(o, (size_t)p->column, &upper);
  return ok;
}

QUIVER_PLUGIN("{{name}}", "0.1.0", "{{name}}: a Quiver plugin written in C.", QUIVER_CONFIG_SCHEMA, create, process,
              NULL, destroy)
