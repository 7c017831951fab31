/*
 * QMux frame codec for the WebSocket binding (spec/moq-lite-wire.md 1.3), and the
 * Sec-WebSocket-Protocol selection that picks the QMux wire format and the moq version.
 *
 * Four wire formats exist, chosen by the subprotocol prefix:
 *   - WEBTRANSPORT (legacy, bare "webtransport" or no subprotocol): one frame per WebSocket
 *     message, raw type byte, STREAM payload and close reason run to the end of the message.
 *   - QMUX_00 (@moq/lite 0.2.2 via @moq/qmux 0.0.6): one RFC 9000 style frame per message.
 *   - QMUX_01 (@moq/net 0.3.4 via @moq/qmux 0.3.3): a message is a record of one or more frames;
 *     adds DATAGRAM and QX_PING.
 *   - QMUX_02: as QMUX_01, plus RESET_STREAM_AT.
 *
 * Decoders follow STYLE.md 2.7: they take (const uint8_t **p, const uint8_t *end), advance *p
 * on success, and leave *p untouched when they return MOQC_ERR_INCOMPLETE (the input ends inside
 * the frame) or MOQC_ERR_MALFORMED (a field breaks a rule). Decoded data, reasons and parameter
 * bodies are views into the input: nothing is copied and nothing is allocated. On a WebSocket
 * binding a message is always complete, so the transport treats MOQC_ERR_INCOMPLETE from a
 * message as a protocol error; on a byte stream it means "read more".
 *
 * Encoders append to a moqc__writer (lib/core/bytes.h) and report MOQC_ERR_NOBUF through it.
 * Every function here is pure and thread-safe.
 */
#ifndef MOQC_WIRE_QMUX_H
#define MOQC_WIRE_QMUX_H

#include "core/bytes.h"

/** The QMux wire format, chosen by the WebSocket subprotocol prefix. */
typedef enum moqc__qmux_format {
  MOQC__QMUX_NONE = 0,
  /** Legacy "webtransport" format: no parameters, no flow control. */
  MOQC__QMUX_WEBTRANSPORT = 1,
  MOQC__QMUX_00 = 2,
  MOQC__QMUX_01 = 3,
  MOQC__QMUX_02 = 4
} moqc__qmux_format;

/* Frame type values (QUIC varints; the legacy format uses the same numbers as raw bytes). */
#define MOQC__QMUX_PADDING 0x00U
#define MOQC__QMUX_RESET_STREAM 0x04U
#define MOQC__QMUX_STOP_SENDING 0x05U
/** STREAM is 0x08 | flags. */
#define MOQC__QMUX_STREAM 0x08U
#define MOQC__QMUX_STREAM_OFF 0x04U
#define MOQC__QMUX_STREAM_LEN 0x02U
#define MOQC__QMUX_STREAM_FIN 0x01U
#define MOQC__QMUX_MAX_DATA 0x10U
#define MOQC__QMUX_MAX_STREAM_DATA 0x11U
#define MOQC__QMUX_MAX_STREAMS_BIDI 0x12U
#define MOQC__QMUX_MAX_STREAMS_UNI 0x13U
#define MOQC__QMUX_DATA_BLOCKED 0x14U
#define MOQC__QMUX_STREAM_DATA_BLOCKED 0x15U
#define MOQC__QMUX_STREAMS_BLOCKED_BIDI 0x16U
#define MOQC__QMUX_STREAMS_BLOCKED_UNI 0x17U
#define MOQC__QMUX_CONNECTION_CLOSE 0x1cU
#define MOQC__QMUX_APPLICATION_CLOSE 0x1dU
#define MOQC__QMUX_RESET_STREAM_AT 0x24U
#define MOQC__QMUX_DATAGRAM 0x30U
#define MOQC__QMUX_DATAGRAM_LEN 0x31U
#define MOQC__QMUX_TRANSPORT_PARAMETERS 0x3f5153300d0a0d0aULL
#define MOQC__QMUX_PING_REQUEST 0x348c67529ef8c7bdULL
#define MOQC__QMUX_PING_RESPONSE 0x348c67529ef8c7beULL

/** The largest value MAX_STREAMS / STREAMS_BLOCKED may carry (RFC 9000 19.11: 2^60). */
#define MOQC__QMUX_MAX_STREAMS_LIMIT ((uint64_t)1 << 60)
/**
 * The largest length field (STREAM/DATAGRAM length, reason length, parameter block length) the
 * decoders accept; a larger declared length is MOQC_ERR_MALFORMED before any byte is awaited.
 * Records are far smaller (max_record_size defaults to 16382), so this only stops a byte-stream
 * reader from waiting for absurd frames.
 */
#define MOQC__QMUX_LEN_MAX ((uint64_t)1 << 20)
/** The default and smallest max_record_size (qmux-01/02). */
#define MOQC__QMUX_RECORD_SIZE_MIN 16382U
/** The largest STREAM payload a sender should put in one frame (16384 - 32). */
#define MOQC__QMUX_STREAM_PAYLOAD_MAX 16352U
/** The largest WebSocket message on qmux-00 (one frame). */
#define MOQC__QMUX_00_MESSAGE_MAX 16384U
/** The most bytes a reason phrase we send may have. */
#define MOQC__QMUX_REASON_MAX 1024U

/**
 * One decoded frame. type is the wire type (for STREAM it carries the OFF/LEN/FIN bits). Which
 * fields are meaningful depends on type; the others are zero. data/len views the input.
 */
typedef struct moqc__qmux_frame {
  /** Wire type, e.g. 0x0e for STREAM with offset and length. */
  uint64_t type;
  /** STREAM, RESET_STREAM, RESET_STREAM_AT, STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED. */
  uint64_t stream_id;
  /** STREAM: the offset (0 when the frame has none). */
  uint64_t offset;
  /** RESET_STREAM, RESET_STREAM_AT: final size. */
  uint64_t final_size;
  /** RESET_STREAM_AT: reliable size (<= final_size). */
  uint64_t reliable_size;
  /** RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE, APPLICATION_CLOSE: the error code. */
  uint64_t code;
  /** CONNECTION_CLOSE: the frame type that caused it; APPLICATION_CLOSE quirk: the extra value. */
  uint64_t frame_type;
  /** MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS_*, *_BLOCKED: the limit. */
  uint64_t max;
  /** QX_PING request / response: the sequence number. */
  uint64_t sequence;
  /**
   * STREAM data, DATAGRAM payload, close reason, or the QX_TRANSPORT_PARAMETERS body (decode it
   * with moqc__qmux_params_decode). A view into the input.
   */
  const uint8_t *data;
  size_t len;
  /** STREAM: the frame carried FIN. */
  bool fin;
  /**
   * APPLICATION_CLOSE written by @moq/qmux 0.0.6 with an extra frame-type varint before the
   * reason length (qmux-00 only; "1d 00 00 00"). The encoder reproduces it when set.
   */
  bool close_quirk;
} moqc__qmux_frame;

/**
 * Decodes one frame of format fmt from [*p, end).
 *
 * end must be the end of the WebSocket message (or of the qmux-01 record on a byte stream):
 * STREAM frames without LEN, DATAGRAM 0x30 and every legacy STREAM/close frame run to it. On
 * MOQC__QMUX_00 and MOQC__QMUX_WEBTRANSPORT a message holds exactly one frame, so bytes left after
 * the frame are MOQC_ERR_MALFORMED. Frame types the format does not have (DATAGRAM or QX_PING on
 * qmux-00, RESET_STREAM_AT before qmux-02, anything unknown), non-minimal type encodings, an
 * offset + length beyond 2^62 - 1, MAX_STREAMS above 2^60, a reliable size above the final size
 * and lengths above MOQC__QMUX_LEN_MAX are MOQC_ERR_MALFORMED. A PADDING frame decodes as one byte.
 *
 * Returns 0 (advancing *p and filling *out), MOQC_ERR_INCOMPLETE or MOQC_ERR_MALFORMED (*p and
 * *out untouched).
 */
int moqc__qmux_frame_decode(const uint8_t **p, const uint8_t *end,
                            moqc__qmux_format fmt, moqc__qmux_frame *out);

/**
 * Encodes f in format fmt. STREAM frames are written with the OFF/LEN/FIN bits of f->type (on
 * WEBTRANSPORT as 0x08/0x09, payload to the end); every other frame from its fields.
 * Returns nothing; errors land in w->err: MOQC_ERR_NOBUF when the buffer is short,
 * MOQC_ERR_INVALID_ARGUMENT for a type the format lacks, an empty non-FIN STREAM frame, a
 * MAX_STREAMS / STREAMS_BLOCKED value above 2^60, or a RESET_STREAM_AT whose reliable size
 * exceeds its final size. A frame whose data runs to the end of the message (STREAM without
 * LEN, DATAGRAM 0x30, every legacy STREAM and close) must be the last one the caller puts in
 * that message.
 */
void moqc__qmux_frame_encode(moqc__writer *w, moqc__qmux_format fmt,
                             const moqc__qmux_frame *f);

/**
 * Convenience: writes a STREAM frame as moqc sends it (0x0e / 0x0f with offset and length on
 * qmux-0X, 0x08 / 0x09 on WEBTRANSPORT). Errors as moqc__qmux_frame_encode.
 */
void moqc__qmux_put_stream(moqc__writer *w, moqc__qmux_format fmt, uint64_t stream_id,
                           uint64_t offset, const uint8_t *data, size_t len, bool fin);

/** Returns the encoded size of f in format fmt, or 0 when f cannot be encoded. */
size_t moqc__qmux_frame_size(moqc__qmux_format fmt, const moqc__qmux_frame *f);

/**
 * Reads the varint Size prefix of a qmux-01 record on a byte stream (TCP, Unix socket). A size
 * above max_record_size is MOQC_ERR_MALFORMED. Contract as the other decoders.
 */
int moqc__qmux_record_size_decode(const uint8_t **p, const uint8_t *end,
                                  uint64_t max_record_size, uint64_t *size);

/* Transport parameter ids. */
#define MOQC__QMUX_TP_MAX_IDLE_TIMEOUT 0x01U
#define MOQC__QMUX_TP_INITIAL_MAX_DATA 0x04U
#define MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL 0x05U
#define MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE 0x06U
#define MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_UNI 0x07U
#define MOQC__QMUX_TP_INITIAL_MAX_STREAMS_BIDI 0x08U
#define MOQC__QMUX_TP_INITIAL_MAX_STREAMS_UNI 0x09U
#define MOQC__QMUX_TP_RESET_STREAM_AT 0x1dU
#define MOQC__QMUX_TP_MAX_DATAGRAM_FRAME_SIZE 0x20U
#define MOQC__QMUX_TP_MAX_RECORD_SIZE 0x0571c59429cd0845ULL
#define MOQC__QMUX_TP_APPLICATION_PROTOCOLS 0x3d4f9c2a8b1e6075ULL

/**
 * QMux transport parameters (the body of QX_TRANSPORT_PARAMETERS). A value of 0 means absent
 * (QMux omits zero values and treats absent as 0), except max_record_size where 0 means absent
 * = MOQC__QMUX_RECORD_SIZE_MIN.
 */
typedef struct moqc__qmux_params {
  uint64_t max_idle_timeout; /* milliseconds */
  uint64_t initial_max_data;
  uint64_t initial_max_stream_data_bidi_local;
  uint64_t initial_max_stream_data_bidi_remote;
  uint64_t initial_max_stream_data_uni;
  uint64_t initial_max_streams_bidi;
  uint64_t initial_max_streams_uni;
  uint64_t max_datagram_frame_size;
  uint64_t max_record_size;
  /** The empty reset_stream_at (0x1d) flag was present. */
  bool reset_stream_at;
  /**
   * application_protocols (TCP only): the raw list of varint-length-prefixed names, a view into
   * the input; len 0 when absent. The decoder checks its structure (every name non-empty and
   * within the value). On WebSocket the JS client treats it as an error, so a WebSocket session
   * should refuse parameters that carry it.
   */
  moqc_str application_protocols;
} moqc__qmux_params;

/** The parameters @moq/qmux 0.3.3 and qmux 0.5.1 send by default, for format fmt. */
void moqc__qmux_params_default(moqc__qmux_params *out, moqc__qmux_format fmt);

/**
 * Decodes a parameter block [body, body + len) (the data of a QX_TRANSPORT_PARAMETERS frame).
 * Forbidden ids (0x00, 0x02, 0x03, 0x0a-0x10), a repeated known id, a value that does not fill
 * its parameter exactly, max_streams above 2^60, max_record_size below 16382, a non-empty
 * reset_stream_at and a bad application_protocols list are MOQC_ERR_MALFORMED; a parameter cut
 * short is MOQC_ERR_MALFORMED too (the block length is known). Unknown ids are skipped.
 * Returns 0 and fills *out, or MOQC_ERR_MALFORMED (*out untouched).
 */
int moqc__qmux_params_decode(const uint8_t *body, size_t len, moqc__qmux_params *out);

/**
 * Writes a whole QX_TRANSPORT_PARAMETERS frame for prm (zero values omitted; order 0x01, 0x04-0x09,
 * 0x20, max_record_size, 0x1d, application_protocols, as the JS clients write them).
 * Errors land in w->err (MOQC_ERR_NOBUF).
 */
void moqc__qmux_params_encode(moqc__writer *w, const moqc__qmux_params *prm);

/** The effective max_record_size of decoded parameters (absent = 16382). */
uint64_t moqc__qmux_params_record_size(const moqc__qmux_params *prm);

/** What the WebSocket subprotocol selected. */
typedef struct moqc__qmux_choice {
  /** The QMux wire format. */
  moqc__qmux_format format;
  /**
   * The moq application protocol ("moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"), or empty
   * for a bare version / "webtransport" / no subprotocol, which means the legacy SETUP handshake.
   * Points to static storage.
   */
  moqc_str alpn;
  /**
   * The exact token to echo in the 101 response's Sec-WebSocket-Protocol header; empty when the
   * client offered none (then no header is sent). Points to static storage.
   */
  moqc_str protocol;
} moqc__qmux_choice;

/** The default server ALPN preference: moq-lite-05, moq-lite-04, moq-lite-03, moql. */
extern const moqc_str moqc__qmux_default_alpns[4];

/**
 * Chooses the subprotocol for a WebSocket upgrade. values[0..n) are the client's
 * Sec-WebSocket-Protocol header values (the header may repeat; each is a comma-separated list of
 * tokens with optional whitespace). alpns[0..n_alpns) is the server's moq ALPN preference
 * (NULL: moqc__qmux_default_alpns); unknown names there are ignored.
 *
 * The server picks the first entry of its own list that the client offered: for each ALPN in
 * order, "qmux-01.<alpn>", "qmux-00.<alpn>", "qmux-02.<alpn>"; then the bare "qmux-02",
 * "qmux-01", "qmux-00", "webtransport". So @moq/net 0.3.4 gets "qmux-01.moq-lite-05" and
 * @moq/lite 0.2.2 gets bare "qmux-00" (legacy handshake). When the client offered no token at
 * all the result is the legacy WEBTRANSPORT format with no protocol echoed.
 *
 * Returns 0 and fills *out; MOQC_ERR_NOT_FOUND when tokens were offered but none matches (answer
 * HTTP 400); MOQC_ERR_MALFORMED when a value is not a comma-separated token list (or holds more
 * than 64 tokens).
 */
int moqc__qmux_select_protocol(const moqc_str *values, size_t n, const moqc_str *alpns,
                               size_t n_alpns, moqc__qmux_choice *out);

/**
 * Parses one selected subprotocol token (what a server echoed, for the client side): a known
 * "qmux-0X.<alpn>", a bare "qmux-0X", "webtransport", or the empty string (no subprotocol =
 * WEBTRANSPORT). The alpn part is returned as a view into token. Returns 0 or
 * MOQC_ERR_NOT_FOUND for an unknown prefix.
 */
int moqc__qmux_parse_protocol(moqc_str token, moqc__qmux_choice *out);

#endif /* MOQC_WIRE_QMUX_H */
