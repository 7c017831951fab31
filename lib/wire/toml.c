/*
 * TOML subset reader (see toml.h).
 *
 * Strings and keys are unescaped into one arena allocated up front (its size is bounded by the
 * input length, so views into it never move); nodes live in an array that grows during the
 * parse and is linked by index.
 */
#include "wire/toml.h"

#include <string.h>

#define TOML_NONE UINT32_MAX
/* Node flags. */
#define TOML_F_HEADER 0x1U /* defined by a [table] header */
#define TOML_F_DOTTED 0x2U /* created by a dotted key */

struct moqc__toml_node {
  const moqc__toml_doc *doc;
  moqc__toml_type type;
  uint32_t parent, first, last, next, count;
  moqc_str key;
  moqc_str str;
  int64_t i;
  bool b;
  unsigned flags;
  unsigned line, col;
};

struct moqc__toml_doc {
  const moqc_mem *mem;
  char *arena;
  size_t arena_len, arena_cap;
  moqc__toml_node *nodes;
  uint32_t n_nodes, cap_nodes;
};

typedef struct toml_parser {
  const char *s;
  size_t pos, len;
  unsigned line;
  size_t line_start;
  moqc__toml_doc *doc;
  uint32_t cur; /* current table */
  moqc__toml_error *err;
  int rv; /* MOQC_ERR_MALFORMED or MOQC_ERR_NOMEM once failed */
} toml_parser;

/* ---- errors ---- */

/* Writes the dotted key of node idx to buf (capacity cap, NUL-terminated, cut when long).
 * Array elements contribute nothing: the key is that of the array. */
static size_t toml_key_path(const moqc__toml_doc *doc, uint32_t idx, char *buf, size_t cap) {
  uint32_t chain[MOQC__TOML_MAX_DEPTH + 2];
  size_t depth = 0, n = 0;

  buf[0] = '\0';
  while (idx != TOML_NONE && idx != 0 && depth < sizeof(chain) / sizeof(chain[0])) {
    const moqc__toml_node *nd = &doc->nodes[idx];
    if (doc->nodes[nd->parent].type == MOQC__TOML_TABLE) {
      chain[depth++] = idx;
    }
    idx = nd->parent;
  }
  while (depth > 0) {
    const moqc__toml_node *nd = &doc->nodes[chain[--depth]];
    size_t k = nd->key.len;
    if (n > 0 && n + 1 < cap) {
      buf[n++] = '.';
    }
    if (k > cap - 1 - n) {
      k = cap - 1 - n;
    }
    memcpy(buf + n, nd->key.ptr, k);
    n += k;
    buf[n] = '\0';
  }
  return n;
}

/* Records an error at byte offset at, for the key of node idx (+ extra part). */
static int toml_fail(toml_parser *P, size_t at, uint32_t idx, moqc_str extra, const char *msg) {
  if (P->rv != 0) {
    return P->rv;
  }
  P->rv = MOQC_ERR_MALFORMED;
  if (P->err != NULL) {
    moqc__toml_error *e = P->err;
    size_t n;
    /* Column: count bytes from the start of the line holding at. */
    size_t ls = P->line_start;
    unsigned line = P->line;
    if (at < ls) {
      /* at lies on an earlier line (only when reporting a key's own position): recount. */
      line = 1;
      ls = 0;
      for (size_t i = 0; i < at; i++) {
        if (P->s[i] == '\n') {
          line++;
          ls = i + 1;
        }
      }
    }
    e->line = line;
    e->column = (unsigned)(at - ls + 1);
    e->message = msg;
    n = toml_key_path(P->doc, idx, e->key, sizeof(e->key));
    if (extra.len > 0) {
      size_t k = extra.len;
      if (n > 0 && n + 1 < sizeof(e->key)) {
        e->key[n++] = '.';
      }
      if (k > sizeof(e->key) - 1 - n) {
        k = sizeof(e->key) - 1 - n;
      }
      memcpy(e->key + n, extra.ptr, k);
      e->key[n + k] = '\0';
    }
  }
  return P->rv;
}

static const moqc_str toml_nostr = {"", 0};

/* ---- nodes ---- */

static uint32_t toml_new_node(toml_parser *P, moqc__toml_type type, uint32_t parent,
                              moqc_str key, size_t at) {
  moqc__toml_doc *doc = P->doc;
  moqc__toml_node *nd;
  uint32_t idx;

  if (doc->n_nodes == MOQC__TOML_MAX_NODES) {
    toml_fail(P, at, parent, key, "too many keys and values");
    return TOML_NONE;
  }
  if (doc->n_nodes == doc->cap_nodes) {
    uint32_t cap = doc->cap_nodes * 2;
    moqc__toml_node *nn;
    if (cap > MOQC__TOML_MAX_NODES) {
      cap = MOQC__TOML_MAX_NODES;
    }
    nn = moqc_mem_realloc(doc->mem, doc->nodes, cap * sizeof(*nn));
    if (nn == NULL) {
      P->rv = MOQC_ERR_NOMEM;
      return TOML_NONE;
    }
    doc->nodes = nn;
    doc->cap_nodes = cap;
  }
  idx = doc->n_nodes++;
  nd = &doc->nodes[idx];
  memset(nd, 0, sizeof(*nd));
  nd->doc = doc;
  nd->type = type;
  nd->parent = parent;
  nd->first = nd->last = nd->next = TOML_NONE;
  nd->key = key;
  nd->str = toml_nostr;
  nd->line = P->line;
  nd->col = (unsigned)(at - P->line_start + 1);
  if (parent != TOML_NONE) {
    moqc__toml_node *pa = &doc->nodes[parent];
    if (pa->last == TOML_NONE) {
      pa->first = idx;
    } else {
      doc->nodes[pa->last].next = idx;
    }
    pa->last = idx;
    pa->count++;
  }
  return idx;
}

static uint32_t toml_find(const moqc__toml_doc *doc, uint32_t table, moqc_str key) {
  for (uint32_t c = doc->nodes[table].first; c != TOML_NONE; c = doc->nodes[c].next) {
    if (moqc_str_eq(doc->nodes[c].key, key)) {
      return c;
    }
  }
  return TOML_NONE;
}

/* ---- lexing ---- */

static bool toml_eof(const toml_parser *P) { return P->pos >= P->len; }

static char toml_peek(const toml_parser *P, size_t ahead) {
  return P->pos + ahead < P->len ? P->s[P->pos + ahead] : '\0';
}

static void toml_skip_ws(toml_parser *P) {
  while (!toml_eof(P) && (P->s[P->pos] == ' ' || P->s[P->pos] == '\t')) {
    P->pos++;
  }
}

/* Skips a comment if one starts here. Control characters other than tab are errors. */
static int toml_skip_comment(toml_parser *P) {
  if (toml_eof(P) || P->s[P->pos] != '#') {
    return 0;
  }
  while (!toml_eof(P) && P->s[P->pos] != '\n') {
    unsigned char c = (unsigned char)P->s[P->pos];
    if (c == '\r' && toml_peek(P, 1) == '\n') {
      break;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return toml_fail(P, P->pos, TOML_NONE, toml_nostr, "control character in comment");
    }
    P->pos++;
  }
  return 0;
}

/* Consumes a newline (LF or CRLF) if one is here; returns true when it did. */
static bool toml_newline(toml_parser *P) {
  if (toml_peek(P, 0) == '\n') {
    P->pos++;
  } else if (toml_peek(P, 0) == '\r' && toml_peek(P, 1) == '\n') {
    P->pos += 2;
  } else {
    return false;
  }
  P->line++;
  P->line_start = P->pos;
  return true;
}

/* After a header or a value: whitespace, optional comment, then newline or end of input. */
static int toml_end_of_line(toml_parser *P, uint32_t idx, const char *msg) {
  toml_skip_ws(P);
  if (toml_skip_comment(P) != 0) {
    return P->rv;
  }
  if (toml_eof(P) || toml_newline(P)) {
    return 0;
  }
  if (toml_peek(P, 0) == '\r') {
    msg = "bare CR";
  }
  return toml_fail(P, P->pos, idx, toml_nostr, msg);
}

static char *toml_arena_alloc(toml_parser *P, size_t n) {
  moqc__toml_doc *doc = P->doc;
  char *p;
  if (n > doc->arena_cap - doc->arena_len) {
    P->rv = MOQC_ERR_INTERNAL; /* cannot happen: the arena is sized by the input */
    return NULL;
  }
  p = doc->arena + doc->arena_len;
  doc->arena_len += n;
  return p;
}

/* Appends the UTF-8 encoding of cp to out. */
static size_t toml_utf8_put(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/*
 * Parses a basic ("...") or literal ('...') single-line string at P->pos into the arena.
 * max bounds its length. idx/extra name the key for errors.
 */
static int toml_string(toml_parser *P, size_t max, uint32_t idx, moqc_str extra, moqc_str *out) {
  char q = P->s[P->pos];
  size_t start = P->pos, n = 0;
  char *dst;

  if (toml_peek(P, 1) == q && toml_peek(P, 2) == q) {
    return toml_fail(P, start, idx, extra, "multi-line strings are not supported");
  }
  /* Unescaped output never exceeds the raw bytes, so reserve what remains of this line. */
  dst = P->doc->arena + P->doc->arena_len;
  P->pos++;
  for (;;) {
    unsigned char c;
    if (toml_eof(P) || P->s[P->pos] == '\n') {
      return toml_fail(P, start, idx, extra, "unterminated string");
    }
    c = (unsigned char)P->s[P->pos];
    if (c == (unsigned char)q) {
      P->pos++;
      break;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return toml_fail(P, P->pos, idx, extra, "control character in string");
    }
    if (n >= max) {
      return toml_fail(P, start, idx, extra, max == MOQC__TOML_MAX_KEY ? "key too long"
                                                                       : "string too long");
    }
    if (q == '"' && c == '\\') {
      char e = toml_peek(P, 1);
      uint32_t cp = 0;
      size_t digits = 0;
      switch (e) {
      case 'b': dst[n++] = '\b'; break;
      case 't': dst[n++] = '\t'; break;
      case 'n': dst[n++] = '\n'; break;
      case 'f': dst[n++] = '\f'; break;
      case 'r': dst[n++] = '\r'; break;
      case '"': dst[n++] = '"'; break;
      case '\\': dst[n++] = '\\'; break;
      case 'u': digits = 4; break;
      case 'U': digits = 8; break;
      default:
        return toml_fail(P, P->pos, idx, extra, "invalid escape");
      }
      if (digits == 0) {
        P->pos += 2;
        continue;
      }
      for (size_t i = 0; i < digits; i++) {
        char h = toml_peek(P, 2 + i);
        int v = (h >= '0' && h <= '9')   ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (v < 0) {
          return toml_fail(P, P->pos, idx, extra, "invalid unicode escape");
        }
        cp = cp << 4 | (uint32_t)v;
      }
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return toml_fail(P, P->pos, idx, extra, "invalid unicode escape");
      }
      /* \uXXXX is 6 raw bytes, \UXXXXXXXX 10: both >= the 4-byte UTF-8 worst case. */
      if (n + 4 > max) {
        return toml_fail(P, start, idx, extra, max == MOQC__TOML_MAX_KEY ? "key too long"
                                                                         : "string too long");
      }
      n += toml_utf8_put(dst + n, cp);
      P->pos += 2 + digits;
      continue;
    }
    dst[n++] = (char)c;
    P->pos++;
  }
  if (toml_arena_alloc(P, n) == NULL) {
    return P->rv;
  }
  out->ptr = dst;
  out->len = n;
  return 0;
}

static bool toml_is_bare(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

/* Parses one key part (bare or quoted). */
static int toml_key_part(toml_parser *P, uint32_t idx, moqc_str *out) {
  char c = toml_peek(P, 0);
  if (c == '"' || c == '\'') {
    return toml_string(P, MOQC__TOML_MAX_KEY, idx, toml_nostr, out);
  }
  if (!toml_is_bare(c)) {
    return toml_fail(P, P->pos, idx, toml_nostr, "expected a key");
  }
  {
    size_t start = P->pos;
    char *dst;
    while (!toml_eof(P) && toml_is_bare(P->s[P->pos])) {
      P->pos++;
    }
    if (P->pos - start > MOQC__TOML_MAX_KEY) {
      moqc_str k = {P->s + start, MOQC__TOML_MAX_KEY};
      return toml_fail(P, start, idx, k, "key too long");
    }
    dst = toml_arena_alloc(P, P->pos - start);
    if (dst == NULL) {
      return P->rv;
    }
    memcpy(dst, P->s + start, P->pos - start);
    out->ptr = dst;
    out->len = P->pos - start;
  }
  return 0;
}

/* Parses a dotted key into parts[]; returns the count or a negative error. */
static int toml_key_path_parse(toml_parser *P, uint32_t idx, size_t depth0, moqc_str *parts,
                               size_t *pos_of) {
  size_t n = 0;
  for (;;) {
    toml_skip_ws(P);
    if (n + depth0 >= MOQC__TOML_MAX_DEPTH) {
      /* Name the whole dotted key parsed so far. */
      char joined[MOQC__TOML_ERROR_KEY];
      moqc_str j = {joined, 0};
      for (size_t i = 0; i < n; i++) {
        size_t k = parts[i].len;
        if (j.len > 0 && j.len < sizeof(joined)) {
          joined[j.len++] = '.';
        }
        if (k > sizeof(joined) - j.len) {
          k = sizeof(joined) - j.len;
        }
        memcpy(joined + j.len, parts[i].ptr, k);
        j.len += k;
      }
      return toml_fail(P, P->pos, idx, j, "keys nested too deep");
    }
    pos_of[n] = P->pos;
    if (toml_key_part(P, idx, &parts[n]) != 0) {
      return P->rv;
    }
    n++;
    toml_skip_ws(P);
    if (toml_peek(P, 0) != '.') {
      return (int)n;
    }
    P->pos++;
  }
}

static size_t toml_depth(const moqc__toml_doc *doc, uint32_t idx) {
  size_t d = 0;
  while (idx != 0 && idx != TOML_NONE) {
    d++;
    idx = doc->nodes[idx].parent;
  }
  return d;
}

/* ---- values ---- */

static int toml_integer(toml_parser *P, uint32_t idx, int64_t *out) {
  size_t start = P->pos;
  bool neg = false;
  unsigned base = 10;
  uint64_t v = 0, limit;
  size_t digits = 0;
  bool last_us = false;
  char c = toml_peek(P, 0);

  if (c == '+' || c == '-') {
    neg = c == '-';
    P->pos++;
  }
  if (toml_peek(P, 0) == '0' && P->pos == start) {
    char x = toml_peek(P, 1);
    if (x == 'x' || x == 'o' || x == 'b') {
      base = x == 'x' ? 16 : x == 'o' ? 8 : 2;
      P->pos += 2;
    }
  }
  limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (;;) {
    int d;
    c = toml_peek(P, 0);
    if (c == '_') {
      if (digits == 0 || last_us) {
        return toml_fail(P, P->pos, idx, toml_nostr, "invalid number");
      }
      last_us = true;
      P->pos++;
      continue;
    }
    d = (c >= '0' && c <= '9')   ? c - '0'
        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                 : -1;
    if (d < 0 || (unsigned)d >= base) {
      break;
    }
    if (base == 10 && digits == 1 && v == 0) {
      return toml_fail(P, start, idx, toml_nostr, "leading zeros are not allowed");
    }
    if (v > (limit - (unsigned)d) / base) {
      return toml_fail(P, start, idx, toml_nostr, "integer out of range");
    }
    v = v * base + (unsigned)d;
    digits++;
    last_us = false;
    P->pos++;
  }
  if (digits == 0 || last_us) {
    return toml_fail(P, start, idx, toml_nostr, "invalid number");
  }
  c = toml_peek(P, 0);
  if (c == '.' || c == 'e' || c == 'E') {
    return toml_fail(P, start, idx, toml_nostr, "floats are not supported");
  }
  if (c == ':' || c == '-' || c == 'T' || c == 'Z') {
    return toml_fail(P, start, idx, toml_nostr, "dates and times are not supported");
  }
  if (toml_is_bare(c) || c == '+') {
    return toml_fail(P, start, idx, toml_nostr, "invalid number");
  }
  *out = neg ? (v == 0 ? 0 : -(int64_t)(v - 1) - 1) : (int64_t)v;
  return 0;
}

static bool toml_word(toml_parser *P, const char *w) {
  size_t n = strlen(w);
  if (P->len - P->pos < n || memcmp(P->s + P->pos, w, n) != 0) {
    return false;
  }
  if (P->pos + n < P->len && toml_is_bare(P->s[P->pos + n])) {
    return false;
  }
  P->pos += n;
  return true;
}

/* Parses a scalar value into node nd (already created). */
static int toml_scalar(toml_parser *P, uint32_t nd) {
  char c = toml_peek(P, 0);
  moqc__toml_node *n;

  if (c == '"' || c == '\'') {
    moqc_str s;
    if (toml_string(P, MOQC__TOML_MAX_STRING, nd, toml_nostr, &s) != 0) {
      return P->rv;
    }
    n = &P->doc->nodes[nd];
    n->type = MOQC__TOML_STRING;
    n->str = s;
    return 0;
  }
  if (toml_word(P, "true")) {
    n = &P->doc->nodes[nd];
    n->type = MOQC__TOML_BOOL;
    n->b = true;
    return 0;
  }
  if (toml_word(P, "false")) {
    n = &P->doc->nodes[nd];
    n->type = MOQC__TOML_BOOL;
    n->b = false;
    return 0;
  }
  if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
    int64_t v = 0;
    size_t j = 0;
    if ((c == '+' || c == '-') && (toml_peek(P, 1) == 'i' || toml_peek(P, 1) == 'n')) {
      return toml_fail(P, P->pos, nd, toml_nostr, "floats are not supported");
    }
    while (toml_peek(P, j) >= '0' && toml_peek(P, j) <= '9') {
      j++;
    }
    if (j > 0 && (toml_peek(P, j) == ':' || (j == 4 && toml_peek(P, j) == '-'))) {
      return toml_fail(P, P->pos, nd, toml_nostr, "dates and times are not supported");
    }
    if (toml_integer(P, nd, &v) != 0) {
      return P->rv;
    }
    n = &P->doc->nodes[nd];
    n->type = MOQC__TOML_INT;
    n->i = v;
    return 0;
  }
  if (toml_word(P, "inf") || toml_word(P, "nan")) {
    return toml_fail(P, P->pos - 3, nd, toml_nostr, "floats are not supported");
  }
  if (c == '{') {
    return toml_fail(P, P->pos, nd, toml_nostr, "inline tables are not supported");
  }
  if (c == '[') {
    return toml_fail(P, P->pos, nd, toml_nostr, "nested arrays are not supported");
  }
  return toml_fail(P, P->pos, nd, toml_nostr, "invalid value");
}

/* Skips whitespace, newlines and comments inside an array. */
static int toml_array_ws(toml_parser *P) {
  for (;;) {
    toml_skip_ws(P);
    if (toml_skip_comment(P) != 0) {
      return P->rv;
    }
    if (!toml_newline(P)) {
      if (toml_peek(P, 0) == '\r') {
        return toml_fail(P, P->pos, TOML_NONE, toml_nostr, "bare CR");
      }
      return 0;
    }
  }
}

static int toml_array(toml_parser *P, uint32_t nd) {
  moqc__toml_type elem = MOQC__TOML_NONE;
  size_t start = P->pos;

  P->doc->nodes[nd].type = MOQC__TOML_ARRAY;
  P->pos++; /* '[' */
  for (;;) {
    uint32_t e;
    size_t epos;
    if (toml_array_ws(P) != 0) {
      return P->rv;
    }
    if (toml_peek(P, 0) == ']') {
      P->pos++;
      return 0;
    }
    if (toml_eof(P)) {
      return toml_fail(P, start, nd, toml_nostr, "unterminated array");
    }
    if (P->doc->nodes[nd].count == MOQC__TOML_MAX_ARRAY) {
      return toml_fail(P, P->pos, nd, toml_nostr, "array too long");
    }
    epos = P->pos;
    e = toml_new_node(P, MOQC__TOML_NONE, nd, toml_nostr, epos);
    if (e == TOML_NONE) {
      return P->rv;
    }
    if (toml_scalar(P, e) != 0) {
      return P->rv;
    }
    if (elem == MOQC__TOML_NONE) {
      elem = P->doc->nodes[e].type;
    } else if (P->doc->nodes[e].type != elem) {
      return toml_fail(P, epos, nd, toml_nostr, "array elements must have the same type");
    }
    if (toml_array_ws(P) != 0) {
      return P->rv;
    }
    if (toml_peek(P, 0) == ',') {
      P->pos++;
      continue;
    }
    if (toml_peek(P, 0) == ']') {
      P->pos++;
      return 0;
    }
    if (toml_eof(P)) {
      return toml_fail(P, start, nd, toml_nostr, "unterminated array");
    }
    return toml_fail(P, P->pos, nd, toml_nostr, "expected ',' or ']' in array");
  }
}

/* ---- statements ---- */

static int toml_table_header(toml_parser *P) {
  moqc_str parts[MOQC__TOML_MAX_DEPTH];
  size_t pos_of[MOQC__TOML_MAX_DEPTH];
  size_t at = P->pos;
  uint32_t t = 0;
  int n;

  P->pos++;
  if (toml_peek(P, 0) == '[') {
    return toml_fail(P, at, P->cur, toml_nostr, "arrays of tables are not supported");
  }
  n = toml_key_path_parse(P, 0, 0, parts, pos_of);
  if (n < 0) {
    return P->rv;
  }
  if (toml_peek(P, 0) != ']') {
    return toml_fail(P, P->pos, 0, parts[n - 1], "expected ']' after table name");
  }
  P->pos++;
  for (int i = 0; i < n; i++) {
    uint32_t c = toml_find(P->doc, t, parts[i]);
    if (c == TOML_NONE) {
      c = toml_new_node(P, MOQC__TOML_TABLE, t, parts[i], pos_of[i]);
      if (c == TOML_NONE) {
        return P->rv;
      }
    } else if (P->doc->nodes[c].type != MOQC__TOML_TABLE) {
      return toml_fail(P, pos_of[i], c, toml_nostr, "key already has a value");
    } else if (i == n - 1 &&
               (P->doc->nodes[c].flags & (TOML_F_HEADER | TOML_F_DOTTED)) != 0) {
      return toml_fail(P, pos_of[i], c, toml_nostr, "table defined twice");
    }
    t = c;
  }
  P->doc->nodes[t].flags |= TOML_F_HEADER;
  P->doc->nodes[t].line = P->line;
  P->doc->nodes[t].col = (unsigned)(at - P->line_start + 1);
  P->cur = t;
  return toml_end_of_line(P, t, "expected end of line after table header");
}

static int toml_key_value(toml_parser *P) {
  moqc_str parts[MOQC__TOML_MAX_DEPTH];
  size_t pos_of[MOQC__TOML_MAX_DEPTH];
  uint32_t t = P->cur, v;
  int n = toml_key_path_parse(P, P->cur, toml_depth(P->doc, P->cur), parts, pos_of);

  if (n < 0) {
    return P->rv;
  }
  for (int i = 0; i < n - 1; i++) {
    uint32_t c = toml_find(P->doc, t, parts[i]);
    if (c == TOML_NONE) {
      c = toml_new_node(P, MOQC__TOML_TABLE, t, parts[i], pos_of[i]);
      if (c == TOML_NONE) {
        return P->rv;
      }
      P->doc->nodes[c].flags |= TOML_F_DOTTED;
    } else if (P->doc->nodes[c].type != MOQC__TOML_TABLE) {
      return toml_fail(P, pos_of[i], c, toml_nostr, "key already has a value");
    } else if ((P->doc->nodes[c].flags & TOML_F_DOTTED) == 0) {
      return toml_fail(P, pos_of[i], c, toml_nostr, "cannot add to a table defined elsewhere");
    }
    t = c;
  }
  if (toml_find(P->doc, t, parts[n - 1]) != TOML_NONE) {
    return toml_fail(P, pos_of[n - 1], t, parts[n - 1], "duplicate key");
  }
  if (toml_peek(P, 0) != '=') {
    return toml_fail(P, P->pos, t, parts[n - 1], "expected '=' after key");
  }
  P->pos++;
  toml_skip_ws(P);
  v = toml_new_node(P, MOQC__TOML_NONE, t, parts[n - 1], pos_of[n - 1]);
  if (v == TOML_NONE) {
    return P->rv;
  }
  if (toml_eof(P) || toml_peek(P, 0) == '\n' || toml_peek(P, 0) == '\r' ||
      toml_peek(P, 0) == '#') {
    return toml_fail(P, P->pos, v, toml_nostr, "missing value");
  }
  if (toml_peek(P, 0) == '[') {
    if (toml_array(P, v) != 0) {
      return P->rv;
    }
  } else if (toml_scalar(P, v) != 0) {
    return P->rv;
  }
  return toml_end_of_line(P, v, "expected end of line after value");
}

static int toml_document(toml_parser *P) {
  while (!toml_eof(P)) {
    char c;
    toml_skip_ws(P);
    if (toml_skip_comment(P) != 0) {
      return P->rv;
    }
    if (toml_eof(P) || toml_newline(P)) {
      continue;
    }
    c = P->s[P->pos];
    if (c == '\r') {
      return toml_fail(P, P->pos, P->cur, toml_nostr, "bare CR");
    }
    if (c == '[') {
      if (toml_table_header(P) != 0) {
        return P->rv;
      }
    } else if (toml_key_value(P) != 0) {
      return P->rv;
    }
  }
  return 0;
}

int moqc__toml_parse(const char *text, size_t len, const moqc_mem *mem, moqc__toml_doc **out,
                     moqc__toml_error *err) {
  toml_parser P;
  moqc__toml_doc *doc;
  size_t skip = 0;

  memset(&P, 0, sizeof(P));
  P.err = err;
  P.line = 1;
  if (err != NULL) {
    memset(err, 0, sizeof(*err));
  }
  if (len > MOQC__TOML_MAX_SIZE) {
    if (err != NULL) {
      err->message = "file too large";
    }
    return MOQC_ERR_MALFORMED;
  }
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
    skip = 3;
  }
  if (!moqc__utf8_valid((const uint8_t *)text + skip, len - skip)) {
    /* Find the first bad byte for the position: walk sequence by sequence. */
    size_t i = skip, line = 1, ls = 0;
    while (i < len) {
      uint8_t c = (uint8_t)text[i];
      size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if (k > len - i || !moqc__utf8_valid((const uint8_t *)text + i, k)) {
        break;
      }
      i += k;
    }
    for (size_t j = 0; j < i; j++) {
      if (text[j] == '\n') {
        line++;
        ls = j + 1;
      }
    }
    if (err != NULL) {
      err->line = (unsigned)line;
      err->column = (unsigned)(i - ls + 1);
      err->message = "invalid UTF-8";
    }
    return MOQC_ERR_MALFORMED;
  }
  doc = moqc_mem_calloc(mem, 1, sizeof(*doc));
  if (doc == NULL) {
    return MOQC_ERR_NOMEM;
  }
  doc->mem = mem;
  doc->arena_cap = len + 1;
  doc->arena = moqc_mem_malloc(mem, doc->arena_cap);
  doc->cap_nodes = 64;
  doc->nodes = moqc_mem_malloc(mem, doc->cap_nodes * sizeof(*doc->nodes));
  if (doc->arena == NULL || doc->nodes == NULL) {
    moqc__toml_del(doc);
    return MOQC_ERR_NOMEM;
  }
  P.s = text;
  P.len = len;
  P.pos = skip;
  P.line_start = skip;
  P.doc = doc;
  P.cur = toml_new_node(&P, MOQC__TOML_TABLE, TOML_NONE, toml_nostr, skip);
  if (P.cur == TOML_NONE || toml_document(&P) != 0) {
    int rv = P.rv != 0 ? P.rv : MOQC_ERR_INTERNAL;
    moqc__toml_del(doc);
    return rv;
  }
  *out = doc;
  return 0;
}

void moqc__toml_del(moqc__toml_doc *doc) {
  if (doc == NULL) {
    return;
  }
  moqc_mem_free(doc->mem, doc->arena);
  moqc_mem_free(doc->mem, doc->nodes);
  moqc_mem_free(doc->mem, doc);
}

/* ---- lookups ---- */

const moqc__toml_node *moqc__toml_root(const moqc__toml_doc *doc) { return &doc->nodes[0]; }

const moqc__toml_node *moqc__toml_child(const moqc__toml_node *table, moqc_str key) {
  uint32_t c;
  if (table == NULL || table->type != MOQC__TOML_TABLE) {
    return NULL;
  }
  c = toml_find(table->doc, (uint32_t)(table - table->doc->nodes), key);
  return c == TOML_NONE ? NULL : &table->doc->nodes[c];
}

const moqc__toml_node *moqc__toml_get(const moqc__toml_node *table, const char *dotted) {
  const char *s = dotted;
  const moqc__toml_node *n = table;

  for (;;) {
    const char *dot = strchr(s, '.');
    moqc_str part = {s, dot != NULL ? (size_t)(dot - s) : strlen(s)};
    n = moqc__toml_child(n, part);
    if (n == NULL || dot == NULL) {
      return n;
    }
    s = dot + 1;
  }
}

moqc__toml_type moqc__toml_type_of(const moqc__toml_node *n) {
  return n == NULL ? MOQC__TOML_NONE : n->type;
}

size_t moqc__toml_count(const moqc__toml_node *n) {
  if (n == NULL || (n->type != MOQC__TOML_TABLE && n->type != MOQC__TOML_ARRAY)) {
    return 0;
  }
  return n->count;
}

const moqc__toml_node *moqc__toml_at(const moqc__toml_node *n, size_t i, moqc_str *key) {
  uint32_t c;
  if (n == NULL || (n->type != MOQC__TOML_TABLE && n->type != MOQC__TOML_ARRAY)) {
    return NULL;
  }
  if (n->type == MOQC__TOML_ARRAY) {
    /* Array elements are created one after another, so they are contiguous. */
    if (i >= n->count) {
      return NULL;
    }
    return &n->doc->nodes[n->first + (uint32_t)i];
  }
  for (c = n->first; c != TOML_NONE && i > 0; c = n->doc->nodes[c].next) {
    i--;
  }
  if (c == TOML_NONE) {
    return NULL;
  }
  if (key != NULL) {
    *key = n->doc->nodes[c].key;
  }
  return &n->doc->nodes[c];
}

moqc_str moqc__toml_key(const moqc__toml_node *n) { return n == NULL ? toml_nostr : n->key; }

int moqc__toml_string(const moqc__toml_node *n, moqc_str *out) {
  if (n == NULL || n->type != MOQC__TOML_STRING) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *out = n->str;
  return 0;
}

int moqc__toml_int(const moqc__toml_node *n, int64_t *out) {
  if (n == NULL || n->type != MOQC__TOML_INT) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *out = n->i;
  return 0;
}

int moqc__toml_bool(const moqc__toml_node *n, bool *out) {
  if (n == NULL || n->type != MOQC__TOML_BOOL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *out = n->b;
  return 0;
}

void moqc__toml_pos(const moqc__toml_node *n, unsigned *line, unsigned *column) {
  *line = n != NULL ? n->line : 0;
  *column = n != NULL ? n->col : 0;
}

void moqc__toml_error_at(const moqc__toml_node *n, const char *message, moqc__toml_error *err) {
  if (err == NULL) {
    return;
  }
  memset(err, 0, sizeof(*err));
  err->message = message;
  if (n == NULL) {
    return;
  }
  err->line = n->line;
  err->column = n->col;
  toml_key_path(n->doc, (uint32_t)(n - n->doc->nodes), err->key, sizeof(err->key));
}

int moqc__toml_check_keys(const moqc__toml_node *table, const char *const *allowed, size_t n,
                          moqc__toml_error *err) {
  if (table == NULL || table->type != MOQC__TOML_TABLE) {
    return 0;
  }
  for (uint32_t c = table->first; c != TOML_NONE; c = table->doc->nodes[c].next) {
    const moqc__toml_node *nd = &table->doc->nodes[c];
    size_t i;
    for (i = 0; i < n; i++) {
      if (moqc_str_eq(nd->key, moqc_str_c(allowed[i]))) {
        break;
      }
    }
    if (i == n) {
      moqc__toml_error_at(nd, "unknown key", err);
      return MOQC_ERR_NOT_FOUND;
    }
  }
  return 0;
}

int moqc__toml_get_string(const moqc__toml_node *table, const char *dotted, moqc_str *out,
                          moqc__toml_error *err) {
  const moqc__toml_node *n = moqc__toml_get(table, dotted);
  if (n == NULL) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (n->type != MOQC__TOML_STRING) {
    moqc__toml_error_at(n, "expected a string", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *out = n->str;
  return 0;
}

int moqc__toml_get_int(const moqc__toml_node *table, const char *dotted, int64_t min,
                       int64_t max, int64_t *out, moqc__toml_error *err) {
  const moqc__toml_node *n = moqc__toml_get(table, dotted);
  if (n == NULL) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (n->type != MOQC__TOML_INT) {
    moqc__toml_error_at(n, "expected an integer", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (n->i < min || n->i > max) {
    moqc__toml_error_at(n, "integer out of range", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *out = n->i;
  return 0;
}

int moqc__toml_get_bool(const moqc__toml_node *table, const char *dotted, bool *out,
                        moqc__toml_error *err) {
  const moqc__toml_node *n = moqc__toml_get(table, dotted);
  if (n == NULL) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (n->type != MOQC__TOML_BOOL) {
    moqc__toml_error_at(n, "expected a boolean", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *out = n->b;
  return 0;
}

int moqc__toml_get_strings(const moqc__toml_node *table, const char *dotted, moqc_str *out,
                           size_t cap, size_t *n, moqc__toml_error *err) {
  const moqc__toml_node *nd = moqc__toml_get(table, dotted);
  size_t k = 0;
  if (nd == NULL) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (nd->type == MOQC__TOML_STRING) {
    if (cap < 1) {
      moqc__toml_error_at(nd, "too many elements", err);
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    out[0] = nd->str;
    *n = 1;
    return 0;
  }
  if (nd->type != MOQC__TOML_ARRAY ||
      (nd->count > 0 && nd->doc->nodes[nd->first].type != MOQC__TOML_STRING)) {
    moqc__toml_error_at(nd, "expected an array of strings", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (nd->count > cap) {
    moqc__toml_error_at(nd, "too many elements", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  for (uint32_t c = nd->first; c != TOML_NONE; c = nd->doc->nodes[c].next) {
    out[k++] = nd->doc->nodes[c].str;
  }
  *n = k;
  return 0;
}
