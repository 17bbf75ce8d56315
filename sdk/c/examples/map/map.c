// `map` (C port): clip(value * scale + offset, min, max) on numeric columns.
//
// Same config and errors as plugins/map (Rust). The arithmetic runs in the host: one
// `quiver_col_affine` call per column, so no column enters the plugin and every column it does
// not change goes back by reference. Float columns compute in their own precision; integer
// columns stay integers, exactly, and a result that does not fit the column's type is a data
// error naming the column and row. Nulls stay null. With `output` the result is appended as a
// new column; every entry reads its column as it arrived.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "quiver_config_schema.h"

typedef struct {
  size_t input;
  bool append;
  qv_scalar scale, offset, min, max;
  bool has_min, has_max;
} step;

typedef struct {
  size_t nsteps;
  step *steps;
} map;

static bool integral(const char *key, double v, int64_t *out, qv_error *err) {
  if (v != trunc(v) || !isfinite(v) || fabs(v) > 9.0e18) {
    char b[64];
    return qv_error_config(err, key, "%s must be an integer for an integer column", qv_fmt_f64(v, b, sizeof b));
  }
  *out = (int64_t)v;
  return true;
}

static void destroy(void *state) {
  map *m = state;
  free(m->steps);
  free(m);
}

static bool create(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output, qv_error *err) {
  static const char *const top[] = {"columns"};
  static const char *const keys[] = {"column", "scale", "offset", "min", "max", "output"};
  static const char *const required[] = {"column"};
  if (!qv_cfg_object(config, "", top, 1, top, 1, err)) return false;
  const qv_json *columns = qv_json_get(config, "columns");
  if (columns->kind != QV_JSON_ARRAY) return qv_error_config(err, "columns", "invalid type: expected a sequence");
  size_t n = columns->len;
  typedef struct {
    const char *column, *output;
    double scale, offset, min, max;
    bool has_min, has_max;
  } entry;
  entry *e = calloc(n ? n : 1, sizeof *e);
  if (!e) abort();
  char path[64], key[96];
  // Shape first, for every entry (like serde, which parses the whole document first).
  for (size_t i = 0; i < n; i++) {
    const qv_json *c = &columns->items[i];
    snprintf(path, sizeof path, "columns[%zu]", i);
    if (!qv_cfg_object(c, path, keys, 6, required, 1, err) ||
        !qv_cfg_string(c, path, "column", NULL, false, &e[i].column, err) ||
        !qv_cfg_number(c, path, "scale", 1.0, false, &e[i].scale, NULL, err) ||
        !qv_cfg_number(c, path, "offset", 0.0, false, &e[i].offset, NULL, err) ||
        !qv_cfg_number(c, path, "min", 0.0, true, &e[i].min, &e[i].has_min, err) ||
        !qv_cfg_number(c, path, "max", 0.0, true, &e[i].max, &e[i].has_max, err) ||
        !qv_cfg_string(c, path, "output", NULL, true, &e[i].output, err)) {
      free(e);
      return false;
    }
  }
  map *m = calloc(1, sizeof *m);
  if (!m) abort();
  m->steps = calloc(n ? n : 1, sizeof *m->steps);
  if (!m->steps) abort();
  qv_schema_copy_from(output, input);
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    step *s = &m->steps[i];
#define KEY(k) (snprintf(key, sizeof key, "columns[%zu].%s", i, k), key)
    int index = qv_schema_index(input, e[i].column);
    if (index < 0) {
      ok = qv_error_config(err, KEY("column"), "no column `%s` in the input", e[i].column);
      break;
    }
    const qv_field *f = qv_schema_field(input, (size_t)index);
    if (e[i].has_min && e[i].has_max && e[i].min > e[i].max) {
      char a[64], b[64];
      ok = qv_error_config(err, KEY("min"), "min %s is greater than max %s", qv_fmt_f64(e[i].min, a, sizeof a),
                           qv_fmt_f64(e[i].max, b, sizeof b));
      break;
    }
    s->has_min = e[i].has_min;
    s->has_max = e[i].has_max;
    if (qv_type_is_float(&f->data_type)) {
      s->scale = qv_f64(e[i].scale);
      s->offset = qv_f64(e[i].offset);
      s->min = qv_f64(e[i].min);
      s->max = qv_f64(e[i].max);
    } else if (qv_type_is_signed_int(&f->data_type) || qv_type_is_unsigned_int(&f->data_type)) {
      int64_t sc, of, lo = 0, hi = 0;
      if (!integral(KEY("scale"), e[i].scale, &sc, err) || !integral(KEY("offset"), e[i].offset, &of, err) ||
          (e[i].has_min && !integral(KEY("min"), e[i].min, &lo, err)) ||
          (e[i].has_max && !integral(KEY("max"), e[i].max, &hi, err))) {
        ok = false;
        break;
      }
      s->scale = qv_i64(sc);
      s->offset = qv_i64(of);
      s->min = qv_i64(lo);
      s->max = qv_i64(hi);
    } else {
      char tn[96];
      ok = qv_error_config(err, KEY("column"), "column `%s` has type %s; map works on integer and float columns",
                           e[i].column, qv_type_name(&f->data_type, tn, sizeof tn));
      break;
    }
    if (e[i].output) {
      if (qv_schema_index(&output->schema, e[i].output) >= 0) {
        ok = qv_error_config(err, KEY("output"), "a column `%s` already exists", e[i].output);
        break;
      }
      qv_schema_add_like(output, e[i].output, input, (size_t)index);
      s->append = true;
    }
    s->input = (size_t)index;
    m->nsteps = i + 1;
#undef KEY
  }
  free(e);
  if (!ok) {
    destroy(m);
    return false;
  }
  *state = m;
  return true;
}

static bool process(void *state, qv_batch *in, qv_outputs *out, qv_error *err) {
  map *m = state;
  // Every column by reference; each step replaces its column or appends its result.
  qv_output *o = qv_outputs_push_input(out, in);
  for (size_t i = 0; i < m->nsteps; i++) {
    step *s = &m->steps[i];
    quiver_col c, r;
    if (!quiver_batch_col(in, s->input, &c, err)) return false;
    bool ok = quiver_col_affine(&r, &c, s->scale, s->offset, s->has_min ? &s->min : NULL, s->has_max ? &s->max : NULL, err);
    quiver_col_drop(&c);
    if (!ok) return false;
    if (s->append) qv_out_push_col(o, &r);
    else qv_out_set_col(o, s->input, &r);
  }
  return true;
}

QUIVER_PLUGIN("map", "0.1.0",
              "Arithmetic on numeric columns: clip(value * scale + offset, min, max), exact for integers. C port "
              "of the Rust map plugin.",
              QUIVER_CONFIG_SCHEMA, create, process, NULL, destroy)
