// `filter` (C port): keeps the rows where a column compares to a value.
//
// Same config and errors as plugins/filter (Rust): {"column", "op", "value", "nulls"}.
// A comparison with a null is neither true nor false: `nulls` says whether such rows are
// dropped (default) or kept. `is_null` / `is_not_null` take no value. The value is converted
// once, at creation, to the column's type; one that does not fit is a config error at `value`.
// Floats compare in IEEE total order (as arrow's kernels do), strings by their UTF-8 bytes.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "quiver_config_schema.h"

enum op { EQ, NE, LT, LE, GT, GE, IS_NULL, IS_NOT_NULL };
static const char *const OPS[] = {"eq", "ne", "lt", "le", "gt", "ge", "is_null", "is_not_null"};

typedef struct {
  int index;
  enum op op;
  bool keep_nulls;
  uint8_t tag;
  // The comparison value in the column's type.
  int64_t i;
  uint64_t u;
  double f;
  bool b;
  uint8_t *s;
  size_t s_len;
} filter;

static bool test(enum op op, int c) {
  switch (op) {
    case EQ: return c == 0;
    case NE: return c != 0;
    case LT: return c < 0;
    case LE: return c <= 0;
    case GT: return c > 0;
    default: return c >= 0;
  }
}

// IEEE total order: -0 < +0, NaN above everything (arrow's float comparison).
static int cmp_total(double a, double b) {
  int64_t x, y;
  memcpy(&x, &a, 8);
  memcpy(&y, &b, 8);
  x ^= (int64_t)((uint64_t)(x >> 63) >> 1);
  y ^= (int64_t)((uint64_t)(y >> 63) >> 1);
  return x < y ? -1 : x > y;
}
static int cmp_total32(float a, float b) {
  int32_t x, y;
  memcpy(&x, &a, 4);
  memcpy(&y, &b, 4);
  x ^= (int32_t)((uint32_t)(x >> 31) >> 1);
  y ^= (int32_t)((uint32_t)(y >> 31) >> 1);
  return x < y ? -1 : x > y;
}

// The value in the column's type, as the Rust plugin's `scalar` does; false + message on misfit.
static bool scalar(filter *f, const qv_data_type *t, const qv_json *v, qv_error *err) {
  char tn[96], vr[160];
  qv_type_name(t, tn, sizeof tn);
  qv_json_repr(v, vr, sizeof vr);
  bool is_int = v->kind == QV_JSON_NUMBER && v->is_integer;
  int64_t lo = 0, hi = 0;
  switch (t->tag) {
    case QV_INT8: lo = INT8_MIN; hi = INT8_MAX; goto signed_int;
    case QV_INT16: lo = INT16_MIN; hi = INT16_MAX; goto signed_int;
    case QV_INT32: case QV_DATE32: lo = INT32_MIN; hi = INT32_MAX; goto signed_int;
    case QV_INT64: case QV_DATE64: lo = INT64_MIN; hi = INT64_MAX;
    signed_int:
      if (!is_int || !v->fits_i64) return qv_error_config(err, "value", "%s is not an integer", vr);
      if (v->i64 < lo || v->i64 > hi) return qv_error_config(err, "value", "%s does not fit in %s", v->text, tn);
      f->i = v->i64;
      return true;
    case QV_UINT8: case QV_UINT16: case QV_UINT32: case QV_UINT64: {
      uint64_t max = t->tag == QV_UINT8 ? UINT8_MAX : t->tag == QV_UINT16 ? UINT16_MAX : t->tag == QV_UINT32 ? UINT32_MAX : UINT64_MAX;
      if (!is_int || !v->fits_u64) return qv_error_config(err, "value", "%s is not a non-negative integer", vr);
      if (v->u64 > max) return qv_error_config(err, "value", "%s does not fit in %s", v->text, tn);
      f->u = v->u64;
      return true;
    }
    case QV_TIMESTAMP:
      if (!is_int || !v->fits_i64) return qv_error_config(err, "value", "%s is not an integer timestamp", vr);
      f->i = v->i64;
      return true;
    case QV_FLOAT32: case QV_FLOAT64:
      if (v->kind == QV_JSON_NUMBER) {
        f->f = t->tag == QV_FLOAT32 ? (double)(float)v->number : v->number;
        return true;
      }
      break;
    case QV_UTF8: case QV_LARGE_UTF8:
      if (v->kind == QV_JSON_STRING) {
        f->s_len = strlen(v->string);
        f->s = malloc(f->s_len + 1);
        if (!f->s) abort();
        memcpy(f->s, v->string, f->s_len + 1);
        return true;
      }
      break;
    case QV_BOOLEAN:
      if (v->kind == QV_JSON_BOOL) {
        f->b = v->boolean;
        return true;
      }
      break;
    default:
      break;
  }
  return qv_error_config(err, "value", "cannot compare a %s column with %s", tn, vr);
}

static bool create(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output, qv_error *err) {
  static const char *const keys[] = {"column", "op", "value", "nulls"};
  static const char *const required[] = {"column", "op"};
  static const char *const nulls_choices[] = {"drop", "keep"};
  if (!qv_cfg_object(config, "", keys, 4, required, 2, err)) return false;
  const char *column, *op, *nulls;
  if (!qv_cfg_string(config, "", "column", NULL, false, &column, err)) return false;
  if (!qv_cfg_enum(config, "", "op", OPS, 8, NULL, &op, err)) return false;
  if (!qv_cfg_enum(config, "", "nulls", nulls_choices, 2, "drop", &nulls, err)) return false;
  int index = qv_schema_index(input, column);
  if (index < 0) return qv_error_config(err, "column", "no column `%s` in the input", column);
  const qv_json *value = qv_json_get(config, "value");
  if (value && value->kind == QV_JSON_NULL) value = NULL;  // serde's Option: null is none
  filter *f = calloc(1, sizeof *f);
  if (!f) abort();
  for (int k = 0; k < 8; k++)
    if (strcmp(op, OPS[k]) == 0) f->op = (enum op)k;
  f->index = index;
  f->keep_nulls = strcmp(nulls, "keep") == 0;
  const qv_data_type *t = &input->fields.ptr[index].data_type;
  f->tag = t->tag;
  bool null_test = f->op == IS_NULL || f->op == IS_NOT_NULL;
  bool ok = true;
  if (null_test && value) ok = qv_error_config(err, "value", "is_null and is_not_null take no value");
  else if (!null_test && !value) ok = qv_error_config(err, "value", "a comparison needs a value");
  else if (!null_test) ok = scalar(f, t, value, err);
  if (!ok) {
    free(f->s);
    free(f);
    return false;
  }
  qv_schema_copy_from(output, input);
  *state = f;
  return true;
}

static int cmp_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  if (c) return c < 0 ? -1 : 1;
  return la == lb ? 0 : la < lb ? -1 : 1;
}

static bool process(void *state, qv_batch *in, qv_batches *out, qv_error *err) {
  filter *f = state;
  const qv_column *col = &in->columns[f->index];
  size_t n = in->rows;
  uint8_t *mask = malloc(n ? n : 1);
  if (!mask) abort();
  uint8_t keep = f->keep_nulls;
  if (f->op == IS_NULL || f->op == IS_NOT_NULL) {
    bool want = f->op == IS_NULL;
    for (size_t i = 0; i < n; i++) mask[i] = !qv_is_valid(col, i) == want;
  } else {
#define LOOP(EXPR)                                      \
  for (size_t i = 0; i < n; i++) {                      \
    if (!qv_is_valid(col, i)) { mask[i] = keep; continue; } \
    int c = (EXPR);                                     \
    mask[i] = test(f->op, c);                           \
  }
#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))
    switch (f->tag) {
      case QV_INT8: LOOP(CMP((int64_t)qv_i8(col)[i], f->i)) break;
      case QV_INT16: LOOP(CMP((int64_t)qv_i16(col)[i], f->i)) break;
      case QV_INT32: case QV_DATE32: LOOP(CMP((int64_t)qv_i32(col)[i], f->i)) break;
      case QV_INT64: case QV_DATE64: case QV_TIMESTAMP: LOOP(CMP(qv_i64(col)[i], f->i)) break;
      case QV_UINT8: LOOP(CMP((uint64_t)qv_u8(col)[i], f->u)) break;
      case QV_UINT16: LOOP(CMP((uint64_t)qv_u16(col)[i], f->u)) break;
      case QV_UINT32: LOOP(CMP((uint64_t)qv_u32(col)[i], f->u)) break;
      case QV_UINT64: LOOP(CMP(qv_u64(col)[i], f->u)) break;
      case QV_FLOAT32: LOOP(cmp_total32(qv_f32(col)[i], (float)f->f)) break;
      case QV_FLOAT64: LOOP(cmp_total(qv_f64(col)[i], f->f)) break;
      case QV_BOOLEAN: LOOP(CMP((int)qv_bool(col, i), (int)f->b)) break;
      case QV_UTF8: case QV_LARGE_UTF8: {
        size_t len;
        LOOP((cmp_bytes(qv_slice(col, i, &len), len, f->s, f->s_len)))
        break;
      }
      default:
        free(mask);
        return qv_error_internal(err, "comparison without a value");
    }
#undef LOOP
#undef CMP
  }
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += mask[i];
  quiver_transform_types_batch_t *b = qv_batches_push(out, (uint32_t)count, in->num_columns);
  for (size_t c = 0; c < in->num_columns; c++) {
    if (count == n) qv_column_move(in, c, &b->columns.ptr[c]);  // every row kept: no copy
    else qv_select_rows(&in->columns[c], mask, count, &b->columns.ptr[c]);
  }
  free(mask);
  return true;
}

static void destroy(void *state) {
  filter *f = state;
  free(f->s);
  free(f);
}

QUIVER_PLUGIN("filter", "0.1.0",
              "Keeps the rows where a column compares to a value; null rows are dropped or kept as the config "
              "says. C port of the Rust filter plugin.",
              QUIVER_CONFIG_SCHEMA, create, process, NULL, destroy)
