/*
 * WebSocket opening handshake (RFC 6455 4.2) for the relay's HTTP listener: checks on a parsed
 * HTTP/1.1 upgrade request, Sec-WebSocket-Accept, base64, and the 101 / error response heads.
 * WebSocket framing is not here (the transport uses wslay).
 *
 * Pure functions: no allocation, no I/O; thread-safe. SHA-1 comes from GnuTLS.
 */
#ifndef MOQC_WIRE_WEBSOCKET_H
#define MOQC_WIRE_WEBSOCKET_H

#include "wire/http1.h"
#include "wire/qmux.h"

/** Length of a Sec-WebSocket-Key (base64 of 16 bytes). */
#define MOQC__WS_KEY_LEN 24U
/** Length of a Sec-WebSocket-Accept value (base64 of a 20-byte SHA-1), without NUL. */
#define MOQC__WS_ACCEPT_LEN 28U
/** The most Sec-WebSocket-Protocol header lines kept (more are MOQC_ERR_MALFORMED). */
#define MOQC__WS_MAX_PROTOCOL_HEADERS 8U

/** What a valid upgrade request carries (views into the request buffer). */
typedef struct moqc__ws_upgrade {
  /** The Sec-WebSocket-Key value. */
  moqc_str key;
  /** Each Sec-WebSocket-Protocol header value, in order. */
  moqc_str protocols[MOQC__WS_MAX_PROTOCOL_HEADERS];
  size_t n_protocols;
  /** The Origin header (empty when absent; browsers send it, Node does not). */
  moqc_str origin;
} moqc__ws_upgrade;

/**
 * Checks that req is a WebSocket upgrade request. Returns:
 *   - 0 and fills *out;
 *   - MOQC_ERR_NOT_FOUND when it is no WebSocket upgrade at all (no Upgrade header listing
 *     "websocket"): serve it as plain HTTP;
 *   - MOQC_ERR_MALFORMED for a broken upgrade, with *status set to 400 (method not GET, not
 *     HTTP/1.1, Connection without "upgrade", missing / repeated / invalid Sec-WebSocket-Key,
 *     too many protocol headers) or 426 (Sec-WebSocket-Version missing or not 13; answer with
 *     moqc__ws_response_error, which adds "Sec-WebSocket-Version: 13"), and *error set to a
 *     static description.
 * status and error may be NULL.
 */
int moqc__ws_check_upgrade(const moqc__http1_request *req, moqc__ws_upgrade *out, int *status,
                           const char **error);

/**
 * Computes Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
 * into out[0..28) (no NUL written). key must be at most 64 bytes (a valid key has 24).
 * Returns 0, MOQC_ERR_INVALID_ARGUMENT for a longer key, or MOQC_ERR_INTERNAL if GnuTLS fails.
 */
int moqc__ws_accept(moqc_str key, char out[MOQC__WS_ACCEPT_LEN]);

/**
 * Writes the 101 response head: Upgrade, Connection, Sec-WebSocket-Accept and, when protocol is
 * not empty, Sec-WebSocket-Protocol. No extension is accepted. Errors land in w->err
 * (MOQC_ERR_NOBUF, MOQC_ERR_INVALID_ARGUMENT for a protocol that is not a token).
 */
void moqc__ws_response_101(moqc__writer *w, const char accept[MOQC__WS_ACCEPT_LEN],
                           moqc_str protocol);

/**
 * Writes an error response head for a refused upgrade: status (400, 401, 403, 426, ...),
 * "Content-Length: 0", "Connection: close", and for 426 "Sec-WebSocket-Version: 13".
 */
void moqc__ws_response_error(moqc__writer *w, int status);

/**
 * The whole server side of the handshake: checks req, selects the subprotocol
 * (moqc__qmux_select_protocol with alpns, NULL for the default), computes the accept value and
 * writes the 101 head into w. On success returns 0 and fills *choice. On failure writes the
 * error head (400 or 426) into w and returns MOQC_ERR_MALFORMED (bad upgrade, or no offered
 * subprotocol matched) or MOQC_ERR_NOT_FOUND (not an upgrade request; nothing written).
 * *status (may be NULL) receives 101 or the error status.
 */
int moqc__ws_server_handshake(const moqc__http1_request *req, const moqc_str *alpns,
                              size_t n_alpns, moqc__writer *w, moqc__qmux_choice *choice,
                              int *status);

/**
 * The 6-bit value of one base64 digit: url false for the "+/" alphabet of RFC 4648 section 4, true
 * for the "-_" of section 5 (base64url, as JWTs and JWKs use). -1 for anything else ('=' too).
 */
int moqc__base64_value(char c, bool url);

/** Writes base64 (RFC 4648, with padding) of in[0..n) to out; returns 4 * ceil(n / 3). */
size_t moqc__base64_encode(const uint8_t *in, size_t n, char *out);

/**
 * Strictly decodes base64 (padding required, no whitespace, unused bits zero) into out[0..cap).
 * Returns the decoded length, MOQC_ERR_MALFORMED, or MOQC_ERR_NOBUF.
 */
moqc_ssize moqc__base64_decode(moqc_str in, uint8_t *out, size_t cap);

#endif /* MOQC_WIRE_WEBSOCKET_H */
