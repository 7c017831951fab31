/*
 * Chained hash map with FNV-1a hashing; doubles its slot array at load
 * factor 1.
 */
#include <moqc/path.h>

#include <string.h>

#include "stats/map.h"

static uint64_t map_hash(const char *key, size_t len) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (uint8_t)key[i];
    h *= 1099511628211ULL;
  }
  return h;
}

void moqc__map_init(moqc__map *m, const moqc_mem *mem) {
  m->mem = mem;
  m->slots = NULL;
  m->nslots = 0;
  m->count = 0;
}

void moqc__map_clear(moqc__map *m) {
  for (size_t i = 0; i < m->nslots; i++) {
    moqc__map_node *n = m->slots[i];
    while (n != NULL) {
      moqc__map_node *next = n->next;
      moqc_mem_free(m->mem, n);
      n = next;
    }
  }
  moqc_mem_free(m->mem, m->slots);
  m->slots = NULL;
  m->nslots = 0;
  m->count = 0;
}

moqc__map_node *moqc__map_find(const moqc__map *m, const char *key,
                               size_t len) {
  uint64_t h;

  if (m->nslots == 0) {
    return NULL;
  }
  h = map_hash(key, len);
  for (moqc__map_node *n = m->slots[h & (m->nslots - 1)]; n != NULL;
       n = n->next) {
    if (n->hash == h && n->key_len == len && memcmp(n->key, key, len) == 0) {
      return n;
    }
  }
  return NULL;
}

static int map_grow(moqc__map *m) {
  size_t nslots = m->nslots == 0 ? 16 : m->nslots * 2;
  moqc__map_node **slots = moqc_mem_calloc(m->mem, nslots, sizeof(*slots));

  if (slots == NULL) {
    return -1;
  }
  for (size_t i = 0; i < m->nslots; i++) {
    moqc__map_node *n = m->slots[i];
    while (n != NULL) {
      moqc__map_node *next = n->next;
      size_t s = (size_t)(n->hash & (nslots - 1));
      n->next = slots[s];
      slots[s] = n;
      n = next;
    }
  }
  moqc_mem_free(m->mem, m->slots);
  m->slots = slots;
  m->nslots = nslots;
  return 0;
}

moqc__map_node *moqc__map_insert(moqc__map *m, const char *key, size_t len,
                                 void *val) {
  moqc__map_node *n;
  size_t s;

  if (m->count >= m->nslots && map_grow(m) != 0 && m->nslots == 0) {
    return NULL;
  }
  if (len > SIZE_MAX - sizeof(*n)) {
    return NULL;
  }
  n = moqc_mem_malloc(m->mem, sizeof(*n) + len);
  if (n == NULL) {
    return NULL;
  }
  n->hash = map_hash(key, len);
  n->val = val;
  n->key_len = len;
  if (len > 0) {
    memcpy(n->key, key, len);
  }
  s = (size_t)(n->hash & (m->nslots - 1));
  n->next = m->slots[s];
  m->slots[s] = n;
  m->count++;
  return n;
}

void moqc__map_remove(moqc__map *m, moqc__map_node *node) {
  moqc__map_node **pp = &m->slots[node->hash & (m->nslots - 1)];

  while (*pp != NULL) {
    if (*pp == node) {
      *pp = node->next;
      m->count--;
      moqc_mem_free(m->mem, node);
      return;
    }
    pp = &(*pp)->next;
  }
}

moqc__map_node *moqc__map_next(const moqc__map *m, size_t *slot,
                               moqc__map_node **next) {
  moqc__map_node *n = *next;

  while (n == NULL) {
    if (*slot >= m->nslots) {
      return NULL;
    }
    n = m->slots[*slot];
    (*slot)++;
  }
  *next = n->next;
  return n;
}

size_t moqc__key_len(moqc_str tier, moqc_str rest) {
  return 5 + tier.len + rest.len;
}

void moqc__key_fill(char *buf, uint8_t kind, moqc_str tier, moqc_str rest) {
  uint32_t tl = (uint32_t)tier.len;

  buf[0] = (char)kind;
  buf[1] = (char)(tl >> 24);
  buf[2] = (char)(tl >> 16);
  buf[3] = (char)(tl >> 8);
  buf[4] = (char)tl;
  if (tier.len > 0) {
    memcpy(buf + 5, tier.ptr, tier.len);
  }
  if (rest.len > 0) {
    memcpy(buf + 5 + tier.len, rest.ptr, rest.len);
  }
}

char *moqc__key_make(const moqc_mem *mem, char *stack, uint8_t kind,
                     moqc_str tier, moqc_str rest, size_t *len) {
  size_t n = moqc__key_len(tier, rest);
  char *k = n <= MOQC__KEY_STACK ? stack : moqc_mem_malloc(mem, n);

  if (k == NULL) {
    return NULL;
  }
  moqc__key_fill(k, kind, tier, rest);
  *len = n;
  return k;
}

void moqc__key_free(const moqc_mem *mem, char *stack, char *key) {
  if (key != stack) {
    moqc_mem_free(mem, key);
  }
}
