// Quiver C SDK: errors, the config reader, byte buffers and selection bitmaps — plain C
// with no host call, so tests/common_test.c runs it natively (scripts/test.sh).
#include <math.h>

#include "internal.h"

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


bool qv_json_parse(const char *text, size_t len, qv_json *out, qv_error *err) {
  const char *s = text;
  const char *end = s + len;
  while (s < end && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++;
  memset(out, 0, sizeof *out);
  if (s == end) {  // empty text means `{}`
    out->kind = QV_JSON_OBJECT;
    return true;
  }
  jp parser = {s, end, NULL};
  bool ok = json_value(&parser, out, 0);
  if (ok) {
    ws(&parser);
    if (parser.s != parser.end) {
      parser.error = "trailing characters";
      ok = false;
    }
  }
  if (!ok) {
    qv_error_config(err, "", "%s at character %zu of the config", parser.error, (size_t)(parser.s - text));
    json_free(out);
    return false;
  }
  return true;
}

void qv_json_free(qv_json *v) { json_free(v); }

// ---------------------------------------------------------------------------------------
// Selection bitmaps.

size_t qv_count_bits(const uint8_t *bits, size_t rows) {
  size_t n = 0;
  for (size_t i = 0; i < rows >> 3; i++) n += (size_t)__builtin_popcount(bits[i]);
  if (rows & 7) n += (size_t)__builtin_popcount(bits[rows >> 3] & ((1u << (rows & 7)) - 1));
  return n;
}

uint8_t *qv_mask_bits(const uint8_t *values, const uint8_t *validity, size_t rows) {
  size_t bytes = (rows + 7) >> 3;
  uint8_t *out = xmalloc(bytes);
  for (size_t i = 0; i < bytes; i++) out[i] = validity ? (uint8_t)(values[i] & validity[i]) : values[i];
  if (rows & 7) out[bytes - 1] &= (uint8_t)((1u << (rows & 7)) - 1);
  return out;
}
