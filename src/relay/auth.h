/*
 * moqc-relay: JWT authentication. One JWK (--auth-key) verifies the tokens clients pass as the
 * `jwt` query parameter; a token's claims name a root and the prefixes under it the client may
 * publish ("put") and subscribe to ("get"). The key is loaded once at start and only read
 * afterwards, so every function here may run on any worker thread.
 */
#ifndef MOQC_RELAY_AUTH_H
#define MOQC_RELAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <moqc/moqc.h>

#include "config.h"

/** The longest token accepted, in bytes. */
#define RELAY_AUTH_TOKEN_MAX 4096

/** A verification key loaded from a JWK. Immutable once loaded. */
typedef struct relay_auth_key relay_auth_key;

/**
 * Parses a JWK (JSON text json[0..len)): kty "oct" (k = the HMAC secret; alg, when present,
 * HS256, HS384 or HS512; without alg any of them), kty "EC" (x, y; crv P-256, P-384 or P-521 for
 * ES256, ES384 or ES512) or kty "RSA" (n, e, at least 2048 bits; alg RS256, RS384 or RS512, or
 * none for any of them; no PS*: libjwt 1.10 lacks them). No kid is needed. Returns 0 with *out
 * (free with relay_auth_key_free), or -1 with the reason in err (capacity errlen).
 */
int relay_auth_key_parse(relay_auth_key **out, const char *json, size_t len, char *err,
                         size_t errlen);

/** Reads and parses the JWK file path as relay_auth_key_parse; the reason in err names the file. */
int relay_auth_key_load(relay_auth_key **out, const char *path, char *err, size_t errlen);

/** Frees k (NULL is fine). */
void relay_auth_key_free(relay_auth_key *k);

/** Describes k for the start-up log ("oct HS256", "oct HS*", "EC P-256 ES256", "RSA 2048 RS*"). */
const char *relay_auth_key_describe(const relay_auth_key *k);

/**
 * A verified token's claims. root is normalized; put and get hold absolute normalized prefixes
 * (root joined with each suffix). Every string is owned by the token.
 */
typedef struct relay_token {
  char *root;
  char *put[RELAY_LIST_MAX];
  size_t n_put;
  char *get[RELAY_LIST_MAX];
  size_t n_get;
  /** Expiry in Unix seconds; 0 when the token has no exp claim. */
  int64_t exp;
} relay_token;

/**
 * Verifies token[0..len) with k at now (Unix seconds): the signature, the algorithm (it must be
 * the key's: never "none"), exp (if present, must be after now), nbf (if present, not after
 * now), iat (a number if present), and the claims root (string), put and get (a string or a list
 * of strings; missing or empty = nothing in that role; at most RELAY_LIST_MAX each). A token
 * granting neither role is invalid. Returns 0 with *out filled (free with relay_token_free),
 * MOQC_ERR_UNAUTHORIZED with the reason in err, or MOQC_ERR_NOMEM. *out is zeroed on error.
 */
int relay_auth_verify(const relay_auth_key *k, const char *token, size_t len, int64_t now,
                      relay_token *out, char *err, size_t errlen);

/** Frees the strings of t and zeroes it. */
void relay_token_free(relay_token *t);

/** What a session may do, as prefixes relative to its root (views into the token or ""). */
typedef struct relay_grant {
  moqc_str put[RELAY_LIST_MAX];
  size_t n_put;
  moqc_str get[RELAY_LIST_MAX];
  size_t n_get;
} relay_grant;

/**
 * Scopes token t to a session rooted at root (normalized): a root at or below the token's root
 * narrows the prefixes, a root above it keeps them (as suffixes of the way down), an unrelated
 * root is refused. Returns 0 with *g filled, or MOQC_ERR_UNAUTHORIZED when the root is unrelated
 * or nothing is allowed under it in either role.
 */
int relay_auth_scope(const relay_token *t, moqc_str root, relay_grant *g);

/**
 * Finds the jwt parameter in a URL query (without '?') and percent-decodes it. Returns 1 with
 * *out (malloc'd, NUL-terminated), 0 when the query has none (*out NULL), MOQC_ERR_UNAUTHORIZED
 * for a bad escape, an empty or an oversized token, or MOQC_ERR_NOMEM.
 */
int relay_auth_query_token(moqc_str query, char **out);

#endif /* MOQC_RELAY_AUTH_H */
