/*
 * WebSocket opening handshake (see websocket.h).
 */
#include "wire/websocket.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

static const char ws_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t moqc__base64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0, i = 0;

  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = ws_b64[v >> 18];
    out[o++] = ws_b64[(v >> 12) & 63];
    out[o++] = ws_b64[(v >> 6) & 63];
    out[o++] = ws_b64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = ws_b64[v >> 18];
    out[o++] = ws_b64[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = ws_b64[v >> 18];
    out[o++] = ws_b64[(v >> 12) & 63];
    out[o++] = ws_b64[(v >> 6) & 63];
    out[o++] = '=';
  }
  return o;
}

int moqc__base64_value(char c, bool url) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == (url ? '-' : '+')) {
    return 62;
  }
  if (c == (url ? '_' : '/')) {
    return 63;
  }
  return -1;
}

moqc_ssize moqc__base64_decode(moqc_str in, uint8_t *out, size_t cap) {
  size_t o = 0;

  if (in.len % 4 != 0) {
    return MOQC_ERR_MALFORMED;
  }
  for (size_t i = 0; i < in.len; i += 4) {
    int v[4];
    size_t pad = 0, take;
    uint32_t bits;
    bool last = i + 4 == in.len;
    for (size_t j = 0; j < 4; j++) {
      char c = in.ptr[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        pad++;
        continue;
      }
      if (pad > 0) {
        return MOQC_ERR_MALFORMED; /* data after '=' */
      }
      v[j] = moqc__base64_value(c, false);
      if (v[j] < 0) {
        return MOQC_ERR_MALFORMED;
      }
    }
    bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    if ((pad == 1 && (bits & 0xff) != 0) || (pad == 2 && (bits & 0xffff) != 0)) {
      return MOQC_ERR_MALFORMED; /* non-canonical: unused bits set */
    }
    take = 3 - pad;
    if (cap - o < take) {
      return MOQC_ERR_NOBUF;
    }
    out[o++] = (uint8_t)(bits >> 16);
    if (take > 1) {
      out[o++] = (uint8_t)(bits >> 8);
    }
    if (take > 2) {
      out[o++] = (uint8_t)bits;
    }
  }
  return (moqc_ssize)o;
}

int moqc__ws_accept(moqc_str key, char out[MOQC__WS_ACCEPT_LEN]) {
  uint8_t buf[64 + sizeof(ws_guid)];
  uint8_t digest[20];

  if (key.len > 64) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  memcpy(buf, key.ptr, key.len);
  memcpy(buf + key.len, ws_guid, sizeof(ws_guid) - 1);
  if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, key.len + sizeof(ws_guid) - 1, digest) != 0) {
    return MOQC_ERR_INTERNAL;
  }
  (void)moqc__base64_encode(digest, sizeof(digest), out);
  return 0;
}

static int ws_fail(int *status, const char **error, int st, const char *why) {
  if (status != NULL) {
    *status = st;
  }
  if (error != NULL) {
    *error = why;
  }
  return MOQC_ERR_MALFORMED;
}

int moqc__ws_check_upgrade(const moqc__http1_request *req, moqc__ws_upgrade *out, int *status,
                           const char **error) {
  const moqc__http1_header *h;
  moqc__ws_upgrade u;
  size_t idx = 0;
  bool is_ws = false;
  uint8_t raw[18];

  idx = 0;
  while ((h = moqc__http1_header_next(req, "upgrade", &idx)) != NULL) {
    if (moqc__http1_list_has(h->value, "websocket")) {
      is_ws = true;
    }
  }
  if (!is_ws) {
    return MOQC_ERR_NOT_FOUND;
  }
  memset(&u, 0, sizeof(u));
  u.origin.ptr = "";
  if (!moqc__http1_str_ieq(req->method, "GET")) {
    return ws_fail(status, error, 400, "WebSocket upgrade must use GET");
  }
  if (req->version_minor != 1) {
    return ws_fail(status, error, 400, "WebSocket upgrade needs HTTP/1.1");
  }
  {
    bool conn = false;
    idx = 0;
    while ((h = moqc__http1_header_next(req, "connection", &idx)) != NULL) {
      if (moqc__http1_list_has(h->value, "upgrade")) {
        conn = true;
      }
    }
    if (!conn) {
      return ws_fail(status, error, 400, "Connection header lacks upgrade");
    }
  }
  idx = 0;
  h = moqc__http1_header_next(req, "sec-websocket-version", &idx);
  if (h == NULL || moqc__http1_header_next(req, "sec-websocket-version", &idx) != NULL ||
      !moqc_str_eq(h->value, moqc_str_c("13"))) {
    return ws_fail(status, error, 426, "Sec-WebSocket-Version must be 13");
  }
  idx = 0;
  h = moqc__http1_header_next(req, "sec-websocket-key", &idx);
  if (h == NULL) {
    return ws_fail(status, error, 400, "missing Sec-WebSocket-Key");
  }
  if (moqc__http1_header_next(req, "sec-websocket-key", &idx) != NULL) {
    return ws_fail(status, error, 400, "repeated Sec-WebSocket-Key");
  }
  if (h->value.len != MOQC__WS_KEY_LEN ||
      moqc__base64_decode(h->value, raw, sizeof(raw)) != 16) {
    return ws_fail(status, error, 400, "invalid Sec-WebSocket-Key");
  }
  u.key = h->value;
  idx = 0;
  while ((h = moqc__http1_header_next(req, "sec-websocket-protocol", &idx)) != NULL) {
    if (u.n_protocols == MOQC__WS_MAX_PROTOCOL_HEADERS) {
      return ws_fail(status, error, 400, "too many Sec-WebSocket-Protocol headers");
    }
    u.protocols[u.n_protocols++] = h->value;
  }
  h = moqc__http1_header_get(req, "origin");
  if (h != NULL) {
    u.origin = h->value;
  }
  *out = u;
  return 0;
}

void moqc__ws_response_101(moqc__writer *w, const char accept[MOQC__WS_ACCEPT_LEN],
                           moqc_str protocol) {
  moqc__http1_header h[4];
  size_t n = 0;

  for (size_t i = 0; i < protocol.len; i++) {
    char c = protocol.ptr[i];
    if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL) {
      if (w->err == 0) {
        w->err = MOQC_ERR_INVALID_ARGUMENT;
      }
      return;
    }
  }
  h[n].name = moqc_str_c("Upgrade");
  h[n++].value = moqc_str_c("websocket");
  h[n].name = moqc_str_c("Connection");
  h[n++].value = moqc_str_c("Upgrade");
  h[n].name = moqc_str_c("Sec-WebSocket-Accept");
  h[n].value.ptr = accept;
  h[n++].value.len = MOQC__WS_ACCEPT_LEN;
  if (protocol.len > 0) {
    h[n].name = moqc_str_c("Sec-WebSocket-Protocol");
    h[n++].value = protocol;
  }
  moqc__http1_response_head(w, 101, h, n);
}

void moqc__ws_response_error(moqc__writer *w, int status) {
  moqc__http1_header h[3];
  size_t n = 0;

  h[n].name = moqc_str_c("Content-Length");
  h[n++].value = moqc_str_c("0");
  h[n].name = moqc_str_c("Connection");
  h[n++].value = moqc_str_c("close");
  if (status == 426) {
    h[n].name = moqc_str_c("Sec-WebSocket-Version");
    h[n++].value = moqc_str_c("13");
  }
  moqc__http1_response_head(w, status, h, n);
}

int moqc__ws_server_handshake(const moqc__http1_request *req, const moqc_str *alpns,
                              size_t n_alpns, moqc__writer *w, moqc__qmux_choice *choice,
                              int *status) {
  moqc__ws_upgrade u;
  moqc__qmux_choice c;
  char accept[MOQC__WS_ACCEPT_LEN];
  int st = 400, rv = moqc__ws_check_upgrade(req, &u, &st, NULL);

  if (rv == MOQC_ERR_NOT_FOUND) {
    return rv;
  }
  if (rv == 0) {
    rv = moqc__qmux_select_protocol(u.protocols, u.n_protocols, alpns, n_alpns, &c);
    if (rv != 0) {
      st = 400;
      rv = MOQC_ERR_MALFORMED;
    }
  }
  if (rv == 0) {
    rv = moqc__ws_accept(u.key, accept);
    if (rv != 0) {
      st = 500;
    }
  }
  if (rv != 0) {
    if (status != NULL) {
      *status = st;
    }
    moqc__ws_response_error(w, st);
    return rv;
  }
  moqc__ws_response_101(w, accept, c.protocol);
  *choice = c;
  if (status != NULL) {
    *status = 101;
  }
  return 0;
}
