/*
 * Connection id table: maps every connection id we issued (and a client's
 * original destination id) to its connection. Chained hashing with a random
 * seed, doubling when full.
 */
#include "transport/quic_internal.h"

#include <string.h>

#include <gnutls/crypto.h>

#define CID_INITIAL_BUCKETS 64U

static size_t cid_hash(const moqc__cid_table *t, const uint8_t *cid,
                       size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
  for (size_t i = 0; i < len; i++) {
    h ^= cid[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 29;
  return (size_t)(h & (t->nbuckets - 1));
}

int moqc__cid_table_init(moqc__cid_table *t, const moqc_mem *mem) {
  memset(t, 0, sizeof(*t));
  t->buckets = moqc_mem_calloc(mem, CID_INITIAL_BUCKETS, sizeof(*t->buckets));
  if (t->buckets == NULL) {
    return MOQC_ERR_NOMEM;
  }
  t->nbuckets = CID_INITIAL_BUCKETS;
  if (gnutls_rnd(GNUTLS_RND_NONCE, &t->seed, sizeof(t->seed)) < 0) {
    t->seed = (uint64_t)(uintptr_t)t;
  }
  return 0;
}

void moqc__cid_table_free(moqc__cid_table *t, const moqc_mem *mem) {
  for (size_t i = 0; i < t->nbuckets; i++) {
    moqc__cid_entry *e = t->buckets[i];
    while (e != NULL) {
      moqc__cid_entry *next = e->next;
      moqc_mem_free(mem, e);
      e = next;
    }
  }
  moqc_mem_free(mem, t->buckets);
  memset(t, 0, sizeof(*t));
}

moqc_quic_conn *moqc__cid_table_find(const moqc__cid_table *t,
                                     const uint8_t *cid, size_t len) {
  for (moqc__cid_entry *e = t->buckets[cid_hash(t, cid, len)]; e != NULL;
       e = e->next) {
    if (e->cid.datalen == len && memcmp(e->cid.data, cid, len) == 0) {
      return e->conn;
    }
  }
  return NULL;
}

static void cid_table_grow(moqc__cid_table *t, const moqc_mem *mem) {
  size_t n = t->nbuckets * 2;
  moqc__cid_entry **b = moqc_mem_calloc(mem, n, sizeof(*b));
  if (b == NULL) {
    return; /* Keep the longer chains; lookups stay correct. */
  }
  moqc__cid_entry **old = t->buckets;
  size_t oldn = t->nbuckets;
  t->buckets = b;
  t->nbuckets = n;
  for (size_t i = 0; i < oldn; i++) {
    moqc__cid_entry *e = old[i];
    while (e != NULL) {
      moqc__cid_entry *next = e->next;
      size_t h = cid_hash(t, e->cid.data, e->cid.datalen);
      e->next = b[h];
      b[h] = e;
      e = next;
    }
  }
  moqc_mem_free(mem, old);
}

int moqc__cid_table_add(moqc__cid_table *t, const ngtcp2_cid *cid,
                        moqc_quic_conn *conn, const moqc_mem *mem) {
  if (moqc__cid_table_find(t, cid->data, cid->datalen) != NULL) {
    return MOQC_ERR_DUPLICATE;
  }
  moqc__cid_entry *e = moqc_mem_malloc(mem, sizeof(*e));
  if (e == NULL) {
    return MOQC_ERR_NOMEM;
  }
  e->cid = *cid;
  e->conn = conn;
  size_t h = cid_hash(t, cid->data, cid->datalen);
  e->next = t->buckets[h];
  t->buckets[h] = e;
  e->cnext = conn->cids;
  conn->cids = e;
  t->count++;
  if (t->count > t->nbuckets) {
    cid_table_grow(t, mem);
  }
  return 0;
}

static void cid_unlink(moqc__cid_table *t, moqc__cid_entry *target) {
  moqc__cid_entry **pp =
      &t->buckets[cid_hash(t, target->cid.data, target->cid.datalen)];
  while (*pp != NULL) {
    if (*pp == target) {
      *pp = target->next;
      t->count--;
      return;
    }
    pp = &(*pp)->next;
  }
}

void moqc__cid_table_remove(moqc__cid_table *t, const ngtcp2_cid *cid,
                            moqc_quic_conn *conn, const moqc_mem *mem) {
  for (moqc__cid_entry **pp = &conn->cids; *pp != NULL; pp = &(*pp)->cnext) {
    moqc__cid_entry *e = *pp;
    if (e->cid.datalen == cid->datalen &&
        memcmp(e->cid.data, cid->data, cid->datalen) == 0) {
      *pp = e->cnext;
      cid_unlink(t, e);
      moqc_mem_free(mem, e);
      return;
    }
  }
}

void moqc__cid_table_remove_conn(moqc__cid_table *t, moqc_quic_conn *conn,
                                 const moqc_mem *mem) {
  moqc__cid_entry *e = conn->cids;
  while (e != NULL) {
    moqc__cid_entry *next = e->cnext;
    cid_unlink(t, e);
    moqc_mem_free(mem, e);
    e = next;
  }
  conn->cids = NULL;
}
