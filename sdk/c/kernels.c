// Quiver C SDK: the host's compute kernels on column handles, one function per `compute`
// function of contract 0.2 (docs/kernels.md describes each), with errors naming the column.
// `filter-many` has none: it exists for interpreters whose bindings never free a returned
// selection mask; a C plugin returns the selection (`qv_out_filter`, one call, freed).
#include "internal.h"

typedef quiver_transform_compute_borrow_column_t borrow_t;

static borrow_t borrow(const quiver_col *c) { return quiver_transform_columns_borrow_column(c->handle); }

// The kernel's error, with the column named: a data error gets it as its column when the
// host named none; any other error says it first.
static bool named(qv_error *err, const char *name) {
  if (name == NULL) return false;
  if (err->tag == QUIVER_TRANSFORM_TYPES_ERROR_DATA) {
    if (!err->val.data.column.is_some) {
      err->val.data.column.is_some = true;
      wit_cstring(&err->val.data.column.val, name);
    }
  } else {
    plugin_string_t *m = err->tag == QUIVER_TRANSFORM_TYPES_ERROR_CONFIG ? &err->val.config.message : &err->val.internal;
    size_t n = strlen(name);
    size_t len = n + 12 + m->len;
    char *s = xmalloc(len + 1);
    snprintf(s, len + 1, "column `%s`: %.*s", name, (int)m->len, (const char *)m->ptr);
    plugin_string_free(m);
    wit_take_cstring(m, s);
  }
  return false;
}

// Finish a kernel call: on success `out` owns `h` and takes the input's name.
static bool done(bool ok, quiver_col *out, quiver_transform_compute_own_column_t h, const char *name, qv_error *err) {
  out->name = name;
  out->live = ok;
  if (!ok) return named(err, name);
  out->handle = h;
  return true;
}

#define CALL(out, in, expr)                                    \
  do {                                                         \
    quiver_transform_compute_own_column_t h__;                 \
    bool ok__ = (expr);                                        \
    return done(ok__, (out), h__, (in)->name, err);            \
  } while (0)

bool quiver_batch_col(const qv_batch *in, size_t i, quiver_col *out, qv_error *err) {
  quiver_transform_columns_own_column_t h;
  bool ok = quiver_transform_columns_method_batch_column(in->wit, (uint32_t)i, &h, err);
  return done(ok, out, h, i < in->num_columns ? in->names[i] : NULL, err);
}

void quiver_col_drop(quiver_col *c) {
  if (c->live) quiver_transform_columns_column_drop_own(c->handle);
  c->live = false;
}

uint64_t quiver_col_len(const quiver_col *c) { return quiver_transform_columns_method_column_len(borrow(c)); }

bool quiver_col_read(const quiver_col *c, qv_column_data *out, qv_error *err) {
  quiver_transform_columns_method_column_read(borrow(c), out);
  return true;
}

bool quiver_col_from_data(quiver_col *out, const qv_type *t, qv_column_data *data, const char *name, qv_error *err) {
  quiver_transform_types_field_t f;
  memset(&f, 0, sizeof f);
  f.data_type = *t;
  f.nullable = true;
  quiver_transform_columns_list_field_t type = {&f, 1};
  quiver_transform_columns_own_column_t h;
  bool ok = quiver_transform_columns_from_data(&type, data, &h, err);
  return done(ok, out, h, name, err);
}

qv_scalar qv_str(const char *s) {
  qv_scalar v;
  memset(&v, 0, sizeof v);
  v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_UTF8;
  v.val.utf8.ptr = (uint8_t *)s;
  v.val.utf8.len = strlen(s);
  return v;
}

qv_scalar qv_timestamp(int64_t value, uint8_t unit, const char *tz) {
  qv_scalar v;
  memset(&v, 0, sizeof v);
  v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_TIMESTAMP;
  v.val.timestamp.value = value;
  v.val.timestamp.unit = unit;
  if (tz) {
    v.val.timestamp.timezone.is_some = true;
    v.val.timestamp.timezone.val.ptr = (uint8_t *)tz;
    v.val.timestamp.timezone.val.len = strlen(tz);
  }
  return v;
}

qv_scalar qv_timestamp_like(int64_t value, const qv_type *t) {
  qv_scalar v;
  memset(&v, 0, sizeof v);
  v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_TIMESTAMP;
  v.val.timestamp.value = value;
  v.val.timestamp.unit = t->val.timestamp.unit;
  v.val.timestamp.timezone = t->val.timestamp.timezone;  // borrowed from the schema
  return v;
}

qv_operand qv_opd_col(const quiver_col *c) {
  qv_operand o;
  memset(&o, 0, sizeof o);
  o.tag = QUIVER_TRANSFORM_COMPUTE_OPERAND_COLUMN;
  o.val.column = borrow(c);
  return o;
}

qv_operand qv_opd_scalar(qv_scalar s) {
  qv_operand o;
  memset(&o, 0, sizeof o);
  o.tag = QUIVER_TRANSFORM_COMPUTE_OPERAND_SCALAR;
  o.val.scalar = s;
  return o;
}

static plugin_string_t str(const char *s) { return (plugin_string_t){(uint8_t *)s, strlen(s)}; }

bool quiver_col_arith(quiver_col *out, qv_arith_op op, const quiver_col *in, qv_operand right, bool checked, qv_error *err) {
  qv_operand left = qv_opd_col(in);
  CALL(out, in, quiver_transform_compute_arith(op, &left, &right, checked, &h__, err));
}

bool quiver_col_affine(quiver_col *out, const quiver_col *in, qv_scalar scale, qv_scalar offset, const qv_scalar *min,
                       const qv_scalar *max, qv_error *err) {
  qv_scalar lo, hi;
  if (min) lo = *min;
  if (max) hi = *max;
  CALL(out, in, quiver_transform_compute_affine(borrow(in), &scale, &offset, min ? &lo : NULL, max ? &hi : NULL, &h__, err));
}

bool quiver_col_unary(quiver_col *out, qv_unary_op op, const quiver_col *in, qv_error *err) {
  CALL(out, in, quiver_transform_compute_unary(op, borrow(in), &h__, err));
}

bool quiver_col_round(quiver_col *out, const quiver_col *in, int32_t decimals, qv_error *err) {
  CALL(out, in, quiver_transform_compute_round(borrow(in), decimals, &h__, err));
}

bool quiver_col_clip(quiver_col *out, const quiver_col *in, const qv_scalar *min, const qv_scalar *max, qv_error *err) {
  qv_scalar lo, hi;
  if (min) lo = *min;
  if (max) hi = *max;
  CALL(out, in, quiver_transform_compute_clip(borrow(in), min ? &lo : NULL, max ? &hi : NULL, &h__, err));
}

bool quiver_col_compare(quiver_col *out, qv_cmp_op op, const quiver_col *in, qv_operand right, qv_error *err) {
  qv_operand left = qv_opd_col(in);
  CALL(out, in, quiver_transform_compute_compare(op, &left, &right, &h__, err));
}

bool quiver_col_logic(quiver_col *out, qv_logic_op op, const quiver_col *a, const quiver_col *b, qv_error *err) {
  CALL(out, a, quiver_transform_compute_logic(op, borrow(a), borrow(b), &h__, err));
}

bool quiver_col_not(quiver_col *out, const quiver_col *in, qv_error *err) {
  CALL(out, in, quiver_transform_compute_not(borrow(in), &h__, err));
}

bool quiver_col_is_null(quiver_col *out, const quiver_col *in, qv_error *err) {
  CALL(out, in, quiver_transform_compute_is_null(borrow(in), &h__, err));
}

bool quiver_col_is_not_null(quiver_col *out, const quiver_col *in, qv_error *err) {
  CALL(out, in, quiver_transform_compute_is_not_null(borrow(in), &h__, err));
}

bool quiver_col_fill_null(quiver_col *out, const quiver_col *in, qv_operand value, qv_error *err) {
  CALL(out, in, quiver_transform_compute_fill_null(borrow(in), &value, &h__, err));
}

bool quiver_col_cast(quiver_col *out, const quiver_col *in, const qv_type *to, bool safe, qv_error *err) {
  quiver_transform_types_field_t f;
  memset(&f, 0, sizeof f);  // a bare type: the root node has no name
  f.data_type = *to;
  f.nullable = true;
  quiver_transform_compute_list_field_t type = {&f, 1};
  CALL(out, in, quiver_transform_compute_cast(borrow(in), &type, safe, &h__, err));
}

bool quiver_col_filter(quiver_col *out, const quiver_col *in, const quiver_col *mask, qv_error *err) {
  CALL(out, in, quiver_transform_compute_filter(borrow(in), borrow(mask), &h__, err));
}

bool quiver_col_is_in(quiver_col *out, const quiver_col *in, const quiver_col *values, qv_error *err) {
  CALL(out, in, quiver_transform_compute_is_in(borrow(in), borrow(values), &h__, err));
}

bool quiver_col_str_unary(quiver_col *out, qv_str_op op, const quiver_col *in, qv_error *err) {
  CALL(out, in, quiver_transform_compute_str_unary(op, borrow(in), &h__, err));
}

bool quiver_col_str_match(quiver_col *out, qv_str_match_op op, const quiver_col *in, const char *pattern, qv_error *err) {
  plugin_string_t p = str(pattern);
  CALL(out, in, quiver_transform_compute_str_match(op, borrow(in), &p, &h__, err));
}

bool quiver_col_regex_match(quiver_col *out, const quiver_col *in, const char *pattern, qv_error *err) {
  plugin_string_t p = str(pattern);
  CALL(out, in, quiver_transform_compute_regex_match(borrow(in), &p, &h__, err));
}

bool quiver_col_date_part(quiver_col *out, qv_part part, const quiver_col *in, const char *tz, qv_error *err) {
  plugin_string_t z = tz ? str(tz) : (plugin_string_t){0};
  CALL(out, in, quiver_transform_compute_date_part(part, borrow(in), tz ? &z : NULL, &h__, err));
}

bool quiver_col_sha256(quiver_col *out, const quiver_col *in, qv_encoding enc, qv_error *err) {
  CALL(out, in, quiver_transform_compute_sha256(borrow(in), enc, &h__, err));
}

bool quiver_col_hmac_sha256(quiver_col *out, const quiver_col *in, const char *key_file, qv_encoding enc, qv_error *err) {
  plugin_string_t k = str(key_file);
  CALL(out, in, quiver_transform_compute_hmac_sha256(borrow(in), &k, enc, &h__, err));
}

bool quiver_col_aggregate(qv_scalar *out, qv_agg_op op, const quiver_col *in, qv_error *err) {
  if (quiver_transform_compute_aggregate(op, borrow(in), out, err)) return true;
  return named(err, in->name);
}
