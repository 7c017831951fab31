/*
 * Fuzz target: path normalization, prefix rules, join and prefix-list normalization.
 */
#include <stdlib.h>
#include <string.h>

#include <moqc/error.h>
#include <moqc/path.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char a[512], b[512], joined[1100];
  moqc_str in, na, nb, rest, list[8];
  size_t half = size / 2, n, i, k;
  moqc_ssize j;

  if (size > 1000) {
    return 0;
  }
  in.ptr = (const char *)data;
  in.len = half;
  na.ptr = a;
  na.len = moqc_path_normalize(a, in);
  in.ptr = (const char *)data + half;
  in.len = size - half;
  nb.ptr = b;
  nb.len = moqc_path_normalize(b, in);
  if (!moqc_path_is_normalized(na) || !moqc_path_is_normalized(nb)) {
    abort();
  }
  /* Normalization is idempotent. */
  if (moqc_path_normalize(joined, na) != na.len || memcmp(joined, a, na.len) != 0) {
    abort();
  }
  j = moqc_path_join(joined, sizeof(joined), na, nb);
  if (j >= 0) {
    moqc_str js = {joined, (size_t)j};
    if (!moqc_path_is_normalized(js) || !moqc_path_has_prefix(js, na)) {
      abort();
    }
    if (!moqc_path_strip_prefix(js, na, &rest)) {
      abort();
    }
    /* Stripping a prefix that ends inside a segment of b can differ; only check the exact case. */
    if (na.len > 0 && nb.len > 0 && !moqc_str_eq(rest, nb)) {
      abort();
    }
  } else if (j != MOQC_ERR_BOUNDS_EXCEEDED && j != MOQC_ERR_NOBUF) {
    abort();
  }
  /* Split the normalized a into segments and use them as a prefix list. */
  n = 0;
  rest = na;
  while (n < 8 && moqc_path_next_part(&rest, &list[n])) {
    n++;
  }
  k = moqc_path_prefixes_normalize(list, n);
  if (k > n) {
    abort();
  }
  for (i = 0; i < k; i++) {
    for (size_t m = 0; m < k; m++) {
      if (i != m && moqc_path_has_prefix(list[i], list[m])) {
        abort();
      }
    }
  }
  return 0;
}
