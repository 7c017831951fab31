/*
 * Fuzz target: the incremental HTTP/1.1 request parser. The input is parsed in one call and
 * again in chunks (sizes taken from the input's first byte); both must agree, every view must
 * lie inside the buffer, and the query / fetch helpers must stay in bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_http1_in(moqc_str s, const uint8_t *buf, size_t len) {
  if (s.len > 0 && ((const uint8_t *)s.ptr < buf || (const uint8_t *)s.ptr + s.len > buf + len)) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static moqc__http1_request whole, inc;
  size_t step, k = 0;
  int rw, ri = MOQC_ERR_INCOMPLETE;

  if (size < 1) {
    return 0;
  }
  step = (size_t)(data[0] % 16) + 1;
  data++;
  size--;
  moqc__http1_init(&whole);
  rw = moqc__http1_parse(&whole, data, size);
  if (rw != 0 && rw != MOQC_ERR_INCOMPLETE && rw != MOQC_ERR_MALFORMED) {
    abort();
  }
  moqc__http1_init(&inc);
  while (k < size) {
    k = k + step > size ? size : k + step;
    ri = moqc__http1_parse(&inc, data, k);
    if (ri != MOQC_ERR_INCOMPLETE) {
      break;
    }
  }
  if (size == 0) {
    ri = moqc__http1_parse(&inc, data, 0);
  }
  if (ri != rw) {
    abort();
  }
  if (rw == MOQC_ERR_MALFORMED &&
      (strcmp(inc.error, whole.error) != 0 || inc.status != whole.status)) {
    abort();
  }
  if (rw == 0) {
    char out[512];
    moqc__http1_fetch f;
    moqc_str v;
    if (whole.head_len > size || whole.head_len > MOQC__HTTP1_MAX_HEAD ||
        inc.head_len != whole.head_len || inc.n_headers != whole.n_headers) {
      abort();
    }
    fuzz_http1_in(whole.method, data, whole.head_len);
    fuzz_http1_in(whole.target, data, whole.head_len);
    fuzz_http1_in(whole.query, data, whole.head_len);
    fuzz_http1_in(whole.host, data, whole.head_len);
    for (size_t i = 0; i < whole.n_headers; i++) {
      fuzz_http1_in(whole.headers[i].name, data, whole.head_len);
      fuzz_http1_in(whole.headers[i].value, data, whole.head_len);
    }
    (void)moqc__http1_query_get(whole.query, "group", &v);
    (void)moqc__http1_parse_fetch(whole.path, whole.query, out, sizeof(out), &f);
    (void)moqc__http1_pct_decode(out, sizeof(out), whole.target, true);
  }
  return 0;
}
