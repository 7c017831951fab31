/*
 * The in-memory transport pair: two endpoints joined in process, for tests.
 *
 * Each side gives its stream application (a session or a test double) a moqc_transport and drives
 * it through moqc_stream_app_ops. Nothing moves until the test calls moqc__mem_transmit (one
 * direction, quicly's transmit(a, b) pattern) or moqc__mem_pump (both directions until quiet), so
 * every run is deterministic. The pair simulates:
 *
 * - per-stream flow control (a receive window of unconsumed bytes; a blocked sender gets
 *   block_stream / unblock_stream) and a limit on concurrent streams per opener and kind;
 * - a byte budget per transmit (a congested link: the sending application decides which stream
 *   goes first);
 * - a one-way delay against the injected clock (moqc__mem_advance), delivered in order per stream;
 * - reordering of stream arrival (a seeded shuffle of which stream's bytes arrive first);
 * - loss of whole streams (the receiver never sees the stream; the sender's bytes are
 *   acknowledged as if delivered) chosen per stream by a callback or by moqc__mem_lose_stream.
 *
 * Acknowledgements arrive when bytes are delivered, so a sender's buffers stay referenced while
 * the bytes are "in flight". If an application call returns a negative error, the pair closes the
 * connection with moqc_err_to_lite_code(err) and records the error.
 *
 * One thread at a time, except the transport's wake operation, which is thread-safe.
 */
#ifndef MOQC_TRANSPORT_MEM_H
#define MOQC_TRANSPORT_MEM_H

#include <moqc/session.h>

/** The two sides of a pair. The client opens streams 0, 2, 4...; the server 1, 3, 5... */
#define MOQC__MEM_CLIENT 0
#define MOQC__MEM_SERVER 1

/** Decides whether a newly opened stream is lost as a whole. Returns true to lose it. */
typedef bool (*moqc__mem_lose_cb)(void *user_data, int from_side, moqc_stream_id id);

/** Settings of a pair. moqc__mem_settings_default fills every field. */
typedef struct moqc__mem_settings {
  /** Receive window per stream direction: unconsumed bytes the sender may have ahead. */
  size_t stream_window;
  /** Concurrent streams each side may open, per kind. */
  uint64_t max_streams_bidi;
  uint64_t max_streams_uni;
  /** One-way delay applied to everything sent. */
  moqc_tstamp delay;
  /** The largest datagram; larger ones are refused with MOQC_ERR_FRAME_TOO_LARGE. */
  size_t max_datagram;
  /** Shuffle the arrival order of different streams' bytes. */
  bool reorder;
  /** Seed of the shuffle (any value; 0 is replaced by a fixed non-zero seed). */
  uint64_t seed;
  /** Decides stream loss; NULL loses nothing. */
  moqc__mem_lose_cb lose;
  void *lose_user_data;
  /** The clock's starting value. */
  moqc_tstamp start;
} moqc__mem_settings;

typedef struct moqc__mem_pair moqc__mem_pair;

/** Fills s with defaults: 1 MiB windows, 1024 streams of each kind, no delay, 1200-byte
 * datagrams, no reordering, no loss, clock at 1 s. */
void moqc__mem_settings_default(moqc__mem_settings *s);

/** Creates a pair (settings copied; NULL = defaults). Returns 0 or MOQC_ERR_NOMEM. */
int moqc__mem_pair_new(moqc__mem_pair **out, const moqc__mem_settings *settings,
                       const moqc_mem *mem);

/** Frees the pair and everything in flight. Attached applications are not told. pair may be
 * NULL. */
void moqc__mem_pair_del(moqc__mem_pair *pair);

/** The transport handle side gives its application (valid as long as the pair). */
moqc_transport moqc__mem_transport(moqc__mem_pair *pair, int side);

/** Attaches the stream application of side (app is passed to every op). */
void moqc__mem_attach(moqc__mem_pair *pair, int side, const moqc_stream_app_ops *ops,
                      void *app);

/** Returns the injected clock. */
moqc_tstamp moqc__mem_now(const moqc__mem_pair *pair);

/** Moves the injected clock forward by dt. */
void moqc__mem_advance(moqc__mem_pair *pair, moqc_tstamp dt);

/**
 * Moves data from side from to the other side: pulls up to budget bytes from from's application
 * (SIZE_MAX = unlimited), then delivers everything due at the current time to the peer
 * (data, FIN, resets, stops, datagrams, close) and acknowledges it to the sender. Returns the
 * number of items moved (0 when quiet) or a negative error (MOQC_ERR_NOMEM).
 */
moqc_ssize moqc__mem_transmit(moqc__mem_pair *pair, int from, size_t budget);

/**
 * Runs both sides until quiet: polls woken applications, fires due expiries, transmits both ways
 * (budget bytes per direction per round), at most max_rounds rounds. Returns the rounds that
 * moved something, or a negative error.
 */
moqc_ssize moqc__mem_pump(moqc__mem_pair *pair, size_t budget, int max_rounds);

/** Loses a stream as a whole from now on (both directions). */
void moqc__mem_lose_stream(moqc__mem_pair *pair, moqc_stream_id id);

/**
 * Returns true once side's connection is closed, storing the wire code and who closed it
 * (*by_peer true when the close came from the other side). Either pointer may be NULL.
 */
bool moqc__mem_closed(const moqc__mem_pair *pair, int side, uint64_t *code, bool *by_peer);

/** Returns the first negative error an application call returned on side, or 0. */
int moqc__mem_app_error(const moqc__mem_pair *pair, int side);

/** Returns how many streams are live in the pair (opened and not yet closed on both ends). */
size_t moqc__mem_stream_count(const moqc__mem_pair *pair);

#endif /* MOQC_TRANSPORT_MEM_H */
