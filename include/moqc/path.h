/*
 * moqc: broadcast paths.
 *
 * A path is a normalized relative string: no leading or trailing '/', no empty segments, at most
 * MOQC_PATH_MAX_PARTS segments. The empty path is valid and is a prefix of every path. Prefix
 * matching is by whole segment: "a/b" is a prefix of "a/b" and "a/b/c", not of "a/bc".
 * All functions here are pure and thread-safe; none allocates.
 */
#ifndef MOQC_PATH_H
#define MOQC_PATH_H

#include <moqc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The most segments a path may have. */
#define MOQC_PATH_MAX_PARTS 32

/** A borrowed string: ptr[0..len), not NUL-terminated. */
typedef struct moqc_str {
  const char *ptr;
  size_t len;
} moqc_str;

/** Makes a moqc_str of a NUL-terminated string (NULL gives the empty string). */
MOQC_EXTERN moqc_str moqc_str_c(const char *s);

/** Returns true when a and b hold the same bytes. */
MOQC_EXTERN bool moqc_str_eq(moqc_str a, moqc_str b);

/**
 * Normalizes in into out: trims leading and trailing '/', collapses runs of '/'. out must have
 * room for in.len bytes (it may equal in.ptr for in-place use); no NUL is written. Returns the
 * normalized length. Never fails.
 */
MOQC_EXTERN size_t moqc_path_normalize(char *out, moqc_str in);

/** Returns true when p is already normalized (and so equal to its normalization). */
MOQC_EXTERN bool moqc_path_is_normalized(moqc_str p);

/** Returns the number of segments of a normalized path (0 for the empty path). */
MOQC_EXTERN size_t moqc_path_count_parts(moqc_str p);

/**
 * Returns true when the normalized path p starts with the normalized prefix at a segment
 * boundary. The empty prefix matches everything.
 */
MOQC_EXTERN bool moqc_path_has_prefix(moqc_str p, moqc_str prefix);

/**
 * If p has the prefix (as moqc_path_has_prefix), stores the rest in *rest (without the
 * separating '/'; empty when p equals prefix) and returns true. Otherwise returns false and
 * leaves *rest untouched.
 */
MOQC_EXTERN bool moqc_path_strip_prefix(moqc_str p, moqc_str prefix, moqc_str *rest);

/**
 * Joins two normalized paths into out (capacity cap): an empty side gives the other, else
 * "a/b". No NUL is written. Returns the length, MOQC_ERR_NOBUF when cap is too small, or
 * MOQC_ERR_BOUNDS_EXCEEDED when the result would have more than MOQC_PATH_MAX_PARTS segments.
 */
MOQC_EXTERN moqc_ssize moqc_path_join(char *out, size_t cap, moqc_str a, moqc_str b);

/**
 * Splits the first segment off *p: stores it in *part, advances *p past it and its '/', and
 * returns true; returns false when *p is empty.
 */
MOQC_EXTERN bool moqc_path_next_part(moqc_str *p, moqc_str *part);

/**
 * Normalizes a list of normalized prefixes in place: sorts by length then bytes, removes
 * duplicates and every prefix covered by a shorter one (["demo","demo/foo","anon"] becomes
 * ["anon","demo"]). Returns the new count.
 */
MOQC_EXTERN size_t moqc_path_prefixes_normalize(moqc_str *list, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_PATH_H */
