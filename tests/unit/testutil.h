/*
 * Shared includes and helpers for the cmocka unit tests.
 */
#ifndef MOQC_TESTUTIL_H
#define MOQC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Decodes hex (whitespace allowed) into out; returns the byte count. */
static inline size_t test_unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = 0;
  int hi = -1;
  for (; *hex; hex++) {
    int v;
    char c = *hex;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      if (n < cap) {
        out[n] = (uint8_t)(hi << 4 | v);
      }
      n++;
      hi = -1;
    }
  }
  return n;
}

#endif /* MOQC_TESTUTIL_H */
