/*
 * Fuzz target: the relay's JWT authentication (src/relay/auth.c, compiled in here: the fuzz
 * build has no relay library). The first byte picks what the rest is:
 *   0: a JWK (relay_auth_key_parse);
 *   1: a token checked against a fixed HS256 key (signature, header and format checks);
 *   2: a URL query searched for the jwt parameter (relay_auth_query_token);
 *   3: a claims payload: the rest up to the first NUL is the JSON payload of a token this target
 *      signs with the key, so the claims parser is reached; what follows the NUL is a session
 *      root the verified token is scoped to (relay_auth_scope).
 * Every input either succeeds with bounded, consistent results or fails with an error; nothing
 * may crash, leak or over-read.
 */
#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../src/relay/auth.c"
#include "wire/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1700000000

static const char fuzz_secret[] = "fuzz-secret-key-0123456789abcdef";
/* fuzz_secret in base64url. */
static const char fuzz_jwk[] =
    "{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"ZnV6ei1zZWNyZXQta2V5LTAxMjM0NTY3ODlhYmNkZWY\"}";

static relay_auth_key *fuzz_key(void) {
  static relay_auth_key *k;
  char err[256];

  if (k == NULL && relay_auth_key_parse(&k, fuzz_jwk, strlen(fuzz_jwk), err, sizeof(err)) != 0) {
    abort();
  }
  return k;
}

/* base64url without padding of in[0..n) into out (room for 4 * ((n + 2) / 3)); returns the
 * length. */
static size_t fuzz_b64url(const uint8_t *in, size_t n, char *out) {
  size_t len = moqc__base64_encode(in, n, out);

  while (len > 0 && out[len - 1] == '=') {
    len--;
  }
  for (size_t i = 0; i < len; i++) {
    out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
  }
  return len;
}

static void fuzz_check_token(const relay_token *t) {
  if (t->n_put > RELAY_LIST_MAX || t->n_get > RELAY_LIST_MAX || t->root == NULL ||
      (t->n_put == 0 && t->n_get == 0)) {
    abort();
  }
}

/* Signs payload[0..n) as an HS256 token, verifies it, and scopes it to root. */
static void fuzz_claims(const uint8_t *payload, size_t n, const uint8_t *root, size_t rootlen) {
  static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  uint8_t mac[32];
  char *tok = malloc(4 * (sizeof(hdr) + n) / 3 + 64);
  char *norm = malloc(rootlen + 1);
  relay_token t;
  relay_grant g;
  char err[256];
  size_t len;
  moqc_str in;

  if (tok == NULL || norm == NULL) {
    abort();
  }
  len = fuzz_b64url((const uint8_t *)hdr, sizeof(hdr) - 1, tok);
  tok[len++] = '.';
  len += fuzz_b64url(payload, n, tok + len);
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, fuzz_secret, sizeof(fuzz_secret) - 1, tok, len, mac) !=
      0) {
    abort();
  }
  tok[len++] = '.';
  len += fuzz_b64url(mac, sizeof(mac), tok + len);
  if (relay_auth_verify(fuzz_key(), tok, len, FUZZ_NOW, &t, err, sizeof(err)) == 0) {
    fuzz_check_token(&t);
    in.ptr = (const char *)root;
    in.len = rootlen;
    norm[moqc_path_normalize(norm, in)] = '\0';
    if (relay_auth_scope(&t, moqc_str_c(norm), &g) == 0) {
      if (g.n_put > RELAY_LIST_MAX || g.n_get > RELAY_LIST_MAX) {
        abort();
      }
    }
    relay_token_free(&t);
  }
  free(norm);
  free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  relay_auth_key *k = NULL;
  relay_token t;
  char err[256];
  char *out = NULL;
  const uint8_t *nul;
  moqc_str q;

  if (size == 0) {
    return 0;
  }
  switch (data[0] % 4) {
  case 0:
    if (relay_auth_key_parse(&k, (const char *)data + 1, size - 1, err, sizeof(err)) == 0) {
      if (relay_auth_key_describe(k) == NULL) {
        abort();
      }
      relay_auth_key_free(k);
    }
    break;
  case 1:
    if (relay_auth_verify(fuzz_key(), (const char *)data + 1, size - 1, FUZZ_NOW, &t, err,
                          sizeof(err)) == 0) {
      fuzz_check_token(&t);
      relay_token_free(&t);
    }
    break;
  case 2:
    q.ptr = (const char *)data + 1;
    q.len = size - 1;
    if (relay_auth_query_token(q, &out) == 1) {
      if (out == NULL || strlen(out) == 0 || strlen(out) > RELAY_AUTH_TOKEN_MAX) {
        abort();
      }
    }
    free(out);
    break;
  default:
    nul = memchr(data + 1, 0, size - 1);
    if (nul == NULL) {
      fuzz_claims(data + 1, size - 1, (const uint8_t *)"", 0);
    } else {
      fuzz_claims(data + 1, (size_t)(nul - data - 1), nul + 1, size - (size_t)(nul - data) - 1);
    }
    break;
  }
  return 0;
}
