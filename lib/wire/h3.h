/*
 * HTTP/3 framing for the WebTransport binding (RFC 9114 frames, RFC 9297 capsules and HTTP
 * datagrams, WebTransport stream headers and error codes), per spec/dependencies.md 2.4 and
 * spec/moq-lite-wire.md 1.2. QPACK (the HEADERS payload) is not here: nghttp3 decodes it.
 *
 * Decoders follow STYLE.md 2.7: (const uint8_t **p, const uint8_t *end), advance on success,
 * leave *p untouched on MOQC_ERR_INCOMPLETE / MOQC_ERR_MALFORMED; payloads are views into the
 * input. Encoders append to a moqc__writer. Pure and thread-safe.
 */
#ifndef MOQC_WIRE_H3_H
#define MOQC_WIRE_H3_H

#include "core/bytes.h"

/* Frame types (RFC 9114 7.2). */
#define MOQC__H3_DATA 0x00U
#define MOQC__H3_HEADERS 0x01U
#define MOQC__H3_CANCEL_PUSH 0x03U
#define MOQC__H3_SETTINGS 0x04U
#define MOQC__H3_PUSH_PROMISE 0x05U
#define MOQC__H3_GOAWAY 0x07U
#define MOQC__H3_MAX_PUSH_ID 0x0dU

/* Unidirectional stream types (RFC 9114 6.2, RFC 9204 4.2, WebTransport). */
#define MOQC__H3_STREAM_CONTROL 0x00U
#define MOQC__H3_STREAM_PUSH 0x01U
#define MOQC__H3_STREAM_QPACK_ENCODER 0x02U
#define MOQC__H3_STREAM_QPACK_DECODER 0x03U
#define MOQC__H3_STREAM_WT_UNI 0x54U
/** First varint of a WebTransport bidirectional stream. */
#define MOQC__H3_STREAM_WT_BIDI 0x41U

/* Settings identifiers. */
#define MOQC__H3_SETTING_QPACK_MAX_TABLE_CAPACITY 0x01U
#define MOQC__H3_SETTING_MAX_FIELD_SECTION_SIZE 0x06U
#define MOQC__H3_SETTING_QPACK_BLOCKED_STREAMS 0x07U
#define MOQC__H3_SETTING_ENABLE_CONNECT_PROTOCOL 0x08U
#define MOQC__H3_SETTING_H3_DATAGRAM 0x33U
#define MOQC__H3_SETTING_H3_DATAGRAM_DRAFT04 0xffd277U
#define MOQC__H3_SETTING_ENABLE_WEBTRANSPORT 0x2b603742U
#define MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS_DRAFT02 0x2b603743U
#define MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS 0xc671706aU
#define MOQC__H3_SETTING_WT_MAX_SESSIONS_DRAFT13 0x14e9cd29U
#define MOQC__H3_SETTING_WT_ENABLED 0x2c7cf000U

/* Capsule types (RFC 9297, WebTransport). */
#define MOQC__H3_CAPSULE_DATAGRAM 0x00U
#define MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION 0x2843U
#define MOQC__H3_CAPSULE_DRAIN_WEBTRANSPORT_SESSION 0x78aeU
/** The longest CLOSE_WEBTRANSPORT_SESSION reason. */
#define MOQC__H3_WT_REASON_MAX 1024U

/* Error codes (RFC 9114 8.1, RFC 9297, WebTransport). */
#define MOQC__H3_NO_ERROR 0x100U
#define MOQC__H3_GENERAL_PROTOCOL_ERROR 0x101U
#define MOQC__H3_INTERNAL_ERROR 0x102U
#define MOQC__H3_STREAM_CREATION_ERROR 0x103U
#define MOQC__H3_CLOSED_CRITICAL_STREAM 0x104U
#define MOQC__H3_FRAME_UNEXPECTED 0x105U
#define MOQC__H3_FRAME_ERROR 0x106U
#define MOQC__H3_EXCESSIVE_LOAD 0x107U
#define MOQC__H3_ID_ERROR 0x108U
#define MOQC__H3_SETTINGS_ERROR 0x109U
#define MOQC__H3_MISSING_SETTINGS 0x10aU
#define MOQC__H3_REQUEST_REJECTED 0x10bU
#define MOQC__H3_REQUEST_CANCELLED 0x10cU
#define MOQC__H3_MESSAGE_ERROR 0x10eU
#define MOQC__H3_CONNECT_ERROR 0x10fU
#define MOQC__H3_DATAGRAM_ERROR 0x33U
#define MOQC__H3_WT_BUFFERED_STREAM_REJECTED 0x3994bd84U
#define MOQC__H3_WT_SESSION_GONE 0x170d7b68U
/** WebTransport application error codes map into [FIRST, LAST] (moq-lite-wire.md 1.1). */
#define MOQC__H3_WT_APP_ERROR_FIRST 0x52e4a40fa8dbULL
#define MOQC__H3_WT_APP_ERROR_LAST 0x52e5ac983162ULL

/** A frame header: type and payload length. */
typedef struct moqc__h3_frame_header {
  uint64_t type;
  uint64_t length;
} moqc__h3_frame_header;

/** A whole frame: type and a view of its payload. */
typedef struct moqc__h3_frame {
  uint64_t type;
  const uint8_t *payload;
  size_t len;
} moqc__h3_frame;

/**
 * Decodes a frame header only (for DATA, whose payload the caller streams). Frame types are
 * returned as they are, including unknown/GREASE (skip them) and the HTTP/2-only 0x02, 0x06,
 * 0x08, 0x09 (moqc__h3_frame_is_h2_only; answer H3_FRAME_UNEXPECTED).
 */
int moqc__h3_frame_header_decode(const uint8_t **p, const uint8_t *end,
                                 moqc__h3_frame_header *out);

/**
 * Decodes a whole frame whose payload must be at most max_len bytes (a larger declared length is
 * MOQC_ERR_MALFORMED at once, so a reader never waits for it: answer H3_EXCESSIVE_LOAD or
 * H3_FRAME_ERROR). MOQC_ERR_INCOMPLETE until the payload is all there.
 */
int moqc__h3_frame_decode(const uint8_t **p, const uint8_t *end, uint64_t max_len,
                          moqc__h3_frame *out);

/** Returns true for the HTTP/2 frame types HTTP/3 forbids (0x02, 0x06, 0x08, 0x09). */
bool moqc__h3_frame_is_h2_only(uint64_t type);

/** Returns true for reserved GREASE values 0x1f * N + 0x21 (frame, stream and setting types). */
bool moqc__h3_is_grease(uint64_t v);

/** Writes a frame header (type, length); the caller writes the payload. */
void moqc__h3_put_frame_header(moqc__writer *w, uint64_t type, uint64_t length);

/** Writes a whole frame with the given payload. */
void moqc__h3_put_frame(moqc__writer *w, uint64_t type, const void *payload, size_t len);

/**
 * SETTINGS as moqc uses them. Integers are 0 when absent; boolean settings are 0 or 1 on the
 * wire (anything else is MOQC_ERR_MALFORMED).
 */
typedef struct moqc__h3_settings {
  uint64_t qpack_max_table_capacity;
  /** 0 = absent (unlimited). */
  uint64_t max_field_section_size;
  uint64_t qpack_blocked_streams;
  bool enable_connect_protocol;
  bool h3_datagram;
  bool h3_datagram_draft04;
  bool enable_webtransport; /* draft-02, required by Chrome 156 */
  uint64_t webtransport_max_sessions;         /* 0xc671706a (draft-07+) */
  uint64_t webtransport_max_sessions_draft02; /* 0x2b603743 */
  uint64_t wt_max_sessions_draft13;           /* 0x14e9cd29 */
  bool wt_enabled;                            /* 0x2c7cf000 (draft-15) */
} moqc__h3_settings;

/**
 * The SETTINGS a moqc WebTransport server sends (dependencies.md 2.3): ENABLE_CONNECT_PROTOCOL,
 * H3_DATAGRAM (both codepoints), ENABLE_WEBTRANSPORT, and max_sessions under both codepoints.
 * QPACK dynamic table disabled.
 */
void moqc__h3_settings_server(moqc__h3_settings *out, uint64_t max_sessions);

/**
 * Decodes a SETTINGS payload [payload, payload + len). HTTP/2-only identifiers 0x02-0x05, a
 * repeated known identifier, a boolean setting other than 0/1 and a truncated pair are
 * MOQC_ERR_MALFORMED (answer H3_SETTINGS_ERROR); unknown and GREASE identifiers are skipped.
 */
int moqc__h3_settings_decode(const uint8_t *payload, size_t len, moqc__h3_settings *out);

/** Writes a whole SETTINGS frame for s (absent/false settings omitted). */
void moqc__h3_put_settings(moqc__writer *w, const moqc__h3_settings *s);

/**
 * Decodes the payload of a GOAWAY, CANCEL_PUSH or MAX_PUSH_ID frame: exactly one varint.
 * Returns 0 or MOQC_ERR_MALFORMED.
 */
int moqc__h3_id_payload_decode(const uint8_t *payload, size_t len, uint64_t *id);

/** Writes a GOAWAY frame carrying id (a client bidi stream id, or a push id for clients). */
void moqc__h3_put_goaway(moqc__writer *w, uint64_t id);

/**
 * Reads the start of a unidirectional stream: its type, and for a WebTransport stream (0x54)
 * also the session id. *session_id is 0 for other types.
 */
int moqc__h3_uni_stream_decode(const uint8_t **p, const uint8_t *end, uint64_t *type,
                               uint64_t *session_id);

/**
 * Reads the start of a bidirectional stream: when it begins with the WebTransport signal 0x41,
 * consumes it and the session id and sets *is_wt; otherwise sets *is_wt = false and leaves *p
 * alone (the stream is an HTTP request: frames follow). Needs enough bytes to read the first
 * varint (and the session id): MOQC_ERR_INCOMPLETE otherwise.
 */
int moqc__h3_bidi_stream_decode(const uint8_t **p, const uint8_t *end, bool *is_wt,
                                uint64_t *session_id);

/** Writes a WebTransport uni stream header (40 54, session id). */
void moqc__h3_put_wt_uni_header(moqc__writer *w, uint64_t session_id);
/** Writes a WebTransport bidi stream header (40 41, session id). */
void moqc__h3_put_wt_bidi_header(moqc__writer *w, uint64_t session_id);

/**
 * Decodes an HTTP/3 datagram [*p, end) (a whole QUIC DATAGRAM): quarter stream id, then the
 * payload to the end. *session_id = quarter id * 4. A quarter id above 2^60 - 1 is
 * MOQC_ERR_MALFORMED (H3_DATAGRAM_ERROR).
 */
int moqc__h3_datagram_decode(const uint8_t **p, const uint8_t *end, uint64_t *session_id,
                             const uint8_t **payload, size_t *len);

/**
 * Writes an HTTP/3 datagram header for session_id (which must be a client bidi stream id, a
 * multiple of 4, else MOQC_ERR_INVALID_ARGUMENT); the caller appends the payload.
 */
void moqc__h3_put_datagram_header(moqc__writer *w, uint64_t session_id);

/** A capsule (RFC 9297): type and a view of its value. */
typedef struct moqc__h3_capsule {
  uint64_t type;
  const uint8_t *value;
  size_t len;
} moqc__h3_capsule;

/**
 * Decodes one capsule from the CONNECT stream's DATA payload bytes. A value longer than max_len
 * is MOQC_ERR_MALFORMED at once. Unknown and GREASE capsule types are returned for the caller to
 * skip.
 */
int moqc__h3_capsule_decode(const uint8_t **p, const uint8_t *end, uint64_t max_len,
                            moqc__h3_capsule *out);

/** Writes a capsule (type, length, value). */
void moqc__h3_put_capsule(moqc__writer *w, uint64_t type, const void *value, size_t len);

/**
 * Decodes a CLOSE_WEBTRANSPORT_SESSION value: u32 code then a UTF-8 reason of at most
 * MOQC__H3_WT_REASON_MAX bytes. Returns 0 or MOQC_ERR_MALFORMED.
 */
int moqc__h3_wt_close_decode(const uint8_t *value, size_t len, uint32_t *code, moqc_str *reason);

/**
 * Writes a CLOSE_WEBTRANSPORT_SESSION capsule. A reason over MOQC__H3_WT_REASON_MAX bytes or
 * invalid UTF-8 is MOQC_ERR_INVALID_ARGUMENT (in w->err).
 */
void moqc__h3_put_wt_close(moqc__writer *w, uint32_t code, moqc_str reason);

/** Writes a DRAIN_WEBTRANSPORT_SESSION capsule (empty). */
void moqc__h3_put_wt_drain(moqc__writer *w);

/** One field of a response header section. */
typedef struct moqc__h3_field {
  moqc_str name;
  moqc_str value;
} moqc__h3_field;

/**
 * Writes a whole HEADERS frame for a response: a QPACK field section (RFC 9204) that uses only
 * the static table and literals (no dynamic table, no Huffman), so it needs no encoder stream
 * and any decoder reads it. ":status" comes first (an indexed static entry when the status has
 * one, e.g. 200 -> D9, else a literal with the static name), then fields[0..n) as literals with
 * literal names. Names must be non-empty lower-case tokens and values must not hold CR, LF or
 * NUL (MOQC_ERR_INVALID_ARGUMENT in w->err); status must be 100..999.
 */
void moqc__h3_put_response_headers(moqc__writer *w, int status, const moqc__h3_field *fields,
                                   size_t n);

/** Maps a WebTransport application error code to its HTTP/3 wire code. */
uint64_t moqc__h3_wt_error_to_wire(uint32_t code);

/**
 * Maps an HTTP/3 wire code back to a WebTransport application error code. Returns 0, or
 * MOQC_ERR_NOT_FOUND when wire lies outside the WebTransport range or is a GREASE codepoint.
 */
int moqc__h3_wt_error_from_wire(uint64_t wire, uint32_t *code);

#endif /* MOQC_WIRE_H3_H */
