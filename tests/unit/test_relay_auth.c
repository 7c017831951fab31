/*
 * moqc-relay JWT authentication: JWK loading (oct, EC P-256), signature and algorithm checks
 * (HS256, ES256, mismatches, alg "none"), exp/nbf, claim parsing and the scope rules. Tokens are
 * signed here with libjwt; the EC key is generated with GnuTLS.
 */
#include "testutil.h"

#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jwt.h>
#include <unistd.h>

#include <moqc/moqc.h>

#include "auth.h"
#include "relay.h"

#define NOW 1700000000
#define SECRET "secret-for-the-relay-auth-tests!"

static void b64url(const unsigned char *in, size_t len, char *out) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t i, n = 0;
  uint32_t acc = 0;
  unsigned bits = 0;

  for (i = 0; i < len; i++) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[n++] = a[(acc >> bits) & 63];
    }
  }
  if (bits > 0) {
    out[n++] = a[(acc << (6 - bits)) & 63];
  }
  out[n] = '\0';
}

/* Signs claims (JSON) with alg and key; the caller frees the token. */
static char *sign(jwt_alg_t alg, const void *key, size_t keylen, const char *claims) {
  jwt_t *jwt = NULL;
  char *tok;

  assert_int_equal(jwt_new(&jwt), 0);
  assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
  assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)keylen), 0);
  tok = jwt_encode_str(jwt);
  assert_non_null(tok);
  jwt_free(jwt);
  return tok;
}

static char *sign_hs(jwt_alg_t alg, const char *secret, const char *claims) {
  return sign(alg, secret, strlen(secret), claims);
}

static relay_auth_key *oct_key(const char *secret, const char *alg) {
  char k[128], json[256], err[200];
  relay_auth_key *key = NULL;

  b64url((const unsigned char *)secret, strlen(secret), k);
  if (alg != NULL) {
    snprintf(json, sizeof(json), "{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"%s\"}", k, alg);
  } else {
    snprintf(json, sizeof(json), "{\"kty\":\"oct\",\"k\":\"%s\"}", k);
  }
  if (relay_auth_key_parse(&key, json, strlen(json), err, sizeof(err)) != 0) {
    fail_msg("oct key refused: %s", err);
  }
  return key;
}

static int verify(const relay_auth_key *k, const char *tok, relay_token *t, char *err,
                  size_t errlen) {
  return relay_auth_verify(k, tok, strlen(tok), NOW, t, err, errlen);
}

static void expect_refused(const relay_auth_key *k, const char *tok, const char *why) {
  relay_token t;
  char err[200] = "";

  assert_int_equal(verify(k, tok, &t, err, sizeof(err)), MOQC_ERR_UNAUTHORIZED);
  if (why != NULL && strstr(err, why) == NULL) {
    fail_msg("reason \"%s\" lacks \"%s\"", err, why);
  }
  assert_null(t.root);
  assert_int_equal(t.n_put + t.n_get, 0);
}

static void test_key_parse(void **state) {
  relay_auth_key *k = NULL;
  char err[200];
  const char *bad[][2] = {
      {"not json", "not JSON"},
      {"[1]", "JSON object"},
      {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", "kty \"OKP\" not supported"},
      {"{\"kty\":\"RSA\"}", "\"n\" and \"e\" must be base64url"},
      {"{\"kty\":\"RSA\",\"alg\":\"PS256\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "no PS*"},
      {"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "at least 2048"},
      {"{\"k\":\"c2VjcmV0\"}", "kty \"\" not supported"},
      {"{\"kty\":\"oct\"}", "valid base64url \"k\""},
      {"{\"kty\":\"oct\",\"k\":\"\"}", "valid base64url \"k\""},
      {"{\"kty\":\"oct\",\"k\":\"a*b\"}", "valid base64url \"k\""},
      {"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"alg\":\"ES256\"}", "does not fit an oct key"},
      {"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"alg\":7}", "\"alg\" is not a string"},
      {"{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}", "P-192\" not supported"},
      {"{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}", "48-byte"},
      {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES384\",\"x\":\"AA\",\"y\":\"AA\"}",
       "does not fit a P-256 key"},
      {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}", "32-byte"},
      {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"HS256\",\"x\":\"AA\",\"y\":\"AA\"}",
       "does not fit a P-256 key"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(relay_auth_key_parse(&k, bad[i][0], strlen(bad[i][0]), err, sizeof(err)),
                     -1);
    assert_null(k);
    if (strstr(err, bad[i][1]) == NULL) {
      fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i][0], err, bad[i][1]);
    }
  }
  k = oct_key(SECRET, "HS512");
  assert_string_equal(relay_auth_key_describe(k), "oct HS512");
  relay_auth_key_free(k);
  k = oct_key(SECRET, NULL);
  assert_string_equal(relay_auth_key_describe(k), "oct HS*");
  relay_auth_key_free(k);
}

static void test_key_load_file(void **state) {
  char path[] = "/tmp/test_relay_auth_XXXXXX", k[128], json[256], err[300];
  relay_auth_key *key = NULL;
  int fd;
  (void)state;

  assert_int_equal(relay_auth_key_load(&key, "/nonexistent/key.jwk", err, sizeof(err)), -1);
  assert_non_null(strstr(err, "/nonexistent/key.jwk"));
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "{\"kty\":\"oct\"", 12), 12);
  close(fd);
  assert_int_equal(relay_auth_key_load(&key, path, err, sizeof(err)), -1);
  assert_non_null(strstr(err, path)); /* the reason names the file */
  assert_null(key);
  b64url((const unsigned char *)SECRET, strlen(SECRET), k);
  snprintf(json, sizeof(json), "{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"HS256\"}\n", k);
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
  close(fd);
  assert_int_equal(relay_auth_key_load(&key, path, err, sizeof(err)), 0);
  {
    char *tok = sign_hs(JWT_ALG_HS256, SECRET, "{\"get\":\"\"}");
    relay_token t;
    assert_int_equal(verify(key, tok, &t, err, sizeof(err)), 0);
    relay_token_free(&t);
    free(tok);
  }
  relay_auth_key_free(key);
  unlink(path);
}

static void test_hs256(void **state) {
  relay_auth_key *k = oct_key(SECRET, "HS256");
  relay_token t;
  char err[200], *tok, *other, *tampered, *dot;
  (void)state;

  tok = sign_hs(JWT_ALG_HS256, SECRET,
                "{\"root\":\"demo\",\"put\":\"alice\",\"get\":[\"\",\"x/y\"],\"exp\":1800000000,"
                "\"iat\":1600000000}");
  assert_int_equal(verify(k, tok, &t, err, sizeof(err)), 0);
  assert_string_equal(t.root, "demo");
  assert_int_equal(t.n_put, 1);
  assert_string_equal(t.put[0], "demo/alice");
  assert_int_equal(t.n_get, 2);
  assert_string_equal(t.get[0], "demo");
  assert_string_equal(t.get[1], "demo/x/y");
  assert_int_equal(t.exp, 1800000000);
  relay_token_free(&t);
  assert_null(t.root);

  /* Signed with another secret. */
  other = sign_hs(JWT_ALG_HS256, "another-secret-another-secret!!!", "{\"get\":\"\"}");
  expect_refused(k, other, "bad token");
  /* The payload changed after signing (get "" -> put ""). */
  tampered = strdup(tok);
  dot = strchr(tampered, '.');
  {
    char *fake = sign_hs(JWT_ALG_HS256, "x", "{\"root\":\"\",\"put\":\"\",\"get\":\"\"}");
    char *fdot = strchr(fake, '.'), *fend = strchr(fdot + 1, '.');
    char *tend = strchr(dot + 1, '.');
    char buf[2048];
    snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(dot - tampered), tampered,
             (int)(fend - fdot), fdot, tend);
    expect_refused(k, buf, "bad token");
    free(fake);
  }
  expect_refused(k, "not.a.token", "bad token");
  expect_refused(k, "", "empty");
  free(tampered);
  free(other);
  free(tok);
  relay_auth_key_free(k);
}

/* A fresh P-256 key: its JWK (public) and its PEM private key for signing. */
static void ec_keypair_on(gnutls_ecc_curve_t want, const char *crv, size_t len, char *jwk,
                          size_t jwkcap, gnutls_datum_t *pem, gnutls_datum_t *pubpem) {
  gnutls_x509_privkey_t pk;
  gnutls_pubkey_t pub;
  gnutls_ecc_curve_t curve;
  gnutls_datum_t x, y, d;
  unsigned char xb[66], yb[66];
  char xs[96], ys[96];

  assert_int_equal(gnutls_x509_privkey_init(&pk), 0);
  assert_int_equal(gnutls_x509_privkey_generate(pk, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(want), 0),
                   0);
  assert_int_equal(gnutls_x509_privkey_export_ecc_raw(pk, &curve, &x, &y, &d), 0);
  /* Coordinates as exactly len bytes (GnuTLS may add a leading zero or drop leading zeros). */
  memset(xb, 0, len);
  memset(yb, 0, len);
  memcpy(xb + len - (x.size > len ? len : x.size), x.data + (x.size > len ? x.size - len : 0),
         x.size > len ? len : x.size);
  memcpy(yb + len - (y.size > len ? len : y.size), y.data + (y.size > len ? y.size - len : 0),
         y.size > len ? len : y.size);
  b64url(xb, len, xs);
  b64url(yb, len, ys);
  snprintf(jwk, jwkcap, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", crv, xs,
           ys);
  assert_int_equal(gnutls_x509_privkey_export2(pk, GNUTLS_X509_FMT_PEM, pem), 0);
  assert_int_equal(gnutls_pubkey_init(&pub), 0);
  assert_int_equal(gnutls_pubkey_import_ecc_raw(pub, curve, &x, &y), 0);
  assert_int_equal(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, pubpem), 0);
  gnutls_pubkey_deinit(pub);
  gnutls_free(x.data);
  gnutls_free(y.data);
  gnutls_free(d.data);
  gnutls_x509_privkey_deinit(pk);
}

static void ec_keypair(char *jwk, size_t jwkcap, gnutls_datum_t *pem, gnutls_datum_t *pubpem) {
  ec_keypair_on(GNUTLS_ECC_CURVE_SECP256R1, "P-256", 32, jwk, jwkcap, pem, pubpem);
}

static void test_es256(void **state) {
  char jwk[512], jwk2[512], err[200];
  gnutls_datum_t pem, pem2, pub, pub2;
  relay_auth_key *k = NULL, *k2 = NULL;
  relay_token t;
  char *tok, *tok2, *confused;
  (void)state;

  ec_keypair(jwk, sizeof(jwk), &pem, &pub);
  ec_keypair(jwk2, sizeof(jwk2), &pem2, &pub2);
  if (relay_auth_key_parse(&k, jwk, strlen(jwk), err, sizeof(err)) != 0) {
    fail_msg("EC key refused: %s", err);
  }
  assert_string_equal(relay_auth_key_describe(k), "EC P-256 ES256");
  assert_int_equal(relay_auth_key_parse(&k2, jwk2, strlen(jwk2), err, sizeof(err)), 0);
  tok = sign(JWT_ALG_ES256, pem.data, pem.size, "{\"root\":\"live\",\"get\":\"\"}");
  assert_int_equal(verify(k, tok, &t, err, sizeof(err)), 0);
  assert_string_equal(t.root, "live");
  assert_int_equal(t.n_put, 0);
  assert_int_equal(t.n_get, 1);
  assert_string_equal(t.get[0], "live");
  relay_token_free(&t);
  /* The other key's signature does not verify. */
  tok2 = sign(JWT_ALG_ES256, pem2.data, pem2.size, "{\"root\":\"live\",\"get\":\"\"}");
  expect_refused(k, tok2, "bad token");
  /* Algorithm confusion: HS256 keyed with the public key's PEM text (what the relay hands
   * libjwt for this key) must not pass. */
  confused = sign(JWT_ALG_HS256, pub.data, pub.size, "{\"get\":\"\"}");
  expect_refused(k, confused, "algorithm HS256 does not fit");
  free(confused);
  /* An EC key refuses HS tokens whatever they are signed with. */
  confused = sign_hs(JWT_ALG_HS256, SECRET, "{\"get\":\"\"}");
  expect_refused(k, confused, NULL);
  free(confused);
  free(tok);
  free(tok2);
  gnutls_free(pem.data);
  gnutls_free(pem2.data);
  gnutls_free(pub.data);
  gnutls_free(pub2.data);
  relay_auth_key_free(k);
  relay_auth_key_free(k2);
}

static void test_alg_rules(void **state) {
  relay_auth_key *k256 = oct_key(SECRET, "HS256"), *kany = oct_key(SECRET, NULL);
  relay_token t;
  char err[200], *tok384, *none;
  jwt_t *jwt;
  (void)state;

  tok384 = sign_hs(JWT_ALG_HS384, SECRET, "{\"get\":\"\"}");
  /* The JWK says HS256: an HS384 token with the right secret is still refused. */
  expect_refused(k256, tok384, "algorithm HS384 does not fit");
  /* A JWK without alg takes any HS algorithm. */
  assert_int_equal(verify(kany, tok384, &t, err, sizeof(err)), 0);
  relay_token_free(&t);
  /* alg "none": never, with or without a JWK alg. */
  assert_int_equal(jwt_new(&jwt), 0);
  assert_int_equal(jwt_add_grants_json(jwt, "{\"put\":\"\",\"get\":\"\"}"), 0);
  assert_int_equal(jwt_set_alg(jwt, JWT_ALG_NONE, NULL, 0), 0);
  none = jwt_encode_str(jwt);
  assert_non_null(none);
  jwt_free(jwt);
  expect_refused(k256, none, NULL);
  expect_refused(kany, none, NULL);
  /* "none" with a forged signature part appended. */
  {
    char buf[1024];
    snprintf(buf, sizeof(buf), "%sAAAA", none);
    expect_refused(kany, buf, NULL);
  }
  free(none);
  free(tok384);
  relay_auth_key_free(k256);
  relay_auth_key_free(kany);
}

static void test_times(void **state) {
  relay_auth_key *k = oct_key(SECRET, "HS256");
  relay_token t;
  char err[200], claims[200], *tok;
  struct {
    const char *claims;
    const char *why; /* NULL = accepted */
  } cases[] = {
      {"{\"get\":\"\",\"exp\":%d}", NULL},
      {"{\"get\":\"\",\"exp\":%d}", "expired"},
      {"{\"get\":\"\",\"nbf\":%d}", "not valid yet"},
      {"{\"get\":\"\",\"nbf\":%d}", NULL},
      {"{\"get\":\"\",\"exp\":\"soon\"}", "\"exp\" is not a number"},
      {"{\"get\":\"\",\"iat\":true}", "\"iat\" is not a number"},
      {"{\"get\":\"\",\"iat\":%d}", NULL},
  };
  int when[] = {NOW + 1, NOW, NOW + 1, NOW, 0, 0, NOW + 100};
  (void)state;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(claims, sizeof(claims), cases[i].claims, when[i]);
    tok = sign_hs(JWT_ALG_HS256, SECRET, claims);
    if (cases[i].why == NULL) {
      if (verify(k, tok, &t, err, sizeof(err)) != 0) {
        fail_msg("%s refused: %s", claims, err);
      }
      if (i == 0) {
        assert_int_equal(t.exp, NOW + 1);
      } else {
        assert_int_equal(t.exp, 0); /* no exp claim: no expiry */
      }
      relay_token_free(&t);
    } else {
      expect_refused(k, tok, cases[i].why);
    }
    free(tok);
  }
  relay_auth_key_free(k);
}

static void test_claims(void **state) {
  relay_auth_key *k = oct_key(SECRET, "HS256");
  relay_token t;
  char err[200], *tok;
  const char *bad[][2] = {
      {"{}", "neither put nor get"},
      {"{\"root\":\"demo\",\"put\":[],\"get\":[]}", "neither put nor get"},
      {"{\"put\":7}", "neither a string nor a list"},
      {"{\"get\":[\"a\",3]}", "item 1 is not a string"},
      {"{\"root\":5,\"get\":\"\"}", "\"root\" is not a string"},
      {"{\"get\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
       "\"13\",\"14\",\"15\",\"16\",\"17\"]}",
       "more than 16"},
  };
  (void)state;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tok = sign_hs(JWT_ALG_HS256, SECRET, bad[i][0]);
    expect_refused(k, tok, bad[i][1]);
    free(tok);
  }
  /* Paths are normalized; missing root = ""; a missing role is empty. */
  tok = sign_hs(JWT_ALG_HS256, SECRET, "{\"root\":\"/a//b/\",\"put\":[\"/c/\",\"\"]}");
  assert_int_equal(verify(k, tok, &t, err, sizeof(err)), 0);
  assert_string_equal(t.root, "a/b");
  assert_int_equal(t.n_put, 2);
  assert_string_equal(t.put[0], "a/b/c");
  assert_string_equal(t.put[1], "a/b");
  assert_int_equal(t.n_get, 0);
  relay_token_free(&t);
  free(tok);
  tok = sign_hs(JWT_ALG_HS256, SECRET, "{\"get\":\"x\",\"put\":null}");
  assert_int_equal(verify(k, tok, &t, err, sizeof(err)), 0);
  assert_string_equal(t.root, "");
  assert_int_equal(t.n_get, 1);
  assert_string_equal(t.get[0], "x");
  assert_int_equal(t.n_put, 0);
  relay_token_free(&t);
  free(tok);
  relay_auth_key_free(k);
}

static relay_token make_token(const char *root, const char *const *put, size_t nput,
                              const char *const *get, size_t nget) {
  relay_token t;

  memset(&t, 0, sizeof(t));
  t.root = strdup(root);
  for (size_t i = 0; i < nput; i++) {
    t.put[t.n_put++] = strdup(put[i]);
  }
  for (size_t i = 0; i < nget; i++) {
    t.get[t.n_get++] = strdup(get[i]);
  }
  return t;
}

static void expect_list(const moqc_str *got, size_t n, const char *const *want, size_t nwant) {
  assert_int_equal(n, nwant);
  for (size_t i = 0; i < n; i++) {
    if (!moqc_str_eq(got[i], moqc_str_c(want[i]))) {
      fail_msg("prefix %zu: \"%.*s\", want \"%s\"", i, (int)got[i].len, got[i].ptr, want[i]);
    }
  }
}

static void test_scope(void **state) {
  static const char *const put[] = {"demo/alice"}, *const get[] = {"demo"};
  relay_token t = make_token("demo", put, 1, get, 1);
  relay_grant g;
  (void)state;

  /* At the root. */
  assert_int_equal(relay_auth_scope(&t, moqc_str_c("demo"), &g), 0);
  expect_list(g.put, g.n_put, (const char *const[]){"alice"}, 1);
  expect_list(g.get, g.n_get, (const char *const[]){""}, 1);
  /* Below the root, inside the put prefix: everything under it, both roles. */
  assert_int_equal(relay_auth_scope(&t, moqc_str_c("demo/alice/cam"), &g), 0);
  expect_list(g.put, g.n_put, (const char *const[]){""}, 1);
  expect_list(g.get, g.n_get, (const char *const[]){""}, 1);
  /* Below the root, beside the put prefix: subscribe only. */
  assert_int_equal(relay_auth_scope(&t, moqc_str_c("demo/bob"), &g), 0);
  assert_int_equal(g.n_put, 0);
  expect_list(g.get, g.n_get, (const char *const[]){""}, 1);
  /* Above the root: the token's scope, seen from there. */
  assert_int_equal(relay_auth_scope(&t, moqc_str_c(""), &g), 0);
  expect_list(g.put, g.n_put, (const char *const[]){"demo/alice"}, 1);
  expect_list(g.get, g.n_get, (const char *const[]){"demo"}, 1);
  /* Unrelated paths, including one sharing a byte prefix. */
  assert_int_equal(relay_auth_scope(&t, moqc_str_c("other"), &g), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(relay_auth_scope(&t, moqc_str_c("demox"), &g), MOQC_ERR_UNAUTHORIZED);
  relay_token_free(&t);

  /* Below the root but outside every prefix: nothing allowed. */
  {
    static const char *const g2[] = {"tv/live", "tv/news"};
    t = make_token("tv", NULL, 0, g2, 2);
    assert_int_equal(relay_auth_scope(&t, moqc_str_c("tv/vod"), &g), MOQC_ERR_UNAUTHORIZED);
    assert_int_equal(relay_auth_scope(&t, moqc_str_c("tv"), &g), 0);
    expect_list(g.get, g.n_get, (const char *const[]){"live", "news"}, 2);
    assert_int_equal(g.n_put, 0);
    relay_token_free(&t);
  }
}

static void test_query_token(void **state) {
  char *tok = NULL;
  (void)state;

  assert_int_equal(relay_auth_query_token(moqc_str_c("a=1&jwt=abc.def&b=2"), &tok), 1);
  assert_string_equal(tok, "abc.def");
  free(tok);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=a%2Eb"), &tok), 1);
  assert_string_equal(tok, "a.b");
  free(tok);
  assert_int_equal(relay_auth_query_token(moqc_str_c(""), &tok), 0);
  assert_null(tok);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwtx=1&xjwt=2"), &tok), 0);
  assert_null(tok);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt="), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=&x=1"), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=a%G1"), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=a%2"), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=a%00"), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_null(tok);
  /* A raw NUL or control byte would cut or bend the token (found by fuzz_relay_auth). */
  static const char raw_nul[] = {'j', 'w', 't', '=', 'a', '\0', 'b'};
  moqc_str q = {raw_nul, sizeof(raw_nul)};
  assert_int_equal(relay_auth_query_token(q, &tok), MOQC_ERR_UNAUTHORIZED);
  assert_null(tok);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=a%0Ab"), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(relay_auth_query_token(moqc_str_c("jwt=a\tb"), &tok), MOQC_ERR_UNAUTHORIZED);
  assert_null(tok);
}

/* The relay's choice between a token and the public prefixes (relay_auth_grant). */
static void test_relay_grant(void **state) {
  relay r;
  relay_grant g;
  static const char *const put[] = {"demo/alice"}, *const get[] = {"demo"};
  relay_token t = make_token("demo", put, 1, get, 1);
  (void)state;

  memset(&r, 0, sizeof(r));
  /* No public prefix, no token: nothing. */
  assert_int_equal(relay_auth_grant(&r, moqc_str_c("demo"), NULL, &g), MOQC_ERR_UNAUTHORIZED);
  /* Public prefixes apply to both roles. */
  r.public_prefixes[0] = moqc_str_c("anon");
  r.public_prefixes[1] = moqc_str_c("open/tv");
  r.n_public = 2;
  assert_int_equal(relay_auth_grant(&r, moqc_str_c(""), NULL, &g), 0);
  expect_list(g.put, g.n_put, (const char *const[]){"anon", "open/tv"}, 2);
  expect_list(g.get, g.n_get, (const char *const[]){"anon", "open/tv"}, 2);
  assert_int_equal(relay_auth_grant(&r, moqc_str_c("anon/x"), NULL, &g), 0);
  expect_list(g.put, g.n_put, (const char *const[]){""}, 1);
  expect_list(g.get, g.n_get, (const char *const[]){""}, 1);
  assert_int_equal(relay_auth_grant(&r, moqc_str_c("open"), NULL, &g), 0);
  expect_list(g.get, g.n_get, (const char *const[]){"tv"}, 1);
  assert_int_equal(relay_auth_grant(&r, moqc_str_c("demo"), NULL, &g), MOQC_ERR_UNAUTHORIZED);
  /* A token replaces the public prefixes: its scope only. */
  assert_int_equal(relay_auth_grant(&r, moqc_str_c("demo"), &t, &g), 0);
  expect_list(g.put, g.n_put, (const char *const[]){"alice"}, 1);
  expect_list(g.get, g.n_get, (const char *const[]){""}, 1);
  assert_int_equal(relay_auth_grant(&r, moqc_str_c("anon"), &t, &g), MOQC_ERR_UNAUTHORIZED);
  relay_token_free(&t);
}

/* relay_auth_request: the jwt parameter, verified at the wall-clock time. */
static void test_relay_request(void **state) {
  relay r;
  relay_token t;
  bool has = true;
  char query[1024], claims[128], *tok;
  (void)state;

  memset(&r, 0, sizeof(r));
  /* Without --auth-key a token is ignored. */
  assert_int_equal(relay_auth_request(&r, moqc_str_c("jwt=whatever"), "test", &t, &has), 0);
  assert_false(has);
  r.auth_key = oct_key(SECRET, "HS256");
  assert_int_equal(relay_auth_request(&r, moqc_str_c("x=1"), "test", &t, &has), 0);
  assert_false(has);
  assert_int_equal(relay_auth_request(&r, moqc_str_c("jwt="), "test", &t, &has),
                   MOQC_ERR_UNAUTHORIZED);
  snprintf(claims, sizeof(claims), "{\"root\":\"r\",\"get\":\"\",\"exp\":%lld}",
           (long long)(relay_wall_ms() / 1000 + 60));
  tok = sign_hs(JWT_ALG_HS256, SECRET, claims);
  snprintf(query, sizeof(query), "a=b&jwt=%s", tok);
  assert_int_equal(relay_auth_request(&r, moqc_str_c(query), "test", &t, &has), 0);
  assert_true(has);
  assert_string_equal(t.root, "r");
  assert_true(t.exp > relay_wall_ms() / 1000);
  relay_token_free(&t);
  free(tok);
  /* Expired by the wall clock. */
  snprintf(claims, sizeof(claims), "{\"get\":\"\",\"exp\":%lld}",
           (long long)(relay_wall_ms() / 1000 - 1));
  tok = sign_hs(JWT_ALG_HS256, SECRET, claims);
  snprintf(query, sizeof(query), "jwt=%s", tok);
  assert_int_equal(relay_auth_request(&r, moqc_str_c(query), "test", &t, &has),
                   MOQC_ERR_UNAUTHORIZED);
  assert_false(has);
  free(tok);
  relay_auth_key_free(r.auth_key);
}

/* ES384 (P-384) and ES512 (P-521): each key takes its own algorithm only. */
static void test_es384_es512(void **state) {
  static const struct {
    gnutls_ecc_curve_t curve;
    const char *crv;
    size_t len;
    jwt_alg_t alg, other;
    const char *describe;
  } cases[] = {
      {GNUTLS_ECC_CURVE_SECP384R1, "P-384", 48, JWT_ALG_ES384, JWT_ALG_ES256, "EC P-384 ES384"},
      {GNUTLS_ECC_CURVE_SECP521R1, "P-521", 66, JWT_ALG_ES512, JWT_ALG_ES384, "EC P-521 ES512"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char jwk[512], err[200], *tok;
    gnutls_datum_t pem, pub;
    relay_auth_key *k = NULL;
    relay_token t;
    ec_keypair_on(cases[i].curve, cases[i].crv, cases[i].len, jwk, sizeof(jwk), &pem, &pub);
    if (relay_auth_key_parse(&k, jwk, strlen(jwk), err, sizeof(err)) != 0) {
      fail_msg("%s key refused: %s", cases[i].crv, err);
    }
    assert_string_equal(relay_auth_key_describe(k), cases[i].describe);
    tok = sign(cases[i].alg, pem.data, pem.size, "{\"put\":\"p\"}");
    if (verify(k, tok, &t, err, sizeof(err)) != 0) {
      fail_msg("%s token refused: %s", cases[i].describe, err);
    }
    assert_string_equal(t.put[0], "p");
    relay_token_free(&t);
    free(tok);
    /* The token's alg must be the curve's, even with the right key. */
    tok = sign(cases[i].other, pem.data, pem.size, "{\"put\":\"p\"}");
    expect_refused(k, tok, NULL);
    free(tok);
    gnutls_free(pem.data);
    gnutls_free(pub.data);
    relay_auth_key_free(k);
  }
}

/* RSA: RS256 with a 2048-bit key; a JWK without alg takes any RS*; no HS confusion. */
static void test_rsa(void **state) {
  gnutls_x509_privkey_t pk;
  gnutls_pubkey_t pubk;
  gnutls_datum_t m, e, pem, pub;
  char ns[400], es[16], jwk[600], err[200], *tok;
  relay_auth_key *k = NULL, *kany = NULL;
  relay_token t;
  size_t skip;
  (void)state;

  assert_int_equal(gnutls_x509_privkey_init(&pk), 0);
  assert_int_equal(gnutls_x509_privkey_generate(pk, GNUTLS_PK_RSA, 2048, 0), 0);
  assert_int_equal(gnutls_x509_privkey_export_rsa_raw(pk, &m, &e, NULL, NULL, NULL, NULL), 0);
  skip = m.size > 256 ? m.size - 256 : 0; /* a leading zero byte */
  b64url(m.data + skip, m.size - skip, ns);
  b64url(e.data, e.size, es);
  assert_int_equal(gnutls_x509_privkey_export2(pk, GNUTLS_X509_FMT_PEM, &pem), 0);
  assert_int_equal(gnutls_pubkey_init(&pubk), 0);
  assert_int_equal(gnutls_pubkey_import_rsa_raw(pubk, &m, &e), 0);
  assert_int_equal(gnutls_pubkey_export2(pubk, GNUTLS_X509_FMT_PEM, &pub), 0);
  gnutls_pubkey_deinit(pubk);
  snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"}", ns, es);
  if (relay_auth_key_parse(&k, jwk, strlen(jwk), err, sizeof(err)) != 0) {
    fail_msg("RSA key refused: %s", err);
  }
  assert_string_equal(relay_auth_key_describe(k), "RSA 2048 RS256");
  snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", ns, es);
  assert_int_equal(relay_auth_key_parse(&kany, jwk, strlen(jwk), err, sizeof(err)), 0);

  tok = sign(JWT_ALG_RS256, pem.data, pem.size, "{\"root\":\"r\",\"get\":\"\"}");
  assert_int_equal(verify(k, tok, &t, err, sizeof(err)), 0);
  assert_string_equal(t.get[0], "r");
  relay_token_free(&t);
  free(tok);
  tok = sign(JWT_ALG_RS384, pem.data, pem.size, "{\"get\":\"\"}");
  expect_refused(k, tok, "algorithm RS384 does not fit");
  assert_int_equal(verify(kany, tok, &t, err, sizeof(err)), 0);
  relay_token_free(&t);
  free(tok);
  /* HS256 keyed with the public key's PEM text. */
  tok = sign(JWT_ALG_HS256, pub.data, pub.size, "{\"get\":\"\"}");
  expect_refused(k, tok, NULL);
  expect_refused(kany, tok, NULL);
  free(tok);
  gnutls_free(m.data);
  gnutls_free(e.data);
  gnutls_free(pem.data);
  gnutls_free(pub.data);
  gnutls_x509_privkey_deinit(pk);
  relay_auth_key_free(k);
  relay_auth_key_free(kany);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_parse), cmocka_unit_test(test_key_load_file),
      cmocka_unit_test(test_hs256),     cmocka_unit_test(test_es256),
      cmocka_unit_test(test_alg_rules), cmocka_unit_test(test_times),
      cmocka_unit_test(test_claims),    cmocka_unit_test(test_scope),
      cmocka_unit_test(test_query_token), cmocka_unit_test(test_relay_grant),
      cmocka_unit_test(test_relay_request), cmocka_unit_test(test_es384_es512),
      cmocka_unit_test(test_rsa),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
