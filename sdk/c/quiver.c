// Quiver C SDK: types and schemas, outputs, host imports and the WIT exports of contract
// 0.2 over the wit-bindgen bindings. The kernels are in kernels.c, the plain-C parts
// (config reader, errors, bitmaps) in common.c. See quiver.h for the API and ownership.
#include <math.h>

#include "internal.h"

// ---------------------------------------------------------------------------------------
// Types and schemas.

bool qv_type_is_signed_int(const qv_type *t) { return t->tag >= QV_INT8 && t->tag <= QV_INT64; }
bool qv_type_is_unsigned_int(const qv_type *t) { return t->tag >= QV_UINT8 && t->tag <= QV_UINT64; }
bool qv_type_is_float(const qv_type *t) { return t->tag >= QV_FLOAT16 && t->tag <= QV_FLOAT64; }
bool qv_type_is_string(const qv_type *t) { return t->tag == QV_UTF8 || t->tag == QV_LARGE_UTF8; }

qv_type qv_type_of(uint8_t tag) {
  qv_type t;
  memset(&t, 0, sizeof t);
  t.tag = tag;
  return t;
}

const char *qv_type_name(const qv_type *t, char *buf, size_t cap) {
  static const char *names[] = {"Null", "Boolean", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
                                "UInt32", "UInt64", "Float16", "Float32", "Float64", "Utf8", "LargeUtf8",
                                "Binary", "LargeBinary", "FixedSizeBinary", "Date32", "Date64", "Timestamp",
                                "Time32", "Time64", "Duration", "Interval", "Decimal32", "Decimal64",
                                "Decimal128", "Decimal256", "List", "LargeList", "FixedSizeList", "Struct",
                                "Map", "Dictionary"};
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

static size_t children(const qv_type *t) {
  switch (t->tag) {
    case QUIVER_TRANSFORM_TYPES_TYPE_NODE_LIST:
    case QUIVER_TRANSFORM_TYPES_TYPE_NODE_LARGE_LIST:
    case QUIVER_TRANSFORM_TYPES_TYPE_NODE_FIXED_SIZE_LIST:
    case QUIVER_TRANSFORM_TYPES_TYPE_NODE_MAP:
    case QUIVER_TRANSFORM_TYPES_TYPE_NODE_DICTIONARY:
      return 1;
    case QUIVER_TRANSFORM_TYPES_TYPE_NODE_STRUCT:
      return t->val.struct_;
    default:
      return 0;
  }
}

// The node after the subtree that starts at node `i` (the fields' length when malformed).
static size_t subtree_end(const qv_schema *s, size_t i) {
  size_t need = 1;
  while (need > 0 && i < s->fields.len) {
    need += children(&s->fields.ptr[i].data_type);
    need--;
    i++;
  }
  return i;
}

// Node index of column `column`, or the fields' length.
static size_t column_node(const qv_schema *s, size_t column) {
  size_t i = 0;
  for (size_t c = 0; c < column && i < s->fields.len; c++) i = subtree_end(s, i);
  return i;
}

size_t qv_schema_len(const qv_schema *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->fields.len; i = subtree_end(s, i)) n++;
  return n;
}

int qv_schema_index(const qv_schema *s, const char *name) {
  size_t len = strlen(name);
  int c = 0;
  for (size_t i = 0; i < s->fields.len; i = subtree_end(s, i), c++) {
    const plugin_string_t *n = &s->fields.ptr[i].name;
    if (n->len == len && memcmp(n->ptr, name, len) == 0) return c;
  }
  return -1;
}

const qv_field *qv_schema_field(const qv_schema *s, size_t column) {
  size_t i = column_node(s, column);
  return i < s->fields.len ? &s->fields.ptr[i] : NULL;
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

void qv_schema_add(qv_schema_builder *s, const char *name, const qv_type *t, bool nullable) {
  qv_field f;
  f.name.ptr = (uint8_t *)name;
  f.name.len = strlen(name);
  f.data_type = *t;
  f.nullable = nullable;
  schema_push(&s->schema, &f);
}

void qv_schema_add_like(qv_schema_builder *s, const char *name, const qv_schema *from, size_t column) {
  size_t i = column_node(from, column);
  size_t end = subtree_end(from, i);
  for (size_t k = i; k < end; k++) {
    qv_field f = from->fields.ptr[k];
    if (k == i) {
      f.name.ptr = (uint8_t *)name;
      f.name.len = strlen(name);
    }
    schema_push(&s->schema, &f);
  }
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
  plugin_list_tuple2_string_string_free(&s->schema.metadata);
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
// Outputs.

qv_output *qv_outputs_push(qv_outputs *out, uint64_t num_rows, size_t num_columns) {
  if (out->len == out->cap) {
    out->cap = out->cap ? out->cap * 2 : 2;
    void *p = realloc(out->ptr, out->cap * sizeof *out->ptr);
    if (!p) abort();
    out->ptr = p;
  }
  qv_output *o = &out->ptr[out->len++];
  memset(o, 0, sizeof *o);
  o->num_rows = num_rows;
  o->columns.len = num_columns;
  o->columns.ptr = num_columns ? calloc(num_columns, sizeof *o->columns.ptr) : NULL;
  if (num_columns && !o->columns.ptr) abort();
  return o;
}

qv_output *qv_outputs_push_input(qv_outputs *out, const qv_batch *in) {
  qv_output *o = qv_outputs_push(out, in->rows, in->num_columns);
  for (size_t i = 0; i < in->num_columns; i++) qv_out_keep(o, i, (uint32_t)i);
  return o;
}

void qv_out_keep(qv_output *o, size_t slot, uint32_t input) {
  exports_quiver_transform_transform_out_column_free(&o->columns.ptr[slot]);
  o->columns.ptr[slot].tag = EXPORTS_QUIVER_TRANSFORM_TRANSFORM_OUT_COLUMN_KEEP;
  o->columns.ptr[slot].val.keep = input;
}

void qv_out_set_col(qv_output *o, size_t slot, quiver_col *c) {
  exports_quiver_transform_transform_out_column_free(&o->columns.ptr[slot]);
  o->columns.ptr[slot].tag = EXPORTS_QUIVER_TRANSFORM_TRANSFORM_OUT_COLUMN_HANDLE;
  o->columns.ptr[slot].val.handle = c->handle;
  c->live = false;
}

void qv_out_push_col(qv_output *o, quiver_col *c) {
  void *p = realloc(o->columns.ptr, (o->columns.len + 1) * sizeof *o->columns.ptr);
  if (!p) abort();
  o->columns.ptr = p;
  memset(&o->columns.ptr[o->columns.len], 0, sizeof *o->columns.ptr);
  o->columns.ptr[o->columns.len].tag = EXPORTS_QUIVER_TRANSFORM_TRANSFORM_OUT_COLUMN_KEEP;
  qv_out_set_col(o, o->columns.len++, c);
}

bool qv_out_filter(qv_output *o, const quiver_col *mask, qv_error *err) {
  qv_column_data data;
  if (!quiver_col_read(mask, &data, err)) return false;
  if (data.len == 0) {
    quiver_transform_types_column_data_free(&data);
    return qv_error_internal(err, "filter: the mask has no buffers");
  }
  const quiver_transform_types_node_t *n = &data.ptr[0];
  // The mask has the input's rows: before a selection, the output's rows are those.
  size_t rows = (size_t)n->len;
  uint8_t *bits = qv_mask_bits(n->values.ptr, n->validity.is_some ? n->validity.val.ptr : NULL, rows);
  quiver_transform_types_column_data_free(&data);
  if (o->selection.is_some) {  // narrow the first selection
    const uint8_t *prev = o->selection.val.val.mask.ptr;
    for (size_t i = 0; i < ((rows + 7) >> 3); i++) bits[i] &= prev[i];
    exports_quiver_transform_transform_option_selection_free(&o->selection);
  } else if (qv_count_bits(bits, rows) == rows) {  // every row: no selection at all
    free(bits);
    return true;
  }
  o->selection.is_some = true;
  o->selection.val.tag = EXPORTS_QUIVER_TRANSFORM_TRANSFORM_SELECTION_MASK;
  qv_list_take(&o->selection.val.val.mask, bits, (rows + 7) >> 3);
  o->num_rows = qv_count_bits(bits, rows);
  return true;
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
// The WIT exports.

struct exports_quiver_transform_transform_transformer_t {
  void *state;
  qv_schema input;   // owned (given by the host to `create`)
  qv_schema output;  // owned (built by the plugin's create)
  size_t num_columns, num_outputs;
  char **names;      // the input columns' names, NUL-terminated (named in errors)
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
  qv_json doc;
  bool ok = qv_json_parse((const char *)config->ptr, config->len, &doc, err);
  plugin_string_free(config);
  if (!ok) {
    quiver_transform_types_schema_free(input);
    return false;
  }
  struct exports_quiver_transform_transform_transformer_t *t = calloc(1, sizeof *t);
  if (!t) abort();
  t->input = *input;  // take ownership of the host's schema
  qv_schema_builder out = {0};
  ok = p->create(&doc, &t->input, &t->state, &out, err);
  qv_json_free(&doc);
  if (!ok) {
    quiver_transform_types_schema_free(&out.schema);
    quiver_transform_types_schema_free(&t->input);
    free(t);
    return false;
  }
  t->output = out.schema;
  t->num_columns = qv_schema_len(&t->input);
  t->num_outputs = qv_schema_len(&t->output);
  t->names = xmalloc(t->num_columns * sizeof *t->names);
  for (size_t i = 0; i < t->num_columns; i++) {
    const qv_field *f = qv_schema_field(&t->input, i);
    t->names[i] = xstrndup((const char *)f->name.ptr, f->name.len);
  }
  *ret = exports_quiver_transform_transform_transformer_new(t);
  return true;
}

void exports_quiver_transform_transform_method_transformer_output_schema(
    exports_quiver_transform_transform_borrow_transformer_t self, exports_quiver_transform_transform_schema_t *ret) {
  copy_schema(ret, &self->output);  // post-return frees the copy
}

static void free_outputs(qv_outputs *out) {
  for (size_t k = 0; k < out->len; k++) exports_quiver_transform_transform_output_free(&out->ptr[k]);
  free(out->ptr);
  out->ptr = NULL;
  out->len = out->cap = 0;
}

// Every output has the declared number of columns.
static bool check_outputs(size_t want, qv_outputs *out, qv_error *err) {
  for (size_t b = 0; b < out->len; b++) {
    if (out->ptr[b].columns.len != want) {
      size_t got = out->ptr[b].columns.len;
      free_outputs(out);
      return qv_error_internal(err, "process returned an output of %zu columns; the output schema has %zu", got, want);
    }
  }
  return true;
}

static bool finish_call(qv_outputs *out, bool ok, size_t want, exports_quiver_transform_transform_list_output_t *ret,
                        qv_error *err) {
  if (ok) ok = check_outputs(want, out, err);
  if (!ok) {
    free_outputs(out);
    return false;
  }
  ret->ptr = out->len ? out->ptr : NULL;
  ret->len = out->len;
  if (!out->len) free(out->ptr);
  return true;
}

bool exports_quiver_transform_transform_method_transformer_process(
    exports_quiver_transform_transform_borrow_transformer_t self, exports_quiver_transform_transform_borrow_batch_t input,
    exports_quiver_transform_transform_list_output_t *ret, exports_quiver_transform_transform_error_t *err) {
  const qv_plugin *p = quiver_plugin();
  qv_batch batch = {input, &self->input, (size_t)quiver_transform_columns_method_batch_num_rows(input),
                    self->num_columns, self->names};
  qv_outputs out = {0};
  bool ok = p->process(self->state, &batch, &out, err);
  // A borrowed handle passed into an export is dropped by the callee before it returns.
  quiver_transform_columns_batch_drop_borrow(input);
  return finish_call(&out, ok, self->num_outputs, ret, err);
}

bool exports_quiver_transform_transform_method_transformer_finish(
    exports_quiver_transform_transform_borrow_transformer_t self, exports_quiver_transform_transform_list_output_t *ret,
    exports_quiver_transform_transform_error_t *err) {
  const qv_plugin *p = quiver_plugin();
  qv_outputs out = {0};
  bool ok = p->finish ? p->finish(self->state, &out, err) : true;
  return finish_call(&out, ok, self->num_outputs, ret, err);
}

void exports_quiver_transform_transform_transformer_destructor(exports_quiver_transform_transform_transformer_t *rep) {
  const qv_plugin *p = quiver_plugin();
  if (p->destroy) p->destroy(rep->state);
  for (size_t i = 0; i < rep->num_columns; i++) free(rep->names[i]);
  free(rep->names);
  quiver_transform_types_schema_free(&rep->input);
  quiver_transform_types_schema_free(&rep->output);
  free(rep);
}
