/*
 * moq-lite wire codecs (spec/moq-lite-wire.md), versions lite-01 .. lite-05.
 *
 * Everything here is pure: no allocation, no I/O, no clock, no global state.
 * All functions are thread-safe (they touch only their arguments); a
 * moqc__lite_frame_reader is used by one thread at a time.
 *
 * Decoders: int moqc__lite_decode_x(const uint8_t **p, const uint8_t *end,
 * moqc_lite_version v, moqc__lite_x *out). They return 0 and advance *p past
 * the message, or leave *p untouched and return
 *   - MOQC_ERR_INCOMPLETE: the input ends before the message does (read
 *     more and retry);
 *   - MOQC_ERR_MALFORMED: the bytes break a rule (the caller resets the
 *     stream or closes the session as spec 5.2 says);
 *   - MOQC_ERR_INVALID_ARGUMENT: the message does not exist in version v
 *     (a caller bug).
 * On failure *out is unspecified.
 *
 * Views: strings, paths and payloads in decoded structs point into the input
 * buffer, which must outlive the struct. Nothing is copied.
 *
 * Rules every decoder enforces:
 *   - Length-prefixed messages are consumed exactly: trailing bytes in the
 *     body, or a body that ends early inside its declared length, are
 *     MALFORMED. A declared length above MOQC_LITE_MAX_MESSAGE_LEN is
 *     MALFORMED before any wait for the body.
 *   - Strings are strict UTF-8 of at most MOQC_LITE_MAX_STRING_LEN bytes.
 *   - Broadcast paths (prefixes, suffixes, full paths) must already be
 *     normalized (no leading, trailing or doubled '/') and have at most
 *     MOQC_PATH_MAX_PARTS parts; anything else is MALFORMED (every
 *     published client normalizes before sending).
 *   - Integers the JS client reads as numbers (lengths, counts, group
 *     sequences, latencies, timescales, probe values, timestamps) are
 *     MALFORMED above MOQC_JS_INT_MAX; subscribe ids, hop/origin ids and
 *     error codes may use the full 62 bits.
 *   - Booleans are exactly 0 or 1; priorities are one raw byte.
 *
 * Encoders: int moqc__lite_encode_x(moqc__writer *w, moqc_lite_version v,
 * const moqc__lite_x *m) append the message (with its Length prefix and, for
 * typed messages, its Type) and return 0, or return an error and write
 * nothing (the writer's cursor is restored; its error is set when the failure
 * was MOQC_ERR_NOBUF so chained writes also fail):
 *   - MOQC_ERR_NOBUF: the writer has no room;
 *   - MOQC_ERR_INVALID_ARGUMENT: the message does not exist in v, or a
 *     field is invalid (a path that is not normalized or has too many
 *     parts, a string that is not UTF-8, a zero timescale, too many hops, a
 *     status not allowed in v);
 *   - MOQC_ERR_BOUNDS_EXCEEDED: an integer is above what the field may
 *     carry (MOQC_JS_INT_MAX for JS-number fields, MOQC_VARINT_MAX
 *     otherwise).
 * Encoders emit minimal varints, so decode(encode(x)) == x and
 * encode(decode(bytes)) == bytes for every message a published client sends.
 * The worst-case size of a message without strings is given by its
 * MOQC_LITE_MAX_*_SIZE; messages with strings need that plus the string bytes.
 *
 * Stream types are not part of the message codecs: read them with
 * moqc__lite_decode_stream_type and write them with
 * moqc__lite_encode_stream_type. The one exception is the legacy SERVER_SETUP,
 * whose 0x21 byte is a message type on an already open stream and is included.
 */
#ifndef MOQC_WIRE_LITE_H
#define MOQC_WIRE_LITE_H

#include <moqc/common.h>
#include <moqc/error.h>
#include <moqc/path.h>

#include "core/bytes.h"

/* ---------------------------------------------------------------------------
 * Versions, ALPN and WebSocket subprotocol names (spec 1.3, 2.1)
 * ------------------------------------------------------------------------ */

/** A moq-lite wire version. Always passed explicitly; NONE means "not
 * negotiated yet". */
typedef enum moqc_lite_version {
  MOQC_LITE_NONE = 0,
  MOQC_LITE_01 = 1,
  MOQC_LITE_02 = 2,
  MOQC_LITE_03 = 3,
  MOQC_LITE_04 = 4,
  MOQC_LITE_05 = 5,
} moqc_lite_version;

/** The newest version implemented. */
#define MOQC_LITE_LATEST MOQC_LITE_05

/** Version codes used in the legacy CLIENT_SETUP/SERVER_SETUP (spec 2.1). */
#define MOQC_LITE_CODE_01 0xff0dad01ULL
#define MOQC_LITE_CODE_02 0xff0dad02ULL
#define MOQC_LITE_CODE_03 0xff0dad03ULL
#define MOQC_LITE_CODE_04 0xff0dad04ULL
#define MOQC_LITE_CODE_05 0xff0dad05ULL
/** The IETF moq-transport-14 code offered next to lite in a legacy
 * CLIENT_SETUP. */
#define MOQC_LITE_CODE_MOQT_14 0xff00000eULL

/** The ALPN / WebTransport protocol shared by lite-01, lite-02 and moqt-14
 * (legacy SETUP). */
#define MOQC_LITE_ALPN_LEGACY "moql"

/** A bit per version, for sets of supported versions:
 * MOQC_LITE_BIT(MOQC_LITE_05). */
#define MOQC_LITE_BIT(v) (1U << (unsigned)(v))
/** Every implemented version. */
#define MOQC_LITE_ALL_VERSIONS                                                 \
  (MOQC_LITE_BIT(MOQC_LITE_01) | MOQC_LITE_BIT(MOQC_LITE_02) |                 \
   MOQC_LITE_BIT(MOQC_LITE_03) | MOQC_LITE_BIT(MOQC_LITE_04) |                 \
   MOQC_LITE_BIT(MOQC_LITE_05))

/** Returns true when v is one of MOQC_LITE_01 .. MOQC_LITE_05. */
bool moqc__lite_version_valid(moqc_lite_version v);

/** Returns the legacy SETUP code of v (0xff0dad0N), or 0 for an invalid v. */
uint64_t moqc__lite_version_code(moqc_lite_version v);

/** Returns the version with legacy SETUP code c, or MOQC_LITE_NONE (also for
 * moqt-14). */
moqc_lite_version moqc__lite_version_from_code(uint64_t c);

/**
 * Returns the ALPN / WebTransport protocol / WebSocket subprotocol suffix of v:
 * "moq-lite-05", "moq-lite-04", "moq-lite-03", or "moql" for lite-01/02
 * (reached through the legacy SETUP). A static string; NULL for an invalid v.
 */
const char *moqc__lite_version_alpn(moqc_lite_version v);

/**
 * Parses an ALPN (or wt-protocol) name. "moq-lite-05/04/03" store that version
 * in *out; "moql" stores MOQC_LITE_NONE, meaning the legacy SETUP exchange
 * picks lite-01/02. Returns 0, or MOQC_ERR_UNKNOWN_ALPN for anything else (IETF
 * moqt-*, moq-00, moq-lite-06-wip, h3).
 */
int moqc__lite_alpn_parse(moqc_str alpn, moqc_lite_version *out);

/** QMux wire formats named by a WebSocket subprotocol prefix (spec 1.3). */
typedef enum moqc_lite_qmux {
  /** Bare "webtransport" or no subprotocol: the legacy simplified framing. */
  MOQC_LITE_QMUX_NONE = 0,
  MOQC_LITE_QMUX_00 = 1,
  MOQC_LITE_QMUX_01 = 2,
  MOQC_LITE_QMUX_02 = 3,
} moqc_lite_qmux;

/** A parsed WebSocket subprotocol. */
typedef struct moqc__lite_subprotocol {
  /** The QMux wire format. */
  moqc_lite_qmux qmux;
  /** The pinned version, or MOQC_LITE_NONE for the legacy handshake ("moql" or
   * bare name). */
  moqc_lite_version version;
} moqc__lite_subprotocol;

/**
 * Parses a WebSocket subprotocol: "qmux-0N.<alpn>" with a moq-lite ALPN, a bare
 * "qmux-00", "qmux-01", "qmux-02" (legacy handshake), or "webtransport" (legacy
 * framing and handshake). Returns 0, or MOQC_ERR_UNKNOWN_ALPN for any other
 * name (including IETF moqt-* suffixes).
 */
int moqc__lite_subprotocol_parse(moqc_str name, moqc__lite_subprotocol *out);

/**
 * Writes the subprotocol name for (qmux, v) into buf (no NUL):
 * "qmux-01.moq-lite-05", or the bare "qmux-0N" / "webtransport" when v is
 * MOQC_LITE_NONE. With a version, qmux must not be MOQC_LITE_QMUX_NONE. Returns
 * the length, MOQC_ERR_NOBUF, or MOQC_ERR_INVALID_ARGUMENT.
 */
moqc_ssize moqc__lite_subprotocol_format(char *buf, size_t cap,
                                         moqc_lite_qmux qmux,
                                         moqc_lite_version v);

/* ---------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------ */

/** The largest message Length accepted (the JS refuses more). */
#define MOQC_LITE_MAX_MESSAGE_LEN ((uint64_t)64 << 20)
/** The largest frame payload accepted or written (Rust refuses more). */
#define MOQC_LITE_MAX_FRAME_SIZE ((uint64_t)32 << 20)
/** The longest string (path, track name, URI, SETUP Path) accepted or written.
 */
#define MOQC_LITE_MAX_STRING_LEN ((size_t)65535)
/** The most hops in an ANNOUNCE_BROADCAST. */
#define MOQC_LITE_MAX_HOPS 32
/** The most parameters in a lite-05 SETUP. */
#define MOQC_LITE_MAX_SETUP_PARAMS 64
/** The most parameters in a legacy CLIENT_SETUP/SERVER_SETUP. */
#define MOQC_LITE_MAX_LEGACY_PARAMS 64
/** The most versions in a legacy CLIENT_SETUP. */
#define MOQC_LITE_MAX_LEGACY_VERSIONS 16

/* ---------------------------------------------------------------------------
 * Stream types (spec 4.1)
 * ------------------------------------------------------------------------ */

/** Bidirectional stream types. */
#define MOQC_LITE_BIDI_SESSION 0x0U   /**< obsolete; always refused */
#define MOQC_LITE_BIDI_ANNOUNCE 0x1U  /**< all versions */
#define MOQC_LITE_BIDI_SUBSCRIBE 0x2U /**< all versions */
#define MOQC_LITE_BIDI_FETCH 0x3U     /**< lite-05 */
#define MOQC_LITE_BIDI_PROBE 0x4U     /**< lite-03+ */
#define MOQC_LITE_BIDI_GOAWAY 0x5U    /**< lite-04+ */
#define MOQC_LITE_BIDI_TRACK 0x6U     /**< lite-05 */
/** The legacy CLIENT_SETUP stream (first client bidi stream, before a version
 * is known). */
#define MOQC_LITE_BIDI_LEGACY_SETUP 0x20U
/** Unidirectional stream types. */
#define MOQC_LITE_UNI_GROUP 0x0U /**< all versions */
#define MOQC_LITE_UNI_SETUP 0x1U /**< lite-05 */

/**
 * Reads a stream type varint into *type. Returns 0, or MOQC_ERR_INCOMPLETE. Any
 * value decodes; check it with moqc__lite_stream_type_check.
 */
int moqc__lite_decode_stream_type(const uint8_t **p, const uint8_t *end,
                                  uint64_t *type);

/**
 * Returns 0 when a stream of this type (bidi or uni) may be opened in version
 * v, otherwise MOQC_ERR_UNEXPECTED_STREAM (reset/stop the stream; spec 4.1).
 * With v == MOQC_LITE_NONE only the legacy CLIENT_SETUP bidi type (0x20) is
 * accepted.
 */
int moqc__lite_stream_type_check(moqc_lite_version v, bool bidi, uint64_t type);

/** Writes a stream type. Returns 0, or MOQC_ERR_NOBUF. */
int moqc__lite_encode_stream_type(moqc__writer *w, uint64_t type);

/**
 * Peeks at a Length-prefixed message at p without consuming it: stores in
 * *total the bytes the whole message takes (prefix + body). Returns 0,
 * MOQC_ERR_INCOMPLETE (the prefix itself is cut), or MOQC_ERR_MALFORMED (Length
 * above MOQC_LITE_MAX_MESSAGE_LEN). Lets a session bound how much it buffers
 * before calling a decoder.
 */
int moqc__lite_message_size(const uint8_t *p, const uint8_t *end,
                            size_t *total);

/* ---------------------------------------------------------------------------
 * Setup: lite-05 SETUP (uni stream 0x1, spec 4.2)
 * ------------------------------------------------------------------------ */

/** SETUP parameter ids. */
#define MOQC_LITE_PARAM_PROBE 0x1U
#define MOQC_LITE_PARAM_PATH 0x2U
#define MOQC_LITE_PARAM_ROLE 0x3U
#define MOQC_LITE_PARAM_COST                                                   \
  0x4U /**< lite-06 only: skipped like an unknown id on lite-05 */
#define MOQC_LITE_PARAM_ORIGIN 0x5U

/** SETUP Probe levels (a larger value means Increase). */
#define MOQC_LITE_PROBE_NONE 0U
#define MOQC_LITE_PROBE_REPORT 1U
#define MOQC_LITE_PROBE_INCREASE 2U

/** SETUP Role values (an unknown value means Both). */
#define MOQC_LITE_ROLE_BOTH 0U
#define MOQC_LITE_ROLE_PUBLISHER 1U
#define MOQC_LITE_ROLE_SUBSCRIBER 2U

/** Bits of moqc__lite_setup.present. */
#define MOQC_LITE_SETUP_HAS_PROBE 0x1U
#define MOQC_LITE_SETUP_HAS_PATH 0x2U
#define MOQC_LITE_SETUP_HAS_ROLE 0x4U
#define MOQC_LITE_SETUP_HAS_ORIGIN 0x8U

/**
 * lite-05 SETUP: Length, then a parameter block (count, then id, length, value
 * per entry). Decoding: at most MOQC_LITE_MAX_SETUP_PARAMS entries; a repeated
 * id (known or not) is MALFORMED; unknown ids are skipped (counted in
 * n_unknown); a numeric value must be exactly one varint filling the value;
 * Path must be UTF-8. Encoding writes the present parameters in ascending id
 * order (PROBE, PATH, ROLE, ORIGIN); n_unknown is ignored.
 */
typedef struct moqc__lite_setup {
  /** MOQC_LITE_SETUP_HAS_* bits of the parameters present. */
  uint32_t present;
  /** Probe level (MOQC_LITE_PROBE_*); absent = NONE. */
  uint64_t probe;
  /** Path parameter: URL path-abempty plus optional "?query" (view; client
   * only, raw QUIC). */
  moqc_str path;
  /** Role (MOQC_LITE_ROLE_*); client only. */
  uint64_t role;
  /** Origin hop id, 62-bit; 0 = none. */
  uint64_t origin;
  /** Parameters skipped because their id is unknown (decode only). */
  size_t n_unknown;
} moqc__lite_setup;

/** Decodes a lite-05 SETUP (v must be MOQC_LITE_05). */
int moqc__lite_decode_setup(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_setup *out);
/** Encodes a lite-05 SETUP (v must be MOQC_LITE_05). */
int moqc__lite_encode_setup(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_setup *m);

/* ---------------------------------------------------------------------------
 * Legacy handshake: CLIENT_SETUP (stream 0x20) / SERVER_SETUP (0x21), u16
 * lengths (spec 2.3) and SESSION_INFO on the session stream (spec 4.11)
 * ------------------------------------------------------------------------ */

/** The SERVER_SETUP message type byte. */
#define MOQC_LITE_LEGACY_SERVER_SETUP 0x21U
/** Legacy (draft-14) setup parameter keys seen from the JS. */
#define MOQC_LITE_LEGACY_PARAM_MAX_REQUEST_ID 0x02U
#define MOQC_LITE_LEGACY_PARAM_IMPLEMENTATION 0x07U

/**
 * One draft-14 setup parameter: an even key carries a varint value, an odd key
 * carries bytes.
 */
typedef struct moqc__lite_legacy_param {
  uint64_t key;
  /** The value when key is even. */
  uint64_t value;
  /** The bytes when key is odd (view into the input). */
  moqc_str bytes;
} moqc__lite_legacy_param;

/**
 * A legacy parameter list as decoded: count entries in params[0..params_len).
 * The structure of every entry was checked by the decoder; walk it with
 * moqc__lite_legacy_param_next. Duplicate keys are allowed (draft-14 permits
 * some); at most MOQC_LITE_MAX_LEGACY_PARAMS entries.
 */
typedef struct moqc__lite_legacy_params {
  size_t count;
  const uint8_t *params;
  size_t params_len;
} moqc__lite_legacy_params;

/**
 * Reads the next parameter of a decoded list: *p starts at params->params and
 * end is params->params + params->params_len. Returns 0, or MOQC_ERR_INCOMPLETE
 * at the end of the list.
 */
int moqc__lite_legacy_param_next(const uint8_t **p, const uint8_t *end,
                                 moqc__lite_legacy_param *out);

/**
 * CLIENT_SETUP body after the 0x20 stream type: u16 Length, version count (i),
 * versions (i), parameters. At most MOQC_LITE_MAX_LEGACY_VERSIONS versions.
 */
typedef struct moqc__lite_client_setup {
  size_t n_versions;
  uint64_t versions[MOQC_LITE_MAX_LEGACY_VERSIONS];
  /** Decoded parameters (decode); ignored by the encoder, which uses
   * enc_params. */
  moqc__lite_legacy_params params;
  /** Parameters to write (encode only; may be NULL when n_enc_params is 0). */
  const moqc__lite_legacy_param *enc_params;
  size_t n_enc_params;
} moqc__lite_client_setup;

/**
 * SERVER_SETUP including its 0x21 type byte: 0x21, u16 Length, selected version
 * (i), parameters. moq-relay sends an empty parameter list for lite (a single
 * 0x00).
 */
typedef struct moqc__lite_server_setup {
  uint64_t version;
  moqc__lite_legacy_params params;
  const moqc__lite_legacy_param *enc_params;
  size_t n_enc_params;
} moqc__lite_server_setup;

/** Decodes a CLIENT_SETUP after its stream type (no version needed: it
 * negotiates one). */
int moqc__lite_decode_client_setup(const uint8_t **p, const uint8_t *end,
                                   moqc__lite_client_setup *out);
/** Encodes a CLIENT_SETUP without the 0x20 stream type (write that first). */
int moqc__lite_encode_client_setup(moqc__writer *w,
                                   const moqc__lite_client_setup *m);
/** Decodes a SERVER_SETUP including its 0x21 byte (another first byte is
 * MALFORMED). */
int moqc__lite_decode_server_setup(const uint8_t **p, const uint8_t *end,
                                   moqc__lite_server_setup *out);
/** Encodes a SERVER_SETUP including its 0x21 byte. */
int moqc__lite_encode_server_setup(moqc__writer *w,
                                   const moqc__lite_server_setup *m);

/**
 * Returns the first version of the client's list that is a moq-lite version in
 * the supported set (MOQC_LITE_BIT bits), the order moq-relay uses;
 * MOQC_LITE_NONE when none is.
 */
moqc_lite_version moqc__lite_legacy_select(const moqc__lite_client_setup *cs,
                                           uint32_t supported);

/** SESSION_INFO (lite-01/02 session stream): Length, Bitrate (i) (0 = unknown).
 */
typedef struct moqc__lite_session_info {
  uint64_t bitrate;
} moqc__lite_session_info;

/** Decodes SESSION_INFO (lite-01/02 only). Results as in the file comment. */
int moqc__lite_decode_session_info(const uint8_t **p, const uint8_t *end,
                                   moqc_lite_version v,
                                   moqc__lite_session_info *out);
/** Encodes SESSION_INFO (lite-01/02 only). Errors as in the file comment. */
int moqc__lite_encode_session_info(moqc__writer *w, moqc_lite_version v,
                                   const moqc__lite_session_info *m);

/* ---------------------------------------------------------------------------
 * Announce stream (bidi 0x1, spec 4.3)
 * ------------------------------------------------------------------------ */

/**
 * ANNOUNCE_REQUEST (announce please/interest), subscriber -> publisher, first
 * message: Length, Prefix (path), Exclude Hop (i, 62-bit; lite-04/05 only, 0 =
 * none).
 */
typedef struct moqc__lite_announce_request {
  moqc_str prefix;
  /** Ignored (and decoded as 0) before lite-04. */
  uint64_t exclude_hop;
} moqc__lite_announce_request;

/** Decodes ANNOUNCE_REQUEST (every version). Results as in the file comment. */
int moqc__lite_decode_announce_request(const uint8_t **p, const uint8_t *end,
                                       moqc_lite_version v,
                                       moqc__lite_announce_request *out);
/** Encodes ANNOUNCE_REQUEST (every version). Errors as in the file comment. */
int moqc__lite_encode_announce_request(moqc__writer *w, moqc_lite_version v,
                                       const moqc__lite_announce_request *m);

/** ANNOUNCE_OK (lite-05 only): Length, Hop ID (i, 62-bit), Active Count (i). */
typedef struct moqc__lite_announce_ok {
  uint64_t hop_id;
  uint64_t active_count;
} moqc__lite_announce_ok;

/** Largest encoded ANNOUNCE_OK. */
#define MOQC_LITE_MAX_ANNOUNCE_OK_SIZE 17

/** Decodes ANNOUNCE_OK (lite-05 only). Results as in the file comment. */
int moqc__lite_decode_announce_ok(const uint8_t **p, const uint8_t *end,
                                  moqc_lite_version v,
                                  moqc__lite_announce_ok *out);
/** Encodes ANNOUNCE_OK (lite-05 only). Errors as in the file comment. */
int moqc__lite_encode_announce_ok(moqc__writer *w, moqc_lite_version v,
                                  const moqc__lite_announce_ok *m);

/** ANNOUNCE_BROADCAST status byte. RESTART is valid on lite-05 only (treat it
 * as ACTIVE). */
typedef enum moqc_lite_announce_status {
  MOQC_LITE_ANNOUNCE_ENDED = 0,
  MOQC_LITE_ANNOUNCE_ACTIVE = 1,
  MOQC_LITE_ANNOUNCE_RESTART = 2,
} moqc_lite_announce_status;

/**
 * ANNOUNCE_BROADCAST: Length, Status (u8), Suffix (path), then per version
 *   lite-01/02: nothing more (n_hops and hops unused);
 *   lite-03:    Hop Count (i) only (n_hops holds the count; hops unused);
 *   lite-04/05: Hop Count (i) and that many Hop IDs (i, 62-bit) in hops[].
 * Hop Count above MOQC_LITE_MAX_HOPS is MALFORMED.
 */
typedef struct moqc__lite_announce {
  moqc_lite_announce_status status;
  moqc_str suffix;
  size_t n_hops;
  uint64_t hops[MOQC_LITE_MAX_HOPS];
} moqc__lite_announce;

/**
 * Decodes ANNOUNCE_BROADCAST (every version; hop fields per version).
 * Results as in the file comment.
 */
int moqc__lite_decode_announce(const uint8_t **p, const uint8_t *end,
                               moqc_lite_version v, moqc__lite_announce *out);
/**
 * Encodes ANNOUNCE_BROADCAST (every version; hop fields per version).
 * Errors as in the file comment.
 */
int moqc__lite_encode_announce(moqc__writer *w, moqc_lite_version v,
                               const moqc__lite_announce *m);

/**
 * ANNOUNCE_INIT (lite-01/02 only): Length, Count (i), Suffix (path) x Count.
 * The decoder checks every suffix and stores a view of the suffix list; walk it
 * with moqc__lite_announce_init_next. The encoder writes
 * enc_suffixes[0..count).
 */
typedef struct moqc__lite_announce_init {
  size_t count;
  /** Decoded suffix list (count strings, each varint length + bytes). */
  const uint8_t *suffixes;
  size_t suffixes_len;
  /** Suffixes to write (encode only). */
  const moqc_str *enc_suffixes;
} moqc__lite_announce_init;

/**
 * Decodes ANNOUNCE_INIT (lite-01/02 only; the encoder writes enc_suffixes).
 * Results as in the file comment.
 */
int moqc__lite_decode_announce_init(const uint8_t **p, const uint8_t *end,
                                    moqc_lite_version v,
                                    moqc__lite_announce_init *out);
/**
 * Encodes ANNOUNCE_INIT (lite-01/02 only; the encoder writes enc_suffixes).
 * Errors as in the file comment.
 */
int moqc__lite_encode_announce_init(moqc__writer *w, moqc_lite_version v,
                                    const moqc__lite_announce_init *m);
/**
 * Reads the next suffix of a decoded ANNOUNCE_INIT: *p starts at suffixes, end
 * is suffixes + suffixes_len. Returns 0, or MOQC_ERR_INCOMPLETE at the end of
 * the list.
 */
int moqc__lite_announce_init_next(const uint8_t **p, const uint8_t *end,
                                  moqc_str *suffix);

/* ---------------------------------------------------------------------------
 * Track stream (bidi 0x6, lite-05, spec 4.4)
 * ------------------------------------------------------------------------ */

/** TRACK: Length, Broadcast Path (path), Track Name (string). */
typedef struct moqc__lite_track {
  moqc_str broadcast;
  moqc_str track;
} moqc__lite_track;

/** Decodes TRACK (lite-05 only). Results as in the file comment. */
int moqc__lite_decode_track(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_track *out);
/** Encodes TRACK (lite-05 only). Errors as in the file comment. */
int moqc__lite_encode_track(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_track *m);

/**
 * TRACK_INFO: Length, Publisher Priority (u8), Publisher Ordered (bool),
 * Publisher Max Latency (i, ms), Timescale (i, units per second). A zero
 * timescale is MALFORMED.
 */
typedef struct moqc__lite_track_info {
  uint8_t priority;
  bool ordered;
  uint64_t max_latency_ms;
  uint64_t timescale;
} moqc__lite_track_info;

/** Largest encoded TRACK_INFO. */
#define MOQC_LITE_MAX_TRACK_INFO_SIZE 19

/** Decodes TRACK_INFO (lite-05 only). Results as in the file comment. */
int moqc__lite_decode_track_info(const uint8_t **p, const uint8_t *end,
                                 moqc_lite_version v,
                                 moqc__lite_track_info *out);
/** Encodes TRACK_INFO (lite-05 only). Errors as in the file comment. */
int moqc__lite_encode_track_info(moqc__writer *w, moqc_lite_version v,
                                 const moqc__lite_track_info *m);

/* ---------------------------------------------------------------------------
 * Subscribe stream (bidi 0x2, spec 4.5)
 * ------------------------------------------------------------------------ */

/**
 * SUBSCRIBE: Length, Subscribe ID (i, 62-bit), Broadcast Path (path), Track
 * Name (string), Subscriber Priority (u8), and from lite-03 on: Ordered (bool),
 * Max Latency (i, ms), Group Start and Group End. The optional groups are
 * decoded: has_start/has_end say whether they are present (wire 0 = absent,
 * else sequence + 1); end_group is the last group wanted (inclusive). Fields
 * after priority are ignored (decoded as 0/false) before lite-03.
 */
typedef struct moqc__lite_subscribe {
  uint64_t id;
  moqc_str broadcast;
  moqc_str track;
  uint8_t priority;
  bool ordered;
  uint64_t max_latency_ms;
  bool has_start;
  uint64_t start_group;
  bool has_end;
  uint64_t end_group;
} moqc__lite_subscribe;

/**
 * Decodes SUBSCRIBE (every version; preferences from lite-03).
 * Results as in the file comment.
 */
int moqc__lite_decode_subscribe(const uint8_t **p, const uint8_t *end,
                                moqc_lite_version v, moqc__lite_subscribe *out);
/**
 * Encodes SUBSCRIBE (every version; preferences from lite-03).
 * Errors as in the file comment.
 */
int moqc__lite_encode_subscribe(moqc__writer *w, moqc_lite_version v,
                                const moqc__lite_subscribe *m);

/**
 * SUBSCRIBE_UPDATE (lite-03+): Length, Priority (u8), Ordered (bool), Max
 * Latency (i), Group Start, Group End (optional-group encoding, as in
 * SUBSCRIBE).
 */
typedef struct moqc__lite_subscribe_update {
  uint8_t priority;
  bool ordered;
  uint64_t max_latency_ms;
  bool has_start;
  uint64_t start_group;
  bool has_end;
  uint64_t end_group;
} moqc__lite_subscribe_update;

/** Largest encoded SUBSCRIBE_UPDATE. */
#define MOQC_LITE_MAX_SUBSCRIBE_UPDATE_SIZE 27

/**
 * Decodes SUBSCRIBE_UPDATE (lite-03 and later).
 * Results as in the file comment.
 */
int moqc__lite_decode_subscribe_update(const uint8_t **p, const uint8_t *end,
                                       moqc_lite_version v,
                                       moqc__lite_subscribe_update *out);
/**
 * Encodes SUBSCRIBE_UPDATE (lite-03 and later).
 * Errors as in the file comment.
 */
int moqc__lite_encode_subscribe_update(moqc__writer *w, moqc_lite_version v,
                                       const moqc__lite_subscribe_update *m);

/** Kinds of publisher -> subscriber responses on a Subscribe stream. */
typedef enum moqc_lite_subscribe_response_kind {
  /**
   * lite-05 SUBSCRIBE_OK/START (type 0): group = first group delivered.
   * lite-03/04 SUBSCRIBE_OK (type 0): priority, ordered, max_latency,
   * start/end. lite-01 (untyped): priority only. lite-02 (untyped): empty body.
   */
  MOQC_LITE_SUBSCRIBE_OK = 0,
  /** lite-05 SUBSCRIBE_END (type 1): group = exclusive end (0 = no groups at
     all). */
  MOQC_LITE_SUBSCRIBE_END = 1,
  /**
   * SUBSCRIBE_DROP (lite-05 type 2, lite-03/04 type 1): groups
   * drop_start..drop_end (inclusive) will never come, with error_code.
   */
  MOQC_LITE_SUBSCRIBE_DROP = 2,
} moqc_lite_subscribe_response_kind;

/**
 * A subscribe response. lite-03..05: Type (i), Length (i), body (an unknown
 * type is MALFORMED; so is END before lite-05). lite-01/02: Length (i), body,
 * no type (always kind OK).
 */
typedef struct moqc__lite_subscribe_response {
  moqc_lite_subscribe_response_kind kind;
  /** lite-05 OK (first group) and END (exclusive end group). */
  uint64_t group;
  /** OK on lite-01 (priority only) and lite-03/04. */
  uint8_t priority;
  /** OK on lite-03/04. */
  bool ordered;
  uint64_t max_latency_ms;
  bool has_start;
  uint64_t start_group;
  bool has_end;
  uint64_t end_group;
  /** DROP. */
  uint64_t drop_start;
  uint64_t drop_end;
  uint64_t error_code;
} moqc__lite_subscribe_response;

/** Largest encoded subscribe response. */
#define MOQC_LITE_MAX_SUBSCRIBE_RESPONSE_SIZE 28

/**
 * Decodes a subscribe response (every version; typed from lite-03).
 * Results as in the file comment.
 */
int moqc__lite_decode_subscribe_response(const uint8_t **p, const uint8_t *end,
                                         moqc_lite_version v,
                                         moqc__lite_subscribe_response *out);
/**
 * Encodes a subscribe response (every version; typed from lite-03).
 * Errors as in the file comment.
 */
int moqc__lite_encode_subscribe_response(
    moqc__writer *w, moqc_lite_version v,
    const moqc__lite_subscribe_response *m);

/* ---------------------------------------------------------------------------
 * Group stream (uni 0x0) and FRAME (spec 4.6); Fetch stream (bidi 0x3, lite-05,
 * spec 4.7); datagrams (lite-05, spec 4.10)
 * ------------------------------------------------------------------------ */

/** GROUP: Length, Subscribe ID (i, 62-bit), Group Sequence (i, 53-bit). */
typedef struct moqc__lite_group {
  uint64_t subscribe_id;
  uint64_t sequence;
} moqc__lite_group;

/** Largest encoded GROUP. */
#define MOQC_LITE_MAX_GROUP_SIZE 17

/** Decodes GROUP (every version). Results as in the file comment. */
int moqc__lite_decode_group(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_group *out);
/** Encodes GROUP (every version). Errors as in the file comment. */
int moqc__lite_encode_group(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_group *m);

/**
 * A FRAME header: lite-05 Timestamp Delta (zigzag varint, its unsigned form at
 * most MOQC_JS_INT_MAX) then Payload Length (i, at most
 * MOQC_LITE_MAX_FRAME_SIZE); before lite-05 only the Payload Length. The
 * payload follows; there is no message Length.
 */
typedef struct moqc__lite_frame_header {
  /** Delta from the previous frame's timestamp of the group/fetch (the first is
   * absolute). */
  int64_t ts_delta;
  uint64_t size;
} moqc__lite_frame_header;

/** Largest encoded FRAME header. */
#define MOQC_LITE_MAX_FRAME_HEADER_SIZE 16

/** Decodes a FRAME header only (the payload is not touched). */
int moqc__lite_decode_frame_header(const uint8_t **p, const uint8_t *end,
                                   moqc_lite_version v,
                                   moqc__lite_frame_header *out);
/** Encodes a FRAME header (ts_delta must be 0 before lite-05). */
int moqc__lite_encode_frame_header(moqc__writer *w, moqc_lite_version v,
                                   const moqc__lite_frame_header *m);

/** A whole FRAME: header plus a view of its payload. */
typedef struct moqc__lite_frame {
  int64_t ts_delta;
  const uint8_t *payload;
  size_t size;
} moqc__lite_frame;

/** Decodes a whole FRAME (header and payload; INCOMPLETE until the payload is
 * all there). */
int moqc__lite_decode_frame(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_frame *out);
/** Encodes a whole FRAME (header and payload copied into the writer). */
int moqc__lite_encode_frame(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_frame *m);

/**
 * Resumable FRAME header reader for a Group or Fetch stream. The session feeds
 * whatever stream bytes it has; the reader buffers a partial header (at most
 * MOQC_LITE_MAX_FRAME_HEADER_SIZE bytes), and once a header is complete the
 * session streams the payload itself (header.size bytes) and then asks for the
 * next header. It also keeps the running absolute timestamp (deltas restart
 * from 0 for every reader). One thread at a time; no allocation; no _free.
 */
typedef struct moqc__lite_frame_reader {
  moqc_lite_version version;
  uint8_t buf[MOQC_LITE_MAX_FRAME_HEADER_SIZE];
  size_t buffered;
  /** Absolute timestamp of the last complete header (lite-05; 0 before any
   * frame). */
  int64_t timestamp;
  /** Frames whose header was read. */
  uint64_t frames;
  /**
   * Why the last read returned MOQC_ERR_MALFORMED, for the reset code:
   * MOQC_ERR_FRAME_TOO_LARGE (payload above MOQC_LITE_MAX_FRAME_SIZE),
   * MOQC_ERR_BOUNDS_EXCEEDED (delta or running timestamp beyond 53 bits), or
   * MOQC_ERR_DECODE. 0 until then.
   */
  int refusal;
} moqc__lite_frame_reader;

/** Starts a reader for a new group or fetch response in version v. */
void moqc__lite_frame_reader_init(moqc__lite_frame_reader *r,
                                  moqc_lite_version v);

/**
 * Feeds bytes at *p. Unlike the message decoders this one consumes what it
 * buffers: it returns
 *   - 0 when a header is complete: *p is advanced to the first payload
 *     byte, *out holds the header and *timestamp (may be NULL) the frame's
 *     absolute timestamp;
 *   - MOQC_ERR_INCOMPLETE: every input byte was buffered (*p == end); feed
 *     more;
 *   - MOQC_ERR_MALFORMED: the header is invalid (size above
 *     MOQC_LITE_MAX_FRAME_SIZE, zigzag delta above MOQC_JS_INT_MAX, or the
 *     running timestamp leaves [-MOQC_JS_INT_MAX, MOQC_JS_INT_MAX]); *p is
 *     untouched, r->refusal says why, and the reader must not be used again
 *     (reset the stream).
 */
int moqc__lite_frame_reader_read(moqc__lite_frame_reader *r, const uint8_t **p,
                                 const uint8_t *end,
                                 moqc__lite_frame_header *out,
                                 int64_t *timestamp);

/**
 * Returns true when no partial header is buffered: a FIN now ends the group
 * cleanly (FIN with bytes buffered, or inside a payload, is a truncated group:
 * spec 4.6).
 */
bool moqc__lite_frame_reader_at_boundary(const moqc__lite_frame_reader *r);

/**
 * FETCH (lite-05): Length, Broadcast Path (path), Track Name (string),
 * Subscriber Priority (u8), Group Sequence (i, absolute). The answer is bare
 * FRAMEs (use the frame codecs).
 */
typedef struct moqc__lite_fetch {
  moqc_str broadcast;
  moqc_str track;
  uint8_t priority;
  uint64_t group;
} moqc__lite_fetch;

/** Decodes FETCH (lite-05 only). Results as in the file comment. */
int moqc__lite_decode_fetch(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_fetch *out);
/** Encodes FETCH (lite-05 only). Errors as in the file comment. */
int moqc__lite_encode_fetch(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_fetch *m);

/**
 * Datagram body (lite-05): Subscribe ID (i, 62-bit), Group Sequence (i),
 * Timestamp (i, absolute), Payload (the rest). [*p, end) must be exactly one
 * datagram; the payload view takes every remaining byte. A header cut short is
 * INCOMPLETE (drop the datagram).
 */
typedef struct moqc__lite_datagram {
  uint64_t subscribe_id;
  uint64_t sequence;
  uint64_t timestamp;
  const uint8_t *payload;
  size_t size;
} moqc__lite_datagram;

/** Largest datagram header. */
#define MOQC_LITE_MAX_DATAGRAM_HEADER_SIZE 24

/**
 * Decodes a datagram body (lite-05 only; the payload view takes the rest of the
 * input). Results as in the file comment.
 */
int moqc__lite_decode_datagram(const uint8_t **p, const uint8_t *end,
                               moqc_lite_version v, moqc__lite_datagram *out);
/**
 * Encodes a datagram body (lite-05 only; the payload view takes the rest of the
 * input). Errors as in the file comment.
 */
int moqc__lite_encode_datagram(moqc__writer *w, moqc_lite_version v,
                               const moqc__lite_datagram *m);

/* ---------------------------------------------------------------------------
 * Probe stream (bidi 0x4, lite-03+, spec 4.8) and Goaway stream (bidi 0x5,
 * lite-04+, spec 4.9)
 * ------------------------------------------------------------------------ */

/** PROBE: Length, Bitrate (i, bits/s), and from lite-04 on RTT (i, ms). 0 =
 * unknown. */
typedef struct moqc__lite_probe {
  uint64_t bitrate;
  /** Ignored (decoded as 0) on lite-03. */
  uint64_t rtt_ms;
} moqc__lite_probe;

/** Largest encoded PROBE. */
#define MOQC_LITE_MAX_PROBE_SIZE 17

/**
 * Decodes PROBE (lite-03 and later; RTT from lite-04).
 * Results as in the file comment.
 */
int moqc__lite_decode_probe(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_probe *out);
/**
 * Encodes PROBE (lite-03 and later; RTT from lite-04).
 * Errors as in the file comment.
 */
int moqc__lite_encode_probe(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_probe *m);

/** GOAWAY: Length, New Session URI (string; empty = no redirect). */
typedef struct moqc__lite_goaway {
  moqc_str uri;
} moqc__lite_goaway;

/** Decodes GOAWAY (lite-04 and later). Results as in the file comment. */
int moqc__lite_decode_goaway(const uint8_t **p, const uint8_t *end,
                             moqc_lite_version v, moqc__lite_goaway *out);
/** Encodes GOAWAY (lite-04 and later). Errors as in the file comment. */
int moqc__lite_encode_goaway(moqc__writer *w, moqc_lite_version v,
                             const moqc__lite_goaway *m);

#endif /* MOQC_WIRE_LITE_H */
