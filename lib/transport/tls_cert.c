/*
 * TLS identities: generated ECDSA P-256 self-signed certificates, PEM loading,
 * fingerprints.
 */
#include "transport/tls.h"

#include <arpa/inet.h>
#include <string.h>

#include <gnutls/crypto.h>

#define TLS_CERT_MAX_NAME 253

static int tls_cert_alloc(moqc_tls_cert **out, const moqc_mem *mem) {
  moqc_tls_cert *c = moqc_mem_calloc(mem, 1, sizeof(*c));
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->mem = mem;
  if (gnutls_certificate_allocate_credentials(&c->cred) < 0) {
    moqc_mem_free(mem, c);
    return MOQC_ERR_NOMEM;
  }
  *out = c;
  return 0;
}

void moqc_tls_cert_del(moqc_tls_cert *cert) {
  if (cert == NULL) {
    return;
  }
  if (cert->cred != NULL) {
    gnutls_certificate_free_credentials(cert->cred);
  }
  if (cert->crt != NULL) {
    gnutls_x509_crt_deinit(cert->crt);
  }
  if (cert->key != NULL) {
    gnutls_x509_privkey_deinit(cert->key);
  }
  moqc_mem_free(cert->mem, cert->der);
  moqc_mem_free(cert->mem, cert);
}

/* Exports the leaf as DER into cert->der and computes the fingerprint. */
static int tls_cert_finish(moqc_tls_cert *cert) {
  gnutls_datum_t der = {NULL, 0};
  if (gnutls_x509_crt_export2(cert->crt, GNUTLS_X509_FMT_DER, &der) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  cert->der = moqc_mem_malloc(cert->mem, der.size);
  if (cert->der == NULL) {
    gnutls_free(der.data);
    return MOQC_ERR_NOMEM;
  }
  memcpy(cert->der, der.data, der.size);
  cert->derlen = der.size;
  gnutls_free(der.data);
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, cert->der, cert->derlen, cert->fp) <
      0) {
    return MOQC_ERR_INTERNAL;
  }
  return 0;
}

static int tls_cert_add_name(gnutls_x509_crt_t crt, const char *name) {
  uint8_t ip[16];
  size_t len = strlen(name);
  if (len == 0 || len > TLS_CERT_MAX_NAME) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (inet_pton(AF_INET, name, ip) == 1) {
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip,
                                                4, GNUTLS_FSAN_APPEND) < 0
               ? MOQC_ERR_INTERNAL
               : 0;
  }
  if (inet_pton(AF_INET6, name, ip) == 1) {
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip,
                                                16, GNUTLS_FSAN_APPEND) < 0
               ? MOQC_ERR_INTERNAL
               : 0;
  }
  return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                              (unsigned)len,
                                              GNUTLS_FSAN_APPEND) < 0
             ? MOQC_ERR_INTERNAL
             : 0;
}

static int tls_cert_build(moqc_tls_cert *c, const char *const *names,
                          size_t nnames, int64_t now_unix, uint32_t validity) {
  uint8_t serial[16];
  time_t start = (time_t)(now_unix - 60);
  if (gnutls_x509_privkey_init(&c->key) < 0) {
    return MOQC_ERR_NOMEM;
  }
  if (gnutls_x509_privkey_generate(
          c->key, GNUTLS_PK_ECDSA,
          GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  if (gnutls_x509_crt_init(&c->crt) < 0) {
    return MOQC_ERR_NOMEM;
  }
  if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  serial[0] &= 0x7f; /* a positive serial */
  serial[0] |= 0x01; /* and never a leading zero byte */
  if (gnutls_x509_crt_set_version(c->crt, 3) < 0 ||
      gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial)) < 0 ||
      gnutls_x509_crt_set_activation_time(c->crt, start) < 0 ||
      gnutls_x509_crt_set_expiration_time(c->crt, start + (time_t)validity) <
          0) {
    return MOQC_ERR_INTERNAL;
  }
  size_t cnlen = strlen(names[0]);
  if (cnlen == 0 || cnlen > TLS_CERT_MAX_NAME) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                    names[0], (unsigned)cnlen) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  for (size_t i = 0; i < nnames; i++) {
    int rv = tls_cert_add_name(c->crt, names[i]);
    if (rv != 0) {
      return rv;
    }
  }
  if (gnutls_x509_crt_set_key(c->crt, c->key) < 0 ||
      gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
      gnutls_x509_crt_set_key_purpose_oid(c->crt, GNUTLS_KP_TLS_WWW_SERVER, 0) <
          0 ||
      gnutls_x509_crt_set_basic_constraints(c->crt, 0, -1) < 0 ||
      gnutls_x509_crt_sign2(c->crt, c->crt, c->key, GNUTLS_DIG_SHA256, 0) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  if (gnutls_certificate_set_x509_key(c->cred, &c->crt, 1, c->key) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  return tls_cert_finish(c);
}

int moqc_tls_cert_generate(moqc_tls_cert **out, const char *const *names,
                           size_t nnames, int64_t now_unix,
                           uint32_t validity_seconds, const moqc_mem *mem) {
  static const char *const default_names[] = {"localhost"};
  moqc_tls_cert *c;
  if (out == NULL || (names == NULL && nnames != 0) || now_unix <= 60) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (nnames == 0) {
    names = default_names;
    nnames = 1;
  }
  for (size_t i = 0; i < nnames; i++) {
    if (names[i] == NULL) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
  }
  if (validity_seconds == 0 ||
      validity_seconds > MOQC_TLS_MAX_VALIDITY_SECONDS) {
    validity_seconds = MOQC_TLS_MAX_VALIDITY_SECONDS;
  }
  int rv = tls_cert_alloc(&c, mem);
  if (rv != 0) {
    return rv;
  }
  rv = tls_cert_build(c, names, nnames, now_unix, validity_seconds);
  if (rv != 0) {
    moqc_tls_cert_del(c);
    return rv;
  }
  *out = c;
  return 0;
}

static int tls_cert_load(moqc_tls_cert *c, const gnutls_datum_t *cert_pem,
                         const gnutls_datum_t *key_pem) {
  gnutls_x509_crt_t chain[16];
  unsigned int n = 16;
  if (gnutls_x509_crt_list_import(chain, &n, cert_pem, GNUTLS_X509_FMT_PEM,
                                  GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED) < 0 ||
      n == 0) {
    return MOQC_ERR_MALFORMED;
  }
  c->crt = chain[0];
  for (unsigned int i = 1; i < n; i++) {
    gnutls_x509_crt_deinit(chain[i]);
  }
  if (gnutls_x509_privkey_init(&c->key) < 0) {
    return MOQC_ERR_NOMEM;
  }
  if (gnutls_x509_privkey_import(c->key, key_pem, GNUTLS_X509_FMT_PEM) < 0) {
    return MOQC_ERR_MALFORMED;
  }
  /* Loads the whole chain and checks that the key matches the leaf. */
  if (gnutls_certificate_set_x509_key_mem(c->cred, cert_pem, key_pem,
                                          GNUTLS_X509_FMT_PEM) < 0) {
    return MOQC_ERR_MALFORMED;
  }
  return tls_cert_finish(c);
}

int moqc_tls_cert_load_pem(moqc_tls_cert **out, const char *cert_pem,
                           size_t cert_len, const char *key_pem, size_t key_len,
                           const moqc_mem *mem) {
  moqc_tls_cert *c;
  if (out == NULL || cert_pem == NULL || key_pem == NULL ||
      cert_len > UINT32_MAX || key_len > UINT32_MAX) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert_pem,
                       (unsigned int)cert_len};
  gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key_pem,
                       (unsigned int)key_len};
  int rv = tls_cert_alloc(&c, mem);
  if (rv != 0) {
    return rv;
  }
  rv = tls_cert_load(c, &cd, &kd);
  if (rv != 0) {
    moqc_tls_cert_del(c);
    return rv;
  }
  *out = c;
  return 0;
}

int moqc_tls_cert_load_pem_files(moqc_tls_cert **out, const char *cert_path,
                                 const char *key_path, const moqc_mem *mem) {
  gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
  if (out == NULL || cert_path == NULL || key_path == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (gnutls_load_file(cert_path, &cd) < 0) {
    return MOQC_ERR_IO;
  }
  if (gnutls_load_file(key_path, &kd) < 0) {
    gnutls_free(cd.data);
    return MOQC_ERR_IO;
  }
  int rv = moqc_tls_cert_load_pem(out, (const char *)cd.data, cd.size,
                                  (const char *)kd.data, kd.size, mem);
  gnutls_memset(kd.data, 0, kd.size);
  gnutls_free(cd.data);
  gnutls_free(kd.data);
  return rv;
}

moqc_ssize moqc_tls_cert_export_pem(const moqc_tls_cert *cert, bool key,
                                    char *buf, size_t cap) {
  gnutls_datum_t d = {NULL, 0};
  int rv = key ? gnutls_x509_privkey_export2(cert->key, GNUTLS_X509_FMT_PEM, &d)
               : gnutls_x509_crt_export2(cert->crt, GNUTLS_X509_FMT_PEM, &d);
  if (rv < 0) {
    return MOQC_ERR_INTERNAL;
  }
  if (buf == NULL || cap <= d.size) {
    gnutls_memset(d.data, 0, d.size);
    gnutls_free(d.data);
    return MOQC_ERR_NOBUF;
  }
  memcpy(buf, d.data, d.size);
  buf[d.size] = '\0';
  moqc_ssize n = (moqc_ssize)d.size;
  gnutls_memset(d.data, 0, d.size);
  gnutls_free(d.data);
  return n;
}

const uint8_t *moqc_tls_cert_fingerprint(const moqc_tls_cert *cert) {
  return cert->fp;
}

void moqc_tls_cert_fingerprint_hex(const moqc_tls_cert *cert,
                                   char out[MOQC_TLS_FINGERPRINT_HEX_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < MOQC_TLS_FINGERPRINT_LEN; i++) {
    out[2 * i] = digits[cert->fp[i] >> 4];
    out[2 * i + 1] = digits[cert->fp[i] & 0x0f];
  }
  out[MOQC_TLS_FINGERPRINT_HEX_LEN] = '\0';
}

const uint8_t *moqc_tls_cert_der(const moqc_tls_cert *cert, size_t *len) {
  *len = cert->derlen;
  return cert->der;
}

static int tls_hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int moqc_tls_fingerprint_parse(const char *hex,
                               uint8_t out[MOQC_TLS_FINGERPRINT_LEN]) {
  uint8_t tmp[MOQC_TLS_FINGERPRINT_LEN];
  size_t n = 0;
  if (hex == NULL) {
    return MOQC_ERR_MALFORMED;
  }
  for (const char *p = hex; *p != '\0';) {
    if (*p == ':' && n > 0 && p[1] != '\0') {
      p++;
      continue;
    }
    int hi = tls_hexval(p[0]);
    int lo = hi < 0 ? -1 : tls_hexval(p[1]);
    if (lo < 0 || n == MOQC_TLS_FINGERPRINT_LEN) {
      return MOQC_ERR_MALFORMED;
    }
    tmp[n++] = (uint8_t)(hi << 4 | lo);
    p += 2;
  }
  if (n != MOQC_TLS_FINGERPRINT_LEN) {
    return MOQC_ERR_MALFORMED;
  }
  memcpy(out, tmp, sizeof(tmp));
  return 0;
}

bool moqc__tls_pin_match(const uint8_t *der, size_t len,
                         const uint8_t (*pins)[MOQC_TLS_FINGERPRINT_LEN],
                         size_t npins) {
  uint8_t h[MOQC_TLS_FINGERPRINT_LEN];
  if (der == NULL || len == 0 ||
      gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, h) < 0) {
    return false;
  }
  for (size_t i = 0; i < npins; i++) {
    if (gnutls_memcmp(h, pins[i], sizeof(h)) == 0) {
      return true;
    }
  }
  return false;
}
