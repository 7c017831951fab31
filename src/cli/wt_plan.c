/*
 * The transport plan of the `moqc` tool (see wt_plan.h).
 */
#include "wt_plan.h"
#include "core/errbuf.h"

#include <moqc/error.h>
#include <stdio.h>
#include <string.h>

int cli_plan_for(const cli_opts *o, cli_plan *out, char *err, size_t errlen) {
  bool tls = o->tls_disable_verify || o->tls_fingerprint != NULL || o->tls_root != NULL;

  if (o->tls_fingerprint != NULL && o->tls_root != NULL) {
    moqc__errf(err, errlen, "--tls-fingerprint and --tls-root cannot be used together");
    return -1;
  }
  switch (o->url.scheme) {
  case CLI_SCHEME_WS:
    *out = CLI_PLAN_WS;
    break;
  case CLI_SCHEME_HTTP:
    *out = o->force_websocket ? CLI_PLAN_WS : CLI_PLAN_DEV;
    break;
  case CLI_SCHEME_HTTPS:
    *out = CLI_PLAN_WT;
    break;
  case CLI_SCHEME_MOQL:
    *out = CLI_PLAN_QUIC;
    break;
  default:
    moqc__errf(err, errlen, "unknown scheme");
    return -1;
  }
  if (o->force_websocket && o->url.scheme != CLI_SCHEME_HTTP && o->url.scheme != CLI_SCHEME_WS) {
    moqc__errf(err, errlen, "--websocket needs an http:// or ws:// URL (wss:// is not supported)");
    return -1;
  }
  if (tls && *out == CLI_PLAN_WS) {
    moqc__errf(err, errlen,
                "--tls-* flags need an https://, moql:// or http:// URL (not plain WebSocket)");
    return -1;
  }
  if (o->tls_root != NULL && *out == CLI_PLAN_DEV) {
    moqc__errf(err, errlen, "--tls-root needs an https:// or moql:// URL (http:// pins the "
                             "relay's /certificate.sha256)");
    return -1;
  }
  return 0;
}

int cli_url_wt(const cli_url *u, char *buf, size_t cap) {
  int n = snprintf(buf, cap, u->ipv6 ? "https://[%s]:%d%s" : "https://%s:%d%s", u->host, u->port,
                   u->path);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void cli_tls_verify_for(const cli_opts *o, moqc_tls_verify *v) {
  memset(v, 0, sizeof(*v));
  if (o->tls_disable_verify) {
    v->mode = MOQC_TLS_VERIFY_NONE;
  } else if (o->tls_fingerprint != NULL) {
    v->mode = MOQC_TLS_VERIFY_PIN;
    v->pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])o->fingerprint;
    v->npins = 1;
  } else if (o->tls_root != NULL) {
    v->mode = MOQC_TLS_VERIFY_CA_FILE;
    v->ca_file = o->tls_root;
  } else {
    v->mode = MOQC_TLS_VERIFY_SYSTEM;
  }
}

int cli_http_head_parse(const char *buf, size_t len, int *status, size_t *body_off) {
  size_t i, end = 0;
  int code = 0;

  for (i = 0; i + 3 < len; i++) {
    if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
      end = i + 4;
      break;
    }
  }
  if (len < 5) {
    return memcmp(buf, "HTTP/", len) == 0 ? MOQC_ERR_INCOMPLETE : MOQC_ERR_MALFORMED;
  }
  if (memcmp(buf, "HTTP/", 5) != 0) {
    return MOQC_ERR_MALFORMED;
  }
  if (end == 0) {
    return MOQC_ERR_INCOMPLETE;
  }
  /* "HTTP/1.x SSS reason" */
  for (i = 5; i < end && buf[i] != ' '; i++) {
  }
  if (i + 4 > end || buf[i] != ' ') {
    return MOQC_ERR_MALFORMED;
  }
  for (size_t k = i + 1; k < i + 4; k++) {
    if (buf[k] < '0' || buf[k] > '9') {
      return MOQC_ERR_MALFORMED;
    }
    code = code * 10 + (buf[k] - '0');
  }
  if (code < 100 || (buf[i + 4] != ' ' && buf[i + 4] != '\r')) {
    return MOQC_ERR_MALFORMED;
  }
  *status = code;
  *body_off = end;
  return 0;
}

int cli_cert_body_parse(const char *body, size_t len, uint8_t out[32]) {
  char hex[128];
  size_t a = 0, b = len;

  while (a < b && (body[a] == ' ' || body[a] == '\t' || body[a] == '\r' || body[a] == '\n')) {
    a++;
  }
  while (b > a &&
         (body[b - 1] == ' ' || body[b - 1] == '\t' || body[b - 1] == '\r' || body[b - 1] == '\n')) {
    b--;
  }
  if (b - a == 0 || b - a >= sizeof(hex) || memchr(body + a, '\0', b - a) != NULL) {
    return -1;
  }
  memcpy(hex, body + a, b - a);
  hex[b - a] = '\0';
  return cli_fingerprint_parse(hex, out);
}
