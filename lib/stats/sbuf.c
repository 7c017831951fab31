/*
 * Bounded string writer.
 */
#include <moqc/error.h>

#include <string.h>

#include "core/bytes.h"
#include "stats/sbuf.h"

void moqc__sbuf_put(moqc__sbuf *b, const char *s, size_t n) {
  if (n == 0) {
    return;
  }
  if (b->len < b->cap) {
    size_t room = b->cap - b->len;
    memcpy(b->buf + b->len, s, n < room ? n : room);
  }
  b->len += n;
}

void moqc__sbuf_puts(moqc__sbuf *b, const char *s) {
  moqc__sbuf_put(b, s, strlen(s));
}

void moqc__sbuf_u64(moqc__sbuf *b, uint64_t v) {
  char tmp[20];
  size_t i = sizeof(tmp);

  do {
    tmp[--i] = (char)('0' + (v % 10));
    v /= 10;
  } while (v != 0);
  moqc__sbuf_put(b, tmp + i, sizeof(tmp) - i);
}

/* The length of the valid UTF-8 sequence starting at s[0] (>= 0x80), or 0. */
static size_t sbuf_utf8_len(const uint8_t *s, size_t avail) {
  size_t n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
             : s[0] >= 0xe0 && s[0] <= 0xef ? 3
             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                            : 0;

  if (n == 0 || n > avail || !moqc__utf8_valid(s, n)) {
    return 0;
  }
  return n;
}

void moqc__sbuf_json_str(moqc__sbuf *b, moqc_str s) {
  static const char hex[] = "0123456789abcdef";
  size_t run = 0;

  moqc__sbuf_put(b, "\"", 1);
  if (s.len == 0) {
    moqc__sbuf_put(b, "\"", 1);
    return;
  }
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c >= 0x80) {
      /* A valid UTF-8 sequence passes as is; any other byte becomes U+FFFD,
       * so the document stays valid JSON whatever bytes a path holds. */
      size_t n = sbuf_utf8_len((const uint8_t *)s.ptr + i, s.len - i);
      if (n > 0) {
        i += n - 1;
        continue;
      }
      moqc__sbuf_put(b, s.ptr + run, i - run);
      run = i + 1;
      moqc__sbuf_put(b, "\\ufffd", 6);
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    moqc__sbuf_put(b, s.ptr + run, i - run);
    run = i + 1;
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      moqc__sbuf_put(b, esc, 2);
    } else {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      moqc__sbuf_put(b, esc, 6);
    }
  }
  moqc__sbuf_put(b, s.ptr + run, s.len - run);
  moqc__sbuf_put(b, "\"", 1);
}

void moqc__sbuf_prom_label(moqc__sbuf *b, moqc_str s) {
  size_t run = 0;

  if (s.len == 0) {
    return;
  }
  for (size_t i = 0; i < s.len; i++) {
    char c = s.ptr[i];
    const char *esc = c == '\\'   ? "\\\\"
                      : c == '"'  ? "\\\""
                      : c == '\n' ? "\\n"
                                  : NULL;
    if (esc == NULL) {
      continue;
    }
    moqc__sbuf_put(b, s.ptr + run, i - run);
    moqc__sbuf_put(b, esc, 2);
    run = i + 1;
  }
  moqc__sbuf_put(b, s.ptr + run, s.len - run);
}

moqc_ssize moqc__sbuf_finish(moqc__sbuf *b) {
  if (b->len >= b->cap) {
    return MOQC_ERR_NOBUF;
  }
  b->buf[b->len] = '\0';
  return (moqc_ssize)b->len;
}

int moqc__sbuf_alloc(void (*render)(moqc__sbuf *, const void *),
                     const void *arg, const moqc_mem *mem, char **out,
                     size_t *len) {
  moqc__sbuf b = {NULL, 0, 0};
  char *p;

  render(&b, arg);
  if (b.len == SIZE_MAX) {
    return MOQC_ERR_NOMEM;
  }
  p = moqc_mem_malloc(mem, b.len + 1);
  if (p == NULL) {
    return MOQC_ERR_NOMEM;
  }
  b = (moqc__sbuf){p, b.len + 1, 0};
  render(&b, arg);
  (void)moqc__sbuf_finish(&b);
  *out = p;
  *len = b.len;
  return 0;
}
