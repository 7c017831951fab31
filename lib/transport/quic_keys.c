/*
 * Packet-protection keys of the next key phase, made ready on first use.
 *
 * Once the handshake is confirmed, ngtcp2 0.12 asks for the next phase's keys
 * at once (update_key), so that a key update can be answered without delay.
 * ngtcp2_crypto_update_key derives them and builds a GnuTLS AEAD context for
 * each direction, about 680 bytes apiece; most connections never update their
 * keys, so those contexts sit unused for the connection's life. Here the
 * derivation stays ngtcp2's, but the two contexts are freed at once and the
 * keys kept (a key and its state, 56 bytes): the context is built the first
 * time a packet is sealed or opened with it. The encrypt and decrypt
 * callbacks tell such a deferred context from a GnuTLS handle by the low bit
 * of its native handle (GnuTLS handles are aligned pointers).
 *
 * What this saves: 2 x (680 - 56) bytes per idle connection
 * (test_quic_idle_mem counts the deferred contexts).
 */
#include "transport/quic_internal.h"

#include <stdint.h>
#include <string.h>

#include <ngtcp2/ngtcp2_crypto.h>

/* A deferred AEAD context: the key until the first use, then the context. */
typedef struct quic_lazy_aead {
  ngtcp2_crypto_aead_ctx ctx; /* built on first use */
  moqc_quic_conn *conn;       /* whose keys_waiting / keys_built count it */
  uint8_t key[32];            /* wiped once ctx is built */
  uint8_t keylen;
  bool encrypt; /* which way the context works */
  bool ready;   /* ctx is built */
} quic_lazy_aead;

#define LAZY_TAG ((uintptr_t)1)

static quic_lazy_aead *lazy_of(const ngtcp2_crypto_aead_ctx *aead_ctx) {
  uintptr_t h = (uintptr_t)aead_ctx->native_handle;
  return (h & LAZY_TAG) != 0 ? (quic_lazy_aead *)(h & ~LAZY_TAG) : NULL;
}

/* Replaces the context ngtcp2_crypto_update_key built from key with a
 * deferred one. Returns 0 or MOQC_ERR_NOMEM (ctx is left as it was). */
static int lazy_defer(moqc_quic_conn *c, ngtcp2_crypto_aead_ctx *ctx,
                      const uint8_t *key, size_t keylen, bool encrypt) {
  quic_lazy_aead *l;

  if (keylen > sizeof(l->key)) {
    return 0; /* not a key this knows how to keep: leave it built */
  }
  l = moqc_mem_calloc(c->ep->mem, 1, sizeof(*l));
  if (l == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(l->key, key, keylen);
  l->keylen = (uint8_t)keylen;
  l->encrypt = encrypt;
  l->conn = c;
  c->keys_waiting++;
  ngtcp2_crypto_aead_ctx_free(ctx);
  ctx->native_handle = (void *)((uintptr_t)l | LAZY_TAG);
  return 0;
}

int moqc__quic_update_key_cb(ngtcp2_conn *conn, uint8_t *rx_secret,
                             uint8_t *tx_secret,
                             ngtcp2_crypto_aead_ctx *rx_aead_ctx,
                             uint8_t *rx_iv,
                             ngtcp2_crypto_aead_ctx *tx_aead_ctx,
                             uint8_t *tx_iv, const uint8_t *current_rx_secret,
                             const uint8_t *current_tx_secret,
                             size_t secretlen, void *user_data) {
  moqc_quic_conn *c = user_data;
  uint8_t rx_key[64], tx_key[64];
  const ngtcp2_crypto_ctx *cctx = ngtcp2_conn_get_crypto_ctx(conn);
  size_t keylen = ngtcp2_crypto_aead_keylen(&cctx->aead);

  if (keylen > sizeof(rx_key) ||
      ngtcp2_crypto_update_key(conn, rx_secret, tx_secret, rx_aead_ctx, rx_key,
                               rx_iv, tx_aead_ctx, tx_key, tx_iv,
                               current_rx_secret, current_tx_secret,
                               secretlen) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  /* Without memory for a deferred context the built one stays: either way
   * the keys work. */
  (void)lazy_defer(c, rx_aead_ctx, rx_key, keylen, false);
  (void)lazy_defer(c, tx_aead_ctx, tx_key, keylen, true);
  memset(rx_key, 0, sizeof(rx_key));
  memset(tx_key, 0, sizeof(tx_key));
  return 0;
}

/* The context to use for aead_ctx: itself, or a deferred one built now. NULL
 * when building it failed. */
static const ngtcp2_crypto_aead_ctx *
lazy_ready(const ngtcp2_crypto_aead_ctx *aead_ctx,
           const ngtcp2_crypto_aead *aead, size_t noncelen) {
  quic_lazy_aead *l = lazy_of(aead_ctx);
  int rv;

  if (l == NULL) {
    return aead_ctx;
  }
  if (!l->ready) {
    rv = l->encrypt ? ngtcp2_crypto_aead_ctx_encrypt_init(&l->ctx, aead,
                                                          l->key, noncelen)
                    : ngtcp2_crypto_aead_ctx_decrypt_init(&l->ctx, aead,
                                                          l->key, noncelen);
    if (rv != 0) {
      return NULL;
    }
    l->ready = true;
    l->conn->keys_waiting--;
    l->conn->keys_built++;
    memset(l->key, 0, sizeof(l->key));
  }
  return &l->ctx;
}

/* ngtcp2_crypto_encrypt_cb and ngtcp2_crypto_decrypt_cb share this shape. */
typedef int (*quic_aead_fn)(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                            const ngtcp2_crypto_aead_ctx *aead_ctx,
                            const uint8_t *in, size_t inlen,
                            const uint8_t *nonce, size_t noncelen,
                            const uint8_t *aad, size_t aadlen);

/* fn over aead_ctx, or over the deferred context it stands for. */
static int lazy_apply(quic_aead_fn fn, uint8_t *dest,
                      const ngtcp2_crypto_aead *aead,
                      const ngtcp2_crypto_aead_ctx *aead_ctx,
                      const uint8_t *in, size_t inlen, const uint8_t *nonce,
                      size_t noncelen, const uint8_t *aad, size_t aadlen) {
  const ngtcp2_crypto_aead_ctx *ctx = lazy_ready(aead_ctx, aead, noncelen);

  if (ctx == NULL) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return fn(dest, aead, ctx, in, inlen, nonce, noncelen, aad, aadlen);
}

int moqc__quic_encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                          const ngtcp2_crypto_aead_ctx *aead_ctx,
                          const uint8_t *plaintext, size_t plaintextlen,
                          const uint8_t *nonce, size_t noncelen,
                          const uint8_t *aad, size_t aadlen) {
  return lazy_apply(ngtcp2_crypto_encrypt_cb, dest, aead, aead_ctx, plaintext,
                    plaintextlen, nonce, noncelen, aad, aadlen);
}

int moqc__quic_decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                          const ngtcp2_crypto_aead_ctx *aead_ctx,
                          const uint8_t *ciphertext, size_t ciphertextlen,
                          const uint8_t *nonce, size_t noncelen,
                          const uint8_t *aad, size_t aadlen) {
  return lazy_apply(ngtcp2_crypto_decrypt_cb, dest, aead, aead_ctx, ciphertext,
                    ciphertextlen, nonce, noncelen, aad, aadlen);
}

void moqc__quic_delete_aead_ctx_cb(ngtcp2_conn *conn,
                                   ngtcp2_crypto_aead_ctx *aead_ctx,
                                   void *user_data) {
  moqc_quic_conn *c = user_data;
  quic_lazy_aead *l = lazy_of(aead_ctx);

  if (l == NULL) {
    ngtcp2_crypto_delete_crypto_aead_ctx_cb(conn, aead_ctx, user_data);
    return;
  }
  if (l->ready) {
    ngtcp2_crypto_aead_ctx_free(&l->ctx);
  } else {
    c->keys_waiting--;
  }
  memset(l, 0, sizeof(*l));
  moqc_mem_free(c->ep->mem, l);
  aead_ctx->native_handle = NULL;
}
