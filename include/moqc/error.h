/*
 * moqc: library error codes and their mapping to moq-lite wire codes.
 *
 * Library errors are negative ints. Wire codes (moq-lite, MoQT, HTTP/3) are separate namespaces
 * and are converted only by the explicit functions below. Thread-safe: everything here is pure.
 */
#ifndef MOQC_ERROR_H
#define MOQC_ERROR_H

#include <moqc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The one list of library errors: XX(NAME, value, moq-lite wire code, text).
 * A wire code of -1 means the error has no moq-lite code of its own and travels as
 * MOQC_LITE_CODE_PROTOCOL_VIOLATION when it must be sent.
 */
#define MOQC_ERR_MAP(XX)                                                       \
  XX(CANCEL, -1, 0, "cancelled")                                               \
  XX(REQUIRED_EXTENSION, -2, 1, "required extension missing")                  \
  XX(OLD, -3, 2, "group is too old")                                           \
  XX(TIMEOUT, -4, 3, "timed out")                                              \
  XX(TRANSPORT, -5, 4, "transport error")                                      \
  XX(DECODE, -6, 5, "decode error")                                            \
  XX(UNAUTHORIZED, -7, 6, "unauthorized")                                      \
  XX(VERSION, -8, 9, "unsupported version")                                    \
  XX(UNEXPECTED_STREAM, -9, 10, "unexpected stream")                           \
  XX(BOUNDS_EXCEEDED, -10, 11, "bounds exceeded")                              \
  XX(DUPLICATE, -11, 12, "duplicate")                                          \
  XX(NOT_FOUND, -12, 13, "not found")                                          \
  XX(WRONG_SIZE, -13, 14, "wrong frame size")                                  \
  XX(PROTOCOL_VIOLATION, -14, 15, "protocol violation")                        \
  XX(UNEXPECTED_MESSAGE, -15, 16, "unexpected message")                        \
  XX(UNSUPPORTED, -16, 17, "unsupported")                                      \
  XX(ENCODE, -17, 18, "encode error")                                          \
  XX(TOO_MANY_PARAMETERS, -18, 19, "too many parameters")                      \
  XX(INVALID_ROLE, -19, 20, "invalid role")                                    \
  XX(UNKNOWN_ALPN, -20, 21, "unknown ALPN")                                    \
  XX(DROPPED, -21, 24, "producer dropped")                                     \
  XX(CLOSED, -22, 25, "closed")                                                \
  XX(LAGGED, -23, 26, "lagged behind the cache")                               \
  XX(FRAME_TOO_LARGE, -24, 27, "frame too large")                              \
  XX(DECOMPRESS, -25, 28, "decompression error")                               \
  XX(TIMESTAMP_MISMATCH, -26, 29, "timestamp mismatch")                        \
  XX(UNROUTABLE, -27, 30, "unroutable")                                        \
  XX(EVICTED, -28, 31, "evicted from the cache")                               \
  XX(APP, -29, -1, "application error")                                        \
  XX(REMOTE, -30, -1, "closed by the peer")                                    \
  XX(INVALID_ARGUMENT, -100, -1, "invalid argument")                           \
  XX(INCOMPLETE, -101, -1, "input is incomplete")                              \
  XX(MALFORMED, -102, 5, "input is malformed")                                 \
  XX(NOBUF, -103, -1, "output buffer too small")                               \
  XX(PENDING, -104, -1, "not ready yet; the waker will be called")             \
  XX(TIME_OVERFLOW, -105, -1, "timestamp overflow")                            \
  XX(TOO_MANY_ORIGINS, -106, 11, "too many hops")                              \
  XX(LOOP, -107, -1, "origin loop detected")                                   \
  XX(WOULD_BLOCK, -108, -1, "would block")                                     \
  XX(IO, -109, 4, "I/O error")                                                 \
  XX(FATAL, -500, -1, "fatal error")                                           \
  XX(NOMEM, -501, -1, "out of memory")                                         \
  XX(CALLBACK_FAILURE, -502, -1, "a callback failed")                          \
  XX(INTERNAL, -503, -1, "internal error")

/** Library error codes. Every code is negative; 0 means success. */
typedef enum moqc_error {
  MOQC_OK = 0,
#define MOQC__ERR_ENUM(name, value, wire, text) MOQC_ERR_##name = (value),
  MOQC_ERR_MAP(MOQC__ERR_ENUM)
#undef MOQC__ERR_ENUM
} moqc_error;

/** moq-lite wire codes that the library names (spec/moq-lite-wire.md 5.3). */
#define MOQC_LITE_CODE_CANCEL 0U
#define MOQC_LITE_CODE_TRANSPORT 1U
#define MOQC_LITE_CODE_PROTOCOL_VIOLATION 15U
/** Application codes travel as 64 + n. */
#define MOQC_LITE_CODE_APP_BASE 64U

/**
 * Returns a static, human-readable description of a library error code. Never NULL; an unknown
 * code yields "unknown error".
 */
MOQC_EXTERN const char *moqc_strerror(int err);

/** Returns the upper-case name of a library error ("NOT_FOUND"), or "UNKNOWN". Never NULL. */
MOQC_EXTERN const char *moqc_err_name(int err);

/**
 * Returns true when err is fatal to the object that returned it (out of memory, a failed
 * callback, an internal error): the caller must delete the object.
 */
MOQC_EXTERN bool moqc_err_is_fatal(int err);

/**
 * Maps a library error to the moq-lite wire code sent in a stream reset, a stop or a session
 * close. 0 maps to 0 (cancel); errors without a code of their own map to 15 (protocol
 * violation).
 */
MOQC_EXTERN uint64_t moqc_err_to_lite_code(int err);

/**
 * Maps a moq-lite wire code received from a peer to a library error. Known codes map to their
 * error; 64 and above map to MOQC_ERR_APP; any other code maps to MOQC_ERR_REMOTE. Code 0 maps
 * to MOQC_ERR_CANCEL.
 */
MOQC_EXTERN int moqc_err_from_lite_code(uint64_t code);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_ERROR_H */
