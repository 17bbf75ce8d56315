// `filter` (C port): keeps the rows where a column compares to a value.
//
// Same config and errors as plugins/filter (Rust): {"column", "op", "value", "nulls"}.
// A comparison with a null is neither true nor false: `nulls` says whether such rows are
// dropped (default) or kept. `is_null` / `is_not_null` take no value. The value is checked
// once, at creation, against the column's type; one that does not fit is a config error at
// `value`. The comparison runs in the host (`quiver_col_compare`); only the mask's bits enter
// the plugin, and the host applies them to every column as a selection.
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "quiver_config_schema.h"

enum op { EQ, NE, LT, LE, GT, GE, IS_NULL, IS_NOT_NULL };
static const char *const OPS[] = {"eq", "ne", "lt", "le", "gt", "ge", "is_null", "is_not_null"};
static const qv_cmp_op CMP[] = {QV_CMP_EQ, QV_CMP_NE, QV_CMP_LT, QV_CMP_LE, QV_CMP_GT, QV_CMP_GE};

typedef struct {
  size_t index;
  enum op op;
  bool keep_nulls;
  qv_scalar value;  // in the column's type
  char *text;       // a string value's bytes (the scalar borrows them)
} filter;

// The value as a scalar of the column's type, as the Rust plugin's `scalar` does; false +
// a config error at `value` on a misfit.
static bool scalar(filter *f, const qv_type *t, const qv_json *v, qv_error *err) {
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
      if (t->tag == QV_DATE32) f->value = qv_date32((int32_t)v->i64);
      else if (t->tag == QV_DATE64) f->value = qv_timestamp(v->i64, QV_UNIT_MILLISECOND, NULL);
      else f->value = qv_i64(v->i64);
      return true;
    case QV_UINT8: case QV_UINT16: case QV_UINT32: case QV_UINT64: {
      uint64_t max = t->tag == QV_UINT8 ? UINT8_MAX : t->tag == QV_UINT16 ? UINT16_MAX : t->tag == QV_UINT32 ? UINT32_MAX : UINT64_MAX;
      if (!is_int || !v->fits_u64) return qv_error_config(err, "value", "%s is not a non-negative integer", vr);
      if (v->u64 > max) return qv_error_config(err, "value", "%s does not fit in %s", v->text, tn);
      f->value = qv_u64(v->u64);
      return true;
    }
    case QV_TIMESTAMP:
      if (!is_int || !v->fits_i64) return qv_error_config(err, "value", "%s is not an integer timestamp", vr);
      f->value = qv_timestamp_like(v->i64, t);
      return true;
    case QV_FLOAT32: case QV_FLOAT64:
      if (v->kind == QV_JSON_NUMBER) {
        f->value = qv_f64(v->number);
        return true;
      }
      break;
    case QV_UTF8: case QV_LARGE_UTF8:
      if (v->kind == QV_JSON_STRING) {
        f->text = strdup(v->string);
        if (!f->text) abort();
        f->value = qv_str(f->text);
        return true;
      }
      break;
    case QV_BOOLEAN:
      if (v->kind == QV_JSON_BOOL) {
        f->value = qv_bool(v->boolean);
        return true;
      }
      break;
    default:
      break;
  }
  return qv_error_config(err, "value", "cannot compare a %s column with %s", tn, vr);
}

static void destroy(void *state) {
  filter *f = state;
  free(f->text);
  free(f);
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
  f->index = (size_t)index;
  f->keep_nulls = strcmp(nulls, "keep") == 0;
  bool null_test = f->op == IS_NULL || f->op == IS_NOT_NULL;
  bool ok = true;
  if (null_test && value) ok = qv_error_config(err, "value", "is_null and is_not_null take no value");
  else if (!null_test && !value) ok = qv_error_config(err, "value", "a comparison needs a value");
  else if (!null_test) ok = scalar(f, &qv_schema_field(input, f->index)->data_type, value, err);
  if (!ok) {
    destroy(f);
    return false;
  }
  qv_schema_copy_from(output, input);
  *state = f;
  return true;
}

static bool process(void *state, qv_batch *in, qv_outputs *out, qv_error *err) {
  filter *f = state;
  quiver_col col, mask;
  if (!quiver_batch_col(in, f->index, &col, err)) return false;
  bool ok;
  if (f->op == IS_NULL) ok = quiver_col_is_null(&mask, &col, err);
  else if (f->op == IS_NOT_NULL) ok = quiver_col_is_not_null(&mask, &col, err);
  else {
    ok = quiver_col_compare(&mask, CMP[f->op], &col, qv_opd_scalar(f->value), err);
    if (ok && f->keep_nulls) {  // a comparison with null is null, which a filter drops: `keep` makes it true
      quiver_col kept;
      ok = quiver_col_fill_null(&kept, &mask, qv_opd_scalar(qv_bool(true)), err);
      quiver_col_drop(&mask);
      mask = kept;
    }
  }
  quiver_col_drop(&col);
  if (!ok) return false;
  qv_output *o = qv_outputs_push_input(out, in);  // every column by reference
  ok = qv_out_filter(o, &mask, err);              // only the mask's bits cross
  quiver_col_drop(&mask);
  return ok;
}

QUIVER_PLUGIN("filter", "0.1.0",
              "Keeps the rows where a column compares to a value; null rows are dropped or kept as the config "
              "says. C port of the Rust filter plugin.",
              QUIVER_CONFIG_SCHEMA, create, process, NULL, destroy)
