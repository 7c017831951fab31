/*
 * The view of an origin handle: root, allowed prefixes and usage context
 * (spec/upstream-model.md 2.3: scope, with_root, absolute paths).
 */
#include "model/origin_internal.h"

#include <string.h>

/* Stores a copy of list[0..n) as v's allowed prefixes (one allocation). */
static int view_set_allowed(origin_view *v, const moqc_str *list, size_t n) {
  size_t i, bytes = 0;
  moqc_str *a;
  char *p;

  for (i = 0; i < n; i++) {
    bytes += list[i].len;
  }
  a = moqc_mem_malloc(v->o->mem, n * sizeof(*a) + bytes + 1);
  if (a == NULL) {
    return MOQC_ERR_NOMEM;
  }
  p = (char *)(a + n);
  for (i = 0; i < n; i++) {
    if (list[i].len > 0) {
      memcpy(p, list[i].ptr, list[i].len);
    }
    a[i].ptr = p;
    a[i].len = list[i].len;
    p += list[i].len;
  }
  v->allowed = a;
  v->nallowed = n;
  return 0;
}

static int view_set_root(origin_view *v, const char *root, size_t len) {
  v->root = moqc_mem_malloc(v->o->mem, len + 1);
  if (v->root == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (len > 0) {
    memcpy(v->root, root, len);
  }
  v->root[len] = '\0';
  v->root_len = len;
  return 0;
}

int moqc__origin_view_root(origin_view *v, moqc_origin *o) {
  moqc_str all = {"", 0};

  memset(v, 0, sizeof(*v));
  v->o = o;
  if (view_set_root(v, "", 0) != 0) {
    return MOQC_ERR_NOMEM;
  }
  if (view_set_allowed(v, &all, 1) != 0) {
    moqc_mem_free(o->mem, v->root);
    return MOQC_ERR_NOMEM;
  }
  moqc_origin_incref(o);
  return 0;
}

/* Finishes dst with root and allowed list, taking the origin and context
 * references. */
static int view_finish(origin_view *dst, const origin_view *src,
                       const char *root, size_t root_len, const moqc_str *list,
                       size_t n) {
  memset(dst, 0, sizeof(*dst));
  dst->o = src->o;
  if (view_set_root(dst, root, root_len) != 0) {
    return MOQC_ERR_NOMEM;
  }
  if (view_set_allowed(dst, list, n) != 0) {
    moqc_mem_free(src->o->mem, dst->root);
    return MOQC_ERR_NOMEM;
  }
  moqc_origin_incref(dst->o);
  dst->ctx = src->ctx;
  moqc_usage_ctx_incref(dst->ctx);
  return 0;
}

int moqc__origin_view_copy(origin_view *dst, const origin_view *src) {
  return view_finish(dst, src, src->root, src->root_len, src->allowed,
                     src->nallowed);
}

void moqc__origin_view_set_ctx(origin_view *v, moqc_usage_ctx *ctx) {
  moqc_usage_ctx_incref(ctx);
  moqc_usage_ctx_decref(v->ctx);
  v->ctx = ctx;
}

void moqc__origin_view_free(origin_view *v) {
  moqc_usage_ctx_decref(v->ctx);
  moqc_mem_free(v->o->mem, v->allowed);
  moqc_mem_free(v->o->mem, v->root);
  moqc_origin_decref(v->o);
}

/* Normalizes path and joins it to root into a new NUL-terminated buffer. */
static int view_join(const moqc_mem *mem, const char *root, size_t root_len,
                     moqc_str path, char **abs, size_t *abs_len) {
  char *buf = moqc_mem_malloc(mem, root_len + path.len + 2);
  size_t n, len;

  if (buf == NULL) {
    return MOQC_ERR_NOMEM;
  }
  n = moqc_path_normalize(buf + root_len + 1, path);
  if (root_len == 0) {
    memmove(buf, buf + 1, n);
    len = n;
  } else {
    memcpy(buf, root, root_len);
    buf[root_len] = '/';
    len = n == 0 ? root_len : root_len + 1 + n;
  }
  buf[len] = '\0';
  if (moqc_path_count_parts((moqc_str){buf, len}) > MOQC_PATH_MAX_PARTS) {
    moqc_mem_free(mem, buf);
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  *abs = buf;
  *abs_len = len;
  return 0;
}

bool moqc__origin_view_allows(const origin_view *v, moqc_str abs) {
  size_t i;

  for (i = 0; i < v->nallowed; i++) {
    if (moqc_path_has_prefix(abs, v->allowed[i])) {
      return true;
    }
  }
  return false;
}

int moqc__origin_view_resolve(const origin_view *v, moqc_str path, char **abs,
                              size_t *abs_len) {
  int rc = view_join(v->o->mem, v->root, v->root_len, path, abs, abs_len);

  if (rc == 0 && !moqc__origin_view_allows(v, (moqc_str){*abs, *abs_len})) {
    moqc_mem_free(v->o->mem, *abs);
    *abs = NULL;
    return MOQC_ERR_UNAUTHORIZED;
  }
  return rc;
}

moqc_str moqc__origin_strip_root(const char *root, size_t root_len,
                                 moqc_str abs) {
  moqc_str rest = abs;

  (void)moqc_path_strip_prefix(abs, (moqc_str){root, root_len}, &rest);
  return rest;
}

/*
 * Intersects src's allowed prefixes with the absolute prefixes want[0..n): a
 * wanted prefix under an allowed one is kept, an allowed one under a wanted one
 * is kept. Builds dst with root.
 */
static int view_intersect(origin_view *dst, const origin_view *src,
                          const char *root, size_t root_len,
                          const moqc_str *want, size_t n) {
  size_t i, j, cnt = 0;
  moqc_str *out;
  int rc;

  out = moqc_mem_malloc(src->o->mem,
                        (n * (src->nallowed + 1) + 1) * sizeof(*out));
  if (out == NULL) {
    return MOQC_ERR_NOMEM;
  }
  for (i = 0; i < n; i++) {
    for (j = 0; j < src->nallowed; j++) {
      if (moqc_path_has_prefix(want[i], src->allowed[j])) {
        out[cnt++] = want[i];
        break;
      }
      if (moqc_path_has_prefix(src->allowed[j], want[i])) {
        out[cnt++] = src->allowed[j];
      }
    }
  }
  cnt = moqc_path_prefixes_normalize(out, cnt);
  rc = cnt == 0 ? MOQC_ERR_UNAUTHORIZED
                : view_finish(dst, src, root, root_len, out, cnt);
  moqc_mem_free(src->o->mem, out);
  return rc;
}

int moqc__origin_view_scope(origin_view *dst, const origin_view *src,
                            const moqc_str *prefixes, size_t count) {
  const moqc_mem *mem = src->o->mem;
  moqc_str *want;
  size_t i, n = 0;
  int rc = 0;

  if (count == 0) {
    return MOQC_ERR_UNAUTHORIZED;
  }
  want = moqc_mem_calloc(mem, count, sizeof(*want));
  if (want == NULL) {
    return MOQC_ERR_NOMEM;
  }
  for (i = 0; i < count && rc == 0; i++) {
    char *abs;
    size_t len;
    rc = view_join(mem, src->root, src->root_len, prefixes[i], &abs, &len);
    if (rc == 0) {
      want[n].ptr = abs;
      want[n++].len = len;
    }
  }
  if (rc == 0) {
    rc = view_intersect(dst, src, src->root, src->root_len, want, n);
  }
  for (i = 0; i < n; i++) {
    moqc_mem_free(mem, (void *)(uintptr_t)want[i].ptr);
  }
  moqc_mem_free(mem, want);
  return rc;
}

int moqc__origin_view_with_root(origin_view *dst, const origin_view *src,
                                moqc_str prefix) {
  char *abs;
  size_t len;
  int rc = view_join(src->o->mem, src->root, src->root_len, prefix, &abs, &len);

  if (rc != 0) {
    return rc;
  }
  rc = view_intersect(dst, src, abs, len, &(moqc_str){abs, len}, 1);
  moqc_mem_free(src->o->mem, abs);
  return rc;
}
