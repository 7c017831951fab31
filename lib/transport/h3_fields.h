/*
 * HTTP/3 header sections for the WebTransport layer: decoding a HEADERS payload
 * with nghttp3's QPACK decoder (no dynamic table) into a bounded field set,
 * writing the client's extended CONNECT request (static table and literals
 * only), and the RFC 8941 structured-field pieces of the protocol negotiation
 * (a list of strings, one string). Pure apart from the decoder's allocations;
 * thread-safe on distinct objects.
 */
#ifndef MOQC_TRANSPORT_H3_FIELDS_H
#define MOQC_TRANSPORT_H3_FIELDS_H

#include <moqc/mem.h>
#include <moqc/path.h>

#include "core/bytes.h"

/** The most fields a decoded section may hold, and the most protocols a list
 * may offer. */
#define MOQC__H3_MAX_FIELDS 64
#define MOQC__H3_MAX_PROTOCOLS 32

/** One decoded field: offsets into the set's buffer. */
typedef struct moqc__h3_fieldref {
  size_t name_off, name_len, value_off, value_len;
} moqc__h3_fieldref;

/** A decoded header section: names and values copied into one buffer of at most
 * max bytes. */
typedef struct moqc__h3_fieldset {
  const moqc_mem *mem;
  char *buf;
  size_t len, cap, max;
  moqc__h3_fieldref f[MOQC__H3_MAX_FIELDS];
  size_t n;
} moqc__h3_fieldset;

/** Starts an empty set whose names and values may total max bytes. */
void moqc__h3_fieldset_init(moqc__h3_fieldset *fs, size_t max,
                            const moqc_mem *mem);
/** Frees the set's buffer (the set may be reused after init). */
void moqc__h3_fieldset_free(moqc__h3_fieldset *fs);
/** The i-th field's name or value. */
moqc_str moqc__h3_fieldset_name(const moqc__h3_fieldset *fs, size_t i);
moqc_str moqc__h3_fieldset_value(const moqc__h3_fieldset *fs, size_t i);
/** Finds the first field named name; returns true and sets *value when present.
 */
bool moqc__h3_fieldset_get(const moqc__h3_fieldset *fs, const char *name,
                           moqc_str *value);

/**
 * Decodes a HEADERS payload blk[0..len) (a QPACK field section) into fs. The
 * dynamic table is not allowed (we advertise capacity 0). Returns 0,
 * MOQC_ERR_MALFORMED (QPACK error, a field referring to the dynamic table, an
 * empty section), MOQC_ERR_BOUNDS_EXCEEDED (more than fs->max bytes or
 * MOQC__H3_MAX_FIELDS fields: answer 431) or MOQC_ERR_NOMEM.
 */
int moqc__h3_fields_decode(moqc__h3_fieldset *fs, const uint8_t *blk,
                           size_t len);

/**
 * Writes a whole HEADERS frame carrying the extended CONNECT of a WebTransport
 * session: :method CONNECT, :scheme https, :authority, :path, :protocol
 * webtransport, sec-webtransport-http3-draft02: 1, then origin (when not empty)
 * and wt-available-protocols (when n > 0, as an sf-list of strings). Errors in
 * w->err (MOQC_ERR_NOBUF, MOQC_ERR_INVALID_ARGUMENT for a value with CR, LF or
 * NUL or a protocol that is not printable ASCII without '"' and '\\').
 */
void moqc__h3_put_connect_request(moqc__writer *w, moqc_str authority,
                                  moqc_str path, moqc_str origin,
                                  const moqc_str *protocols, size_t n);

/**
 * Parses an RFC 8941 list whose members are strings (tokens are accepted too;
 * parameters are skipped) into out[0..*n) (views into v; escapes are not
 * allowed in the protocol names and make the member invalid, so it is skipped).
 * At most cap members are kept. Returns 0 or MOQC_ERR_MALFORMED.
 */
int moqc__h3_sf_string_list(moqc_str v, moqc_str *out, size_t cap, size_t *n);

/** Parses one sf-string (or token) item: the value without quotes. Returns 0 or
 * MOQC_ERR_MALFORMED. */
int moqc__h3_sf_string(moqc_str v, moqc_str *out);

/** Returns true when s is usable as a protocol name: 1..64 printable ASCII, no
 * '"' or '\\'. */
bool moqc__h3_protocol_valid(moqc_str s);

#endif /* MOQC_TRANSPORT_H3_FIELDS_H */
