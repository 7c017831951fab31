/*
 * TLS identities: generated certificates (validity, names, key type),
 * fingerprints, PEM export and load, pin matching, fingerprint parsing.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <moqc/moqc.h>

#include "transport/tls.h"

#define NOW ((int64_t)1790000000) /* 2026-09-21 */

static gnutls_x509_crt_t parse_der(const moqc_tls_cert *cert) {
  size_t len;
  const uint8_t *der = moqc_tls_cert_der(cert, &len);
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)der, (unsigned)len};
  gnutls_x509_crt_t crt;
  assert_int_equal(gnutls_x509_crt_init(&crt), 0);
  assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER), 0);
  return crt;
}

static void test_generate_default(void **state) {
  (void)state;
  moqc_tls_cert *cert = NULL;
  assert_int_equal(moqc_tls_cert_generate(&cert, NULL, 0, NOW, 0, NULL), 0);
  gnutls_x509_crt_t crt = parse_der(cert);
  time_t nb = gnutls_x509_crt_get_activation_time(crt);
  time_t na = gnutls_x509_crt_get_expiration_time(crt);
  assert_true(nb <= NOW);
  assert_true(na > NOW);
  assert_int_equal((int64_t)(na - nb), (int64_t)MOQC_TLS_MAX_VALIDITY_SECONDS);
  assert_int_equal(gnutls_x509_crt_get_version(crt), 3);
  /* ECDSA P-256. */
  unsigned bits = 0;
  assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits),
                   GNUTLS_PK_ECDSA);
  assert_int_equal(bits, 256);
  char buf[256];
  size_t len = sizeof(buf);
  unsigned critical = 0;
  assert_int_equal(
      gnutls_x509_crt_get_subject_alt_name(crt, 0, buf, &len, &critical),
      GNUTLS_SAN_DNSNAME);
  assert_int_equal(len, 9);
  assert_memory_equal(buf, "localhost", 9);
  assert_true(gnutls_x509_crt_check_hostname(crt, "localhost"));
  assert_false(gnutls_x509_crt_check_hostname(crt, "example.com"));
  gnutls_x509_crt_deinit(crt);
  moqc_tls_cert_del(cert);
}

static void test_generate_names_and_cap(void **state) {
  (void)state;
  const char *names[] = {"relay.example", "127.0.0.1", "::1", "localhost"};
  moqc_tls_cert *cert = NULL;
  /* Asking for 30 days still yields 14. */
  assert_int_equal(
      moqc_tls_cert_generate(&cert, names, 4, NOW, 30U * 86400U, NULL), 0);
  gnutls_x509_crt_t crt = parse_der(cert);
  assert_int_equal((int64_t)(gnutls_x509_crt_get_expiration_time(crt) -
                             gnutls_x509_crt_get_activation_time(crt)),
                   14 * 86400);
  char dn[256];
  size_t dnlen = sizeof(dn);
  assert_int_equal(gnutls_x509_crt_get_dn_by_oid(
                       crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, dn, &dnlen),
                   0);
  assert_string_equal(dn, "relay.example");
  assert_true(gnutls_x509_crt_check_hostname(crt, "relay.example"));
  assert_true(gnutls_x509_crt_check_hostname(crt, "localhost"));
  assert_true(gnutls_x509_crt_check_hostname(crt, "127.0.0.1"));
  assert_true(gnutls_x509_crt_check_hostname(crt, "::1"));
  assert_false(gnutls_x509_crt_check_hostname(crt, "127.0.0.2"));
  /* The second SAN is an IPv4 address. */
  uint8_t ip[16];
  size_t iplen = sizeof(ip);
  assert_int_equal(
      gnutls_x509_crt_get_subject_alt_name(crt, 1, ip, &iplen, NULL),
      GNUTLS_SAN_IPADDRESS);
  assert_int_equal(iplen, 4);
  assert_int_equal(ip[0], 127);
  gnutls_x509_crt_deinit(crt);
  moqc_tls_cert_del(cert);

  /* A shorter validity is honoured. */
  assert_int_equal(moqc_tls_cert_generate(&cert, names, 1, NOW, 3600, NULL), 0);
  crt = parse_der(cert);
  assert_int_equal((int64_t)(gnutls_x509_crt_get_expiration_time(crt) -
                             gnutls_x509_crt_get_activation_time(crt)),
                   3600);
  gnutls_x509_crt_deinit(crt);
  moqc_tls_cert_del(cert);

  const char *bad[] = {""};
  cert = NULL;
  assert_int_equal(moqc_tls_cert_generate(&cert, bad, 1, NOW, 0, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_null(cert);
}

static void test_fingerprint(void **state) {
  (void)state;
  moqc_tls_cert *a = NULL, *b = NULL;
  assert_int_equal(moqc_tls_cert_generate(&a, NULL, 0, NOW, 0, NULL), 0);
  assert_int_equal(moqc_tls_cert_generate(&b, NULL, 0, NOW, 0, NULL), 0);
  /* The fingerprint is the SHA-256 of the DER, stable across calls, different
   * per cert. */
  size_t len;
  const uint8_t *der = moqc_tls_cert_der(a, &len);
  uint8_t h[32];
  assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, h), 0);
  assert_memory_equal(h, moqc_tls_cert_fingerprint(a), 32);
  char hex1[65], hex2[65];
  moqc_tls_cert_fingerprint_hex(a, hex1);
  moqc_tls_cert_fingerprint_hex(a, hex2);
  assert_string_equal(hex1, hex2);
  assert_int_equal(strlen(hex1), 64);
  for (size_t i = 0; i < 64; i++) {
    assert_true((hex1[i] >= '0' && hex1[i] <= '9') ||
                (hex1[i] >= 'a' && hex1[i] <= 'f'));
  }
  uint8_t parsed[32];
  assert_int_equal(moqc_tls_fingerprint_parse(hex1, parsed), 0);
  assert_memory_equal(parsed, h, 32);
  assert_memory_not_equal(moqc_tls_cert_fingerprint(a),
                          moqc_tls_cert_fingerprint(b), 32);

  /* Pins: match one of several, mismatch otherwise. */
  uint8_t pins[2][32];
  memcpy(pins[0], moqc_tls_cert_fingerprint(b), 32);
  memcpy(pins[1], moqc_tls_cert_fingerprint(a), 32);
  assert_true(moqc__tls_pin_match(der, len, (const uint8_t(*)[32])pins, 2));
  assert_false(moqc__tls_pin_match(der, len, (const uint8_t(*)[32])pins, 1));
  pins[1][31] ^= 1;
  assert_false(moqc__tls_pin_match(der, len, (const uint8_t(*)[32])pins, 2));
  assert_false(moqc__tls_pin_match(NULL, 0, (const uint8_t(*)[32])pins, 2));
  moqc_tls_cert_del(a);
  moqc_tls_cert_del(b);
}

static void test_fingerprint_parse(void **state) {
  (void)state;
  uint8_t out[32], want[32];
  memset(out, 0xee, sizeof(out));
  for (int i = 0; i < 32; i++) {
    want[i] = (uint8_t)(i * 8 + 1);
  }
  char hex[65], colon[97];
  for (int i = 0; i < 32; i++) {
    snprintf(hex + 2 * i, 3, "%02X", want[i]);
    snprintf(colon + 3 * i, 4, i == 31 ? "%02x" : "%02x:", want[i]);
  }
  assert_int_equal(moqc_tls_fingerprint_parse(hex, out), 0);
  assert_memory_equal(out, want, 32);
  memset(out, 0, sizeof(out));
  assert_int_equal(moqc_tls_fingerprint_parse(colon, out), 0);
  assert_memory_equal(out, want, 32);
  /* Too short, too long, odd, bad digit: rejected and out untouched. */
  memset(out, 0xee, sizeof(out));
  hex[62] = '\0';
  assert_int_equal(moqc_tls_fingerprint_parse(hex, out), MOQC_ERR_MALFORMED);
  char longer[70];
  snprintf(longer, sizeof(longer), "%s%s", colon + 3 * 31,
           "0000000000000000000000000000000000000000000000000000000000000000");
  assert_int_equal(moqc_tls_fingerprint_parse(longer, out), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc_tls_fingerprint_parse("abc", out), MOQC_ERR_MALFORMED);
  assert_int_equal(
      moqc_tls_fingerprint_parse(
          "zz00000000000000000000000000000000000000000000000000000000000000",
          out),
      MOQC_ERR_MALFORMED);
  assert_int_equal(moqc_tls_fingerprint_parse(NULL, out), MOQC_ERR_MALFORMED);
  for (int i = 0; i < 32; i++) {
    assert_int_equal(out[i], 0xee);
  }
}

static void test_pem_roundtrip(void **state) {
  (void)state;
  moqc_tls_cert *a = NULL, *b = NULL;
  assert_int_equal(moqc_tls_cert_generate(&a, NULL, 0, NOW, 0, NULL), 0);
  char cpem[4096], kpem[4096];
  moqc_ssize cn = moqc_tls_cert_export_pem(a, false, cpem, sizeof(cpem));
  moqc_ssize kn = moqc_tls_cert_export_pem(a, true, kpem, sizeof(kpem));
  assert_true(cn > 0 && kn > 0);
  assert_non_null(strstr(cpem, "BEGIN CERTIFICATE"));
  assert_non_null(strstr(kpem, "PRIVATE KEY"));
  assert_int_equal(moqc_tls_cert_export_pem(a, false, cpem, 10),
                   MOQC_ERR_NOBUF);
  cn = moqc_tls_cert_export_pem(a, false, cpem, sizeof(cpem));

  assert_int_equal(
      moqc_tls_cert_load_pem(&b, cpem, (size_t)cn, kpem, (size_t)kn, NULL), 0);
  assert_memory_equal(moqc_tls_cert_fingerprint(a),
                      moqc_tls_cert_fingerprint(b), 32);
  moqc_tls_cert_del(b);
  b = NULL;

  /* Files. */
  char cpath[] = "/tmp/moqc_tls_cert_XXXXXX";
  char kpath[] = "/tmp/moqc_tls_key_XXXXXX";
  int cfd = mkstemp(cpath), kfd = mkstemp(kpath);
  assert_true(cfd >= 0 && kfd >= 0);
  assert_int_equal(write(cfd, cpem, (size_t)cn), cn);
  assert_int_equal(write(kfd, kpem, (size_t)kn), kn);
  close(cfd);
  close(kfd);
  assert_int_equal(moqc_tls_cert_load_pem_files(&b, cpath, kpath, NULL), 0);
  assert_memory_equal(moqc_tls_cert_fingerprint(a),
                      moqc_tls_cert_fingerprint(b), 32);
  moqc_tls_cert_del(b);
  b = NULL;
  assert_int_equal(
      moqc_tls_cert_load_pem_files(&b, "/nonexistent/cert.pem", kpath, NULL),
      MOQC_ERR_IO);
  unlink(cpath);
  unlink(kpath);

  /* A key that does not belong to the certificate, and garbage. */
  moqc_tls_cert *other = NULL;
  assert_int_equal(moqc_tls_cert_generate(&other, NULL, 0, NOW, 0, NULL), 0);
  char opem[4096];
  moqc_ssize on = moqc_tls_cert_export_pem(other, true, opem, sizeof(opem));
  assert_true(on > 0);
  assert_int_equal(
      moqc_tls_cert_load_pem(&b, cpem, (size_t)cn, opem, (size_t)on, NULL),
      MOQC_ERR_MALFORMED);
  assert_int_equal(
      moqc_tls_cert_load_pem(&b, "junk", 4, kpem, (size_t)kn, NULL),
      MOQC_ERR_MALFORMED);
  assert_null(b);
  moqc_tls_cert_del(other);
  moqc_tls_cert_del(a);
}

static void test_alpn_list(void **state) {
  (void)state;
  moqc__alpn_list l;
  assert_int_equal(moqc__alpn_list_parse(&l, MOQC_QUIC_DEFAULT_ALPNS, NULL), 0);
  assert_int_equal(l.n, 5);
  assert_int_equal(l.items[0].size, 11);
  assert_memory_equal(l.items[0].data, "moq-lite-05", 11);
  assert_memory_equal(l.items[4].data, "h3", 2);
  moqc__alpn_list_free(&l, NULL);
  assert_int_equal(moqc__alpn_list_parse(&l, ",a,,b,", NULL), 0);
  assert_int_equal(l.n, 2);
  moqc__alpn_list_free(&l, NULL);
  assert_int_equal(moqc__alpn_list_parse(&l, ",,", NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc__alpn_list_parse(&l, NULL, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
}

/* One parsed priority serves many server and client sessions: each session only
 * references it, the priority outlives them and is freed once (ASan checks the
 * frees), and it allows TLS 1.3 alone. */
static void test_shared_priority(void **state) {
  (void)state;
  enum { N = 64 };
  gnutls_priority_t prio = NULL;
  moqc_tls_cert *cert = NULL;
  moqc__alpn_list alpns;
  moqc__tls_peer peer;
  gnutls_session_t srv[N], cli[N];
  gnutls_certificate_credentials_t cred = NULL;
  moqc_tls_verify verify;

  assert_int_equal(moqc__tls_priority_init(&prio), 0);
  assert_non_null(prio);
  const unsigned int *protos = NULL;
  int np = gnutls_priority_protocol_list(prio, &protos);
  assert_int_equal(np, 1);
  assert_int_equal(protos[0], GNUTLS_TLS1_3);

  assert_int_equal(moqc_tls_cert_generate(&cert, NULL, 0, NOW, 0, NULL), 0);
  assert_int_equal(moqc__alpn_list_parse(&alpns, "moq-lite-05,h3", NULL), 0);
  memset(&peer, 0, sizeof(peer));
  memset(&verify, 0, sizeof(verify));
  verify.mode = MOQC_TLS_VERIFY_NONE;
  assert_int_equal(
      moqc__tls_client_prepare(&peer, &cred, &verify, "example.com", NULL), 0);
  for (int i = 0; i < N; i++) {
    assert_int_equal(
        moqc__tls_server_session(&srv[i], cert, prio, &alpns, &peer), 0);
    assert_int_equal(
        moqc__tls_client_session(&cli[i], cred, prio, &alpns, &peer), 0);
  }
  /* Releasing some sessions leaves the priority usable for new ones. */
  for (int i = 0; i < N / 2; i++) {
    gnutls_deinit(srv[i]);
    gnutls_deinit(cli[i]);
  }
  for (int i = 0; i < N / 2; i++) {
    assert_int_equal(
        moqc__tls_server_session(&srv[i], cert, prio, &alpns, &peer), 0);
    assert_int_equal(
        moqc__tls_client_session(&cli[i], cred, prio, &alpns, &peer), 0);
  }
  for (int i = 0; i < N; i++) {
    gnutls_deinit(srv[i]);
    gnutls_deinit(cli[i]);
  }
  /* A session without a priority is refused rather than left unconfigured. */
  gnutls_session_t none = NULL;
  assert_int_equal(moqc__tls_server_session(&none, cert, NULL, &alpns, &peer),
                   MOQC_ERR_INTERNAL);
  assert_null(none);
  gnutls_priority_deinit(prio);
  gnutls_certificate_free_credentials(cred);
  moqc__tls_peer_free(&peer, NULL);
  moqc__alpn_list_free(&alpns, NULL);
  moqc_tls_cert_del(cert);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generate_default),
      cmocka_unit_test(test_generate_names_and_cap),
      cmocka_unit_test(test_fingerprint),
      cmocka_unit_test(test_fingerprint_parse),
      cmocka_unit_test(test_pem_roundtrip),
      cmocka_unit_test(test_alpn_list),
      cmocka_unit_test(test_shared_priority),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
