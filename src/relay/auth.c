/*
 * moqc-relay: JWT authentication (see auth.h). libjwt checks the signature; it has no claim
 * validation and accepts alg "none" without a key, so the algorithm, exp, nbf and the claims are
 * checked here, on the claims JSON parsed with jansson.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <jwt.h>

#include "auth.h"
#include "core/errbuf.h"
#include "wire/websocket.h"

/* A JWK file larger than this is not a single key. */
#define AUTH_JWK_FILE_MAX 65536

struct relay_auth_key {
  /* HMAC secret (oct) or PEM public key (EC), as libjwt takes it. */
  unsigned char *key;
  size_t key_len;
  /* The algorithm tokens must use; JWT_ALG_NONE = any of the family (a JWK without alg). */
  jwt_alg_t alg;
  enum { AUTH_OCT, AUTH_EC, AUTH_RSA } family;
  char describe[32];
};

/* Decodes unpadded base64url s into a new buffer (*out, *outlen). 0, or -1 (bad input, NOMEM). */
static int auth_b64url_decode(const char *s, unsigned char **out, size_t *outlen) {
  size_t len = strlen(s), i, n = 0;
  unsigned char *buf;
  uint32_t acc = 0;
  unsigned bits = 0;

  while (len > 0 && s[len - 1] == '=') {
    len--;
  }
  if (len % 4 == 1) {
    return -1;
  }
  buf = malloc(len * 3 / 4 + 1);
  if (buf == NULL) {
    return -1;
  }
  for (i = 0; i < len; i++) {
    int v = moqc__base64_value(s[i], true);
    if (v < 0) {
      free(buf);
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[n++] = (unsigned char)(acc >> bits);
    }
  }
  *out = buf;
  *outlen = n;
  return 0;
}

static const char *auth_jwk_string(json_t *jwk, const char *name) {
  json_t *v = json_object_get(jwk, name);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int auth_key_oct(relay_auth_key *k, json_t *jwk, const char *alg, char *err,
                        size_t errlen) {
  const char *kv = auth_jwk_string(jwk, "k");

  k->family = AUTH_OCT;
  if (alg == NULL) {
    k->alg = JWT_ALG_NONE;
  } else if (strcmp(alg, "HS256") == 0) {
    k->alg = JWT_ALG_HS256;
  } else if (strcmp(alg, "HS384") == 0) {
    k->alg = JWT_ALG_HS384;
  } else if (strcmp(alg, "HS512") == 0) {
    k->alg = JWT_ALG_HS512;
  } else {
    moqc__errf(err, errlen, "alg \"%.20s\" does not fit an oct key (HS256, HS384, HS512)", alg);
    return -1;
  }
  if (kv == NULL || auth_b64url_decode(kv, &k->key, &k->key_len) != 0 || k->key_len == 0) {
    moqc__errf(err, errlen, "oct key without a valid base64url \"k\"");
    return -1;
  }
  snprintf(k->describe, sizeof(k->describe), "oct %s", alg != NULL ? alg : "HS*");
  return 0;
}

/* Copies a GnuTLS-exported PEM public key into k->key. 0 or -1. */
static int auth_key_pem(relay_auth_key *k, gnutls_pubkey_t pub, char *err, size_t errlen) {
  gnutls_datum_t pem = {NULL, 0};

  if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem) < 0) {
    moqc__errf(err, errlen, "cannot export the public key");
    return -1;
  }
  k->key = malloc(pem.size + 1);
  if (k->key == NULL) {
    gnutls_free(pem.data);
    moqc__errf(err, errlen, "out of memory");
    return -1;
  }
  memcpy(k->key, pem.data, pem.size);
  k->key[pem.size] = '\0';
  k->key_len = pem.size;
  gnutls_free(pem.data);
  return 0;
}

static const struct {
  const char *crv;
  gnutls_ecc_curve_t curve;
  size_t len; /* bytes per coordinate */
  jwt_alg_t alg;
  const char *alg_name;
} auth_curves[] = {
    {"P-256", GNUTLS_ECC_CURVE_SECP256R1, 32, JWT_ALG_ES256, "ES256"},
    {"P-384", GNUTLS_ECC_CURVE_SECP384R1, 48, JWT_ALG_ES384, "ES384"},
    {"P-521", GNUTLS_ECC_CURVE_SECP521R1, 66, JWT_ALG_ES512, "ES512"},
};

static int auth_key_ec(relay_auth_key *k, json_t *jwk, const char *alg, char *err,
                       size_t errlen) {
  const char *crv = auth_jwk_string(jwk, "crv");
  const char *xs = auth_jwk_string(jwk, "x"), *ys = auth_jwk_string(jwk, "y");
  unsigned char *x = NULL, *y = NULL;
  size_t xlen = 0, ylen = 0, c, nc = sizeof(auth_curves) / sizeof(auth_curves[0]);
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t xd, yd;
  int rv = -1;

  for (c = 0; c < nc; c++) {
    if (crv != NULL && strcmp(crv, auth_curves[c].crv) == 0) {
      break;
    }
  }
  if (c == nc) {
    moqc__errf(err, errlen, "EC key: crv \"%.20s\" not supported (P-256, P-384, P-521)",
             crv != NULL ? crv : "");
    return -1;
  }
  if (alg != NULL && strcmp(alg, auth_curves[c].alg_name) != 0) {
    moqc__errf(err, errlen, "alg \"%.20s\" does not fit a %s key (%s)", alg, auth_curves[c].crv,
             auth_curves[c].alg_name);
    return -1;
  }
  k->family = AUTH_EC;
  k->alg = auth_curves[c].alg;
  if (xs == NULL || ys == NULL || auth_b64url_decode(xs, &x, &xlen) != 0 ||
      auth_b64url_decode(ys, &y, &ylen) != 0 || xlen != auth_curves[c].len ||
      ylen != auth_curves[c].len) {
    moqc__errf(err, errlen, "EC key: \"x\" and \"y\" must be %zu-byte base64url coordinates",
             auth_curves[c].len);
    goto done;
  }
  xd.data = x;
  xd.size = (unsigned)xlen;
  yd.data = y;
  yd.size = (unsigned)ylen;
  if (gnutls_pubkey_init(&pub) < 0 ||
      gnutls_pubkey_import_ecc_raw(pub, auth_curves[c].curve, &xd, &yd) < 0 ||
      gnutls_pubkey_verify_params(pub) < 0) {
    moqc__errf(err, errlen, "EC key: not a point on %s", auth_curves[c].crv);
    goto done;
  }
  if (auth_key_pem(k, pub, err, errlen) != 0) {
    goto done;
  }
  snprintf(k->describe, sizeof(k->describe), "EC %s %s", auth_curves[c].crv,
           auth_curves[c].alg_name);
  rv = 0;
done:
  if (pub != NULL) {
    gnutls_pubkey_deinit(pub);
  }
  free(x);
  free(y);
  return rv;
}

static int auth_key_rsa(relay_auth_key *k, json_t *jwk, const char *alg, char *err,
                        size_t errlen) {
  const char *ns = auth_jwk_string(jwk, "n"), *es = auth_jwk_string(jwk, "e");
  unsigned char *n = NULL, *e = NULL;
  size_t nlen = 0, elen = 0, i = 0;
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t nd, ed;
  unsigned bits = 0;
  int rv = -1;

  k->family = AUTH_RSA;
  if (alg == NULL) {
    k->alg = JWT_ALG_NONE;
  } else if (strcmp(alg, "RS256") == 0) {
    k->alg = JWT_ALG_RS256;
  } else if (strcmp(alg, "RS384") == 0) {
    k->alg = JWT_ALG_RS384;
  } else if (strcmp(alg, "RS512") == 0) {
    k->alg = JWT_ALG_RS512;
  } else {
    moqc__errf(err, errlen, "alg \"%.20s\" does not fit an RSA key (RS256, RS384, RS512; no PS*)",
             alg);
    return -1;
  }
  if (ns == NULL || es == NULL || auth_b64url_decode(ns, &n, &nlen) != 0 ||
      auth_b64url_decode(es, &e, &elen) != 0 || nlen == 0 || elen == 0) {
    moqc__errf(err, errlen, "RSA key: \"n\" and \"e\" must be base64url");
    goto done;
  }
  while (i < nlen && n[i] == 0) {
    i++;
  }
  nd.data = n + i;
  nd.size = (unsigned)(nlen - i);
  ed.data = e;
  ed.size = (unsigned)elen;
  if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_rsa_raw(pub, &nd, &ed) < 0 ||
      gnutls_pubkey_get_pk_algorithm(pub, &bits) != GNUTLS_PK_RSA) {
    moqc__errf(err, errlen, "RSA key: cannot import n and e");
    goto done;
  }
  if (bits < 2048) {
    moqc__errf(err, errlen, "RSA key: %u bits, at least 2048 needed", bits);
    goto done;
  }
  if (auth_key_pem(k, pub, err, errlen) != 0) {
    goto done;
  }
  snprintf(k->describe, sizeof(k->describe), "RSA %u %s", bits, alg != NULL ? alg : "RS*");
  rv = 0;
done:
  if (pub != NULL) {
    gnutls_pubkey_deinit(pub);
  }
  free(n);
  free(e);
  return rv;
}

int relay_auth_key_parse(relay_auth_key **out, const char *json, size_t len, char *err,
                         size_t errlen) {
  json_error_t jerr;
  json_t *jwk = json_loadb(json, len, 0, &jerr);
  relay_auth_key *k;
  const char *kty, *alg;
  int rv;

  *out = NULL;
  if (jwk == NULL) {
    moqc__errf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
    return -1;
  }
  if (!json_is_object(jwk)) {
    moqc__errf(err, errlen, "a JWK is a JSON object");
    json_decref(jwk);
    return -1;
  }
  k = calloc(1, sizeof(*k));
  if (k == NULL) {
    moqc__errf(err, errlen, "out of memory");
    json_decref(jwk);
    return -1;
  }
  kty = auth_jwk_string(jwk, "kty");
  alg = auth_jwk_string(jwk, "alg");
  if (json_object_get(jwk, "alg") != NULL && alg == NULL) {
    moqc__errf(err, errlen, "\"alg\" is not a string");
    rv = -1;
  } else if (kty != NULL && strcmp(kty, "oct") == 0) {
    rv = auth_key_oct(k, jwk, alg, err, errlen);
  } else if (kty != NULL && strcmp(kty, "EC") == 0) {
    rv = auth_key_ec(k, jwk, alg, err, errlen);
  } else if (kty != NULL && strcmp(kty, "RSA") == 0) {
    rv = auth_key_rsa(k, jwk, alg, err, errlen);
  } else {
    moqc__errf(err, errlen, "kty \"%.20s\" not supported (oct, EC, RSA)", kty != NULL ? kty : "");
    rv = -1;
  }
  json_decref(jwk);
  if (rv != 0) {
    relay_auth_key_free(k);
    return -1;
  }
  *out = k;
  return 0;
}

int relay_auth_key_load(relay_auth_key **out, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  char *buf, why[200];
  size_t n;

  *out = NULL;
  if (f == NULL) {
    moqc__errf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  buf = malloc(AUTH_JWK_FILE_MAX);
  if (buf == NULL) {
    fclose(f);
    moqc__errf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  n = fread(buf, 1, AUTH_JWK_FILE_MAX, f);
  if (ferror(f) || n == AUTH_JWK_FILE_MAX) {
    moqc__errf(err, errlen, "%s: %s", path, ferror(f) ? "read error" : "too large for a JWK");
    fclose(f);
    free(buf);
    return -1;
  }
  fclose(f);
  if (relay_auth_key_parse(out, buf, n, why, sizeof(why)) != 0) {
    moqc__errf(err, errlen, "%s: %s", path, why);
    free(buf);
    return -1;
  }
  free(buf);
  return 0;
}

void relay_auth_key_free(relay_auth_key *k) {
  if (k == NULL) {
    return;
  }
  if (k->key != NULL) {
    memset(k->key, 0, k->key_len);
  }
  free(k->key);
  free(k);
}

const char *relay_auth_key_describe(const relay_auth_key *k) { return k->describe; }

void relay_token_free(relay_token *t) {
  size_t i;

  free(t->root);
  for (i = 0; i < t->n_put; i++) {
    free(t->put[i]);
  }
  for (i = 0; i < t->n_get; i++) {
    free(t->get[i]);
  }
  memset(t, 0, sizeof(*t));
}

/* Normalizes s into a new string; NULL when too deep or no memory. */
static char *auth_path_dup(const char *s) {
  size_t len = strlen(s);
  char *out = malloc(len + 1);

  if (out == NULL) {
    return NULL;
  }
  len = moqc_path_normalize(out, moqc_str_c(s));
  out[len] = '\0';
  if (moqc_path_count_parts(moqc_str_c(out)) > MOQC_PATH_MAX_PARTS) {
    free(out);
    return NULL;
  }
  return out;
}

/* root joined with the suffix s, normalized, into a new string (NULL: too deep or NOMEM). */
static char *auth_path_under(const char *root, const char *s) {
  char *suffix = auth_path_dup(s), *out;
  size_t cap;
  moqc_ssize n;

  if (suffix == NULL) {
    return NULL;
  }
  cap = strlen(root) + strlen(suffix) + 2;
  out = malloc(cap);
  if (out != NULL) {
    n = moqc_path_join(out, cap, moqc_str_c(root), moqc_str_c(suffix));
    if (n < 0) {
      free(out);
      out = NULL;
    } else {
      out[n] = '\0';
    }
  }
  free(suffix);
  return out;
}

/* Reads the put or get claim (string, list of strings, or missing) into out. 0 or -1. */
static int auth_claim_list(json_t *claims, const char *name, const char *root, char **out,
                           size_t *n, char *err, size_t errlen) {
  json_t *v = json_object_get(claims, name), *item;
  size_t i;

  *n = 0;
  if (v == NULL || json_is_null(v)) {
    return 0;
  }
  if (json_is_string(v)) {
    if ((out[0] = auth_path_under(root, json_string_value(v))) == NULL) {
      moqc__errf(err, errlen, "claim \"%s\": path too deep", name);
      return -1;
    }
    *n = 1;
    return 0;
  }
  if (!json_is_array(v)) {
    moqc__errf(err, errlen, "claim \"%s\" is neither a string nor a list", name);
    return -1;
  }
  if (json_array_size(v) > RELAY_LIST_MAX) {
    moqc__errf(err, errlen, "claim \"%s\": more than %d prefixes", name, RELAY_LIST_MAX);
    return -1;
  }
  json_array_foreach(v, i, item) {
    if (!json_is_string(item)) {
      moqc__errf(err, errlen, "claim \"%s\": item %zu is not a string", name, i);
      return -1;
    }
    if ((out[*n] = auth_path_under(root, json_string_value(item))) == NULL) {
      moqc__errf(err, errlen, "claim \"%s\": path too deep", name);
      return -1;
    }
    (*n)++;
  }
  return 0;
}

/* Reads the numeric date claim name into *v. 1 when present, 0 when absent, -1 when invalid. */
static int auth_claim_time(json_t *claims, const char *name, int64_t *v, char *err,
                           size_t errlen) {
  json_t *j = json_object_get(claims, name);

  if (j == NULL) {
    return 0;
  }
  if (json_is_integer(j)) {
    *v = (int64_t)json_integer_value(j);
    return 1;
  }
  if (json_is_real(j) && json_real_value(j) > -9.2e18 && json_real_value(j) < 9.2e18) {
    *v = (int64_t)json_real_value(j);
    return 1;
  }
  moqc__errf(err, errlen, "claim \"%s\" is not a number", name);
  return -1;
}

static int auth_claims(json_t *claims, int64_t now, relay_token *out, char *err, size_t errlen) {
  json_t *root = json_object_get(claims, "root");
  int64_t exp = 0, nbf = 0, iat = 0;
  int has_exp, has_nbf, has_iat;

  if (!json_is_object(claims)) {
    moqc__errf(err, errlen, "claims are not a JSON object");
    return -1;
  }
  has_exp = auth_claim_time(claims, "exp", &exp, err, errlen);
  has_nbf = has_exp < 0 ? -1 : auth_claim_time(claims, "nbf", &nbf, err, errlen);
  has_iat = has_nbf < 0 ? -1 : auth_claim_time(claims, "iat", &iat, err, errlen);
  if (has_iat < 0) {
    return -1;
  }
  (void)iat;
  if (has_exp && exp <= now) {
    moqc__errf(err, errlen, "token expired");
    return -1;
  }
  if (has_nbf && nbf > now) {
    moqc__errf(err, errlen, "token not valid yet (nbf)");
    return -1;
  }
  out->exp = has_exp ? exp : 0;
  if (root != NULL && !json_is_string(root)) {
    moqc__errf(err, errlen, "claim \"root\" is not a string");
    return -1;
  }
  out->root = auth_path_dup(root != NULL ? json_string_value(root) : "");
  if (out->root == NULL) {
    moqc__errf(err, errlen, "claim \"root\": path too deep");
    return -1;
  }
  if (auth_claim_list(claims, "put", out->root, out->put, &out->n_put, err, errlen) != 0 ||
      auth_claim_list(claims, "get", out->root, out->get, &out->n_get, err, errlen) != 0) {
    return -1;
  }
  if (out->n_put == 0 && out->n_get == 0) {
    moqc__errf(err, errlen, "token grants neither put nor get");
    return -1;
  }
  return 0;
}

static bool auth_alg_ok(const relay_auth_key *k, jwt_alg_t alg) {
  if (alg == JWT_ALG_NONE) {
    return false;
  }
  if (k->alg != JWT_ALG_NONE) {
    return alg == k->alg;
  }
  if (k->family == AUTH_OCT) {
    return alg == JWT_ALG_HS256 || alg == JWT_ALG_HS384 || alg == JWT_ALG_HS512;
  }
  return k->family == AUTH_RSA &&
         (alg == JWT_ALG_RS256 || alg == JWT_ALG_RS384 || alg == JWT_ALG_RS512);
}

int relay_auth_verify(const relay_auth_key *k, const char *token, size_t len, int64_t now,
                      relay_token *out, char *err, size_t errlen) {
  char *tok, *body = NULL;
  jwt_t *jwt = NULL;
  json_t *claims = NULL;
  json_error_t jerr;
  int rv = MOQC_ERR_UNAUTHORIZED, jrv;

  memset(out, 0, sizeof(*out));
  if (len == 0 || len > RELAY_AUTH_TOKEN_MAX || memchr(token, '\0', len) != NULL) {
    moqc__errf(err, errlen, "token empty or too long");
    return MOQC_ERR_UNAUTHORIZED;
  }
  tok = malloc(len + 1);
  if (tok == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(tok, token, len);
  tok[len] = '\0';
  jrv = jwt_decode(&jwt, tok, k->key, (int)k->key_len);
  free(tok);
  if (jrv != 0 || jwt == NULL) {
    moqc__errf(err, errlen, "bad token (malformed or bad signature)");
    if (jrv == ENOMEM) {
      rv = MOQC_ERR_NOMEM;
    }
    goto done;
  }
  /* libjwt verified with the algorithm the token names: it must be the key's. */
  if (!auth_alg_ok(k, jwt_get_alg(jwt))) {
    moqc__errf(err, errlen, "token algorithm %s does not fit the key (%s)",
             jwt_alg_str(jwt_get_alg(jwt)), k->describe);
    goto done;
  }
  body = jwt_get_grants_json(jwt, NULL);
  if (body == NULL) {
    moqc__errf(err, errlen, "token has no claims");
    goto done;
  }
  claims = json_loads(body, 0, &jerr);
  if (claims == NULL) {
    moqc__errf(err, errlen, "claims are not JSON");
    goto done;
  }
  if (auth_claims(claims, now, out, err, errlen) != 0) {
    goto done;
  }
  rv = 0;
done:
  if (rv != 0) {
    relay_token_free(out);
  }
  json_decref(claims);
  free(body); /* libjwt allocates with malloc unless jwt_set_alloc says otherwise */
  jwt_free(jwt);
  return rv;
}

/* Adds the part of prefix a (absolute) that a session rooted at root may reach, to out. */
static void auth_scope_one(moqc_str root, const char *a, moqc_str *out, size_t *n, bool *all) {
  moqc_str p = moqc_str_c(a), rest;

  if (moqc_path_has_prefix(root, p)) {
    *all = true; /* the session's root lies inside the prefix: everything under it */
  } else if (moqc_path_strip_prefix(p, root, &rest)) {
    out[(*n)++] = rest; /* the prefix lies below the root: that part only */
  }
}

static size_t auth_scope_list(moqc_str root, char *const *list, size_t count, moqc_str *out) {
  size_t i, n = 0;
  bool all = false;

  for (i = 0; i < count; i++) {
    auth_scope_one(root, list[i], out, &n, &all);
  }
  if (all) {
    out[0] = moqc_str_c("");
    return 1;
  }
  return n;
}

int relay_auth_scope(const relay_token *t, moqc_str root, relay_grant *g) {
  moqc_str troot = moqc_str_c(t->root);

  memset(g, 0, sizeof(*g));
  if (!moqc_path_has_prefix(root, troot) && !moqc_path_has_prefix(troot, root)) {
    return MOQC_ERR_UNAUTHORIZED;
  }
  g->n_put = auth_scope_list(root, t->put, t->n_put, g->put);
  g->n_get = auth_scope_list(root, t->get, t->n_get, g->get);
  return g->n_put == 0 && g->n_get == 0 ? MOQC_ERR_UNAUTHORIZED : 0;
}

static int auth_hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = (char)(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int relay_auth_query_token(moqc_str query, char **out) {
  size_t i = 0, end, j, n = 0;
  char *tok;

  *out = NULL;
  while (i < query.len) {
    const char *amp = memchr(query.ptr + i, '&', query.len - i);
    end = amp != NULL ? (size_t)(amp - query.ptr) : query.len;
    if (end - i >= 4 && memcmp(query.ptr + i, "jwt=", 4) == 0) {
      i += 4;
      if (end == i || end - i > RELAY_AUTH_TOKEN_MAX * 3) {
        return MOQC_ERR_UNAUTHORIZED;
      }
      tok = malloc(end - i + 1);
      if (tok == NULL) {
        return MOQC_ERR_NOMEM;
      }
      for (j = i; j < end; j++) {
        char c = query.ptr[j];
        if (c == '%') {
          int hi = j + 2 < end ? auth_hex(query.ptr[j + 1]) : -1;
          int lo = j + 2 < end ? auth_hex(query.ptr[j + 2]) : -1;
          if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(tok);
            return MOQC_ERR_UNAUTHORIZED;
          }
          c = (char)(hi << 4 | lo);
          j += 2;
        } else if (c == '+') {
          c = ' ';
        }
        if ((unsigned char)c < 0x20 || c == 0x7f) {
          /* A NUL would cut the token short; no control byte belongs in a JWT. */
          free(tok);
          return MOQC_ERR_UNAUTHORIZED;
        }
        tok[n++] = c;
      }
      tok[n] = '\0';
      if (n == 0 || n > RELAY_AUTH_TOKEN_MAX) {
        free(tok);
        return MOQC_ERR_UNAUTHORIZED;
      }
      *out = tok;
      return 1;
    }
    i = end + 1;
  }
  return 0;
}
