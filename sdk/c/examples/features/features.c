// `features` (C port, part): `standardise`, `min_max`, `log1p`, `length` and `date_parts` of
// plugins/features (Rust), with the same config, outputs and errors.
//
// `standardise`, an unclipped `min_max`, `length` and `date_parts` run in the host's kernels
// (cast, arith, str_unary, date_part): neither their input nor their result enters the plugin.
// A clipped `min_max` and `log1p` read their column as float64 values, as the Rust plugin does
// (so `-0.0` survives the clip and log1p is libm's, the same as Rust's `ln_1p`) and send the
// new column. `bucketise` and `one_hot` are not ported: a config error at `op` says so.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "quiver_config_schema.h"

enum op { STANDARDISE, MIN_MAX, LOG1P, BUCKETISE, ONE_HOT, DATE_PARTS, LENGTH };
static const char *const OPS[] = {"standardise", "min_max", "log1p", "bucketise", "one_hot", "date_parts", "length"};
static const char *const KEYS[] = {"column", "op", "output", "mean", "std", "min", "max", "clip", "boundaries", "categories", "parts"};
static const char *const SUFFIX[] = {"z", "scaled", "log1p", "bucket", "", "", "length"};
static const char *const PARTS[] = {"year", "month", "day", "day_of_week", "hour"};
static const qv_part PART_KERNEL[] = {QV_PART_YEAR, QV_PART_MONTH, QV_PART_DAY, QV_PART_DAY_OF_WEEK, QV_PART_HOUR};

// The optional keys each op takes (the Rust plugin's `OpName::keys`).
static bool takes(enum op op, const char *key) {
  static const char *const keys[][4] = {
      {"mean", "std", "output"}, {"min", "max", "clip", "output"}, {"output"}, {"boundaries", "output"},
      {"categories"},            {"parts"},                        {"output"},
  };
  for (int k = 0; k < 4 && keys[op][k]; k++)
    if (strcmp(keys[op][k], key) == 0) return true;
  return false;
}

typedef struct {
  enum op op;
  size_t input;
  double shift, scale;  // standardise and min_max: (x - shift) / scale
  bool clip, is_float64, is_large;
  size_t nparts;
  int parts[5];
} feature;

typedef struct {
  size_t n;
  feature *f;
} features;

static void destroy(void *state) {
  features *s = state;
  free(s->f);
  free(s);
}

// A required finite number (serde's `Option<f64>` then the Rust plugin's `number`).
static bool number(const qv_json *c, size_t i, const char *k, const char *what, double *out, qv_error *err) {
  char key[96];
  snprintf(key, sizeof key, "features[%zu].%s", i, k);
  const qv_json *v = qv_json_get(c, k);
  if (!v || v->kind == QV_JSON_NULL) return qv_error_config(err, key, "needs %s", what);
  *out = v->number;
  if (!isfinite(*out)) return qv_error_config(err, key, "%g is not a finite number", *out);
  return true;
}

static bool create(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output, qv_error *err) {
  static const char *const top[] = {"features"};
  static const char *const required[] = {"column", "op"};
  if (!qv_cfg_object(config, "", top, 1, top, 1, err)) return false;
  const qv_json *list = qv_json_get(config, "features");
  if (list->kind != QV_JSON_ARRAY) return qv_error_config(err, "features", "invalid type: expected a sequence");
  char path[64], key[96], a[64], b[64];
  // Shape first, for every entry (serde reads the whole document before any check).
  for (size_t i = 0; i < list->len; i++) {
    const qv_json *c = &list->items[i];
    const char *s;
    double d;
    snprintf(path, sizeof path, "features[%zu]", i);
    if (!qv_cfg_object(c, path, KEYS, 11, required, 2, err) || !qv_cfg_string(c, path, "column", NULL, false, &s, err) ||
        !qv_cfg_enum(c, path, "op", OPS, 7, NULL, &s, err) || !qv_cfg_string(c, path, "output", NULL, true, &s, err) ||
        !qv_cfg_number(c, path, "mean", 0, true, &d, NULL, err) || !qv_cfg_number(c, path, "std", 0, true, &d, NULL, err) ||
        !qv_cfg_number(c, path, "min", 0, true, &d, NULL, err) || !qv_cfg_number(c, path, "max", 0, true, &d, NULL, err))
      return false;
    const qv_json *parts = qv_json_get(c, "parts");
    if (parts && parts->kind == QV_JSON_ARRAY) {
      for (size_t j = 0; j < parts->len; j++) {
        snprintf(key, sizeof key, "features[%zu].parts[%zu]", i, j);
        const qv_json *p = &parts->items[j];
        bool known = false;
        for (int k = 0; k < 5; k++) known |= p->kind == QV_JSON_STRING && strcmp(p->string, PARTS[k]) == 0;
        if (!known)
          return qv_error_config(err, key, "unknown variant `%s`, expected one of `year`, `month`, `day`, `day_of_week`, `hour`",
                                 p->kind == QV_JSON_STRING ? p->string : "?");
      }
    }
  }
  if (list->len == 0) return qv_error_config(err, "features", "no feature; list at least one");
  features *s = calloc(1, sizeof *s);
  if (!s) abort();
  s->f = calloc(list->len, sizeof *s->f);
  if (!s->f) abort();
  qv_schema_copy_from(output, input);
  bool ok = true;
  for (size_t i = 0; i < list->len && ok; i++) {
    const qv_json *c = &list->items[i];
    feature *f = &s->f[i];
#define KEY(k) (snprintf(key, sizeof key, "features[%zu].%s", i, k), key)
    const char *name = qv_json_get(c, "column")->string;
    const char *op = qv_json_get(c, "op")->string;
    for (int k = 0; k < 7; k++)
      if (strcmp(op, OPS[k]) == 0) f->op = (enum op)k;
    int index = qv_schema_index(input, name);
    if (index < 0) {
      ok = qv_error_config(err, KEY("column"), "no column `%s` in the input", name);
      break;
    }
    f->input = (size_t)index;
    for (int k = 2; k < 11 && ok; k++) {
      const qv_json *v = qv_json_get(c, KEYS[k]);
      if (v && v->kind != QV_JSON_NULL && !takes(f->op, KEYS[k]))
        ok = qv_error_config(err, KEY(KEYS[k]), "`%s` does not apply to op %s; remove it", KEYS[k], op);
    }
    if (!ok) break;
    const qv_type *t = &qv_schema_field(input, f->input)->data_type;
    char tn[96];
    qv_type_name(t, tn, sizeof tn);
    bool numeric = qv_type_is_signed_int(t) || qv_type_is_unsigned_int(t) || qv_type_is_float(t);
    f->is_float64 = t->tag == QV_FLOAT64;
    f->is_large = t->tag == QV_LARGE_UTF8;
    if (f->op <= BUCKETISE && !numeric) {
      ok = qv_error_config(err, KEY("column"), "column `%s` has type %s; op %s needs a number column", name, tn, op);
      break;
    }
    const qv_json *out_name = qv_json_get(c, "output");
    if (out_name && out_name->kind == QV_JSON_NULL) out_name = NULL;
    double lo, hi;
    switch (f->op) {
      case STANDARDISE:
        if (!number(c, i, "mean", "the mean (computed offline)", &f->shift, err) ||
            !number(c, i, "std", "the standard deviation (computed offline)", &f->scale, err)) {
          ok = false;
          break;
        }
        if (f->scale <= 0) ok = qv_error_config(err, KEY("std"), "%s is not a positive deviation", qv_fmt_f64(f->scale, a, sizeof a));
        break;
      case MIN_MAX:
        if (!number(c, i, "min", "the minimum (computed offline)", &lo, err) ||
            !number(c, i, "max", "the maximum (computed offline)", &hi, err)) {
          ok = false;
          break;
        }
        if (hi <= lo) {
          ok = qv_error_config(err, KEY("max"), "max %s is not above min %s", qv_fmt_f64(hi, a, sizeof a), qv_fmt_f64(lo, b, sizeof b));
          break;
        }
        f->shift = lo;
        f->scale = hi - lo;
        {
          const qv_json *clip = qv_json_get(c, "clip");
          if (clip && clip->kind == QV_JSON_BOOL) f->clip = clip->boolean;
          else if (clip && clip->kind != QV_JSON_NULL) ok = qv_error_config(err, KEY("clip"), "invalid type: expected a boolean");
        }
        break;
      case LOG1P:
        break;
      case LENGTH:
        if (!qv_type_is_string(t)) ok = qv_error_config(err, KEY("column"), "column `%s` has type %s; op length needs a text column", name, tn);
        break;
      case DATE_PARTS: {
        bool is_date = t->tag == QV_DATE32 || t->tag == QV_DATE64;
        if (!is_date && t->tag != QV_TIMESTAMP) {
          ok = qv_error_config(err, KEY("column"), "column `%s` has type %s; op date_parts needs a date or timestamp column", name, tn);
          break;
        }
        const qv_json *parts = qv_json_get(c, "parts");
        if (!parts || parts->kind != QV_JSON_ARRAY || parts->len == 0) {
          ok = qv_error_config(err, KEY("parts"), "needs a non-empty list of parts (year, month, day, day_of_week, hour)");
          break;
        }
        for (size_t j = 0; j < parts->len && ok && j < 5; j++) {
          int p = 0;
          for (int k = 0; k < 5; k++)
            if (strcmp(parts->items[j].string, PARTS[k]) == 0) p = k;
          snprintf(key, sizeof key, "features[%zu].parts[%zu]", i, j);
          for (size_t k = 0; k < j; k++)
            if (f->parts[k] == p) ok = qv_error_config(err, key, "part %s is listed twice", PARTS[p]);
          if (ok && is_date && p == 4) ok = qv_error_config(err, key, "column `%s` is a date: it has no hour", name);
          f->parts[f->nparts++] = p;
        }
        if (ok && parts->len > 5) ok = qv_error_config(err, KEY("parts"), "a part is listed twice");
        break;
      }
      default:
        ok = qv_error_config(err, KEY("op"), "op %s is not in the C port; use the Rust features plugin", op);
    }
    if (!ok) break;
    // The new columns, checked not to clash with any column before them.
    size_t nout = f->op == DATE_PARTS ? f->nparts : 1;
    for (size_t j = 0; j < nout && ok; j++) {
      char out[256];
      qv_type ty = qv_type_of(f->op == LENGTH || f->op == DATE_PARTS ? QV_INT32 : QV_FLOAT64);
      if (f->op == DATE_PARTS) snprintf(out, sizeof out, "%s_%s", name, PARTS[f->parts[j]]);
      else if (out_name) snprintf(out, sizeof out, "%s", out_name->string);
      else snprintf(out, sizeof out, "%s_%s", name, SUFFIX[f->op]);
      if (out[0] == 0 || qv_schema_index(&output->schema, out) >= 0) {
        ok = qv_error_config(err, KEY(out_name ? "output" : "column"), "the output column `%s` is empty or already exists; %s", out,
                             takes(f->op, "output") ? "set another `output` name" : "rename the clashing column first (shape)");
        break;
      }
      qv_schema_add(output, out, &ty, true);
    }
    s->n = i + 1;
#undef KEY
  }
  if (!ok) {
    destroy(s);
    return false;
  }
  *state = s;
  return true;
}

// The input column as float64 (a handle; a cast when it is not float64 already).
static bool as_float64(const feature *f, quiver_col *x, quiver_col *out, qv_error *err) {
  if (f->is_float64) {
    *out = *x;
    x->live = false;
    return true;
  }
  qv_type t = qv_type_of(QV_FLOAT64);
  bool ok = quiver_col_cast(out, x, &t, false, err);
  quiver_col_drop(x);
  return ok;
}

// log1p or a clipped min_max in the plugin: read float64 values, send the new column.
static bool in_plugin(const feature *f, quiver_col *x, qv_output *o, qv_error *err) {
  qv_column_data data;
  if (!quiver_col_read(x, &data, err)) return false;
  quiver_transform_types_node_t *n = &data.ptr[0];
  size_t rows = (size_t)n->len;
  const double *v = (const double *)(const void *)n->values.ptr;
  const uint8_t *valid = n->validity.is_some ? n->validity.val.ptr : NULL;
  double *y = calloc(rows ? rows : 1, sizeof *y);
  if (!y) abort();
  for (size_t i = 0; i < rows; i++) {
    if (valid && !((valid[i >> 3] >> (i & 7)) & 1)) continue;
    if (f->op == LOG1P) {
      if (v[i] <= -1.0) {
        char b[64];
        qv_error_data(err, x->name, (int64_t)i, "log1p needs values above -1, got %s; filter or shift the column first",
                      qv_fmt_f64(v[i], b, sizeof b));
        free(y);
        quiver_transform_types_column_data_free(&data);
        return false;
      }
      y[i] = log1p(v[i]);
    } else {
      double z = (v[i] - f->shift) / f->scale;
      y[i] = z < 0.0 ? 0.0 : z > 1.0 ? 1.0 : z;  // as Rust's clamp: -0.0 and NaN stay
    }
  }
  // The new column: the new values with the input's validity (the node is borrowed by the call).
  free(n->values.ptr);
  n->values.ptr = (uint8_t *)y;
  n->values.len = rows * sizeof *y;
  qv_type t = qv_type_of(QV_FLOAT64);
  quiver_col r;
  bool ok = quiver_col_from_data(&r, &t, &data, x->name, err);
  quiver_transform_types_column_data_free(&data);
  if (ok) qv_out_push_col(o, &r);
  return ok;
}

static bool process(void *state, qv_batch *in, qv_outputs *out, qv_error *err) {
  features *s = state;
  qv_output *o = qv_outputs_push_input(out, in);  // input columns by reference; features appended
  for (size_t i = 0; i < s->n; i++) {
    const feature *f = &s->f[i];
    quiver_col x, y, z;
    if (!quiver_batch_col(in, f->input, &x, err)) return false;
    bool ok = true;
    if (f->op == STANDARDISE || (f->op == MIN_MAX && !f->clip)) {
      // (x - shift) / scale, as the Rust plugin computes it: two kernels, unchecked.
      ok = as_float64(f, &x, &y, err) && quiver_col_arith(&z, QV_SUBTRACT, &y, qv_opd_scalar(qv_f64(f->shift)), false, err);
      quiver_col_drop(&y);
      if (ok) {
        ok = quiver_col_arith(&y, QV_DIVIDE, &z, qv_opd_scalar(qv_f64(f->scale)), false, err);
        quiver_col_drop(&z);
        if (ok) qv_out_push_col(o, &y);
      }
    } else if (f->op == MIN_MAX || f->op == LOG1P) {
      ok = as_float64(f, &x, &y, err) && in_plugin(f, &y, o, err);
      quiver_col_drop(&y);
    } else if (f->op == LENGTH) {
      ok = quiver_col_str_unary(&y, QV_STR_LENGTH, &x, err);
      if (ok && f->is_large) {  // LargeUtf8 lengths are Int64; the feature is Int32
        qv_type t = qv_type_of(QV_INT32);
        ok = quiver_col_cast(&z, &y, &t, false, err);
        quiver_col_drop(&y);
        y = z;
      }
      if (ok) qv_out_push_col(o, &y);
    } else {
      for (size_t j = 0; j < f->nparts && ok; j++) {
        ok = quiver_col_date_part(&y, PART_KERNEL[f->parts[j]], &x, NULL, err);
        if (ok) qv_out_push_col(o, &y);
      }
    }
    quiver_col_drop(&x);
    if (!ok) return false;
  }
  return true;
}

QUIVER_PLUGIN("features", "0.1.0",
              "Feature engineering with parameters from the config (standardise, min_max, log1p, length, date_parts). C "
              "port of part of the Rust features plugin.",
              QUIVER_CONFIG_SCHEMA, create, process, NULL, destroy)
