// Quiver C SDK: write a transform as four callbacks, export it with QUIVER_PLUGIN.
//
// The SDK (quiver.c) implements the WIT exports of world `quiver:transform/plugin` on top of
// the committed wit-bindgen 0.63.0 bindings (bindings/plugin.h). You write:
//
//   static bool my_create(const qv_json *config, const qv_schema *input, void **state,
//                         qv_schema_builder *output, qv_error *err);
//   static bool my_process(void *state, qv_batch *in, qv_batches *out, qv_error *err);
//   static bool my_finish(void *state, qv_batches *out, qv_error *err);   // may be NULL
//   static void my_destroy(void *state);                                 // may be NULL
//   QUIVER_PLUGIN("name", "0.1.0", "description", CONFIG_SCHEMA_JSON,
//                 my_create, my_process, my_finish, my_destroy);
//
// Memory ownership (the canonical ABI, as wit-bindgen's C bindings lay it out):
// - The input batch of `process` belongs to the guest. The SDK frees it after your callback
//   returns; every buffer you moved out with `qv_column_move` is not freed (it now belongs to
//   the output). Do not keep pointers into an input batch across calls.
// - Everything an export returns (output batches, errors, schemas, metadata) is freed by the
//   bindings' post-return function with free(): so it must be malloc'd, and no two returned
//   buffers may share memory. The builders below guarantee it; never put a static or stack
//   pointer, or one buffer twice, into an output batch.
// - `create`'s config text and input schema are freed/kept by the SDK; `state` is yours and
//   `destroy` is called when the host drops the transformer.
#ifndef QUIVER_H
#define QUIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------
// Types.

typedef quiver_transform_types_data_type_t qv_data_type;
typedef quiver_transform_types_field_t qv_field;
typedef quiver_transform_types_schema_t qv_schema;
typedef quiver_transform_types_column_t qv_column_wit;
typedef quiver_transform_types_error_t qv_error;

enum {
  QV_NULL = QUIVER_TRANSFORM_TYPES_DATA_TYPE_NULL,
  QV_BOOLEAN = QUIVER_TRANSFORM_TYPES_DATA_TYPE_BOOLEAN,
  QV_INT8 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_INT8,
  QV_INT16 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_INT16,
  QV_INT32 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_INT32,
  QV_INT64 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_INT64,
  QV_UINT8 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_UINT8,
  QV_UINT16 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_UINT16,
  QV_UINT32 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_UINT32,
  QV_UINT64 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_UINT64,
  QV_FLOAT32 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_FLOAT32,
  QV_FLOAT64 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_FLOAT64,
  QV_UTF8 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_UTF8,
  QV_LARGE_UTF8 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_LARGE_UTF8,
  QV_BINARY = QUIVER_TRANSFORM_TYPES_DATA_TYPE_BINARY,
  QV_LARGE_BINARY = QUIVER_TRANSFORM_TYPES_DATA_TYPE_LARGE_BINARY,
  QV_DATE32 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_DATE32,
  QV_DATE64 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_DATE64,
  QV_TIMESTAMP = QUIVER_TRANSFORM_TYPES_DATA_TYPE_TIMESTAMP,
  QV_DECIMAL128 = QUIVER_TRANSFORM_TYPES_DATA_TYPE_DECIMAL128,
};

/// Bytes per row of a fixed-width type; 0 for null, boolean (bit-packed) and the var-width types.
size_t qv_type_width(const qv_data_type *t);
bool qv_type_is_signed_int(const qv_data_type *t);
bool qv_type_is_unsigned_int(const qv_data_type *t);
bool qv_type_is_float(const qv_data_type *t);
bool qv_type_is_var_width(const qv_data_type *t);
/// Arrow's display name of a type (`Int64`, `Utf8`, `Timestamp(ms, "UTC")`) into buf.
const char *qv_type_name(const qv_data_type *t, char *buf, size_t cap);

/// Index of the column `name` (NUL-terminated) in `s`, or -1.
int qv_schema_index(const qv_schema *s, const char *name);

// ---------------------------------------------------------------------------------------
// Reading an input batch.

/// One input column: pointers straight into the buffers the host sent (no copy).
typedef struct {
  const qv_field *field;
  size_t rows;
  const uint8_t *validity;  ///< LSB-first bitmap, 1 = valid; NULL when every row is valid.
  const uint8_t *offsets;   ///< var-width types only (int32 or int64 little-endian), else NULL.
  const uint8_t *values;
  size_t values_len;
} qv_column;

typedef struct {
  size_t rows;
  size_t num_columns;
  qv_column *columns;
  quiver_transform_types_batch_t *wit;  ///< the owned input; freed by the SDK after `process`
} qv_batch;

static inline bool qv_bit(const uint8_t *bitmap, size_t i) { return (bitmap[i >> 3] >> (i & 7)) & 1; }
static inline void qv_set_bit(uint8_t *bitmap, size_t i) { bitmap[i >> 3] |= (uint8_t)(1u << (i & 7)); }
/// Is row i valid (not null)?
static inline bool qv_is_valid(const qv_column *c, size_t i) {
  if (c->field->data_type.tag == QV_NULL) return false;
  return c->validity == NULL || qv_bit(c->validity, i);
}
/// Typed views of the values buffer (buffers are malloc'd by the canonical ABI: 16-byte aligned).
static inline const int8_t *qv_i8(const qv_column *c) { return (const int8_t *)c->values; }
static inline const int16_t *qv_i16(const qv_column *c) { return (const int16_t *)(const void *)c->values; }
static inline const int32_t *qv_i32(const qv_column *c) { return (const int32_t *)(const void *)c->values; }
static inline const int64_t *qv_i64(const qv_column *c) { return (const int64_t *)(const void *)c->values; }
static inline const uint8_t *qv_u8(const qv_column *c) { return c->values; }
static inline const uint16_t *qv_u16(const qv_column *c) { return (const uint16_t *)(const void *)c->values; }
static inline const uint32_t *qv_u32(const qv_column *c) { return (const uint32_t *)(const void *)c->values; }
static inline const uint64_t *qv_u64(const qv_column *c) { return (const uint64_t *)(const void *)c->values; }
static inline const float *qv_f32(const qv_column *c) { return (const float *)(const void *)c->values; }
static inline const double *qv_f64(const qv_column *c) { return (const double *)(const void *)c->values; }
/// Boolean row i (ignores validity).
static inline bool qv_bool(const qv_column *c, size_t i) { return qv_bit(c->values, i); }
/// Bytes of row i of a utf8/binary (or large) column: a slice of the values buffer, not NUL-terminated.
const uint8_t *qv_slice(const qv_column *c, size_t i, size_t *len);
/// Number of null rows.
size_t qv_null_count(const qv_column *c);

// ---------------------------------------------------------------------------------------
// Building output.

/// A growable malloc'd byte buffer.
typedef struct {
  uint8_t *ptr;
  size_t len, cap;
} qv_buf;
void qv_buf_reserve(qv_buf *b, size_t extra);
void qv_buf_push(qv_buf *b, const void *data, size_t n);
void qv_buf_free(qv_buf *b);

/// Builds one output column row by row.
typedef struct {
  uint8_t tag;
  size_t width, rows, nulls;
  qv_buf validity, offsets, values;
} qv_builder;
void qv_builder_init(qv_builder *b, const qv_data_type *t, size_t capacity);
void qv_builder_append_null(qv_builder *b);
/// Append a fixed-width value: `value` points at `width` bytes (e.g. &some_int64).
void qv_builder_append(qv_builder *b, const void *value);
void qv_builder_append_bool(qv_builder *b, bool v);
/// Append a utf8/binary value of `len` bytes.
void qv_builder_append_bytes(qv_builder *b, const void *data, size_t len);
/// Move the built buffers into `out` (an output batch column); the builder is left empty.
void qv_builder_finish(qv_builder *b, qv_column_wit *out);

/// Output batches returned by `process` / `finish`.
typedef struct {
  quiver_transform_types_batch_t *ptr;
  size_t len, cap;
} qv_batches;
/// Append a batch of `rows` rows and `num_columns` empty columns; fill its `columns.ptr[i]`.
quiver_transform_types_batch_t *qv_batches_push(qv_batches *out, uint32_t rows, size_t num_columns);

/// Take input column i's buffers into `out` without copying. Input column i is emptied;
/// moving it twice gives an empty column the second time (use qv_column_copy then).
void qv_column_move(qv_batch *in, size_t i, qv_column_wit *out);
/// A malloc'd copy of an input column's buffers.
void qv_column_copy(const qv_column *c, qv_column_wit *out);
/// Give a malloc'd buffer of `len` bytes to an output list (frees it when len is 0).
void qv_list_take(plugin_list_u8_t *dst, uint8_t *ptr, size_t len);
/// A new validity bitmap for `rows` rows, all null (zeroed); set bits with qv_set_bit.
uint8_t *qv_bitmap_new(size_t rows);
/// The rows of column `c` where mask[i] != 0 (`count` of them), as a new output column.
void qv_select_rows(const qv_column *c, const uint8_t *mask, size_t count, qv_column_wit *out);

/// Declares the output schema in `create`.
typedef struct {
  qv_schema schema;
} qv_schema_builder;
/// Append a field (name copied).
void qv_schema_add(qv_schema_builder *s, const char *name, const qv_data_type *t, bool nullable);
/// Append copies of every field and the metadata of `input`.
void qv_schema_copy_from(qv_schema_builder *s, const qv_schema *input);

// ---------------------------------------------------------------------------------------
// Errors: fill `err` and return false from a callback.

/// The config is wrong at `key` (e.g. `columns[2].scale`; "" for the whole document).
bool qv_error_config(qv_error *err, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/// The input data is wrong in `column` (NULL: unknown) at `row` (negative: unknown).
bool qv_error_data(qv_error *err, const char *column, int64_t row, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/// The plugin itself failed.
bool qv_error_internal(qv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// ---------------------------------------------------------------------------------------
// Host imports.

enum { QV_TRACE = 0, QV_DEBUG, QV_INFO, QV_WARN, QV_ERROR };
/// Log `message` with `nfields` key/value pairs (keys[i], values[i]); strings are borrowed.
void qv_log(int level, const char *message, size_t nfields, const char *const *keys, const char *const *values);
void qv_counter_add(const char *name, uint64_t delta);

// ---------------------------------------------------------------------------------------
// Config: a small JSON reader. Integers are kept exactly (int64/uint64) beside their double.

typedef enum { QV_JSON_NULL, QV_JSON_BOOL, QV_JSON_NUMBER, QV_JSON_STRING, QV_JSON_ARRAY, QV_JSON_OBJECT } qv_json_kind;
typedef struct qv_json qv_json;
struct qv_json {
  qv_json_kind kind;
  bool boolean;
  double number;
  bool is_integer;  ///< the number was written without fraction or exponent
  bool fits_i64, fits_u64;
  int64_t i64;
  uint64_t u64;
  char *string;      ///< NUL-terminated (string values)
  char *text;        ///< the number as written
  size_t len;        ///< array / object entries
  qv_json *items;    ///< array items or object values
  char **keys;       ///< object keys
};
/// Member `key` of an object, or NULL.
const qv_json *qv_json_get(const qv_json *obj, const char *key);
/// The JSON text of a value (for messages), into buf.
const char *qv_json_repr(const qv_json *v, char *buf, size_t cap);

/// Config checks that name the key at fault, with messages like the Rust SDK's (serde's).
/// Each returns false after filling `err`.
bool qv_cfg_object(const qv_json *v, const char *path, const char *const *allowed, size_t nallowed,
                   const char *const *required, size_t nrequired, qv_error *err);
/// String member (absent: *out = def). `null` counts as absent when `null_ok`.
bool qv_cfg_string(const qv_json *obj, const char *path, const char *key, const char *def, bool null_ok, const char **out, qv_error *err);
/// Number member (absent: *present = false, *out = def).
bool qv_cfg_number(const qv_json *obj, const char *path, const char *key, double def, bool null_ok, double *out, bool *present, qv_error *err);
/// One of `choices` (absent: *out = def).
bool qv_cfg_enum(const qv_json *obj, const char *path, const char *key, const char *const *choices, size_t n, const char *def, const char **out, qv_error *err);
/// Shortest decimal text that reads back as `v` (like Rust's `{}` for f64).
const char *qv_fmt_f64(double v, char *buf, size_t cap);

// ---------------------------------------------------------------------------------------
// The plugin.

typedef struct {
  const char *name, *version, *description, *config_schema;
  bool (*create)(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output, qv_error *err);
  bool (*process)(void *state, qv_batch *in, qv_batches *out, qv_error *err);
  bool (*finish)(void *state, qv_batches *out, qv_error *err);
  void (*destroy)(void *state);
} qv_plugin;

/// The plugin of this module; defined by QUIVER_PLUGIN.
const qv_plugin *quiver_plugin(void);

#define QUIVER_PLUGIN(NAME, VERSION, DESCRIPTION, SCHEMA, CREATE, PROCESS, FINISH, DESTROY) \
  static const qv_plugin quiver_plugin_def__ = {NAME, VERSION, DESCRIPTION, SCHEMA, CREATE, PROCESS, FINISH, DESTROY}; \
  const qv_plugin *quiver_plugin(void) { return &quiver_plugin_def__; }

#ifdef __cplusplus
}
#endif
#endif
