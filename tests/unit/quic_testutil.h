/*
 * What the QUIC test programs share: one generated certificate per program
 * (g_cert, made and freed by the cmocka group setup and teardown below) and
 * connect parameters that pin it.
 */
#ifndef MOQC_TESTS_QUIC_TESTUTIL_H
#define MOQC_TESTS_QUIC_TESTUTIL_H

#include <string.h>
#include <time.h>

#include <moqc/moqc.h>

static moqc_tls_cert *g_cert;

/** cmocka group setup: generates g_cert (ECDSA, valid from now). */
static inline int quic_cert_setup(void **state) {
  (void)state;
  return moqc_tls_cert_generate(&g_cert, NULL, 0, (int64_t)time(NULL), 0, NULL);
}

/** cmocka group teardown: frees g_cert. */
static inline int quic_cert_teardown(void **state) {
  (void)state;
  moqc_tls_cert_del(g_cert);
  g_cert = NULL;
  return 0;
}

/** Connect parameters for "localhost" that accept only g_cert (by pin). */
static inline moqc_quic_connect_params quic_pin_params(void) {
  moqc_quic_connect_params p;
  memset(&p, 0, sizeof(p));
  p.server_name = "localhost";
  p.verify.mode = MOQC_TLS_VERIFY_PIN;
  p.verify.pins =
      (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])moqc_tls_cert_fingerprint(
          g_cert);
  p.verify.npins = 1;
  return p;
}

#endif /* MOQC_TESTS_QUIC_TESTUTIL_H */
