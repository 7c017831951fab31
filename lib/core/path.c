/*
 * Path rules (spec/upstream-model.md 2.1).
 */
#include <moqc/error.h>
#include <moqc/path.h>

#include <stdlib.h>
#include <string.h>

moqc_str moqc_str_c(const char *s) {
  moqc_str r = {s != NULL ? s : "", s != NULL ? strlen(s) : 0};
  return r;
}

bool moqc_str_eq(moqc_str a, moqc_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

size_t moqc_path_normalize(char *out, moqc_str in) {
  size_t i, n = 0;
  bool pending_sep = false;

  for (i = 0; i < in.len; i++) {
    char c = in.ptr[i];
    if (c == '/') {
      pending_sep = n > 0;
      continue;
    }
    if (pending_sep) {
      out[n++] = '/';
      pending_sep = false;
    }
    out[n++] = c;
  }
  return n;
}

bool moqc_path_is_normalized(moqc_str p) {
  size_t i;

  if (p.len == 0) {
    return true;
  }
  if (p.ptr[0] == '/' || p.ptr[p.len - 1] == '/') {
    return false;
  }
  for (i = 1; i < p.len; i++) {
    if (p.ptr[i] == '/' && p.ptr[i - 1] == '/') {
      return false;
    }
  }
  return true;
}

size_t moqc_path_count_parts(moqc_str p) {
  size_t i, n;

  if (p.len == 0) {
    return 0;
  }
  for (i = 0, n = 1; i < p.len; i++) {
    n += p.ptr[i] == '/';
  }
  return n;
}

bool moqc_path_has_prefix(moqc_str p, moqc_str prefix) {
  if (prefix.len == 0) {
    return true;
  }
  /* A prefix given with a trailing '/' matches the same segments. */
  if (prefix.ptr[prefix.len - 1] == '/') {
    prefix.len--;
  }
  if (p.len < prefix.len || memcmp(p.ptr, prefix.ptr, prefix.len) != 0) {
    return false;
  }
  return p.len == prefix.len || p.ptr[prefix.len] == '/';
}

bool moqc_path_strip_prefix(moqc_str p, moqc_str prefix, moqc_str *rest) {
  if (!moqc_path_has_prefix(p, prefix)) {
    return false;
  }
  if (prefix.len > 0 && prefix.ptr[prefix.len - 1] == '/') {
    prefix.len--;
  }
  if (prefix.len == 0) {
    *rest = p;
  } else if (p.len == prefix.len) {
    rest->ptr = p.ptr + p.len;
    rest->len = 0;
  } else {
    rest->ptr = p.ptr + prefix.len + 1;
    rest->len = p.len - prefix.len - 1;
  }
  return true;
}

moqc_ssize moqc_path_join(char *out, size_t cap, moqc_str a, moqc_str b) {
  size_t n;

  if (moqc_path_count_parts(a) + moqc_path_count_parts(b) >
      MOQC_PATH_MAX_PARTS) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  if (a.len == 0 || b.len == 0) {
    moqc_str s = a.len == 0 ? b : a;
    if (s.len > cap) {
      return MOQC_ERR_NOBUF;
    }
    if (s.len > 0) {
      memmove(out, s.ptr, s.len);
    }
    return (moqc_ssize)s.len;
  }
  n = a.len + 1 + b.len;
  if (n > cap) {
    return MOQC_ERR_NOBUF;
  }
  memmove(out + a.len + 1, b.ptr, b.len);
  memmove(out, a.ptr, a.len);
  out[a.len] = '/';
  return (moqc_ssize)n;
}

bool moqc_path_next_part(moqc_str *p, moqc_str *part) {
  const char *slash;

  if (p->len == 0) {
    return false;
  }
  slash = memchr(p->ptr, '/', p->len);
  part->ptr = p->ptr;
  if (slash == NULL) {
    part->len = p->len;
    p->ptr += p->len;
    p->len = 0;
  } else {
    part->len = (size_t)(slash - p->ptr);
    p->len -= part->len + 1;
    p->ptr = slash + 1;
  }
  return true;
}

static int path_cmp_len_then_bytes(const void *a, const void *b) {
  const moqc_str *x = a, *y = b;
  int c;

  if (x->len != y->len) {
    return x->len < y->len ? -1 : 1;
  }
  if (x->len == 0) {
    return 0;
  }
  c = memcmp(x->ptr, y->ptr, x->len);
  return c;
}

size_t moqc_path_prefixes_normalize(moqc_str *list, size_t n) {
  size_t i, j, out = 0;

  if (n == 0) {
    return 0;
  }
  qsort(list, n, sizeof(*list), path_cmp_len_then_bytes);
  for (i = 0; i < n; i++) {
    bool covered = false;
    for (j = 0; j < out; j++) {
      if (moqc_path_has_prefix(list[i], list[j])) {
        covered = true;
        break;
      }
    }
    if (!covered) {
      list[out++] = list[i];
    }
  }
  return out;
}
