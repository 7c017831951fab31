/*
 * A small chained hash map from byte-string keys to pointers, for the stats
 * layer. Not thread-safe: the owner locks. Keys are copied; values are
 * borrowed.
 */
#ifndef MOQC_STATS_MAP_H
#define MOQC_STATS_MAP_H

#include <moqc/mem.h>
#include <moqc/path.h>

typedef struct moqc__map_node {
  struct moqc__map_node *next;
  uint64_t hash;
  void *val;
  size_t key_len;
  char key[];
} moqc__map_node;

typedef struct moqc__map {
  const moqc_mem *mem;
  moqc__map_node **slots;
  size_t nslots; /* 0 or a power of two */
  size_t count;
} moqc__map;

/** Initializes an empty map (no allocation). */
void moqc__map_init(moqc__map *m, const moqc_mem *mem);
/** Frees every node and the slot array (values are the caller's). */
void moqc__map_clear(moqc__map *m);
/** Returns the node of key, or NULL. */
moqc__map_node *moqc__map_find(const moqc__map *m, const char *key, size_t len);
/**
 * Inserts key -> val (key must be absent). Returns the node, or NULL on
 * out-of-memory (map unchanged).
 */
moqc__map_node *moqc__map_insert(moqc__map *m, const char *key, size_t len,
                                 void *val);
/** Removes and frees node (which must be in m). */
void moqc__map_remove(moqc__map *m, moqc__map_node *node);
/**
 * Iterates: pass *slot = 0 and node = NULL to start; returns the next node or
 * NULL at the end. The returned node may be removed before the next call.
 */
moqc__map_node *moqc__map_next(const moqc__map *m, size_t *slot,
                               moqc__map_node **next);

/*
 * Composite keys: [kind byte][tier length as 4 bytes][tier][rest].
 * moqc__key_len returns the size, moqc__key_fill writes it into buf.
 */
size_t moqc__key_len(moqc_str tier, moqc_str rest);
void moqc__key_fill(char *buf, uint8_t kind, moqc_str tier, moqc_str rest);

/** Size of the stack buffer moqc__key_make may use. */
#define MOQC__KEY_STACK 256

/**
 * Builds a composite key into stack (MOQC__KEY_STACK bytes) when it fits, else
 * into a fresh allocation. Returns the key (stack or heap) and its length in
 * *len, or NULL on out-of-memory. Release with moqc__key_free.
 */
char *moqc__key_make(const moqc_mem *mem, char *stack, uint8_t kind,
                     moqc_str tier, moqc_str rest, size_t *len);
/** Frees a key from moqc__key_make unless it is the stack buffer. */
void moqc__key_free(const moqc_mem *mem, char *stack, char *key);

#endif /* MOQC_STATS_MAP_H */
