// `map` (C port): clip(value * scale + offset, min, max) on numeric columns.
//
// Same config and errors as plugins/map (Rust). Float columns compute in their own precision.
// Integer columns stay integers and the arithmetic is exact, in 128 bits (__int128); a result
// that does not fit the column's type is a data error naming the column and row. Nulls stay
// null. With `output` the result is appended as a new column; every entry reads its column as
// it arrived.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "quiver_config_schema.h"

typedef __int128 i128;
#define I128_MAX ((i128)(((unsigned __int128)1 << 127) - 1))
#define I128_MIN (-I128_MAX - 1)

typedef struct {
  int input;
  bool append;
  bool is_float;
  double fscale, foffset, fmin, fmax;
  i128 scale, offset, min, max;
  char *name;
} step;

typedef struct {
  size_t nsteps;
  step *steps;
} map;

static bool integral(const char *key, double v, i128 *out, qv_error *err) {
  if (v != trunc(v) || !isfinite(v) || fabs(v) > 9.0e18) {
    char b[64];
    return qv_error_config(err, key, "%s must be an integer for an integer column", qv_fmt_f64(v, b, sizeof b));
  }
  *out = (i128)v;
  return true;
}

static void destroy(void *state) {
  map *m = state;
  for (size_t i = 0; i < m->nsteps; i++) free(m->steps[i].name);
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
    const qv_field *f = &input->fields.ptr[index];
    if (e[i].has_min && e[i].has_max && e[i].min > e[i].max) {
      char a[64], b[64];
      ok = qv_error_config(err, KEY("min"), "min %s is greater than max %s", qv_fmt_f64(e[i].min, a, sizeof a),
                           qv_fmt_f64(e[i].max, b, sizeof b));
      break;
    }
    if (qv_type_is_float(&f->data_type)) {
      s->is_float = true;
      s->fscale = e[i].scale;
      s->foffset = e[i].offset;
      s->fmin = e[i].has_min ? e[i].min : -INFINITY;
      s->fmax = e[i].has_max ? e[i].max : INFINITY;
    } else if (qv_type_is_signed_int(&f->data_type) || qv_type_is_unsigned_int(&f->data_type)) {
      s->min = I128_MIN;
      s->max = I128_MAX;
      if (!integral(KEY("scale"), e[i].scale, &s->scale, err) || !integral(KEY("offset"), e[i].offset, &s->offset, err) ||
          (e[i].has_min && !integral(KEY("min"), e[i].min, &s->min, err)) ||
          (e[i].has_max && !integral(KEY("max"), e[i].max, &s->max, err))) {
        ok = false;
        break;
      }
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
      qv_schema_add(output, e[i].output, &f->data_type, f->nullable);
      s->append = true;
    }
    s->input = index;
    s->name = strdup(e[i].column);
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

static void fmt_i128(i128 v, char *buf) {
  char tmp[48];
  int n = 0;
  unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  int j = 0;
  if (v < 0) buf[j++] = '-';
  while (n) buf[j++] = tmp[--n];
  buf[j] = 0;
}

static i128 sat_mul(i128 a, i128 b) {
  i128 r;
  if (__builtin_mul_overflow(a, b, &r)) return ((a < 0) != (b < 0)) ? I128_MIN : I128_MAX;
  return r;
}
static i128 sat_add(i128 a, i128 b) {
  i128 r;
  if (__builtin_add_overflow(a, b, &r)) return b < 0 ? I128_MIN : I128_MAX;
  return r;
}

static bool overflow(const step *s, const qv_data_type *t, size_t row, i128 x, i128 y, qv_error *err) {
  char xs[48], ss[48], os[48], ys[48], tn[32];
  fmt_i128(x, xs);
  fmt_i128(s->scale, ss);
  fmt_i128(s->offset, os);
  fmt_i128(y, ys);
  return qv_error_data(err, s->name, (int64_t)row, "%s * %s + %s = %s does not fit in %s", xs, ss, os, ys,
                       qv_type_name(t, tn, sizeof tn));
}

// One integer type: computed in i128 (64-bit products when they cannot overflow), clipped,
// narrowed with a range check. Null rows are skipped (their slot stays 0).
#define INT_KERNEL(NAME, T, LO, HI)                                                              \
  static bool NAME(const step *s, const qv_column *c, uint8_t *outp, qv_error *err) {            \
    const T *v = (const T *)(const void *)c->values;                                             \
    T *o = (T *)(void *)outp;                                                                    \
    for (size_t i = 0; i < c->rows; i++) {                                                       \
      if (c->validity && !qv_bit(c->validity, i)) { o[i] = 0; continue; }                        \
      i128 x = (i128)v[i];                                                                       \
      i128 y = sat_add(sat_mul(x, s->scale), s->offset);                                         \
      if (y < s->min) y = s->min;                                                                \
      if (y > s->max) y = s->max;                                                                \
      if (y < (i128)(LO) || y > (i128)(HI)) return overflow(s, &c->field->data_type, i, x, y, err); \
      o[i] = (T)y;                                                                               \
    }                                                                                            \
    return true;                                                                                 \
  }
INT_KERNEL(k_i8, int8_t, INT8_MIN, INT8_MAX)
INT_KERNEL(k_i16, int16_t, INT16_MIN, INT16_MAX)
INT_KERNEL(k_i32, int32_t, INT32_MIN, INT32_MAX)
INT_KERNEL(k_i64, int64_t, INT64_MIN, INT64_MAX)
INT_KERNEL(k_u8, uint8_t, 0, UINT8_MAX)
INT_KERNEL(k_u16, uint16_t, 0, UINT16_MAX)
INT_KERNEL(k_u32, uint32_t, 0, UINT32_MAX)
INT_KERNEL(k_u64, uint64_t, 0, UINT64_MAX)

static bool apply(const step *s, const qv_column *c, uint8_t *out, qv_error *err) {
  size_t n = c->rows;
  if (s->is_float) {
    if (c->field->data_type.tag == QV_FLOAT64) {
      const double *v = qv_f64(c);
      double *o = (double *)(void *)out;
      double sc = s->fscale, of = s->foffset, lo = s->fmin, hi = s->fmax;
      for (size_t i = 0; i < n; i++) {
        double y = v[i] * sc + of;
        o[i] = y < lo ? lo : y > hi ? hi : y;
      }
    } else {
      const float *v = qv_f32(c);
      float *o = (float *)(void *)out;
      float sc = (float)s->fscale, of = (float)s->foffset, lo = (float)s->fmin, hi = (float)s->fmax;
      for (size_t i = 0; i < n; i++) {
        float y = v[i] * sc + of;
        o[i] = y < lo ? lo : y > hi ? hi : y;
      }
    }
    return true;
  }
  switch (c->field->data_type.tag) {
    case QV_INT8: return k_i8(s, c, out, err);
    case QV_INT16: return k_i16(s, c, out, err);
    case QV_INT32: return k_i32(s, c, out, err);
    case QV_INT64: return k_i64(s, c, out, err);
    case QV_UINT8: return k_u8(s, c, out, err);
    case QV_UINT16: return k_u16(s, c, out, err);
    case QV_UINT32: return k_u32(s, c, out, err);
    default: return k_u64(s, c, out, err);
  }
}

static bool process(void *state, qv_batch *in, qv_batches *out, qv_error *err) {
  map *m = state;
  size_t ncols = in->num_columns;
  for (size_t i = 0; i < m->nsteps; i++) ncols += m->steps[i].append;
  // Compute every result first (from the columns as they arrived), then assemble the batch.
  uint8_t **results = calloc(m->nsteps ? m->nsteps : 1, sizeof *results);
  if (!results) abort();
  for (size_t k = 0; k < m->nsteps; k++) {
    const qv_column *c = &in->columns[m->steps[k].input];
    size_t bytes = c->rows * qv_type_width(&c->field->data_type);
    results[k] = malloc(bytes ? bytes : 1);
    if (!results[k]) abort();
    if (!apply(&m->steps[k], c, results[k], err)) {
      for (size_t j = 0; j <= k; j++) free(results[j]);
      free(results);
      return false;
    }
  }
  quiver_transform_types_batch_t *b = qv_batches_push(out, (uint32_t)in->rows, ncols);
  bool *replaced = calloc(in->num_columns ? in->num_columns : 1, 1);
  if (!replaced) abort();
  for (size_t k = 0; k < m->nsteps; k++)
    if (!m->steps[k].append) replaced[m->steps[k].input] = true;
  // Untouched input columns move to the output without a copy.
  for (size_t c = 0; c < in->num_columns; c++)
    if (!replaced[c]) qv_column_move(in, c, &b->columns.ptr[c]);
  size_t next = in->num_columns;
  for (size_t k = 0; k < m->nsteps; k++) {
    const step *s = &m->steps[k];
    const qv_column *c = &in->columns[s->input];
    qv_column_wit *dst = &b->columns.ptr[s->append ? next++ : (size_t)s->input];
    quiver_transform_types_column_free(dst);  // a column replaced twice: the last step wins
    memset(dst, 0, sizeof *dst);
    if (c->validity) {  // each output owns its own copy of the validity bitmap
      size_t vb = (c->rows + 7) / 8;
      uint8_t *v = malloc(vb ? vb : 1);
      if (!v) abort();
      memcpy(v, c->validity, vb);
      dst->validity.is_some = true;
      qv_list_take(&dst->validity.val, v, vb);
    }
    qv_list_take(&dst->values, results[k], c->rows * qv_type_width(&c->field->data_type));
  }
  free(replaced);
  free(results);
  return true;
}

QUIVER_PLUGIN("map", "0.1.0",
              "Arithmetic on numeric columns: clip(value * scale + offset, min, max), exact for integers. C port "
              "of the Rust map plugin.",
              QUIVER_CONFIG_SCHEMA, create, process, NULL, destroy)
