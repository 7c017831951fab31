/*
 * Private helpers shared by the moq-lite codec files (lite_*.c). Not used
 * outside lib/wire. Pure functions; thread-safe.
 */
#ifndef MOQC_WIRE_LITE_INT_H
#define MOQC_WIRE_LITE_INT_H

#include "wire/lite.h"

/**
 * Reads a message Length at *p and checks the body is all there: on success
 * stores the body in
 * [*body, *body_end) and advances *p past the whole message. INCOMPLETE or
 * MALFORMED (Length above MOQC_LITE_MAX_MESSAGE_LEN) leave *p untouched.
 */
int moqc__lite_get_body(const uint8_t **p, const uint8_t *end,
                        const uint8_t **body, const uint8_t **body_end);

/**
 * Turns the result of parsing a complete body into the decoder's result: a body
 * that ended early (rv INCOMPLETE) or left bytes unread (q != body_end) is
 * MALFORMED.
 */
int moqc__lite_body_done(int rv, const uint8_t *q, const uint8_t *body_end);

/**
 * Reads the fields of one message body from [*q, end) into out; v is the
 * version the body is read in. Returns 0 or the first field reader's error.
 */
typedef int (*moqc__lite_parse_fn)(const uint8_t **q, const uint8_t *end,
                                   moqc_lite_version v, void *out);

/**
 * Decodes one Length-prefixed message: moqc__lite_get_body, then parse over
 * the body, which must use it exactly (moqc__lite_body_done). Advances *p past
 * the message on success; on failure *p is untouched (out may be partly
 * written). Errors are those of moqc__lite_get_body, of parse, and MALFORMED
 * for a body parse leaves short or unfinished.
 */
int moqc__lite_decode_msg(const uint8_t **p, const uint8_t *end,
                          moqc_lite_version v, moqc__lite_parse_fn parse,
                          void *out);

/** Reads a varint that the JS reads as a number (MALFORMED above
 * MOQC_JS_INT_MAX). */
int moqc__lite_get_js(const uint8_t **p, const uint8_t *end, uint64_t *out);
/** Reads a UTF-8 string of at most MOQC_LITE_MAX_STRING_LEN bytes. */
int moqc__lite_get_name(const uint8_t **p, const uint8_t *end, moqc_str *out);
/** Reads a broadcast path: a string that is normalized with at most
 * MOQC_PATH_MAX_PARTS parts. */
int moqc__lite_get_path(const uint8_t **p, const uint8_t *end, moqc_str *out);
/** Reads an optional group (0 = absent, otherwise sequence + 1; 53-bit). */
int moqc__lite_get_optgroup(const uint8_t **p, const uint8_t *end, bool *has,
                            uint64_t *seq);

/** Returns 0 when s may be written as a string, else MOQC_ERR_INVALID_ARGUMENT.
 */
int moqc__lite_check_name(moqc_str s);
/** Returns 0 when s may be written as a broadcast path, else
 * MOQC_ERR_INVALID_ARGUMENT. */
int moqc__lite_check_path(moqc_str s);
/** Returns 0 when v <= MOQC_JS_INT_MAX, else MOQC_ERR_BOUNDS_EXCEEDED. */
int moqc__lite_check_js(uint64_t v);
/** Checks and returns the wire value of an optional group (has ? seq + 1 : 0).
 */
int moqc__lite_optgroup_value(bool has, uint64_t seq, uint64_t *out);

/**
 * A Length-prefixed message being written: fields go into body, then
 * moqc__lite_msg_end slides the body behind its minimal Length varint. Nothing
 * is written to w on failure.
 */
typedef struct moqc__lite_msg {
  moqc__writer *w;
  uint8_t *start;
  moqc__writer body;
} moqc__lite_msg;

/** Starts a message at the writer's cursor. */
void moqc__lite_msg_begin(moqc__lite_msg *m, moqc__writer *w);
/** Finishes the message: returns 0, or the error (and restores the writer's
 * cursor). */
int moqc__lite_msg_end(moqc__lite_msg *m);

/**
 * Restores w's cursor to start after a failed encode and returns rv.
 * MOQC_ERR_NOBUF is also recorded in the writer so chained writes fail too.
 */
int moqc__lite_enc_fail(moqc__writer *w, uint8_t *start, int rv);

/** Returns true when v >= min and v is a valid version (lite-01 .. lite-05). */
bool moqc__lite_since(moqc_lite_version v, moqc_lite_version min);

#endif /* MOQC_WIRE_LITE_INT_H */
