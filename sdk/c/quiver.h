// Quiver C SDK on contract 0.2 (`quiver:transform@0.2.0`): columns stay in the host behind
// handles, and the host's Arrow kernels run on them. Write a transform as callbacks, export
// it with QUIVER_PLUGIN:
//
//   static bool my_create(const qv_json *config, const qv_schema *input, void **state,
//                         qv_schema_builder *output, qv_error *err);
//   static bool my_process(void *state, qv_batch *in, qv_outputs *out, qv_error *err);
//   static bool my_finish(void *state, qv_outputs *out, qv_error *err);   // may be NULL
//   static void my_destroy(void *state);                                 // may be NULL
//   QUIVER_PLUGIN("name", "0.1.0", "description", CONFIG_SCHEMA_JSON,
//                 my_create, my_process, my_finish, my_destroy);
//
// In `process`, `quiver_batch_col` gives a column handle (nothing copied); the `quiver_col_*`
// kernels (one per `compute` function of the WIT, docs/kernels.md) return new handles; an
// output keeps input columns by reference (`qv_outputs_push_input`), takes kernel results by
// handle (`qv_out_set_col`, `qv_out_push_col`) and can select rows with a mask
// (`qv_out_filter`: only the mask's bits cross). `quiver_col_read` copies a column's buffers
// in when the plugin needs its values.
//
// Ownership:
// - A `quiver_col` owns its handle: drop it with `quiver_col_drop`, or give it to an output
//   (`qv_out_set_col` / `qv_out_push_col` take it and leave the variable empty). Handles are
//   valid for the call they were made in.
// - Every kernel returns false and fills `err` on failure; the error names the column of its
//   (first) input: a data error gets it as its column, any other error starts with
//   ``column `x`: ``. The output handle is then empty.
// - Everything an export returns is freed by the bindings with free(): outputs and errors
//   built with this API satisfy that.
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
// Types and schemas. A type is a pre-order list of nodes; a schema the nodes of every
// column. `qv_schema_field(s, i)` is column i's top node.

typedef quiver_transform_types_type_node_t qv_type;
typedef quiver_transform_types_field_t qv_field;
typedef quiver_transform_types_schema_t qv_schema;
typedef quiver_transform_types_error_t qv_error;
typedef quiver_transform_types_column_data_t qv_column_data;
typedef quiver_transform_compute_scalar_t qv_scalar;
typedef quiver_transform_compute_operand_t qv_operand;
typedef exports_quiver_transform_transform_output_t qv_output;

enum {
  QV_NULL = QUIVER_TRANSFORM_TYPES_TYPE_NODE_NULL,
  QV_BOOLEAN = QUIVER_TRANSFORM_TYPES_TYPE_NODE_BOOLEAN,
  QV_INT8 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_INT8,
  QV_INT16 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_INT16,
  QV_INT32 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_INT32,
  QV_INT64 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_INT64,
  QV_UINT8 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_UINT8,
  QV_UINT16 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_UINT16,
  QV_UINT32 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_UINT32,
  QV_UINT64 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_UINT64,
  QV_FLOAT16 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_FLOAT16,
  QV_FLOAT32 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_FLOAT32,
  QV_FLOAT64 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_FLOAT64,
  QV_UTF8 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_UTF8,
  QV_LARGE_UTF8 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_LARGE_UTF8,
  QV_BINARY = QUIVER_TRANSFORM_TYPES_TYPE_NODE_BINARY,
  QV_LARGE_BINARY = QUIVER_TRANSFORM_TYPES_TYPE_NODE_LARGE_BINARY,
  QV_DATE32 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_DATE32,
  QV_DATE64 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_DATE64,
  QV_TIMESTAMP = QUIVER_TRANSFORM_TYPES_TYPE_NODE_TIMESTAMP,
  QV_DECIMAL128 = QUIVER_TRANSFORM_TYPES_TYPE_NODE_DECIMAL128,
};
enum {
  QV_UNIT_SECOND = QUIVER_TRANSFORM_TYPES_TIME_UNIT_SECOND,
  QV_UNIT_MILLISECOND = QUIVER_TRANSFORM_TYPES_TIME_UNIT_MILLISECOND,
  QV_UNIT_MICROSECOND = QUIVER_TRANSFORM_TYPES_TIME_UNIT_MICROSECOND,
  QV_UNIT_NANOSECOND = QUIVER_TRANSFORM_TYPES_TIME_UNIT_NANOSECOND,
};

bool qv_type_is_signed_int(const qv_type *t);
bool qv_type_is_unsigned_int(const qv_type *t);
bool qv_type_is_float(const qv_type *t);
bool qv_type_is_string(const qv_type *t);
/// Arrow's display name of a type (`Int64`, `Utf8`, `Timestamp(ms, "UTC")`) into buf.
const char *qv_type_name(const qv_type *t, char *buf, size_t cap);
/// A flat type node (no parameters): qv_type_of(QV_FLOAT64).
qv_type qv_type_of(uint8_t tag);

/// Top-level columns of `s`.
size_t qv_schema_len(const qv_schema *s);
/// Index of the column `name` (NUL-terminated), or -1.
int qv_schema_index(const qv_schema *s, const char *name);
/// The top node of column `column` (its name, type and nullability), or NULL.
const qv_field *qv_schema_field(const qv_schema *s, size_t column);

/// Declares the output schema in `create`.
typedef struct {
  qv_schema schema;
} qv_schema_builder;
/// Append a column of a flat type (name copied).
void qv_schema_add(qv_schema_builder *s, const char *name, const qv_type *t, bool nullable);
/// Append a copy of column `column` of `from` (its whole type) under `name`.
void qv_schema_add_like(qv_schema_builder *s, const char *name, const qv_schema *from, size_t column);
/// Append copies of every column and the metadata of `input`.
void qv_schema_copy_from(qv_schema_builder *s, const qv_schema *input);

// ---------------------------------------------------------------------------------------
// Host columns and the kernels.

/// A host column by handle, with the name of the column it came from (for errors).
typedef struct {
  quiver_transform_columns_own_column_t handle;
  const char *name;  ///< borrowed: the input schema's name (lives as long as the transformer)
  bool live;         ///< whether `handle` is owned (false after a drop or a hand-over)
} quiver_col;

/// The input of one `process` call.
typedef struct {
  quiver_transform_columns_borrow_batch_t wit;
  const qv_schema *schema;
  size_t rows;
  size_t num_columns;
  char **names;  ///< NUL-terminated column names
} qv_batch;

/// A handle to input column `i` (nothing is copied).
bool quiver_batch_col(const qv_batch *in, size_t i, quiver_col *out, qv_error *err);
/// Give the handle back to the host (no-op when it was handed over already).
void quiver_col_drop(quiver_col *c);
/// Rows of the column.
uint64_t quiver_col_len(const quiver_col *c);
/// Copy the column's buffers into the plugin (free with quiver_transform_types_column_data_free).
bool quiver_col_read(const quiver_col *c, qv_column_data *out, qv_error *err);
/// A host column from the plugin's own buffers of a flat type `t` (validated by the host;
/// `data` is borrowed). `name`: for errors (may be NULL).
bool quiver_col_from_data(quiver_col *out, const qv_type *t, qv_column_data *data, const char *name, qv_error *err);

/// Scalars (a string scalar borrows `s` for the call).
static inline qv_scalar qv_null(void) { qv_scalar v = {0}; v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_NULL; return v; }
static inline qv_scalar qv_bool(bool b) { qv_scalar v = {0}; v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_BOOLEAN; v.val.boolean = b; return v; }
static inline qv_scalar qv_i64(int64_t x) { qv_scalar v = {0}; v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_INT64; v.val.int64 = x; return v; }
static inline qv_scalar qv_u64(uint64_t x) { qv_scalar v = {0}; v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_UINT64; v.val.uint64 = x; return v; }
static inline qv_scalar qv_f64(double x) { qv_scalar v = {0}; v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_FLOAT64; v.val.float64 = x; return v; }
static inline qv_scalar qv_date32(int32_t days) { qv_scalar v = {0}; v.tag = QUIVER_TRANSFORM_COMPUTE_SCALAR_DATE32; v.val.date32 = days; return v; }
qv_scalar qv_str(const char *s);
/// A timestamp scalar of `unit` (QV_UNIT_*) in zone `tz` (NULL: wall clock; borrowed).
qv_scalar qv_timestamp(int64_t value, uint8_t unit, const char *tz);
/// A timestamp scalar of the unit and zone of the timestamp type `t`.
qv_scalar qv_timestamp_like(int64_t value, const qv_type *t);

/// Operands: a column (borrowed for the call) or a scalar.
qv_operand qv_opd_col(const quiver_col *c);
qv_operand qv_opd_scalar(qv_scalar s);

typedef quiver_transform_compute_arith_op_t qv_arith_op;
typedef quiver_transform_compute_unary_op_t qv_unary_op;
typedef quiver_transform_compute_cmp_op_t qv_cmp_op;
typedef quiver_transform_compute_logic_op_t qv_logic_op;
typedef quiver_transform_compute_str_op_t qv_str_op;
typedef quiver_transform_compute_str_match_op_t qv_str_match_op;
typedef quiver_transform_compute_temporal_part_t qv_part;
typedef quiver_transform_compute_encoding_t qv_encoding;
typedef quiver_transform_compute_agg_op_t qv_agg_op;
#define QV_ADD QUIVER_TRANSFORM_COMPUTE_ARITH_OP_ADD
#define QV_SUBTRACT QUIVER_TRANSFORM_COMPUTE_ARITH_OP_SUBTRACT
#define QV_MULTIPLY QUIVER_TRANSFORM_COMPUTE_ARITH_OP_MULTIPLY
#define QV_DIVIDE QUIVER_TRANSFORM_COMPUTE_ARITH_OP_DIVIDE
#define QV_MODULO QUIVER_TRANSFORM_COMPUTE_ARITH_OP_MODULO
#define QV_POWER QUIVER_TRANSFORM_COMPUTE_ARITH_OP_POWER
#define QV_CMP_EQ QUIVER_TRANSFORM_COMPUTE_CMP_OP_EQ
#define QV_CMP_NE QUIVER_TRANSFORM_COMPUTE_CMP_OP_NE
#define QV_CMP_LT QUIVER_TRANSFORM_COMPUTE_CMP_OP_LT
#define QV_CMP_LE QUIVER_TRANSFORM_COMPUTE_CMP_OP_LE
#define QV_CMP_GT QUIVER_TRANSFORM_COMPUTE_CMP_OP_GT
#define QV_CMP_GE QUIVER_TRANSFORM_COMPUTE_CMP_OP_GE
#define QV_AND QUIVER_TRANSFORM_COMPUTE_LOGIC_OP_AND
#define QV_OR QUIVER_TRANSFORM_COMPUTE_LOGIC_OP_OR
#define QV_XOR QUIVER_TRANSFORM_COMPUTE_LOGIC_OP_XOR
#define QV_AND_NOT QUIVER_TRANSFORM_COMPUTE_LOGIC_OP_AND_NOT
#define QV_STR_LENGTH QUIVER_TRANSFORM_COMPUTE_STR_OP_LENGTH
#define QV_STR_TO_LOWER QUIVER_TRANSFORM_COMPUTE_STR_OP_TO_LOWER
#define QV_STR_TO_UPPER QUIVER_TRANSFORM_COMPUTE_STR_OP_TO_UPPER
#define QV_STR_TRIM QUIVER_TRANSFORM_COMPUTE_STR_OP_TRIM
#define QV_CONTAINS QUIVER_TRANSFORM_COMPUTE_STR_MATCH_OP_CONTAINS
#define QV_STARTS_WITH QUIVER_TRANSFORM_COMPUTE_STR_MATCH_OP_STARTS_WITH
#define QV_ENDS_WITH QUIVER_TRANSFORM_COMPUTE_STR_MATCH_OP_ENDS_WITH
#define QV_PART_YEAR QUIVER_TRANSFORM_COMPUTE_TEMPORAL_PART_YEAR
#define QV_PART_MONTH QUIVER_TRANSFORM_COMPUTE_TEMPORAL_PART_MONTH
#define QV_PART_DAY QUIVER_TRANSFORM_COMPUTE_TEMPORAL_PART_DAY
#define QV_PART_DAY_OF_WEEK QUIVER_TRANSFORM_COMPUTE_TEMPORAL_PART_DAY_OF_WEEK
#define QV_PART_HOUR QUIVER_TRANSFORM_COMPUTE_TEMPORAL_PART_HOUR
#define QV_HEX QUIVER_TRANSFORM_COMPUTE_ENCODING_HEX
#define QV_BASE64URL QUIVER_TRANSFORM_COMPUTE_ENCODING_BASE64URL

/// `in op right`; integer overflow and division by zero are data errors naming the row when `checked`.
bool quiver_col_arith(quiver_col *out, qv_arith_op op, const quiver_col *in, qv_operand right, bool checked, qv_error *err);
/// `clip(in × scale + offset, min, max)` in one pass (min/max NULL: unbounded); integer
/// columns exactly (integer scalars), float columns in their own precision.
bool quiver_col_affine(quiver_col *out, const quiver_col *in, qv_scalar scale, qv_scalar offset, const qv_scalar *min,
                       const qv_scalar *max, qv_error *err);
bool quiver_col_unary(quiver_col *out, qv_unary_op op, const quiver_col *in, qv_error *err);
bool quiver_col_round(quiver_col *out, const quiver_col *in, int32_t decimals, qv_error *err);
bool quiver_col_clip(quiver_col *out, const quiver_col *in, const qv_scalar *min, const qv_scalar *max, qv_error *err);
/// A boolean column: `in op right` (nulls propagate).
bool quiver_col_compare(quiver_col *out, qv_cmp_op op, const quiver_col *in, qv_operand right, qv_error *err);
bool quiver_col_logic(quiver_col *out, qv_logic_op op, const quiver_col *a, const quiver_col *b, qv_error *err);
bool quiver_col_not(quiver_col *out, const quiver_col *in, qv_error *err);
bool quiver_col_is_null(quiver_col *out, const quiver_col *in, qv_error *err);
bool quiver_col_is_not_null(quiver_col *out, const quiver_col *in, qv_error *err);
bool quiver_col_fill_null(quiver_col *out, const quiver_col *in, qv_operand value, qv_error *err);
/// Cast to the flat type `to`; `safe`: values that do not cast become null, else the first is a data error.
bool quiver_col_cast(quiver_col *out, const quiver_col *in, const qv_type *to, bool safe, qv_error *err);
bool quiver_col_filter(quiver_col *out, const quiver_col *in, const quiver_col *mask, qv_error *err);
bool quiver_col_is_in(quiver_col *out, const quiver_col *in, const quiver_col *values, qv_error *err);
bool quiver_col_str_unary(quiver_col *out, qv_str_op op, const quiver_col *in, qv_error *err);
bool quiver_col_str_match(quiver_col *out, qv_str_match_op op, const quiver_col *in, const char *pattern, qv_error *err);
bool quiver_col_regex_match(quiver_col *out, const quiver_col *in, const char *pattern, qv_error *err);
/// A part of dates and timestamps (int32), in the column's zone or `tz` (NULL).
bool quiver_col_date_part(quiver_col *out, qv_part part, const quiver_col *in, const char *tz, qv_error *err);
bool quiver_col_sha256(quiver_col *out, const quiver_col *in, qv_encoding enc, qv_error *err);
/// HMAC-SHA256 under the key in `key_file` (a path in a directory granted to the stage).
bool quiver_col_hmac_sha256(quiver_col *out, const quiver_col *in, const char *key_file, qv_encoding enc, qv_error *err);
/// One value (free a string result with quiver_transform_compute_scalar_free).
bool quiver_col_aggregate(qv_scalar *out, qv_agg_op op, const quiver_col *in, qv_error *err);

// ---------------------------------------------------------------------------------------
// Outputs.

typedef struct {
  qv_output *ptr;
  size_t len, cap;
} qv_outputs;
/// Append an output of `num_rows` rows and `num_columns` columns (fill each one).
qv_output *qv_outputs_push(qv_outputs *out, uint64_t num_rows, size_t num_columns);
/// Append an output with every input column kept by reference and every row.
qv_output *qv_outputs_push_input(qv_outputs *out, const qv_batch *in);
/// Column `slot` is input column `input`, by reference.
void qv_out_keep(qv_output *o, size_t slot, uint32_t input);
/// Column `slot` is the host column `c` (handed over: `c` is left empty).
void qv_out_set_col(qv_output *o, size_t slot, quiver_col *c);
/// Append the host column `c` (handed over).
void qv_out_push_col(qv_output *o, quiver_col *c);
/// Keep the rows where the boolean column `mask` is true (null: false). Only the mask's bits
/// cross; the host applies them to every column. A second filter narrows the first.
bool qv_out_filter(qv_output *o, const quiver_col *mask, qv_error *err);

// ---------------------------------------------------------------------------------------
// Selection bitmaps (plain C).

/// A malloc'd selection of `rows` bits: `values & validity` (validity NULL: all valid), the
/// unused bits of the last byte cleared.
uint8_t *qv_mask_bits(const uint8_t *values, const uint8_t *validity, size_t rows);
/// Set bits among the first `rows`.
size_t qv_count_bits(const uint8_t *bits, size_t rows);

// ---------------------------------------------------------------------------------------
// Byte buffers.

typedef struct {
  uint8_t *ptr;
  size_t len, cap;
} qv_buf;
void qv_buf_reserve(qv_buf *b, size_t extra);
void qv_buf_push(qv_buf *b, const void *data, size_t n);
void qv_buf_free(qv_buf *b);

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
/// Parse `len` bytes of JSON (empty or blank text is `{}`); a config error at "" otherwise.
bool qv_json_parse(const char *text, size_t len, qv_json *out, qv_error *err);
void qv_json_free(qv_json *v);

// ---------------------------------------------------------------------------------------
// The plugin.

typedef struct {
  const char *name, *version, *description, *config_schema;
  bool (*create)(const qv_json *config, const qv_schema *input, void **state, qv_schema_builder *output, qv_error *err);
  bool (*process)(void *state, qv_batch *in, qv_outputs *out, qv_error *err);
  bool (*finish)(void *state, qv_outputs *out, qv_error *err);
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
