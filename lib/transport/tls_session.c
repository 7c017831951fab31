/*
 * Per-connection GnuTLS sessions for ngtcp2: ALPN lists, server and client
 * set-up, client verification (system roots, CA file, pinned fingerprints).
 */
#include "transport/tls.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

/* TLS 1.3 only, the AEADs ngtcp2's GnuTLS backend supports, common groups. */
static const char tls_priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+"
    "CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%DISABLE_TLS13_"
    "COMPAT_MODE";

int moqc__tls_priority_init(gnutls_priority_t *out) {
  return gnutls_priority_init(out, tls_priority, NULL) < 0 ? MOQC_ERR_INTERNAL
                                                           : 0;
}

int moqc__alpn_list_parse(moqc__alpn_list *list, const char *text,
                          const moqc_mem *mem) {
  memset(list, 0, sizeof(*list));
  if (text == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  size_t len = strlen(text);
  char *buf = moqc_mem_malloc(mem, len + 1);
  if (buf == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(buf, text, len + 1);
  size_t n = 0;
  char *p = buf;
  while (*p != '\0') {
    char *comma = strchr(p, ',');
    char *end = comma != NULL ? comma : p + strlen(p);
    size_t l = (size_t)(end - p);
    if (comma != NULL) {
      *comma = '\0';
    }
    if (l > 0) {
      if (l > MOQC__ALPN_MAXLEN || n == MOQC__ALPN_MAX) {
        moqc_mem_free(mem, buf);
        return MOQC_ERR_INVALID_ARGUMENT;
      }
      list->items[n].data = (unsigned char *)p;
      list->items[n].size = (unsigned int)l;
      n++;
    }
    p = comma != NULL ? comma + 1 : end;
  }
  if (n == 0) {
    moqc_mem_free(mem, buf);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  list->buf = buf;
  list->n = n;
  return 0;
}

void moqc__alpn_list_free(moqc__alpn_list *list, const moqc_mem *mem) {
  moqc_mem_free(mem, list->buf);
  memset(list, 0, sizeof(*list));
}

static int tls_session_common(gnutls_session_t s,
                              gnutls_certificate_credentials_t cred,
                              gnutls_priority_t prio,
                              const moqc__alpn_list *alpns,
                              moqc__tls_peer *peer, bool server) {
  /* The parsed priority is shared: gnutls_priority_set only references it. */
  if (prio == NULL || gnutls_priority_set(s, prio) < 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  unsigned int flags =
      GNUTLS_ALPN_MANDATORY | (server ? GNUTLS_ALPN_SERVER_PRECEDENCE : 0U);
  if (gnutls_alpn_set_protocols(s, alpns->items, (unsigned int)alpns->n,
                                flags) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  gnutls_session_set_ptr(s, peer);
  return 0;
}

int moqc__tls_server_session(gnutls_session_t *out, const moqc_tls_cert *cert,
                             gnutls_priority_t prio,
                             const moqc__alpn_list *alpns,
                             moqc__tls_peer *peer) {
  gnutls_session_t s;
  if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_ENABLE_EARLY_DATA |
                          GNUTLS_NO_END_OF_EARLY_DATA) < 0) {
    return MOQC_ERR_NOMEM;
  }
  int rv = MOQC_ERR_INTERNAL;
  if (ngtcp2_crypto_gnutls_configure_server_session(s) == 0) {
    rv = tls_session_common(s, cert->cred, prio, alpns, peer, true);
  }
  if (rv != 0) {
    gnutls_deinit(s);
    return rv;
  }
  *out = s;
  return 0;
}

/*
 * A pinned certificate is trusted by its hash alone, as browsers do for serverCertificateHashes,
 * and like them only while it is valid now and for at most 14 days in all.
 */
static bool tls_pinned_cert_current(const gnutls_datum_t *der) {
  gnutls_x509_crt_t crt;
  time_t now = time(NULL), from, until;
  bool ok = false;

  if (gnutls_x509_crt_init(&crt) < 0) {
    return false;
  }
  if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) >= 0) {
    from = gnutls_x509_crt_get_activation_time(crt);
    until = gnutls_x509_crt_get_expiration_time(crt);
    ok = from != (time_t)-1 && until != (time_t)-1 && from <= now && now <= until &&
         until - from <= (time_t)MOQC_TLS_MAX_VALIDITY_SECONDS;
  }
  gnutls_x509_crt_deinit(crt);
  return ok;
}

/* Called by GnuTLS when the server's certificate arrived. */
static int tls_verify_peer(gnutls_session_t s) {
  moqc__tls_peer *peer = gnutls_session_get_ptr(s);
  unsigned int n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  bool ok = false;
  if (peer == NULL) {
    return -1;
  }
  switch (peer->mode) {
  case MOQC_TLS_VERIFY_NONE:
    ok = true;
    break;
  case MOQC_TLS_VERIFY_PIN:
    ok = certs != NULL && n > 0 &&
         moqc__tls_pin_match(
             certs[0].data, certs[0].size,
             (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])peer->pins,
             peer->npins) &&
         tls_pinned_cert_current(&certs[0]);
    break;
  case MOQC_TLS_VERIFY_SYSTEM:
  case MOQC_TLS_VERIFY_CA_FILE: {
    unsigned int status = 0;
    ok = gnutls_certificate_verify_peers3(s, peer->server_name, &status) == 0 &&
         status == 0;
    break;
  }
  }
  if (!ok) {
    peer->verify_failed = true;
    return -1;
  }
  return 0;
}

int moqc__tls_client_prepare(moqc__tls_peer *peer,
                             gnutls_certificate_credentials_t *cred,
                             const moqc_tls_verify *verify,
                             const char *server_name, const moqc_mem *mem) {
  gnutls_certificate_credentials_t c = NULL;
  int rv = 0;
  peer->mode = verify->mode;
  peer->pins = NULL;
  peer->npins = 0;
  peer->server_name = NULL;
  peer->verify_failed = false;
  switch (verify->mode) {
  case MOQC_TLS_VERIFY_PIN:
    if (verify->pins == NULL || verify->npins == 0 ||
        verify->npins > SIZE_MAX / MOQC_TLS_FINGERPRINT_LEN) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    break;
  case MOQC_TLS_VERIFY_CA_FILE:
    if (verify->ca_file == NULL) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    break;
  case MOQC_TLS_VERIFY_SYSTEM:
  case MOQC_TLS_VERIFY_NONE:
    break;
  default:
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (gnutls_certificate_allocate_credentials(&c) < 0) {
    return MOQC_ERR_NOMEM;
  }
  if (verify->mode == MOQC_TLS_VERIFY_SYSTEM) {
    if (gnutls_certificate_set_x509_system_trust(c) < 0) {
      rv = MOQC_ERR_IO;
    }
  } else if (verify->mode == MOQC_TLS_VERIFY_CA_FILE) {
    if (gnutls_certificate_set_x509_trust_file(c, verify->ca_file,
                                               GNUTLS_X509_FMT_PEM) <= 0) {
      rv = MOQC_ERR_IO;
    }
  } else if (verify->mode == MOQC_TLS_VERIFY_PIN) {
    size_t bytes = verify->npins * MOQC_TLS_FINGERPRINT_LEN;
    peer->pins = moqc_mem_malloc(mem, bytes);
    if (peer->pins == NULL) {
      rv = MOQC_ERR_NOMEM;
    } else {
      memcpy(peer->pins, verify->pins, bytes);
      peer->npins = verify->npins;
    }
  }
  if (rv == 0 && server_name != NULL) {
    size_t len = strlen(server_name);
    peer->server_name = moqc_mem_malloc(mem, len + 1);
    if (peer->server_name == NULL) {
      rv = MOQC_ERR_NOMEM;
    } else {
      memcpy(peer->server_name, server_name, len + 1);
    }
  }
  if (rv != 0) {
    moqc__tls_peer_free(peer, mem);
    gnutls_certificate_free_credentials(c);
    return rv;
  }
  gnutls_certificate_set_verify_function(c, tls_verify_peer);
  *cred = c;
  return 0;
}

void moqc__tls_peer_free(moqc__tls_peer *peer, const moqc_mem *mem) {
  moqc_mem_free(mem, peer->pins);
  moqc_mem_free(mem, peer->server_name);
  peer->pins = NULL;
  peer->npins = 0;
  peer->server_name = NULL;
}

int moqc__tls_client_session(gnutls_session_t *out,
                             gnutls_certificate_credentials_t cred,
                             gnutls_priority_t prio,
                             const moqc__alpn_list *alpns,
                             moqc__tls_peer *peer) {
  gnutls_session_t s;
  if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_ENABLE_EARLY_DATA |
                          GNUTLS_NO_END_OF_EARLY_DATA) < 0) {
    return MOQC_ERR_NOMEM;
  }
  int rv = MOQC_ERR_INTERNAL;
  if (ngtcp2_crypto_gnutls_configure_client_session(s) == 0) {
    rv = tls_session_common(s, cred, prio, alpns, peer, false);
  }
  uint8_t ip[16];
  if (rv == 0 && peer->server_name != NULL && peer->server_name[0] != '\0' &&
      inet_pton(AF_INET, peer->server_name, ip) != 1 &&
      inet_pton(AF_INET6, peer->server_name, ip) != 1) {
    /* SNI carries DNS names only (RFC 6066 3). */
    if (gnutls_server_name_set(s, GNUTLS_NAME_DNS, peer->server_name,
                               strlen(peer->server_name)) < 0) {
      rv = MOQC_ERR_INTERNAL;
    }
  }
  if (rv != 0) {
    gnutls_deinit(s);
    return rv;
  }
  *out = s;
  return 0;
}

bool moqc__tls_selected_alpn(gnutls_session_t session, char *out, size_t cap) {
  gnutls_datum_t d;
  if (cap == 0) {
    return false;
  }
  out[0] = '\0';
  if (gnutls_alpn_get_selected_protocol(session, &d) != 0 || d.size == 0) {
    return false;
  }
  size_t n = d.size < cap - 1 ? d.size : cap - 1;
  memcpy(out, d.data, n);
  out[n] = '\0';
  return true;
}
