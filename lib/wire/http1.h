/*
 * A strict, incremental HTTP/1.1 request-head parser (RFC 9112), query-string and
 * percent-decoding helpers for the relay's routes, and a response-head writer.
 *
 * The parser never allocates and never copies: the parsed request holds views into the
 * caller's buffer. The caller appends received bytes to its buffer and calls
 * moqc__http1_parse with the whole buffer each time; the parser resumes where it stopped (the
 * earlier bytes must be unchanged, but the buffer may move between calls) and returns
 * MOQC_ERR_INCOMPLETE until the head (request line, headers, empty line) is complete. Feeding
 * the bytes one at a time gives the same result as feeding them all at once.
 *
 * Limits: request line <= MOQC__HTTP1_MAX_LINE, each header line <= MOQC__HTTP1_MAX_LINE,
 * at most MOQC__HTTP1_MAX_HEADERS headers, whole head <= MOQC__HTTP1_MAX_HEAD. They are checked
 * as bytes arrive, so an oversized head fails without waiting for its end.
 *
 * Everything here is pure; a parser state belongs to one connection (one thread at a time).
 */
#ifndef MOQC_WIRE_HTTP1_H
#define MOQC_WIRE_HTTP1_H

#include "core/bytes.h"

/** The longest request line and the longest header line (without CRLF), in bytes. */
#define MOQC__HTTP1_MAX_LINE 8192U
/** The most header fields in one request. */
#define MOQC__HTTP1_MAX_HEADERS 64U
/** The longest request head, CRLFs included. */
#define MOQC__HTTP1_MAX_HEAD 16384U
/** The largest Content-Length accepted (2^53 - 1). */
#define MOQC__HTTP1_MAX_CONTENT_LENGTH MOQC_JS_INT_MAX

/** One header field: views into the caller's buffer (value without surrounding whitespace). */
typedef struct moqc__http1_header {
  moqc_str name;
  moqc_str value;
} moqc__http1_header;

/* Internal per-header offsets, kept so the buffer may move between calls. */
typedef struct moqc__http1_span {
  uint16_t name_off, name_len, value_off, value_len;
} moqc__http1_span;

/**
 * A parsed request head, and the parser's resumable state. Initialise with moqc__http1_init;
 * read the public fields only after moqc__http1_parse returned 0.
 */
typedef struct moqc__http1_request {
  /** The method token ("GET"). */
  moqc_str method;
  /** The request target as sent ("/fetch/a/b?group=1", "*", "http://h/p"). */
  moqc_str target;
  /** The path part of the target (from origin or absolute form; "*" for asterisk form). */
  moqc_str path;
  /** The query without '?' (empty when absent). */
  moqc_str query;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  int version_minor;
  /** The header fields in order. */
  moqc__http1_header headers[MOQC__HTTP1_MAX_HEADERS];
  size_t n_headers;
  /** The Host value (empty when absent; HTTP/1.1 requires it). */
  moqc_str host;
  /** Content-Length, or -1 when absent. */
  int64_t content_length;
  /** Transfer-Encoding: chunked was given (only accepted on methods other than GET/HEAD). */
  bool chunked;
  /** Bytes of the head, the final CRLF CRLF included; the body (if any) starts there. */
  size_t head_len;
  /** On MOQC_ERR_MALFORMED: a static description of the fault. */
  const char *error;
  /** On MOQC_ERR_MALFORMED: the status to answer (400, 414, 431, 501, 505). */
  int status;

  /* Parser state (private). */
  size_t scan;   /* bytes consumed as complete lines */
  size_t leading; /* empty lines skipped before the request line */
  bool have_line;
  uint16_t method_off, method_len, target_off, target_len;
  moqc__http1_span spans[MOQC__HTTP1_MAX_HEADERS];
} moqc__http1_request;

/** Resets req for a new request. */
void moqc__http1_init(moqc__http1_request *req);

/**
 * Parses the request head in buf[0..len). Returns:
 *   - 0: the head is complete; the public fields of *req are set (views into buf) and
 *     req->head_len tells where the body starts.
 *   - MOQC_ERR_INCOMPLETE: more bytes are needed (no limit has been exceeded yet).
 *   - MOQC_ERR_MALFORMED: the head breaks a rule; req->error says which and req->status gives
 *     the status to answer. Rejected: invalid method token, target with control/space/non-ASCII
 *     bytes or not in origin/absolute/asterisk form, a version other than HTTP/1.0 or 1.1, bare
 *     CR, bare LF, NUL or other controls, obs-fold (a line starting with SP/HTAB), whitespace
 *     before the colon, an invalid field name, a limit exceeded, missing Host (HTTP/1.1),
 *     duplicate Host, duplicate or invalid Content-Length, Transfer-Encoding on GET or HEAD, a
 *     Transfer-Encoding other than "chunked", and Transfer-Encoding together with Content-Length.
 * Once 0 or MOQC_ERR_MALFORMED is returned, call moqc__http1_init before the next request.
 */
int moqc__http1_parse(moqc__http1_request *req, const uint8_t *buf, size_t len);

/**
 * Returns the first header named name (case-insensitive), or NULL. With more than one such header
 * (e.g. Sec-WebSocket-Protocol), iterate req->headers instead or use moqc__http1_header_next.
 */
const moqc__http1_header *moqc__http1_header_get(const moqc__http1_request *req,
                                                 const char *name);

/**
 * Returns the next header named name after *index (start with *index = 0), advancing *index
 * past it, or NULL when there is no further one.
 */
const moqc__http1_header *moqc__http1_header_next(const moqc__http1_request *req,
                                                  const char *name, size_t *index);

/**
 * Returns true when the comma-separated list value holds token (case-insensitive, surrounding
 * whitespace ignored), as for "Connection: keep-alive, Upgrade".
 */
bool moqc__http1_list_has(moqc_str value, const char *token);

/** Returns true when a and the NUL-terminated b are equal ignoring ASCII case. */
bool moqc__http1_str_ieq(moqc_str a, const char *b);

/**
 * Percent-decodes in into out (capacity cap). With plus_is_space, '+' becomes ' ' (query
 * strings). Returns the decoded length, MOQC_ERR_MALFORMED for a bad escape ("%4", "%zz") or an
 * escaped NUL ("%00"), or MOQC_ERR_NOBUF. out may equal in.ptr (decoding never grows).
 */
moqc_ssize moqc__http1_pct_decode(char *out, size_t cap, moqc_str in, bool plus_is_space);

/**
 * Finds the first parameter named key in a query ("a=1&b=x%20y"; keys are compared after
 * percent-decoding) and stores its raw, still-encoded value in *value (empty for "key" or
 * "key="). Returns 0, or MOQC_ERR_NOT_FOUND.
 */
int moqc__http1_query_get(moqc_str query, const char *key, moqc_str *value);

/**
 * Parses a decimal unsigned integer (digits only, no sign, no leading '+', at most max).
 * Returns 0, or MOQC_ERR_MALFORMED.
 */
int moqc__http1_parse_u64(moqc_str s, uint64_t max, uint64_t *out);

/** A parsed /fetch route (relay debug HTTP: /fetch/<broadcast>/<track>?group=N|latest). */
typedef struct moqc__http1_fetch {
  /** The percent-decoded broadcast path (everything between "/fetch/" and the last '/'). */
  moqc_str broadcast;
  /** The percent-decoded track name (the last segment). */
  moqc_str track;
  /** group=latest or no group parameter. */
  bool latest;
  /** The group sequence when !latest. */
  uint64_t group;
} moqc__http1_fetch;

/**
 * Parses a /fetch/<broadcast>/<track> path and its query. Decoded names are written to
 * buf[0..cap) and *out views them. Returns 0; MOQC_ERR_NOT_FOUND when path does not start with
 * "/fetch/"; MOQC_ERR_MALFORMED for a missing broadcast or track, a bad escape, a decoded '/'
 * inside the track, or a group that is neither "latest" nor a decimal <= 2^62 - 1;
 * MOQC_ERR_NOBUF when buf is short.
 */
int moqc__http1_parse_fetch(moqc_str path, moqc_str query, char *buf, size_t cap,
                            moqc__http1_fetch *out);

/** Returns the reason phrase of a status code ("Not Found"), "Unknown" if not listed. */
const char *moqc__http1_reason(int status);

/**
 * Writes "HTTP/1.1 <status> <reason>\r\n", then each header "name: value\r\n", then "\r\n".
 * Errors land in w->err: MOQC_ERR_NOBUF, or MOQC_ERR_INVALID_ARGUMENT for a status outside
 * 100..999, an invalid header name or a value with CR, LF or another control byte (no header
 * injection).
 */
void moqc__http1_response_head(moqc__writer *w, int status, const moqc__http1_header *headers,
                               size_t n);

/**
 * Writes a simple response head: status, Content-Type (if not NULL), Content-Length,
 * Access-Control-Allow-Origin (if cors_origin not NULL), "Connection: close" when close is set,
 * and the empty line. Errors as moqc__http1_response_head.
 */
void moqc__http1_response_simple(moqc__writer *w, int status, const char *content_type,
                                 uint64_t content_length, const char *cors_origin, bool close);

#endif /* MOQC_WIRE_HTTP1_H */
