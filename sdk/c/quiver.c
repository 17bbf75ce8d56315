// Quiver C SDK: the WIT exports over the wit-bindgen bindings, buffer helpers, a JSON reader.
// See quiver.h for the API and the memory-ownership rules.
#include "quiver.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------
// Small utilities.

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

// A malloc'd WIT string (post-return frees it; an empty one owns nothing).
static void wit_string(plugin_string_t *dst, const char *s, size_t n) {
  if (n == 0) {
    dst->ptr = NULL;
    dst->len = 0;
    return;
  }
  dst->ptr = xmalloc(n);
  memcpy(dst->ptr, s, n);
  dst->len = n;
}

static void wit_cstring(plugin_string_t *dst, const char *s) { wit_string(dst, s, strlen(s)); }

static char *vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  char *s = xmalloc((size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

static void wit_take_cstring(plugin_string_t *dst, char *s) {
  size_t n = strlen(s);
  if (n == 0) {
    free(s);
    dst->ptr = NULL;
    dst->len = 0;
  } else {
    dst->ptr = (uint8_t *)s;
    dst->len = n;
  }
}

// ---------------------------------------------------------------------------------------
// Types.

size_t qv_type_width(const qv_data_type *t) {
  switch (t->tag) {
    case QV_INT8: case QV_UINT8: return 1;
    case QV_INT16: case QV_UINT16: return 2;
    case QV_INT32: case QV_UINT32: case QV_FLOAT32: case QV_DATE32: return 4;
    case QV_INT64: case QV_UINT64: case QV_FLOAT64: case QV_DATE64: case QV_TIMESTAMP: return 8;
    case QV_DECIMAL128: return 16;
    default: return 0;
  }
}
bool qv_type_is_signed_int(const qv_data_type *t) { return t->tag >= QV_INT8 && t->tag <= QV_INT64; }
bool qv_type_is_unsigned_int(const qv_data_type *t) { return t->tag >= QV_UINT8 && t->tag <= QV_UINT64; }
bool qv_type_is_float(const qv_data_type *t) { return t->tag == QV_FLOAT32 || t->tag == QV_FLOAT64; }
bool qv_type_is_var_width(const qv_data_type *t) { return t->tag >= QV_UTF8 && t->tag <= QV_LARGE_BINARY; }
static bool is_large(uint8_t tag) { return tag == QV_LARGE_UTF8 || tag == QV_LARGE_BINARY; }

const char *qv_type_name(const qv_data_type *t, char *buf, size_t cap) {
  static const char *names[] = {"Null", "Boolean", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
                                "UInt32", "UInt64", "Float32", "Float64", "Utf8", "LargeUtf8", "Binary",
                                "LargeBinary", "Date32", "Date64"};
  static const char *units[] = {"s", "ms", "µs", "ns"};
  if (t->tag == QV_TIMESTAMP) {
    const quiver_transform_types_timestamp_type_t *ts = &t->val.timestamp;
    if (ts->timezone.is_some)
      snprintf(buf, cap, "Timestamp(%s, \"%.*s\")", units[ts->unit], (int)ts->timezone.val.len,
               (const char *)ts->timezone.val.ptr);
    else
      snprintf(buf, cap, "Timestamp(%s)", units[ts->unit]);
  } else if (t->tag == QV_DECIMAL128) {
    snprintf(buf, cap, "Decimal128(%u, %d)", t->val.decimal128.precision, t->val.decimal128.scale);
  } else {
    snprintf(buf, cap, "%s", t->tag < sizeof names / sizeof *names ? names[t->tag] : "?");
  }
  return buf;
}

int qv_schema_index(const qv_schema *s, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < s->fields.len; i++) {
    const plugin_string_t *f = &s->fields.ptr[i].name;
    if (f->len == n && memcmp(f->ptr, name, n) == 0) return (int)i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------
// Reading.

const uint8_t *qv_slice(const qv_column *c, size_t i, size_t *len) {
  size_t s, e;
  if (is_large(c->field->data_type.tag)) {
    int64_t a, b;
    memcpy(&a, c->offsets + 8 * i, 8);
    memcpy(&b, c->offsets + 8 * (i + 1), 8);
    s = (size_t)a;
    e = (size_t)b;
  } else {
    int32_t a, b;
    memcpy(&a, c->offsets + 4 * i, 4);
    memcpy(&b, c->offsets + 4 * (i + 1), 4);
    s = (size_t)a;
    e = (size_t)b;
  }
  *len = e - s;
  return c->values + s;
}

size_t qv_null_count(const qv_column *c) {
  if (c->field->data_type.tag == QV_NULL) return c->rows;
  if (!c->validity) return 0;
  size_t n = 0;
  for (size_t i = 0; i < c->rows; i++) n += !qv_bit(c->validity, i);
  return n;
}

// ---------------------------------------------------------------------------------------
// Building.

void qv_buf_reserve(qv_buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap * 2 : 64;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *p = realloc(b->ptr, cap);
  if (!p) abort();
  b->ptr = p;
  b->cap = cap;
}
void qv_buf_push(qv_buf *b, const void *data, size_t n) {
  qv_buf_reserve(b, n);
  memcpy(b->ptr + b->len, data, n);
  b->len += n;
}
void qv_buf_free(qv_buf *b) {
  free(b->ptr);
  b->ptr = NULL;
  b->len = b->cap = 0;
}

void qv_list_take(plugin_list_u8_t *dst, uint8_t *ptr, size_t len) {
  if (len == 0) {
    free(ptr);
    ptr = NULL;
  }
  dst->ptr = ptr;
  dst->len = len;
}

static void take_buf(plugin_list_u8_t *dst, qv_buf *b) {
  qv_list_take(dst, b->ptr, b->len);
  b->ptr = NULL;
  b->len = b->cap = 0;
}

void qv_builder_init(qv_builder *b, const qv_data_type *t, size_t capacity) {
  memset(b, 0, sizeof *b);
  b->tag = t->tag;
  b->width = qv_type_width(t);
  qv_buf_reserve(&b->validity, (capacity + 7) / 8);
  if (qv_type_is_var_width(t)) {
    size_t w = is_large(t->tag) ? 8 : 4;
    qv_buf_reserve(&b->offsets, (capacity + 1) * w);
    uint64_t zero = 0;
    qv_buf_push(&b->offsets, &zero, w);
  } else if (b->width) {
    qv_buf_reserve(&b->values, capacity * b->width);
  }
}

static void set_valid(qv_builder *b, bool valid) {
  if ((b->rows & 7) == 0) {
    uint8_t z = 0;
    qv_buf_push(&b->validity, &z, 1);
  }
  if (valid) qv_set_bit(b->validity.ptr, b->rows);
  else b->nulls++;
}

static void push_offset(qv_builder *b) {
  if (is_large(b->tag)) {
    int64_t o = (int64_t)b->values.len;
    qv_buf_push(&b->offsets, &o, 8);
  } else {
    int32_t o = (int32_t)b->values.len;
    qv_buf_push(&b->offsets, &o, 4);
  }
}

static void push_bool(qv_builder *b, bool v) {
  if ((b->rows & 7) == 0) {
    uint8_t z = 0;
    qv_buf_push(&b->values, &z, 1);
  }
  if (v) qv_set_bit(b->values.ptr, b->rows);
}

void qv_builder_append_null(qv_builder *b) {
  set_valid(b, false);
  if (b->tag == QV_BOOLEAN) push_bool(b, false);
  else if (b->tag >= QV_UTF8 && b->tag <= QV_LARGE_BINARY) push_offset(b);
  else if (b->width) {
    qv_buf_reserve(&b->values, b->width);
    memset(b->values.ptr + b->values.len, 0, b->width);
    b->values.len += b->width;
  }
  b->rows++;
}
void qv_builder_append(qv_builder *b, const void *value) {
  set_valid(b, true);
  qv_buf_push(&b->values, value, b->width);
  b->rows++;
}
void qv_builder_append_bool(qv_builder *b, bool v) {
  set_valid(b, true);
  push_bool(b, v);
  b->rows++;
}
void qv_builder_append_bytes(qv_builder *b, const void *data, size_t len) {
  set_valid(b, true);
  qv_buf_push(&b->values, data, len);
  push_offset(b);
  b->rows++;
}
void qv_builder_finish(qv_builder *b, qv_column_wit *out) {
  memset(out, 0, sizeof *out);
  if (b->nulls > 0 || b->tag == QV_NULL) {
    out->validity.is_some = true;
    take_buf(&out->validity.val, &b->validity);
  } else {
    qv_buf_free(&b->validity);
  }
  if (b->tag >= QV_UTF8 && b->tag <= QV_LARGE_BINARY) {
    out->offsets.is_some = true;
    take_buf(&out->offsets.val, &b->offsets);
  }
  take_buf(&out->values, &b->values);
  b->rows = b->nulls = 0;
}

quiver_transform_types_batch_t *qv_batches_push(qv_batches *out, uint32_t rows, size_t num_columns) {
  if (out->len == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 2;
    void *p = realloc(out->ptr, cap * sizeof *out->ptr);
    if (!p) abort();
    out->ptr = p;
    out->cap = cap;
  }
  quiver_transform_types_batch_t *b = &out->ptr[out->len++];
  b->num_rows = rows;
  b->columns.len = num_columns;
  b->columns.ptr = num_columns ? calloc(num_columns, sizeof(qv_column_wit)) : NULL;
  if (num_columns && !b->columns.ptr) abort();
  return b;
}

static void move_list(plugin_list_u8_t *dst, plugin_list_u8_t *src) {
  *dst = *src;
  if (dst->len == 0) dst->ptr = NULL;  // the ABI's empty lists point at no allocation
  src->ptr = NULL;
  src->len = 0;
}

void qv_column_move(qv_batch *in, size_t i, qv_column_wit *out) {
  qv_column_wit *c = &in->wit->columns.ptr[i];
  memset(out, 0, sizeof *out);
  out->validity.is_some = c->validity.is_some;
  if (c->validity.is_some) move_list(&out->validity.val, &c->validity.val);
  out->offsets.is_some = c->offsets.is_some;
  if (c->offsets.is_some) move_list(&out->offsets.val, &c->offsets.val);
  move_list(&out->values, &c->values);
}

static void copy_list(plugin_list_u8_t *dst, const uint8_t *p, size_t n) {
  if (n == 0) {
    dst->ptr = NULL;
    dst->len = 0;
    return;
  }
  dst->ptr = xmalloc(n);
  memcpy(dst->ptr, p, n);
  dst->len = n;
}

void qv_column_copy(const qv_column *c, qv_column_wit *out) {
  memset(out, 0, sizeof *out);
  if (c->validity) {
    out->validity.is_some = true;
    copy_list(&out->validity.val, c->validity, (c->rows + 7) / 8);
  }
  if (c->offsets) {
    out->offsets.is_some = true;
    copy_list(&out->offsets.val, c->offsets, (c->rows + 1) * (is_large(c->field->data_type.tag) ? 8 : 4));
  }
  copy_list(&out->values, c->values, c->values_len);
}

uint8_t *qv_bitmap_new(size_t rows) {
  uint8_t *p = calloc((rows + 7) / 8 + 1, 1);
  if (!p) abort();
  return p;
}

void qv_select_rows(const qv_column *c, const uint8_t *mask, size_t count, qv_column_wit *out) {
  memset(out, 0, sizeof *out);
  uint8_t tag = c->field->data_type.tag;
  size_t n = c->rows;
  if (c->validity || tag == QV_NULL) {
    uint8_t *v = qv_bitmap_new(count);
    size_t j = 0, nulls = 0;
    for (size_t i = 0; i < n; i++) {
      if (!mask[i]) continue;
      if (tag != QV_NULL && qv_bit(c->validity, i)) qv_set_bit(v, j);
      else nulls++;
      j++;
    }
    if (nulls > 0) {
      out->validity.is_some = true;
      qv_list_take(&out->validity.val, v, (count + 7) / 8);
    } else {
      free(v);
    }
  }
  if (tag == QV_NULL) return;
  if (tag == QV_BOOLEAN) {
    uint8_t *v = qv_bitmap_new(count);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
      if (!mask[i]) continue;
      if (qv_bit(c->values, i)) qv_set_bit(v, j);
      j++;
    }
    qv_list_take(&out->values, v, (count + 7) / 8);
    return;
  }
  if (tag >= QV_UTF8 && tag <= QV_LARGE_BINARY) {
    bool large = is_large(tag);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      if (!mask[i]) continue;
      size_t len;
      qv_slice(c, i, &len);
      total += len;
    }
    uint8_t *values = xmalloc(total);
    size_t w = large ? 8 : 4;
    uint8_t *offsets = xmalloc((count + 1) * w);
    size_t pos = 0, j = 0;
    memset(offsets, 0, w);
    for (size_t i = 0; i < n; i++) {
      if (!mask[i]) continue;
      size_t len;
      const uint8_t *p = qv_slice(c, i, &len);
      memcpy(values + pos, p, len);
      pos += len;
      j++;
      if (large) {
        int64_t o = (int64_t)pos;
        memcpy(offsets + 8 * j, &o, 8);
      } else {
        int32_t o = (int32_t)pos;
        memcpy(offsets + 4 * j, &o, 4);
      }
    }
    qv_list_take(&out->values, values, total);
    out->offsets.is_some = true;
    qv_list_take(&out->offsets.val, offsets, (count + 1) * w);
    return;
  }
  size_t w = qv_type_width(&c->field->data_type);
  uint8_t *values = xmalloc(count * w);
  size_t j = 0;
  switch (w) {
    case 8: {
      const uint64_t *src = (const uint64_t *)(const void *)c->values;
      uint64_t *dst = (uint64_t *)(void *)values;
      for (size_t i = 0; i < n; i++) if (mask[i]) dst[j++] = src[i];
      break;
    }
    case 4: {
      const uint32_t *src = (const uint32_t *)(const void *)c->values;
      uint32_t *dst = (uint32_t *)(void *)values;
      for (size_t i = 0; i < n; i++) if (mask[i]) dst[j++] = src[i];
      break;
    }
    default:
      for (size_t i = 0; i < n; i++)
        if (mask[i]) {
          memcpy(values + j * w, c->values + i * w, w);
          j++;
        }
  }
  qv_list_take(&out->values, values, count * w);
}

static void copy_field(qv_field *dst, const qv_field *src) {
  wit_string(&dst->name, (const char *)src->name.ptr, src->name.len);
  dst->data_type = src->data_type;
  if (src->data_type.tag == QV_TIMESTAMP && src->data_type.val.timestamp.timezone.is_some) {
    const plugin_string_t *tz = &src->data_type.val.timestamp.timezone.val;
    wit_string(&dst->data_type.val.timestamp.timezone.val, (const char *)tz->ptr, tz->len);
  }
  dst->nullable = src->nullable;
}

static void schema_push(qv_schema *s, const qv_field *f) {
  void *p = realloc(s->fields.ptr, (s->fields.len + 1) * sizeof(qv_field));
  if (!p) abort();
  s->fields.ptr = p;
  copy_field(&s->fields.ptr[s->fields.len++], f);
}

void qv_schema_add(qv_schema_builder *s, const char *name, const qv_data_type *t, bool nullable) {
  qv_field f;
  f.name.ptr = (uint8_t *)name;
  f.name.len = strlen(name);
  f.data_type = *t;
  f.nullable = nullable;
  schema_push(&s->schema, &f);
}

static void copy_metadata(plugin_list_tuple2_string_string_t *dst, const plugin_list_tuple2_string_string_t *src) {
  dst->len = src->len;
  dst->ptr = src->len ? xmalloc(src->len * sizeof *dst->ptr) : NULL;
  for (size_t i = 0; i < src->len; i++) {
    wit_string(&dst->ptr[i].f0, (const char *)src->ptr[i].f0.ptr, src->ptr[i].f0.len);
    wit_string(&dst->ptr[i].f1, (const char *)src->ptr[i].f1.ptr, src->ptr[i].f1.len);
  }
}

void qv_schema_copy_from(qv_schema_builder *s, const qv_schema *input) {
  for (size_t i = 0; i < input->fields.len; i++) schema_push(&s->schema, &input->fields.ptr[i]);
  quiver_transform_types_schema_t tmp = {0};
  tmp.metadata = s->schema.metadata;
  plugin_list_tuple2_string_string_free(&tmp.metadata);
  copy_metadata(&s->schema.metadata, &input->metadata);
}

static void copy_schema(qv_schema *dst, const qv_schema *src) {
  memset(dst, 0, sizeof *dst);
  dst->fields.ptr = src->fields.len ? xmalloc(src->fields.len * sizeof(qv_field)) : NULL;
  dst->fields.len = src->fields.len;
  for (size_t i = 0; i < src->fields.len; i++) copy_field(&dst->fields.ptr[i], &src->fields.ptr[i]);
  copy_metadata(&dst->metadata, &src->metadata);
}

// ---------------------------------------------------------------------------------------
// Errors.

bool qv_error_config(qv_error *err, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m = vformat(fmt, ap);
  va_end(ap);
  memset(err, 0, sizeof *err);
  err->tag = QUIVER_TRANSFORM_TYPES_ERROR_CONFIG;
  wit_cstring(&err->val.config.key, key);
  wit_take_cstring(&err->val.config.message, m);
  return false;
}

bool qv_error_data(qv_error *err, const char *column, int64_t row, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m = vformat(fmt, ap);
  va_end(ap);
  memset(err, 0, sizeof *err);
  err->tag = QUIVER_TRANSFORM_TYPES_ERROR_DATA;
  if (column) {
    err->val.data.column.is_some = true;
    wit_cstring(&err->val.data.column.val, column);
  }
  if (row >= 0) {
    err->val.data.row.is_some = true;
    err->val.data.row.val = (uint64_t)row;
  }
  wit_take_cstring(&err->val.data.message, m);
  return false;
}

bool qv_error_internal(qv_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m = vformat(fmt, ap);
  va_end(ap);
  memset(err, 0, sizeof *err);
  err->tag = QUIVER_TRANSFORM_TYPES_ERROR_INTERNAL;
  wit_take_cstring(&err->val.internal, m);
  return false;
}

// ---------------------------------------------------------------------------------------
// Host.

void qv_log(int level, const char *message, size_t nfields, const char *const *keys, const char *const *values) {
  plugin_string_t m = {(uint8_t *)message, strlen(message)};
  plugin_tuple2_string_string_t *f = nfields ? xmalloc(nfields * sizeof *f) : NULL;
  for (size_t i = 0; i < nfields; i++) {
    f[i].f0 = (plugin_string_t){(uint8_t *)keys[i], strlen(keys[i])};
    f[i].f1 = (plugin_string_t){(uint8_t *)values[i], strlen(values[i])};
  }
  plugin_list_tuple2_string_string_t list = {f, nfields};
  quiver_transform_host_log((quiver_transform_host_level_t)level, &m, &list);  // borrowed
  free(f);
}

void qv_counter_add(const char *name, uint64_t delta) {
  plugin_string_t n = {(uint8_t *)name, strlen(name)};
  quiver_transform_host_counter_add(&n, delta);
}

// ---------------------------------------------------------------------------------------
// JSON.

typedef struct {
  const char *s, *end;
  const char *error;
} jp;

static void json_free(qv_json *v) {
  free(v->string);
  free(v->text);
  for (size_t i = 0; i < v->len; i++) {
    json_free(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
}

static void ws(jp *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static void put_utf8(qv_buf *b, uint32_t c) {
  uint8_t o[4];
  size_t n;
  if (c < 0x80) { o[0] = (uint8_t)c; n = 1; }
  else if (c < 0x800) { o[0] = (uint8_t)(0xC0 | (c >> 6)); o[1] = (uint8_t)(0x80 | (c & 0x3F)); n = 2; }
  else if (c < 0x10000) { o[0] = (uint8_t)(0xE0 | (c >> 12)); o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F)); o[2] = (uint8_t)(0x80 | (c & 0x3F)); n = 3; }
  else { o[0] = (uint8_t)(0xF0 | (c >> 18)); o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F)); o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F)); o[3] = (uint8_t)(0x80 | (c & 0x3F)); n = 4; }
  qv_buf_push(b, o, n);
}

static bool hex4(jp *p, uint32_t *out) {
  if (p->end - p->s < 4) return false;
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char c = *p->s++;
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return false;
  }
  *out = v;
  return true;
}

static char *json_string(jp *p) {
  qv_buf b = {0};
  p->s++;  // opening quote
  while (p->s < p->end && *p->s != '"') {
    char c = *p->s++;
    if ((unsigned char)c < 0x20) { p->error = "control character in a string"; break; }
    if (c != '\\') { qv_buf_push(&b, &c, 1); continue; }
    if (p->s >= p->end) break;
    char e = *p->s++;
    uint32_t u;
    switch (e) {
      case '"': case '\\': case '/': qv_buf_push(&b, &e, 1); break;
      case 'b': put_utf8(&b, 8); break;
      case 'f': put_utf8(&b, 12); break;
      case 'n': put_utf8(&b, 10); break;
      case 'r': put_utf8(&b, 13); break;
      case 't': put_utf8(&b, 9); break;
      case 'u':
        if (!hex4(p, &u)) { p->error = "bad \\u escape"; break; }
        if (u >= 0xD800 && u < 0xDC00 && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
          uint32_t lo;
          p->s += 2;
          if (hex4(p, &lo) && lo >= 0xDC00 && lo < 0xE000) u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(&b, u);
        break;
      default: p->error = "bad escape"; break;
    }
    if (p->error) break;
  }
  if (!p->error && p->s >= p->end) p->error = "unterminated string";
  if (!p->error) p->s++;
  uint8_t z = 0;
  qv_buf_push(&b, &z, 1);
  return (char *)b.ptr;
}

static bool json_value(jp *p, qv_json *v, int depth) {
  memset(v, 0, sizeof *v);
  ws(p);
  if (depth > 64) { p->error = "nesting too deep"; return false; }
  if (p->s >= p->end) { p->error = "unexpected end"; return false; }
  char c = *p->s;
  if (c == '{' || c == '[') {
    bool obj = c == '{';
    char close = obj ? '}' : ']';
    v->kind = obj ? QV_JSON_OBJECT : QV_JSON_ARRAY;
    p->s++;
    ws(p);
    if (p->s < p->end && *p->s == close) { p->s++; return true; }
    size_t cap = 0;
    for (;;) {
      if (v->len == cap) {
        cap = cap ? cap * 2 : 4;
        v->items = realloc(v->items, cap * sizeof *v->items);
        if (obj) v->keys = realloc(v->keys, cap * sizeof *v->keys);
        if (!v->items || (obj && !v->keys)) abort();
      }
      if (obj) {
        ws(p);
        if (p->s >= p->end || *p->s != '"') { p->error = "expected a key"; return false; }
        char *k = json_string(p);
        if (p->error) { free(k); return false; }
        ws(p);
        if (p->s >= p->end || *p->s != ':') { free(k); p->error = "expected `:`"; return false; }
        p->s++;
        v->keys[v->len] = k;
      }
      bool ok = json_value(p, &v->items[v->len], depth + 1);
      v->len++;
      if (!ok) return false;
      ws(p);
      if (p->s < p->end && *p->s == ',') { p->s++; continue; }
      if (p->s < p->end && *p->s == close) { p->s++; return true; }
      p->error = obj ? "expected `,` or `}`" : "expected `,` or `]`";
      return false;
    }
  }
  if (c == '"') {
    v->kind = QV_JSON_STRING;
    v->string = json_string(p);
    return !p->error;
  }
  if (p->end - p->s >= 4 && memcmp(p->s, "true", 4) == 0) { v->kind = QV_JSON_BOOL; v->boolean = true; p->s += 4; return true; }
  if (p->end - p->s >= 5 && memcmp(p->s, "false", 5) == 0) { v->kind = QV_JSON_BOOL; p->s += 5; return true; }
  if (p->end - p->s >= 4 && memcmp(p->s, "null", 4) == 0) { v->kind = QV_JSON_NULL; p->s += 4; return true; }
  const char *start = p->s;
  bool integer = true;
  if (p->s < p->end && *p->s == '-') p->s++;
  const char *digits = p->s;
  while (p->s < p->end && *p->s >= '0' && *p->s <= '9') p->s++;
  if (p->s == digits || (digits[0] == '0' && p->s - digits > 1)) { p->error = "unexpected input"; return false; }
  if (p->s < p->end && *p->s == '.') {
    integer = false;
    p->s++;
    const char *f = p->s;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') p->s++;
    if (p->s == f) { p->error = "bad number"; return false; }
  }
  if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
    integer = false;
    p->s++;
    if (p->s < p->end && (*p->s == '+' || *p->s == '-')) p->s++;
    const char *f = p->s;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') p->s++;
    if (p->s == f) { p->error = "bad number"; return false; }
  }
  v->kind = QV_JSON_NUMBER;
  v->text = xstrndup(start, (size_t)(p->s - start));
  v->number = strtod(v->text, NULL);
  v->is_integer = integer;
  if (integer) {
    // Exact integer value, as serde_json keeps it (i64 when negative, u64 otherwise).
    bool neg = start[0] == '-';
    unsigned __int128 mag = 0;
    bool big = false;
    for (const char *d = digits; d < p->s; d++) {
      mag = mag * 10 + (unsigned)(*d - '0');
      if (mag > (unsigned __int128)UINT64_MAX + 1) { big = true; break; }
    }
    if (!big) {
      if (neg) {
        if (mag <= (unsigned __int128)INT64_MAX + 1) { v->fits_i64 = true; v->i64 = (int64_t)(-(__int128)mag); }
      } else if (mag <= UINT64_MAX) {
        v->fits_u64 = true;
        v->u64 = (uint64_t)mag;
        if (mag <= INT64_MAX) { v->fits_i64 = true; v->i64 = (int64_t)mag; }
      }
    }
  }
  return true;
}

const qv_json *qv_json_get(const qv_json *obj, const char *key) {
  if (!obj || obj->kind != QV_JSON_OBJECT) return NULL;
  for (size_t i = 0; i < obj->len; i++)
    if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

const char *qv_fmt_f64(double v, char *buf, size_t cap) {
  if (isnan(v)) { snprintf(buf, cap, "NaN"); return buf; }
  if (isinf(v)) { snprintf(buf, cap, v > 0 ? "inf" : "-inf"); return buf; }
  if (v == trunc(v) && fabs(v) < 1e17) { snprintf(buf, cap, "%.0f", v); return buf; }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return buf;
}

const char *qv_json_repr(const qv_json *v, char *buf, size_t cap) {
  switch (v->kind) {
    case QV_JSON_NULL: snprintf(buf, cap, "null"); break;
    case QV_JSON_BOOL: snprintf(buf, cap, v->boolean ? "true" : "false"); break;
    case QV_JSON_NUMBER:
      if (v->is_integer && (v->fits_i64 || v->fits_u64)) snprintf(buf, cap, "%s", v->text);
      else qv_fmt_f64(v->number, buf, cap);
      break;
    case QV_JSON_STRING: snprintf(buf, cap, "\"%s\"", v->string); break;
    case QV_JSON_ARRAY: snprintf(buf, cap, "[...]"); break;
    case QV_JSON_OBJECT: snprintf(buf, cap, "{...}"); break;
  }
  return buf;
}

static const char *kind_of(const qv_json *v, char *buf, size_t cap) {
  char r[128];
  switch (v->kind) {
    case QV_JSON_NULL: return "null";
    case QV_JSON_BOOL: snprintf(buf, cap, "boolean `%s`", v->boolean ? "true" : "false"); return buf;
    case QV_JSON_NUMBER:
      snprintf(buf, cap, "%s `%s`", v->is_integer ? "integer" : "floating point", qv_json_repr(v, r, sizeof r));
      return buf;
    case QV_JSON_STRING: snprintf(buf, cap, "string \"%s\"", v->string); return buf;
    case QV_JSON_ARRAY: return "sequence";
    default: return "map";
  }
}

static void key_path(char *out, size_t cap, const char *path, const char *key) {
  if (path[0] == 0) snprintf(out, cap, "%s", key);
  else snprintf(out, cap, "%s.%s", path, key);
}

bool qv_cfg_object(const qv_json *v, const char *path, const char *const *allowed, size_t nallowed,
                   const char *const *required, size_t nrequired, qv_error *err) {
  char kb[160];
  if (v->kind != QV_JSON_OBJECT)
    return qv_error_config(err, path, "invalid type: %s, expected a map", kind_of(v, kb, sizeof kb));
  for (size_t i = 0; i < v->len; i++) {
    bool ok = false;
    for (size_t k = 0; k < nallowed; k++) ok |= strcmp(v->keys[i], allowed[k]) == 0;
    if (ok) continue;
    qv_buf list = {0};
    for (size_t k = 0; k < nallowed; k++) {
      char one[96];
      snprintf(one, sizeof one, "%s`%s`", k ? ", " : "", allowed[k]);
      qv_buf_push(&list, one, strlen(one));
    }
    uint8_t z = 0;
    qv_buf_push(&list, &z, 1);
    qv_error_config(err, path, "unknown field `%s`, expected %s%s", v->keys[i], nallowed == 1 ? "" : "one of ",
                    (const char *)list.ptr);
    qv_buf_free(&list);
    return false;
  }
  for (size_t k = 0; k < nrequired; k++)
    if (!qv_json_get(v, required[k])) return qv_error_config(err, path, "missing field `%s`", required[k]);
  return true;
}

bool qv_cfg_string(const qv_json *obj, const char *path, const char *key, const char *def, bool null_ok, const char **out, qv_error *err) {
  const qv_json *v = qv_json_get(obj, key);
  char kp[256], kb[160];
  if (!v || (null_ok && v->kind == QV_JSON_NULL)) { *out = def; return true; }
  if (v->kind != QV_JSON_STRING) {
    key_path(kp, sizeof kp, path, key);
    return qv_error_config(err, kp, "invalid type: %s, expected a string", kind_of(v, kb, sizeof kb));
  }
  *out = v->string;
  return true;
}

bool qv_cfg_number(const qv_json *obj, const char *path, const char *key, double def, bool null_ok, double *out, bool *present, qv_error *err) {
  const qv_json *v = qv_json_get(obj, key);
  char kp[256], kb[160];
  if (!v || (null_ok && v->kind == QV_JSON_NULL)) {
    *out = def;
    if (present) *present = false;
    return true;
  }
  if (v->kind != QV_JSON_NUMBER) {
    key_path(kp, sizeof kp, path, key);
    return qv_error_config(err, kp, "invalid type: %s, expected f64", kind_of(v, kb, sizeof kb));
  }
  *out = v->number;
  if (present) *present = true;
  return true;
}

bool qv_cfg_enum(const qv_json *obj, const char *path, const char *key, const char *const *choices, size_t n, const char *def, const char **out, qv_error *err) {
  const qv_json *v = qv_json_get(obj, key);
  char kp[256], kb[160];
  if (!v) { *out = def; return true; }
  if (v->kind == QV_JSON_STRING)
    for (size_t i = 0; i < n; i++)
      if (strcmp(v->string, choices[i]) == 0) { *out = choices[i]; return true; }
  qv_buf list = {0};
  for (size_t k = 0; k < n; k++) {
    char one[96];
    snprintf(one, sizeof one, "%s`%s`", k ? ", " : "", choices[k]);
    qv_buf_push(&list, one, strlen(one));
  }
  uint8_t z = 0;
  qv_buf_push(&list, &z, 1);
  key_path(kp, sizeof kp, path, key);
  if (v->kind == QV_JSON_STRING)
    qv_error_config(err, kp, "unknown variant `%s`, expected one of %s", v->string, (const char *)list.ptr);
  else
    qv_error_config(err, kp, "invalid type: %s, expected one of %s", kind_of(v, kb, sizeof kb), (const char *)list.ptr);
  qv_buf_free(&list);
  return false;
}

// ---------------------------------------------------------------------------------------
// The WIT exports.

struct exports_quiver_transform_transform_transformer_t {
  void *state;
  qv_schema input;   // owned (given by the host to `create`)
  qv_schema output;  // owned (built by the plugin's create)
};

void exports_quiver_transform_transform_metadata(exports_quiver_transform_transform_plugin_metadata_t *ret) {
  const qv_plugin *p = quiver_plugin();
  wit_cstring(&ret->name, p->name);
  wit_cstring(&ret->version, p->version);
  wit_cstring(&ret->description, p->description ? p->description : "");
  wit_cstring(&ret->config_schema, p->config_schema ? p->config_schema : "{\"type\": \"object\"}");
}

bool exports_quiver_transform_transform_static_transformer_create(
    plugin_string_t *config, exports_quiver_transform_transform_schema_t *input,
    exports_quiver_transform_transform_own_transformer_t *ret, exports_quiver_transform_transform_error_t *err) {
  const qv_plugin *p = quiver_plugin();
  // Parse the config (empty text means `{}`), then free the text we own.
  const char *s = (const char *)config->ptr;
  const char *end = s + config->len;
  while (s < end && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++;
  qv_json doc;
  jp parser = {s, end, NULL};
  bool ok;
  if (s == end) {
    memset(&doc, 0, sizeof doc);
    doc.kind = QV_JSON_OBJECT;
    ok = true;
  } else {
    ok = json_value(&parser, &doc, 0);
    if (ok) {
      ws(&parser);
      if (parser.s != parser.end) { parser.error = "trailing characters"; ok = false; }
    }
  }
  if (!ok) {
    qv_error_config(err, "", "%s at character %zu of the config", parser.error, (size_t)(parser.s - (const char *)config->ptr));
    json_free(&doc);
    plugin_string_free(config);
    quiver_transform_types_schema_free(input);
    return false;
  }
  plugin_string_free(config);

  struct exports_quiver_transform_transform_transformer_t *t = calloc(1, sizeof *t);
  if (!t) abort();
  t->input = *input;  // take ownership of the host's schema
  qv_schema_builder out = {0};
  ok = p->create(&doc, &t->input, &t->state, &out, err);
  json_free(&doc);
  if (!ok) {
    quiver_transform_types_schema_free(&out.schema);
    quiver_transform_types_schema_free(&t->input);
    free(t);
    return false;
  }
  t->output = out.schema;
  *ret = exports_quiver_transform_transform_transformer_new(t);
  return true;
}

void exports_quiver_transform_transform_method_transformer_output_schema(
    exports_quiver_transform_transform_borrow_transformer_t self, exports_quiver_transform_transform_schema_t *ret) {
  copy_schema(ret, &self->output);  // post-return frees the copy
}

static bool check_batches(const qv_schema *output, qv_batches *out, qv_error *err) {
  for (size_t b = 0; b < out->len; b++) {
    if (out->ptr[b].columns.len != output->fields.len) {
      size_t got = out->ptr[b].columns.len;
      for (size_t k = 0; k < out->len; k++) quiver_transform_types_batch_free(&out->ptr[k]);
      free(out->ptr);
      out->ptr = NULL;
      out->len = 0;
      return qv_error_internal(err, "process returned a batch of %zu columns; the output schema has %zu", got,
                               output->fields.len);
    }
  }
  return true;
}

static void free_batches(qv_batches *out) {
  for (size_t k = 0; k < out->len; k++) quiver_transform_types_batch_free(&out->ptr[k]);
  free(out->ptr);
  out->ptr = NULL;
  out->len = out->cap = 0;
}

bool exports_quiver_transform_transform_method_transformer_process(
    exports_quiver_transform_transform_borrow_transformer_t self, exports_quiver_transform_transform_batch_t *input,
    exports_quiver_transform_transform_list_batch_t *ret, exports_quiver_transform_transform_error_t *err) {
  const qv_plugin *p = quiver_plugin();
  if (input->columns.len != self->input.fields.len) {
    size_t got = input->columns.len;
    quiver_transform_types_batch_free(input);
    return qv_error_internal(err, "host sent %zu columns for a schema of %zu", got, self->input.fields.len);
  }
  size_t n = input->columns.len;
  qv_column cols_small[16];
  qv_column *cols = n <= 16 ? cols_small : xmalloc(n * sizeof *cols);
  for (size_t i = 0; i < n; i++) {
    const qv_column_wit *c = &input->columns.ptr[i];
    cols[i].field = &self->input.fields.ptr[i];
    cols[i].rows = input->num_rows;
    cols[i].validity = c->validity.is_some ? c->validity.val.ptr : NULL;
    cols[i].offsets = c->offsets.is_some ? c->offsets.val.ptr : NULL;
    cols[i].values = c->values.ptr;
    cols[i].values_len = c->values.len;
  }
  qv_batch batch = {input->num_rows, n, cols, input};
  qv_batches out = {0};
  bool ok = p->process(self->state, &batch, &out, err);
  if (cols != cols_small) free(cols);
  quiver_transform_types_batch_free(input);  // what was moved out is empty now
  if (ok) ok = check_batches(&self->output, &out, err);
  if (!ok) {
    free_batches(&out);
    return false;
  }
  ret->ptr = out.len ? out.ptr : NULL;
  ret->len = out.len;
  if (!out.len) free(out.ptr);
  return true;
}

bool exports_quiver_transform_transform_method_transformer_finish(
    exports_quiver_transform_transform_borrow_transformer_t self, exports_quiver_transform_transform_list_batch_t *ret,
    exports_quiver_transform_transform_error_t *err) {
  const qv_plugin *p = quiver_plugin();
  qv_batches out = {0};
  bool ok = p->finish ? p->finish(self->state, &out, err) : true;
  if (ok) ok = check_batches(&self->output, &out, err);
  if (!ok) {
    free_batches(&out);
    return false;
  }
  ret->ptr = out.len ? out.ptr : NULL;
  ret->len = out.len;
  if (!out.len) free(out.ptr);
  return true;
}

void exports_quiver_transform_transform_transformer_destructor(exports_quiver_transform_transform_transformer_t *rep) {
  const qv_plugin *p = quiver_plugin();
  if (p->destroy) p->destroy(rep->state);
  quiver_transform_types_schema_free(&rep->input);
  quiver_transform_types_schema_free(&rep->output);
  free(rep);
}
