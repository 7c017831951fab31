/*
 * A bounded string writer for the stats exports: writes what fits into buf and
 * counts everything, so one pass tells the caller the size it needs.
 */
#ifndef MOQC_STATS_SBUF_H
#define MOQC_STATS_SBUF_H

#include <moqc/mem.h>
#include <moqc/path.h>

typedef struct moqc__sbuf {
  char *buf; /* may be NULL when cap is 0 */
  size_t cap;
  size_t len; /* bytes produced so far, possibly more than cap */
} moqc__sbuf;

void moqc__sbuf_put(moqc__sbuf *b, const char *s, size_t n);
void moqc__sbuf_puts(moqc__sbuf *b, const char *s);
void moqc__sbuf_u64(moqc__sbuf *b, uint64_t v);
/** Writes s as a JSON string literal with its quotes (control characters as
 * \u00XX, each byte that is not part of valid UTF-8 as \ufffd). */
void moqc__sbuf_json_str(moqc__sbuf *b, moqc_str s);
/** Writes s escaped for a Prometheus label value (\\, \" and \n), without
 * quotes. */
void moqc__sbuf_prom_label(moqc__sbuf *b, moqc_str s);
/**
 * Terminates: writes a NUL when it fits and returns the length, or
 * MOQC_ERR_NOBUF when the text and its NUL do not fit into cap.
 */
moqc_ssize moqc__sbuf_finish(moqc__sbuf *b);

/**
 * Renders twice through render(b, arg): once to measure, once into a fresh
 * NUL-terminated string *out (length in *len) allocated with mem. Returns 0 or
 * MOQC_ERR_NOMEM.
 */
int moqc__sbuf_alloc(void (*render)(moqc__sbuf *, const void *),
                     const void *arg, const moqc_mem *mem, char **out,
                     size_t *len);

#endif /* MOQC_STATS_SBUF_H */
