// Private helpers shared by the SDK's C files (not part of the API in quiver.h).
#ifndef QUIVER_INTERNAL_H
#define QUIVER_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"

static inline void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static inline char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

// A malloc'd WIT string (post-return frees it; an empty one owns nothing).
static inline void wit_string(plugin_string_t *dst, const char *s, size_t n) {
  if (n == 0) {
    dst->ptr = NULL;
    dst->len = 0;
    return;
  }
  dst->ptr = xmalloc(n);
  memcpy(dst->ptr, s, n);
  dst->len = n;
}

static inline void wit_cstring(plugin_string_t *dst, const char *s) { wit_string(dst, s, strlen(s)); }

static inline char *vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  char *s = xmalloc((size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

static inline void wit_take_cstring(plugin_string_t *dst, char *s) {
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

// Give a malloc'd buffer of `len` bytes to a WIT list (frees it when len is 0: an empty list
// owns nothing).
static inline void qv_list_take(plugin_list_u8_t *dst, uint8_t *ptr, size_t len) {
  if (len == 0) {
    free(ptr);
    ptr = NULL;
  }
  dst->ptr = ptr;
  dst->len = len;
}

#endif
