/*
 * TLS over the TCP connection of the WebSocket transport (https:// routes and wss://), with
 * GnuTLS in non-blocking mode: raw bytes read from the socket feed the session, decrypted bytes
 * go to the connection's mode handlers, and plaintext writes leave as TLS records through the
 * connection's raw writes. The server uses the relay's moqc_tls_cert; the client verifies the
 * server like the QUIC client does (system roots, a CA file, pinned fingerprints, or nothing).
 */
#include <errno.h>
#include <string.h>

#include "transport/tls.h"
#include "transport/ws_int.h"

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len) {
  moqc_ws_conn *c = ptr;
  if (moqc__tcp_write_raw(c, data, len) != 0) {
    gnutls_transport_set_errno(c->tls, EPIPE);
    return -1;
  }
  return (ssize_t)len;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len) {
  moqc_ws_conn *c = ptr;
  if (c->tls_in_len == 0) {
    gnutls_transport_set_errno(c->tls, EAGAIN);
    return -1;
  }
  size_t n = len < c->tls_in_len ? len : c->tls_in_len;
  memcpy(data, c->tls_in, n);
  c->tls_in += n;
  c->tls_in_len -= n;
  return (ssize_t)n;
}

static void tls_setup_io(moqc_ws_conn *c) {
  gnutls_transport_set_ptr(c->tls, c);
  gnutls_transport_set_push_function(c->tls, tls_push);
  gnutls_transport_set_pull_function(c->tls, tls_pull);
}

int moqc__tls_server_start(moqc_ws_conn *c, const moqc_tls_cert *cert) {
  static const gnutls_datum_t http11 = {(unsigned char *)"http/1.1", 8};
  if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
    c->tls = NULL;
    return MOQC_ERR_NOMEM;
  }
  if (gnutls_set_default_priority(c->tls) < 0 ||
      gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cert->cred) < 0 ||
      gnutls_alpn_set_protocols(c->tls, &http11, 1, 0) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  tls_setup_io(c);
  return 0;
}

int moqc__tls_client_start(moqc_ws_conn *c, const moqc_tls_verify *verify, const char *host) {
  static const gnutls_datum_t http11 = {(unsigned char *)"http/1.1", 8};
  c->tls_peer = moqc_mem_calloc(c->mem, 1, sizeof(*c->tls_peer));
  if (c->tls_peer == NULL) {
    return MOQC_ERR_NOMEM;
  }
  int rv = moqc__tls_client_prepare(c->tls_peer, &c->tls_cred, verify, host, c->mem);
  if (rv != 0) {
    moqc_mem_free(c->mem, c->tls_peer);
    c->tls_peer = NULL;
    return rv;
  }
  if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) {
    c->tls = NULL;
    return MOQC_ERR_NOMEM;
  }
  gnutls_session_set_ptr(c->tls, c->tls_peer);
  if (gnutls_set_default_priority(c->tls) < 0 ||
      gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->tls_cred) < 0 ||
      gnutls_alpn_set_protocols(c->tls, &http11, 1, 0) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  /* SNI for names (not for address literals). */
  uint8_t ip[16];
  if (host[0] != 0 && inet_pton(AF_INET, host, ip) != 1 && inet_pton(AF_INET6, host, ip) != 1 &&
      gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, host, strlen(host)) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  tls_setup_io(c);
  return 0;
}

/* Runs the handshake as far as it goes; once done, sends the plaintext queued meanwhile. */
static int tls_handshake(moqc_ws_conn *c) {
  int rv = gnutls_handshake(c->tls);
  if (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED) {
    return 0;
  }
  if (rv < 0) {
    return MOQC_ERR_IO;
  }
  c->tls_done = true;
  if (c->tls_pending_len > 0) {
    size_t n = c->tls_pending_len;
    c->tls_pending_len = 0;
    rv = moqc__tls_write(c, c->tls_pending, n);
  }
  return rv;
}

int moqc__tls_kick(moqc_ws_conn *c) { return c->tls_done ? 0 : tls_handshake(c); }

int moqc__tls_on_raw(moqc_ws_conn *c, const uint8_t *data, size_t len) {
  c->tls_in = data;
  c->tls_in_len = len;
  int rv = 0;
  if (!c->tls_done) {
    rv = tls_handshake(c);
  }
  uint8_t plain[16384];
  while (rv == 0 && c->tls_done && !c->closing && !c->close_after_write) {
    ssize_t n = gnutls_record_recv(c->tls, plain, sizeof(plain));
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      break;
    }
    if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
      rv = MOQC_ERR_CLOSED; /* close_notify or a plain EOF inside TLS */
      break;
    }
    if (n < 0) {
      rv = gnutls_error_is_fatal((int)n) ? MOQC_ERR_IO : 0;
      if (rv == 0) {
        continue; /* e.g. a post-handshake message */
      }
      break;
    }
    moqc__tcp_dispatch(c, plain, (size_t)n);
  }
  c->tls_in_len = 0;
  return rv;
}

int moqc__tls_write(moqc_ws_conn *c, const void *data, size_t len) {
  if (!c->tls_done) {
    /* The client's upgrade request waits for the handshake. */
    if (c->tls_pending_len + len > c->tls_pending_cap) {
      size_t cap = c->tls_pending_len + len;
      uint8_t *b = moqc_mem_realloc(c->mem, c->tls_pending, cap);
      if (b == NULL) {
        return MOQC_ERR_NOMEM;
      }
      c->tls_pending = b;
      c->tls_pending_cap = cap;
    }
    memcpy(c->tls_pending + c->tls_pending_len, data, len);
    c->tls_pending_len += len;
    return 0;
  }
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = gnutls_record_send(c->tls, p, len);
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      continue; /* our push never blocks: only an interrupted call gets here */
    }
    if (n <= 0) {
      return MOQC_ERR_IO;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void moqc__tls_bye(moqc_ws_conn *c) {
  if (c->tls != NULL && c->tls_done) {
    (void)gnutls_bye(c->tls, GNUTLS_SHUT_WR);
  }
}

void moqc__tls_free(moqc_ws_conn *c) {
  if (c->tls != NULL) {
    gnutls_deinit(c->tls);
    c->tls = NULL;
  }
  if (c->tls_cred != NULL) {
    gnutls_certificate_free_credentials(c->tls_cred);
    c->tls_cred = NULL;
  }
  if (c->tls_peer != NULL) {
    moqc__tls_peer_free(c->tls_peer, c->mem);
    moqc_mem_free(c->mem, c->tls_peer);
    c->tls_peer = NULL;
  }
  moqc_mem_free(c->mem, c->tls_pending);
  c->tls_pending = NULL;
}
