/*
 * Internal TLS glue for the QUIC transport: certificates, ALPN lists, and
 * per-connection GnuTLS sessions configured for ngtcp2. One thread at a time
 * per session; a moqc_tls_cert is read-only after creation.
 */
#ifndef MOQC_TRANSPORT_TLS_H
#define MOQC_TRANSPORT_TLS_H

#include <moqc/quic.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

struct moqc_tls_cert {
  const moqc_mem *mem;
  gnutls_certificate_credentials_t cred;
  gnutls_x509_crt_t crt;     /* the leaf certificate */
  gnutls_x509_privkey_t key; /* its key */
  uint8_t *der;              /* leaf DER, allocated with mem */
  size_t derlen;
  uint8_t fp[MOQC_TLS_FINGERPRINT_LEN];
};

/** The most ALPN entries a list may hold, and the longest entry. */
#define MOQC__ALPN_MAX 16
#define MOQC__ALPN_MAXLEN 255

/** A parsed, comma-separated ALPN list; items point into buf. */
typedef struct moqc__alpn_list {
  char *buf;
  gnutls_datum_t items[MOQC__ALPN_MAX];
  size_t n;
} moqc__alpn_list;

/**
 * Parses "a,b,c" into list (copying the text with mem). Empty entries are
 * skipped. Returns 0, MOQC_ERR_INVALID_ARGUMENT (no entry, too many, or one
 * longer than 255) or MOQC_ERR_NOMEM.
 */
int moqc__alpn_list_parse(moqc__alpn_list *list, const char *text,
                          const moqc_mem *mem);

/** Frees the text of a list parsed with mem. */
void moqc__alpn_list_free(moqc__alpn_list *list, const moqc_mem *mem);

/**
 * What a GnuTLS session's pointer refers to: ngtcp2's conn_ref first
 * (ngtcp2_crypto finds the connection through it), then the client verification
 * state.
 */
typedef struct moqc__tls_peer {
  ngtcp2_crypto_conn_ref conn_ref; /* must stay first */
  moqc_tls_verify_mode mode;
  uint8_t (*pins)[MOQC_TLS_FINGERPRINT_LEN];
  size_t npins;
  char *server_name;
  bool verify_failed;
} moqc__tls_peer;

/** Returns true when the SHA-256 of der[0..len) equals one of pins[0..npins).
 */
bool moqc__tls_pin_match(const uint8_t *der, size_t len,
                         const uint8_t (*pins)[MOQC_TLS_FINGERPRINT_LEN],
                         size_t npins);

/**
 * Parses moqc's TLS priority string (TLS 1.3 only, the AEADs ngtcp2's GnuTLS
 * backend supports, X25519/P-256/P-384) into *out. Parsing costs about 8 KiB
 * and some CPU, so an endpoint does it once and hands the result to every
 * session it creates; the caller frees it with gnutls_priority_deinit after
 * the last session using it is gone. Returns 0 or MOQC_ERR_INTERNAL.
 */
int moqc__tls_priority_init(gnutls_priority_t *out);

/**
 * Creates a server session for ngtcp2 using cert, prio (from
 * moqc__tls_priority_init; shared, not copied) and alpns (the server's
 * preference order; a client offering none of them is refused with
 * no_application_protocol). The session pointer is set to peer. Returns 0,
 * MOQC_ERR_NOMEM or MOQC_ERR_INTERNAL.
 */
int moqc__tls_server_session(gnutls_session_t *out, const moqc_tls_cert *cert,
                             gnutls_priority_t prio,
                             const moqc__alpn_list *alpns,
                             moqc__tls_peer *peer);

/**
 * Fills peer's verification state from verify and server_name (copies them with
 * mem) and creates client credentials in *cred. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT, MOQC_ERR_IO (CA file), MOQC_ERR_NOMEM or
 * MOQC_ERR_INTERNAL; on failure nothing is left allocated.
 */
int moqc__tls_client_prepare(moqc__tls_peer *peer,
                             gnutls_certificate_credentials_t *cred,
                             const moqc_tls_verify *verify,
                             const char *server_name, const moqc_mem *mem);

/** Frees what moqc__tls_client_prepare stored in peer (not the credentials). */
void moqc__tls_peer_free(moqc__tls_peer *peer, const moqc_mem *mem);

/**
 * Creates a client session for ngtcp2 offering alpns, with SNI and verification
 * from peer and the shared priority prio (see moqc__tls_priority_init). Returns
 * 0, MOQC_ERR_NOMEM or MOQC_ERR_INTERNAL.
 */
int moqc__tls_client_session(gnutls_session_t *out,
                             gnutls_certificate_credentials_t cred,
                             gnutls_priority_t prio,
                             const moqc__alpn_list *alpns,
                             moqc__tls_peer *peer);

/**
 * Copies the session's negotiated ALPN into out (NUL-terminated, at most cap -
 * 1 bytes). Returns true when one was negotiated.
 */
bool moqc__tls_selected_alpn(gnutls_session_t session, char *out, size_t cap);

#endif /* MOQC_TRANSPORT_TLS_H */
