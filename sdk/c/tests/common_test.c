// Unit tests of the C SDK's plain-C parts (common.c: the config reader and its errors,
// number formatting, selection bitmaps), compiled natively: sdk/c/tests/run.sh.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

// The bindings' free functions live in bindings/plugin.c, which does not link natively.
static void free_error(qv_error *e) {
  if (e->tag == QUIVER_TRANSFORM_TYPES_ERROR_CONFIG) {
    free(e->val.config.key.ptr);
    free(e->val.config.message.ptr);
  } else if (e->tag == QUIVER_TRANSFORM_TYPES_ERROR_DATA) {
    if (e->val.data.column.is_some) free(e->val.data.column.val.ptr);
    free(e->val.data.message.ptr);
  } else {
    free(e->val.internal.ptr);
  }
}

static bool str_eq(plugin_string_t s, const char *want) {
  return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void config_errors_name_the_key(void) {
  const char *text = "{\"columns\": [{\"column\": \"a\", \"scale\": 2, \"sacle\": 3}], \"big\": 9223372036854775807}";
  qv_json doc;
  qv_error err;
  CHECK(qv_json_parse(text, strlen(text), &doc, &err));
  const qv_json *big = qv_json_get(&doc, "big");
  CHECK(big && big->is_integer && big->fits_i64 && big->i64 == INT64_MAX);
  const qv_json *c = &qv_json_get(&doc, "columns")->items[0];
  static const char *const keys[] = {"column", "scale"};
  CHECK(!qv_cfg_object(c, "columns[0]", keys, 2, NULL, 0, &err));
  CHECK(err.tag == QUIVER_TRANSFORM_TYPES_ERROR_CONFIG);
  CHECK(str_eq(err.val.config.key, "columns[0]"));
  CHECK(str_eq(err.val.config.message, "unknown field `sacle`, expected `column` or `scale`") ||
        str_eq(err.val.config.message, "unknown field `sacle`, expected one of `column`, `scale`"));
  free_error(&err);
  double scale;
  bool present;
  CHECK(qv_cfg_number(c, "columns[0]", "scale", 1.0, false, &scale, &present, &err) && scale == 2.0 && present);
  const char *s;
  CHECK(!qv_cfg_string(c, "columns[0]", "scale", NULL, false, &s, &err));
  CHECK(str_eq(err.val.config.key, "columns[0].scale"));
  free_error(&err);
  qv_json_free(&doc);
}

static void bad_json_is_a_config_error_at_the_document(void) {
  qv_json doc;
  qv_error err;
  CHECK(!qv_json_parse("{\"a\": }", 7, &doc, &err));
  CHECK(err.tag == QUIVER_TRANSFORM_TYPES_ERROR_CONFIG && err.val.config.key.len == 0);
  free_error(&err);
  CHECK(qv_json_parse("  ", 2, &doc, &err) && doc.kind == QV_JSON_OBJECT);  // empty = {}
  qv_json_free(&doc);
}

static void data_errors_carry_column_and_row(void) {
  qv_error err;
  CHECK(!qv_error_data(&err, "qty", 7, "overflow of %d", 3));
  CHECK(err.tag == QUIVER_TRANSFORM_TYPES_ERROR_DATA);
  CHECK(err.val.data.column.is_some && str_eq(err.val.data.column.val, "qty"));
  CHECK(err.val.data.row.is_some && err.val.data.row.val == 7);
  CHECK(str_eq(err.val.data.message, "overflow of 3"));
  free_error(&err);
}

static void numbers_print_like_rust(void) {
  char b[64];
  CHECK(strcmp(qv_fmt_f64(1.19, b, sizeof b), "1.19") == 0);
  CHECK(strcmp(qv_fmt_f64(3.0, b, sizeof b), "3") == 0);
  CHECK(strcmp(qv_fmt_f64(0.1 + 0.2, b, sizeof b), "0.30000000000000004") == 0);
}

static void masks_keep_valid_true_rows(void) {
  // rows: T F T null T; validity clears row 3
  uint8_t values = 0x1d, validity = 0x17;
  uint8_t *bits = qv_mask_bits(&values, &validity, 5);
  CHECK(bits[0] == 0x15);
  CHECK(qv_count_bits(bits, 5) == 3);
  free(bits);
  uint8_t all = 0xff;
  bits = qv_mask_bits(&all, NULL, 3);  // unused bits of the last byte never count
  CHECK(bits[0] == 0x07 && qv_count_bits(bits, 3) == 3);
  free(bits);
}

int main(void) {
  config_errors_name_the_key();
  bad_json_is_a_config_error_at_the_document();
  data_errors_carry_column_and_row();
  numbers_print_like_rust();
  masks_keep_valid_true_rows();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("sdk/c unit tests: ok\n");
  return 0;
}
