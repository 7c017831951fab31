/*
 * moqc: refcounted byte buffers, the unit of fan-out.
 *
 * A frame's payload is written once into an rcbuf and then shared: handing it to N viewers costs
 * N reference increments, never N copies. Thread-safe: the refcount is atomic. The bytes are
 * writable only by the creator before the buffer is shared (moqc_rcbuf_data_mut); after the first
 * moqc_rcbuf_incref they are immutable.
 */
#ifndef MOQC_RCBUF_H
#define MOQC_RCBUF_H

#include <moqc/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moqc_rcbuf moqc_rcbuf;

/**
 * Allocates a buffer of len bytes (contents undefined) with one reference, owned by the caller.
 * mem may be NULL and must outlive the buffer. Returns 0, or MOQC_ERR_NOMEM (*out untouched).
 */
MOQC_EXTERN int moqc_rcbuf_new(moqc_rcbuf **out, size_t len, const moqc_mem *mem);

/**
 * Allocates a buffer holding a copy of data[0..len) with one reference, owned by the caller.
 * data may be NULL when len is 0. Returns 0, or MOQC_ERR_NOMEM (*out untouched).
 */
MOQC_EXTERN int moqc_rcbuf_new_copy(moqc_rcbuf **out, const uint8_t *data, size_t len,
                                    const moqc_mem *mem);

/** Adds a reference. Thread-safe. */
MOQC_EXTERN void moqc_rcbuf_incref(moqc_rcbuf *buf);

/** Drops a reference; the last one frees the buffer. buf may be NULL. Thread-safe. */
MOQC_EXTERN void moqc_rcbuf_decref(moqc_rcbuf *buf);

/** Returns the bytes. Valid while the caller holds a reference. */
MOQC_EXTERN const uint8_t *moqc_rcbuf_data(const moqc_rcbuf *buf);

/**
 * Returns the bytes for writing. Only the creator may write, and only before the buffer is
 * shared with another thread or handle.
 */
MOQC_EXTERN uint8_t *moqc_rcbuf_data_mut(moqc_rcbuf *buf);

/** Returns the length in bytes. */
MOQC_EXTERN size_t moqc_rcbuf_len(const moqc_rcbuf *buf);

/** Returns the current reference count (for tests and debugging; racy by nature). */
MOQC_EXTERN uint32_t moqc_rcbuf_refcount(const moqc_rcbuf *buf);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_RCBUF_H */
