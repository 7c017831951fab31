/*
 * moqc-relay: the UDP listener. Raw QUIC with the moq-lite ALPNs (moq-lite-05, -04, -03 pinned;
 * moql = the legacy SETUP handshake) and WebTransport over HTTP/3 (ALPN h3) for browsers, on one
 * endpoint. A WebTransport session's root is the CONNECT path. The TLS identity is loaded from --tls-cert/--tls-key or
 * generated for --tls-generate names (ECDSA P-256, 14 days), and its SHA-256 is what
 * /certificate.sha256 serves.
 *
 * Raw QUIC carries no request URI: a lite-05 session is rooted at the SETUP Path parameter (the
 * query is for tokens) and scoped by auth when SETUP arrives; lite-03/04 sessions, which have no
 * SETUP, are rooted at "".
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay.h"

static const char relay_alpns[] = "moq-lite-05,moq-lite-04,moq-lite-03,moql,h3";

/* The moq-lite versions a WebTransport client may ask for, in our order of preference. */
static const char *const wt_protocols[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03"};

static void on_wt_close(void *user_data, moqc_wt_conn *wt, const moqc_wt_close_info *info) {
  (void)wt;
  relay_conn_closed(user_data, info->by_peer, info->code,
                    info->err != 0 ? moqc_strerror(info->err) : "webtransport");
}

/* A CONNECT: root from the path (the query is for tokens), auth, protocol, session. */
static void on_wt_request(void *user_data, moqc_wt_request *req) {
  relay_worker *w = user_data;
  relay *r = w->r;
  moqc_str path = moqc_wt_request_path(req);
  moqc_str query = relay_split_query(&path);
  relay_grant grant;
  relay_token tok;
  bool has_token = false;
  const char *proto = NULL;
  moqc_transport transport;
  relay_conn *c;
  char *root;
  size_t i, k;
  int rv;

  root = relay_path_decode(path);
  if (root == NULL) {
    moqc_wt_refuse(req, 400);
    return;
  }
  if (w->stopping) {
    free(root);
    moqc_wt_refuse(req, 503);
    return;
  }
  rv = relay_auth_admit(r, query, moqc_str_c(root), "webtransport", &tok, &has_token, &grant);
  if (rv != 0) {
    relay_token_free(&tok);
    free(root);
    moqc_wt_refuse(req, rv == MOQC_ERR_NOMEM ? 500 : 401);
    return;
  }
  /* The client's first offer we speak; none offered means the legacy SETUP handshake. */
  for (i = 0; i < moqc_wt_request_protocol_count(req) && proto == NULL; i++) {
    moqc_str offer = moqc_wt_request_protocol(req, i);
    for (k = 0; k < sizeof(wt_protocols) / sizeof(wt_protocols[0]); k++) {
      if (moqc_str_eq(offer, moqc_str_c(wt_protocols[k]))) {
        proto = wt_protocols[k];
        break;
      }
    }
  }
  if (proto == NULL && moqc_wt_request_protocol_count(req) > 0) {
    relay_token_free(&tok);
    free(root);
    moqc_wt_refuse(req, 400);
    return;
  }
  c = relay_conn_new(w, root);
  if (c == NULL) {
    relay_token_free(&tok);
    moqc_wt_refuse(req, 500);
    return;
  }
  c->token = tok; /* taken */
  c->has_token = has_token;
  rv = moqc_wt_accept(req, proto, &c->wt);
  if (rv != 0) {
    relay_conn_free(c);
    return;
  }
  transport = moqc_wt_conn_transport(c->wt);
  rv = relay_conn_session(c, &transport,
                          relay_version_of_alpn(moqc_str_c(proto != NULL ? proto : "")));
  if (rv != 0) {
    moqc_wt_conn_attach(c->wt, NULL, NULL, on_wt_close, c);
    moqc_wt_conn_close(c->wt, (uint32_t)moqc_err_to_lite_code(rv), moqc_strerror(rv));
    return;
  }
  moqc_wt_conn_attach(c->wt, moqc_session_app_ops(), c->session, on_wt_close, c);
  relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: webtransport %s root \"%s\" (worker %u)",
             (unsigned long long)c->id, proto != NULL ? proto : "(legacy)", c->root, w->index);
  moqc_session_start(c->session, relay_now(r));
}

static int on_connection(moqc_quic_conn *qc, const char *alpn, void *user_data,
                         void *conn_user_data) {
  relay_worker *w = user_data;
  relay *r = w->r;
  moqc_transport transport;
  relay_conn *c;
  char *root = strdup("");
  int rv;

  (void)conn_user_data;
  if (strcmp(alpn, MOQC_WT_ALPN) == 0) {
    free(root);
    return moqc_wt_server_adopt(w->wt, qc);
  }
  if (w->stopping || root == NULL || (c = relay_conn_new(w, root)) == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->quic = qc;
  c->root_from_setup = true;
  moqc_quic_conn_set_user_data(qc, c);
  transport = moqc_quic_conn_transport(qc);
  rv = relay_conn_session(c, &transport, relay_version_of_alpn(moqc_str_c(alpn)));
  if (rv == 0) {
    rv = moqc_quic_conn_attach(qc, moqc_session_app_ops(), c->session);
  }
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: quic %s refused: %s",
               (unsigned long long)c->id, alpn, moqc_strerror(rv));
    moqc_quic_conn_set_user_data(qc, NULL);
    relay_conn_free(c);
    return rv;
  }
  relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: quic %s root \"%s\" (worker %u)",
             (unsigned long long)c->id, alpn, c->root, w->index);
  return moqc_session_start(c->session, relay_now(r));
}

static void on_close(moqc_quic_conn *qc, int err, uint64_t app_code, bool remote,
                     void *user_data, void *conn_user_data) {
  (void)user_data;
  if (strcmp(moqc_quic_conn_alpn(qc), MOQC_WT_ALPN) == 0) {
    moqc_wt_server_conn_closed(qc, conn_user_data, err, app_code, remote);
    return;
  }
  if (conn_user_data != NULL) {
    relay_conn_closed(conn_user_data, remote, app_code, err != 0 ? moqc_strerror(err) : "quic");
  }
}

int relay_quic_load_cert(relay *r) {
  relay_config *cfg = r->cfg;
  int rv;

  if (cfg->tls_cert != NULL || cfg->tls_key != NULL) {
    if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "tls: --tls-cert and --tls-key go together");
      return -1;
    }
    rv = moqc_tls_cert_load_pem_files(&r->cert, cfg->tls_cert, cfg->tls_key, NULL);
    if (rv != 0) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "tls: cannot load %s / %s: %s", cfg->tls_cert,
                 cfg->tls_key, moqc_strerror(rv));
      return -1;
    }
  } else if (cfg->tls_generate.count > 0) {
    rv = moqc_tls_cert_generate(&r->cert, (const char *const *)cfg->tls_generate.items,
                                cfg->tls_generate.count, (int64_t)time(NULL), 0, NULL);
    if (rv != 0) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "tls: cannot generate a certificate: %s",
                 moqc_strerror(rv));
      return -1;
    }
  } else {
    return 0;
  }
  moqc_tls_cert_fingerprint_hex(r->cert, r->fingerprint);
  relay_logf(&r->log, MOQC_LOG_INFO, "tls: certificate sha256 %s", r->fingerprint);
  return 0;
}

int relay_quic_start(relay_worker *w, int port_override) {
  relay *r = w->r;
  moqc_quic_settings qs;
  moqc_quic_callbacks cb;
  struct sockaddr_storage ss;
  char host[128];
  int port, rv;

  if (r->cfg->server_bind == NULL || r->cfg->server_bind[0] == '\0') {
    return 0;
  }
  if (r->cert == NULL) {
    relay_logf(&r->log, MOQC_LOG_ERROR,
               "server: QUIC needs a certificate (--tls-cert/--tls-key or --tls-generate)");
    return -1;
  }
  memset(&ss, 0, sizeof(ss));
  if (relay_parse_addr(r->cfg->server_bind, host, sizeof(host), &port) != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "server: bad address \"%s\"", r->cfg->server_bind);
    return -1;
  }
  if (port_override >= 0) {
    port = port_override;
  }
  if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
    ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
  } else {
    relay_logf(&r->log, MOQC_LOG_ERROR, "server: \"%s\" is not an IP address", host);
    return -1;
  }
  {
    moqc_wt_server_settings ws;
    moqc_wt_server_settings_default(&ws);
    ws.on_request = on_wt_request;
    ws.user_data = w;
    ws.log = &r->log;
    if ((rv = moqc_wt_server_new(&w->wt, &ws, NULL)) != 0) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "webtransport: %s", moqc_strerror(rv));
      return -1;
    }
  }
  moqc_quic_settings_default(&qs);
  qs.cert = r->cert;
  qs.alpns = relay_alpns;
  qs.idle_timeout = r->cfg->quic_idle_timeout_ms * MOQC_MILLISECONDS;
  qs.keep_alive = r->cfg->quic_keep_alive_ms * MOQC_MILLISECONDS;
  qs.log = &r->log;
  if (r->nworkers > 1) {
    /* The workers share the port; connection ids name the worker, so a client whose address
     * changes still reaches its connection. */
    qs.reuse_port = true;
    qs.steer_index = w->index;
    qs.steer_count = (uint32_t)r->nworkers;
  }
  memset(&cb, 0, sizeof(cb));
  cb.on_connection = on_connection;
  cb.on_close = on_close;
  rv = moqc_quic_endpoint_new(&w->quic, w->loop, (const struct sockaddr *)&ss, &qs, &cb, w);
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "server: cannot listen on udp %s: %s",
               r->cfg->server_bind, moqc_strerror(rv));
    return -1;
  }
  if (port_override < 0) {
    relay_logf(&r->log, MOQC_LOG_INFO, "quic listening on udp %s (port %u), alpn %s",
               r->cfg->server_bind, moqc_quic_endpoint_port(w->quic), relay_alpns);
  }
  return 0;
}

void relay_quic_stop(relay_worker *w) {
  relay_conn *c, *next;

  /* The endpoint closes its connections without reporting them: free the QUIC sessions here. */
  for (c = w->conns; c != NULL; c = next) {
    next = c->next;
    if (c->quic != NULL) {
      moqc_session_close(c->session, 0, "relay shutting down");
      relay_conn_free(c);
    }
  }
  /* The WebTransport server closes its sessions (their close callbacks free them) and must go
   * before the shared endpoint. */
  moqc_wt_server_del(w->wt);
  w->wt = NULL;
  moqc_quic_endpoint_del(w->quic);
  w->quic = NULL;
}
