/*
 * Internal state of the in-memory transport pair, shared by mem.c (the pair and the transport
 * operations) and mem_pump.c (moving items from one side to the other).
 */
#ifndef MOQC_TRANSPORT_MEM_INTERNAL_H
#define MOQC_TRANSPORT_MEM_INTERNAL_H

#include <stdatomic.h>

#include "transport/mem.h"

/** What travels on the simulated wire. */
typedef enum mem_item_kind {
  MEM_ITEM_DATA = 0,
  MEM_ITEM_RESET,
  MEM_ITEM_STOP,
  MEM_ITEM_DATAGRAM,
  MEM_ITEM_CLOSE
} mem_item_kind;

/** One item in flight from a side to its peer. */
typedef struct moqc__mem_item {
  struct moqc__mem_item *next;
  mem_item_kind kind;
  moqc_stream_id id;
  moqc_tstamp at;
  bool fin;
  uint64_t code;
  size_t len;
  uint8_t data[];
} moqc__mem_item;

/** One direction of a stream; half[k] carries the bytes side k sends. */
typedef struct moqc__mem_half {
  bool exists;
  /* The sender's view. */
  uint64_t write_off;
  uint64_t ack_off;
  bool fin_sent;
  bool fin_acked;
  bool reset_sent;
  bool blocked;
  /* The receiver's view: delivered bytes not yet consumed. */
  uint8_t *buf;
  size_t buf_len;
  size_t buf_cap;
  uint64_t consumed;
  bool fin_delivered;
  bool fin_consumed;
  bool reset_recv;
  bool stopped;
} moqc__mem_half;

typedef struct moqc__mem_stream {
  moqc_stream_id id;
  int opener;
  bool lost;
  /* Whether the non-opening side's application has heard of the stream. */
  bool seen;
  moqc__mem_half half[2];
} moqc__mem_stream;

typedef struct moqc__mem_end {
  moqc__mem_pair *pair;
  int side;
  const moqc_stream_app_ops *ops;
  void *app;
  uint64_t next_bidi;
  uint64_t next_uni;
  uint64_t open_bidi;
  uint64_t open_uni;
  atomic_bool woken;
  bool closed;
  bool closed_by_peer;
  uint64_t close_code;
  int app_err;
  moqc__mem_item *q_head;
  moqc__mem_item *q_tail;
} moqc__mem_end;

struct moqc__mem_pair {
  const moqc_mem *mem;
  moqc__mem_settings settings;
  moqc__mem_end ends[2];
  moqc_tstamp now;
  uint64_t rng;
  moqc__mem_stream **streams;
  size_t nstreams;
  size_t cap_streams;
};

/** Finds a live stream by id, or NULL. */
moqc__mem_stream *moqc__mem_find(moqc__mem_pair *pair, moqc_stream_id id);
/** Queues an item from end towards its peer (takes ownership). */
void moqc__mem_enqueue(moqc__mem_end *end, moqc__mem_item *item);
/** Allocates an item with room for len bytes, or NULL. */
moqc__mem_item *moqc__mem_item_new(moqc__mem_pair *pair, mem_item_kind kind, moqc_stream_id id,
                                   size_t len);
/** Records an application failure on end and closes the connection with its wire code. */
void moqc__mem_fail(moqc__mem_end *end, int err);
/** Marks end closed and queues a CLOSE towards its peer. */
void moqc__mem_close_end(moqc__mem_end *end, uint64_t code, const char *reason, size_t len);
/** Closes and frees every stream whose directions are all finished. */
void moqc__mem_sweep(moqc__mem_pair *pair);
/** The next value of the pair's deterministic generator. */
uint64_t moqc__mem_rand(moqc__mem_pair *pair);

#endif /* MOQC_TRANSPORT_MEM_INTERNAL_H */
