/*
 * Strict incremental HTTP/1.1 request-head parser and response-head writer (see http1.h).
 */
#include "wire/http1.h"

#include <string.h>

/* The most empty lines tolerated before the request line (RFC 9112 2.2 says "at least one"). */
#define HTTP1_MAX_LEADING_EMPTY 4U

static const moqc_str http1_slash = {"/", 1};

void moqc__http1_init(moqc__http1_request *req) {
  memset(req, 0, sizeof(*req));
  req->content_length = -1;
}

/* RFC 9110 tchar. */
static bool http1_is_tchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
  case '.': case '^': case '_': case '`': case '|': case '~':
    return true;
  default:
    return false;
  }
}

static char http1_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool moqc__http1_str_ieq(moqc_str a, const char *b) {
  size_t n = strlen(b);
  if (a.len != n) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (http1_lower(a.ptr[i]) != http1_lower(b[i])) {
      return false;
    }
  }
  return true;
}

static int http1_fail(moqc__http1_request *req, int status, const char *why) {
  req->status = status;
  req->error = why;
  return MOQC_ERR_MALFORMED;
}

static moqc_str http1_view(const uint8_t *buf, size_t off, size_t len) {
  moqc_str s;
  s.ptr = (const char *)buf + off;
  s.len = len;
  return s;
}

/* Splits target (already in req) into path and query, resolving the absolute form. */
static int http1_split_target(moqc__http1_request *req, const uint8_t *buf) {
  moqc_str t = http1_view(buf, req->target_off, req->target_len);
  const char *q, *path;
  size_t plen;

  if (memchr(t.ptr, '#', t.len) != NULL) {
    return http1_fail(req, 400, "fragment in request target");
  }
  if (t.len == 1 && t.ptr[0] == '*') {
    if (!moqc__http1_str_ieq(http1_view(buf, req->method_off, req->method_len), "OPTIONS")) {
      return http1_fail(req, 400, "asterisk target outside OPTIONS");
    }
    req->path = t;
    return 0;
  }
  if (t.ptr[0] == '/') {
    path = t.ptr;
    plen = t.len;
  } else {
    /* absolute-form: scheme "://" authority [path] */
    const char *sep = NULL, *auth;
    for (size_t i = 0; i + 2 < t.len; i++) {
      if (t.ptr[i] == ':' && t.ptr[i + 1] == '/' && t.ptr[i + 2] == '/') {
        sep = t.ptr + i;
        break;
      }
      if (!((t.ptr[i] >= 'a' && t.ptr[i] <= 'z') || (t.ptr[i] >= 'A' && t.ptr[i] <= 'Z') ||
            (i > 0 && ((t.ptr[i] >= '0' && t.ptr[i] <= '9') || t.ptr[i] == '+' ||
                       t.ptr[i] == '-' || t.ptr[i] == '.')))) {
        break;
      }
    }
    if (sep == NULL || sep == t.ptr) {
      return http1_fail(req, 400, "unsupported request target form");
    }
    auth = sep + 3;
    path = auth;
    while (path < t.ptr + t.len && *path != '/' && *path != '?') {
      path++;
    }
    if (path == auth) {
      return http1_fail(req, 400, "empty authority in absolute target");
    }
    plen = (size_t)(t.ptr + t.len - path);
  }
  q = memchr(path, '?', plen);
  if (q != NULL) {
    req->path.ptr = path;
    req->path.len = (size_t)(q - path);
    req->query.ptr = q + 1;
    req->query.len = plen - req->path.len - 1;
  } else {
    req->path.ptr = path;
    req->path.len = plen;
  }
  if (req->path.len == 0) {
    req->path = http1_slash; /* "http://host?x" means path "/" */
  }
  return 0;
}

/* Parses the request line buf[off, off+len) (CRLF excluded). */
static int http1_request_line(moqc__http1_request *req, const uint8_t *buf, size_t off,
                              size_t len) {
  const uint8_t *s = buf + off, *end = s + len, *t;

  t = s;
  while (s < end && http1_is_tchar(*s)) {
    s++;
  }
  if (s == t || s == end || *s != ' ') {
    return http1_fail(req, 400, (s < end && *s == '\r') ? "bare CR" : "invalid method");
  }
  req->method_off = (uint16_t)(t - buf);
  req->method_len = (uint16_t)(s - t);
  s++;
  t = s;
  while (s < end && *s > 0x20 && *s < 0x7f) {
    s++;
  }
  if (s == t || s == end || *s != ' ') {
    if (s < end && *s == '\r') {
      return http1_fail(req, 400, "bare CR");
    }
    return http1_fail(req, 400, "invalid request target");
  }
  req->target_off = (uint16_t)(t - buf);
  req->target_len = (uint16_t)(s - t);
  s++;
  if ((size_t)(end - s) != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
      s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9') {
    return http1_fail(req, 400, "invalid HTTP version");
  }
  if (s[5] != '1' || (s[7] != '0' && s[7] != '1')) {
    return http1_fail(req, 505, "unsupported HTTP version");
  }
  req->version_minor = s[7] - '0';
  return 0;
}

/* Parses one header line buf[off, off+len) (CRLF excluded, len > 0). */
static int http1_header_line(moqc__http1_request *req, const uint8_t *buf, size_t off,
                             size_t len) {
  const uint8_t *s = buf + off, *end = s + len, *name = s, *v, *ve;
  moqc__http1_span *sp;

  if (*s == ' ' || *s == '\t') {
    return http1_fail(req, 400, "obsolete line folding");
  }
  while (s < end && http1_is_tchar(*s)) {
    s++;
  }
  if (s == end || *s != ':') {
    if (s < end && (*s == ' ' || *s == '\t') && s > name) {
      return http1_fail(req, 400, "whitespace before colon");
    }
    if (s < end && *s == '\r') {
      return http1_fail(req, 400, "bare CR");
    }
    return http1_fail(req, 400, "invalid header name");
  }
  if (s == name) {
    return http1_fail(req, 400, "empty header name");
  }
  if (req->n_headers == MOQC__HTTP1_MAX_HEADERS) {
    return http1_fail(req, 431, "too many headers");
  }
  sp = &req->spans[req->n_headers];
  sp->name_off = (uint16_t)(name - buf);
  sp->name_len = (uint16_t)(s - name);
  s++;
  while (s < end && (*s == ' ' || *s == '\t')) {
    s++;
  }
  v = s;
  for (; s < end; s++) {
    uint8_t c = *s;
    if (c == '\r') {
      return http1_fail(req, 400, "bare CR");
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return http1_fail(req, 400, "control character in header value");
    }
  }
  ve = end;
  while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
    ve--;
  }
  sp->value_off = (uint16_t)(v - buf);
  sp->value_len = (uint16_t)(ve - v);
  req->n_headers++;
  return 0;
}

static bool http1_host_valid(moqc_str h) {
  for (size_t i = 0; i < h.len; i++) {
    char c = h.ptr[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("-._~!$&'()*+,;=:[]%", c) != NULL) ||
        c == '\0') {
      return false;
    }
  }
  return true;
}

/* The head is complete: build the views and apply the semantic checks. */
static int http1_finish(moqc__http1_request *req, const uint8_t *buf) {
  size_t n_host = 0, n_cl = 0, n_te = 0;
  const moqc__http1_header *te = NULL;
  int rv;

  req->method = http1_view(buf, req->method_off, req->method_len);
  req->target = http1_view(buf, req->target_off, req->target_len);
  req->path.ptr = NULL;
  req->path.len = 0;
  req->query.ptr = "";
  req->query.len = 0;
  req->host.ptr = "";
  req->host.len = 0;
  for (size_t i = 0; i < req->n_headers; i++) {
    moqc__http1_header *h = &req->headers[i];
    h->name = http1_view(buf, req->spans[i].name_off, req->spans[i].name_len);
    h->value = http1_view(buf, req->spans[i].value_off, req->spans[i].value_len);
  }
  rv = http1_split_target(req, buf);
  if (rv != 0) {
    return rv;
  }
  for (size_t i = 0; i < req->n_headers; i++) {
    const moqc__http1_header *h = &req->headers[i];
    if (moqc__http1_str_ieq(h->name, "host")) {
      if (++n_host > 1) {
        return http1_fail(req, 400, "duplicate Host");
      }
      if (!http1_host_valid(h->value)) {
        return http1_fail(req, 400, "invalid Host");
      }
      req->host = h->value;
    } else if (moqc__http1_str_ieq(h->name, "content-length")) {
      uint64_t v;
      if (++n_cl > 1) {
        return http1_fail(req, 400, "duplicate Content-Length");
      }
      if (moqc__http1_parse_u64(h->value, MOQC__HTTP1_MAX_CONTENT_LENGTH, &v) != 0) {
        return http1_fail(req, 400, "invalid Content-Length");
      }
      req->content_length = (int64_t)v;
    } else if (moqc__http1_str_ieq(h->name, "transfer-encoding")) {
      n_te++;
      te = h;
    }
  }
  if (n_host == 0 && req->version_minor == 1) {
    return http1_fail(req, 400, "missing Host");
  }
  if (n_te > 0) {
    if (moqc__http1_str_ieq(req->method, "GET") || moqc__http1_str_ieq(req->method, "HEAD")) {
      return http1_fail(req, 400, "Transfer-Encoding on GET or HEAD");
    }
    if (n_cl > 0) {
      return http1_fail(req, 400, "Transfer-Encoding with Content-Length");
    }
    if (req->version_minor == 0) {
      return http1_fail(req, 400, "Transfer-Encoding in HTTP/1.0");
    }
    if (n_te > 1 || !moqc__http1_str_ieq(te->value, "chunked")) {
      return http1_fail(req, 501, "unsupported Transfer-Encoding");
    }
    req->chunked = true;
  }
  return 0;
}

int moqc__http1_parse(moqc__http1_request *req, const uint8_t *buf, size_t len) {
  for (;;) {
    size_t pos = req->scan, from = pos, line_len, next;
    const uint8_t *lf;
    int rv;

    if (len > pos) {
      lf = memchr(buf + from, '\n', len - from);
    } else {
      lf = NULL;
    }
    if (lf == NULL) {
      /* Incomplete line: fail early once it can no longer fit. */
      size_t partial = len > pos ? len - pos : 0;
      if (partial > MOQC__HTTP1_MAX_LINE + 1) {
        return req->have_line ? http1_fail(req, 431, "header line too long")
                              : http1_fail(req, 414, "request line too long");
      }
      if (len > MOQC__HTTP1_MAX_HEAD) {
        return http1_fail(req, 431, "request head too large");
      }
      return MOQC_ERR_INCOMPLETE;
    }
    next = (size_t)(lf - buf) + 1;
    if (lf == buf + pos || lf[-1] != '\r') {
      return http1_fail(req, 400, "bare LF");
    }
    line_len = (size_t)(lf - buf) - 1 - pos;
    if (line_len > MOQC__HTTP1_MAX_LINE) {
      return req->have_line ? http1_fail(req, 431, "header line too long")
                            : http1_fail(req, 414, "request line too long");
    }
    if (next > MOQC__HTTP1_MAX_HEAD) {
      return http1_fail(req, 431, "request head too large");
    }
    if (!req->have_line) {
      if (line_len == 0) {
        if (++req->leading > HTTP1_MAX_LEADING_EMPTY) {
          return http1_fail(req, 400, "too many empty lines before the request line");
        }
        req->scan = next;
        continue;
      }
      rv = http1_request_line(req, buf, pos, line_len);
      if (rv != 0) {
        return rv;
      }
      req->have_line = true;
    } else if (line_len == 0) {
      req->scan = next;
      req->head_len = next;
      return http1_finish(req, buf);
    } else {
      rv = http1_header_line(req, buf, pos, line_len);
      if (rv != 0) {
        return rv;
      }
    }
    req->scan = next;
  }
}

const moqc__http1_header *moqc__http1_header_next(const moqc__http1_request *req,
                                                  const char *name, size_t *index) {
  for (size_t i = *index; i < req->n_headers; i++) {
    if (moqc__http1_str_ieq(req->headers[i].name, name)) {
      *index = i + 1;
      return &req->headers[i];
    }
  }
  *index = req->n_headers;
  return NULL;
}

const moqc__http1_header *moqc__http1_header_get(const moqc__http1_request *req,
                                                 const char *name) {
  size_t i = 0;
  return moqc__http1_header_next(req, name, &i);
}

bool moqc__http1_list_has(moqc_str value, const char *token) {
  const char *s = value.ptr, *end = value.ptr + value.len;

  while (s < end) {
    const char *t, *e;
    while (s < end && (*s == ' ' || *s == '\t' || *s == ',')) {
      s++;
    }
    t = s;
    while (s < end && *s != ',') {
      s++;
    }
    e = s;
    while (e > t && (e[-1] == ' ' || e[-1] == '\t')) {
      e--;
    }
    if (e > t) {
      moqc_str item = {t, (size_t)(e - t)};
      if (moqc__http1_str_ieq(item, token)) {
        return true;
      }
    }
  }
  return false;
}

static int http1_hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = http1_lower(c);
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

moqc_ssize moqc__http1_pct_decode(char *out, size_t cap, moqc_str in, bool plus_is_space) {
  size_t o = 0;

  for (size_t i = 0; i < in.len; i++) {
    char c = in.ptr[i];
    if (c == '%') {
      int hi, lo;
      if (in.len - i < 3) {
        return MOQC_ERR_MALFORMED; /* fewer than two characters follow */
      }
      hi = http1_hex(in.ptr[i + 1]);
      lo = http1_hex(in.ptr[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        return MOQC_ERR_MALFORMED;
      }
      c = (char)(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (o == cap) {
      return MOQC_ERR_NOBUF;
    }
    out[o++] = c;
  }
  return (moqc_ssize)o;
}

int moqc__http1_query_get(moqc_str query, const char *key, moqc_str *value) {
  const char *s = query.ptr, *end = query.ptr + query.len;
  size_t klen = strlen(key);

  while (s < end) {
    const char *part = s, *eq, *pe;
    char kbuf[256];
    moqc_ssize kn;
    moqc_str k;
    while (s < end && *s != '&') {
      s++;
    }
    pe = s;
    if (s < end) {
      s++;
    }
    eq = memchr(part, '=', (size_t)(pe - part));
    k.ptr = part;
    k.len = (size_t)((eq != NULL ? eq : pe) - part);
    if (k.len == 0 || k.len > sizeof(kbuf)) {
      continue;
    }
    kn = moqc__http1_pct_decode(kbuf, sizeof(kbuf), k, true);
    if (kn < 0 || (size_t)kn != klen || memcmp(kbuf, key, klen) != 0) {
      continue;
    }
    if (eq != NULL) {
      value->ptr = eq + 1;
      value->len = (size_t)(pe - eq - 1);
    } else {
      value->ptr = pe;
      value->len = 0;
    }
    return 0;
  }
  return MOQC_ERR_NOT_FOUND;
}

int moqc__http1_parse_u64(moqc_str s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;

  if (s.len == 0) {
    return MOQC_ERR_MALFORMED;
  }
  for (size_t i = 0; i < s.len; i++) {
    unsigned d;
    if (s.ptr[i] < '0' || s.ptr[i] > '9') {
      return MOQC_ERR_MALFORMED;
    }
    d = (unsigned)(s.ptr[i] - '0');
    if (v > (max - d) / 10) {
      return MOQC_ERR_MALFORMED;
    }
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int moqc__http1_parse_fetch(moqc_str path, moqc_str query, char *buf, size_t cap,
                            moqc__http1_fetch *out) {
  static const char prefix[] = "/fetch/";
  const size_t plen = sizeof(prefix) - 1;
  moqc_str rest, bc, tr, g;
  const char *slash = NULL;
  moqc_ssize bn, tn;
  moqc__http1_fetch f;

  if (path.len < plen || memcmp(path.ptr, prefix, plen) != 0) {
    return MOQC_ERR_NOT_FOUND;
  }
  rest.ptr = path.ptr + plen;
  rest.len = path.len - plen;
  for (size_t i = rest.len; i > 0; i--) {
    if (rest.ptr[i - 1] == '/') {
      slash = rest.ptr + i - 1;
      break;
    }
  }
  if (slash == NULL || slash == rest.ptr || slash == rest.ptr + rest.len - 1) {
    return MOQC_ERR_MALFORMED;
  }
  bc.ptr = rest.ptr;
  bc.len = (size_t)(slash - rest.ptr);
  tr.ptr = slash + 1;
  tr.len = (size_t)(rest.ptr + rest.len - tr.ptr);
  bn = moqc__http1_pct_decode(buf, cap, bc, false);
  if (bn < 0) {
    return (int)bn;
  }
  tn = moqc__http1_pct_decode(buf + bn, cap - (size_t)bn, tr, false);
  if (tn < 0) {
    return (int)tn;
  }
  if (memchr(buf + bn, '/', (size_t)tn) != NULL) {
    return MOQC_ERR_MALFORMED;
  }
  f.broadcast.ptr = buf;
  f.broadcast.len = (size_t)bn;
  f.track.ptr = buf + bn;
  f.track.len = (size_t)tn;
  f.latest = true;
  f.group = 0;
  if (moqc__http1_query_get(query, "group", &g) == 0 && !moqc__http1_str_ieq(g, "latest")) {
    if (moqc__http1_parse_u64(g, MOQC_VARINT_MAX, &f.group) != 0) {
      return MOQC_ERR_MALFORMED;
    }
    f.latest = false;
  }
  *out = f;
  return 0;
}

const char *moqc__http1_reason(int status) {
  switch (status) {
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

static bool http1_value_ok(moqc_str v) {
  for (size_t i = 0; i < v.len; i++) {
    uint8_t c = (uint8_t)v.ptr[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  return true;
}

static bool http1_name_ok(moqc_str n) {
  if (n.len == 0) {
    return false;
  }
  for (size_t i = 0; i < n.len; i++) {
    if (!http1_is_tchar((uint8_t)n.ptr[i])) {
      return false;
    }
  }
  return true;
}

void moqc__http1_response_head(moqc__writer *w, int status, const moqc__http1_header *headers,
                               size_t n) {
  const char *reason = moqc__http1_reason(status);
  char code[3];

  if (w->err != 0) {
    return;
  }
  if (status < 100 || status > 999) {
    w->err = MOQC_ERR_INVALID_ARGUMENT;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!http1_name_ok(headers[i].name) || !http1_value_ok(headers[i].value)) {
      w->err = MOQC_ERR_INVALID_ARGUMENT;
      return;
    }
  }
  code[0] = (char)('0' + status / 100);
  code[1] = (char)('0' + status / 10 % 10);
  code[2] = (char)('0' + status % 10);
  moqc__put_raw(w, "HTTP/1.1 ", 9);
  moqc__put_raw(w, code, 3);
  moqc__put_u8(w, ' ');
  moqc__put_raw(w, reason, strlen(reason));
  moqc__put_raw(w, "\r\n", 2);
  for (size_t i = 0; i < n; i++) {
    moqc__put_raw(w, headers[i].name.ptr, headers[i].name.len);
    moqc__put_raw(w, ": ", 2);
    moqc__put_raw(w, headers[i].value.ptr, headers[i].value.len);
    moqc__put_raw(w, "\r\n", 2);
  }
  moqc__put_raw(w, "\r\n", 2);
}

void moqc__http1_response_simple(moqc__writer *w, int status, const char *content_type,
                                 uint64_t content_length, const char *cors_origin, bool close) {
  moqc__http1_header h[4];
  size_t n = 0;
  char num[24];
  size_t len = 0;
  uint64_t v = content_length;

  do {
    num[sizeof(num) - 1 - len] = (char)('0' + v % 10);
    v /= 10;
    len++;
  } while (v != 0);
  if (content_type != NULL) {
    h[n].name = moqc_str_c("Content-Type");
    h[n++].value = moqc_str_c(content_type);
  }
  h[n].name = moqc_str_c("Content-Length");
  h[n].value.ptr = num + sizeof(num) - len;
  h[n++].value.len = len;
  if (cors_origin != NULL) {
    h[n].name = moqc_str_c("Access-Control-Allow-Origin");
    h[n++].value = moqc_str_c(cors_origin);
  }
  if (close) {
    h[n].name = moqc_str_c("Connection");
    h[n++].value = moqc_str_c("close");
  }
  moqc__http1_response_head(w, status, h, n);
}
