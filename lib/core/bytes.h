/*
 * Byte reading and writing: QUIC varints (RFC 9000 16), fixed-width integers and
 * length-prefixed bytes and strings.
 *
 * Readers take (const uint8_t **p, const uint8_t *end): on success they advance *p; on failure
 * they leave *p untouched and return MOQC_ERR_INCOMPLETE (input ends early) or
 * MOQC_ERR_MALFORMED (a value breaks a rule). They never read past end and never allocate.
 *
 * Writers append to a moqc__writer over a caller buffer. A write that does not fit sets the
 * writer's error to MOQC_ERR_NOBUF and writes nothing more, so a message can be written in full
 * and checked once.
 */
#ifndef MOQC_CORE_BYTES_H
#define MOQC_CORE_BYTES_H

#include <moqc/error.h>
#include <moqc/path.h>

/** The largest QUIC varint value, 2^62 - 1. */
#define MOQC_VARINT_MAX ((uint64_t)0x3fffffffffffffffULL)
/** The largest integer the JavaScript client reads exactly, 2^53 - 1. */
#define MOQC_JS_INT_MAX ((uint64_t)0x1fffffffffffffULL)
/** The most bytes a varint takes. */
#define MOQC_VARINT_MAXLEN 8

/** Reads a QUIC varint (any encoded length accepted). */
int moqc__get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);
/** Reads a varint that must not exceed max (MOQC_ERR_MALFORMED above it). */
int moqc__get_varint_max(const uint8_t **p, const uint8_t *end, uint64_t max,
                         uint64_t *out);
/** Reads one byte. */
int moqc__get_u8(const uint8_t **p, const uint8_t *end, uint8_t *out);
/** Reads a 16-bit big-endian integer. */
int moqc__get_u16be(const uint8_t **p, const uint8_t *end, uint16_t *out);
/** Reads a 32-bit big-endian integer. */
int moqc__get_u32be(const uint8_t **p, const uint8_t *end, uint32_t *out);
/** Reads a boolean byte: 0 or 1; anything else is MOQC_ERR_MALFORMED. */
int moqc__get_bool(const uint8_t **p, const uint8_t *end, bool *out);
/** Takes n raw bytes, pointing *out into the input (no copy). */
int moqc__get_raw(const uint8_t **p, const uint8_t *end, size_t n,
                  const uint8_t **out);
/**
 * Reads varint-length-prefixed bytes of at most max bytes (a longer declared length is
 * MOQC_ERR_MALFORMED before anything is read), pointing *out into the input.
 */
int moqc__get_lbytes(const uint8_t **p, const uint8_t *end, size_t max,
                     moqc_str *out);
/** As moqc__get_lbytes, and the bytes must be valid UTF-8 (MOQC_ERR_MALFORMED otherwise). */
int moqc__get_string(const uint8_t **p, const uint8_t *end, size_t max,
                     moqc_str *out);

/** Returns the minimal encoded length of v (1, 2, 4 or 8), or 0 when v > MOQC_VARINT_MAX. */
size_t moqc__varint_len(uint64_t v);
/** Returns true when s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool moqc__utf8_valid(const uint8_t *s, size_t len);
/** Zigzag-encodes a signed value. */
uint64_t moqc__zigzag_encode(int64_t v);
/** Zigzag-decodes an unsigned value. */
int64_t moqc__zigzag_decode(uint64_t v);

/** A bounded output cursor. */
typedef struct moqc__writer {
  uint8_t *p;
  uint8_t *end;
  uint8_t *begin;
  int err;
} moqc__writer;

/** Starts a writer over buf[0..cap). */
void moqc__writer_init(moqc__writer *w, uint8_t *buf, size_t cap);
/** Returns the bytes written so far, or the error (MOQC_ERR_NOBUF, MOQC_ERR_BOUNDS_EXCEEDED). */
moqc_ssize moqc__writer_result(const moqc__writer *w);
/** Writes v as a minimal varint; v above MOQC_VARINT_MAX sets MOQC_ERR_BOUNDS_EXCEEDED. */
void moqc__put_varint(moqc__writer *w, uint64_t v);
/** Writes v as a varint of exactly len bytes (1, 2, 4 or 8), if it fits in that length. */
void moqc__put_varint_n(moqc__writer *w, uint64_t v, size_t len);
void moqc__put_u8(moqc__writer *w, uint8_t v);
void moqc__put_u16be(moqc__writer *w, uint16_t v);
void moqc__put_u32be(moqc__writer *w, uint32_t v);
void moqc__put_raw(moqc__writer *w, const void *data, size_t len);
/** Writes a varint length then the bytes. */
void moqc__put_lbytes(moqc__writer *w, const void *data, size_t len);

#endif /* MOQC_CORE_BYTES_H */
