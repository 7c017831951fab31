/*
 * Fuzz target: the TOML subset reader. Every input either parses (then every node is walked and
 * read back through the lookup API) or fails with MOQC_ERR_MALFORMED and a positioned error.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_toml_walk(const moqc__toml_node *n, int depth) {
  size_t count = 1;
  moqc__toml_type t = moqc__toml_type_of(n);
  moqc_str s;
  int64_t i;
  bool b;

  if (depth > 20) {
    abort();
  }
  switch (t) {
  case MOQC__TOML_STRING:
    if (moqc__toml_string(n, &s) != 0 || s.len > MOQC__TOML_MAX_STRING) {
      abort();
    }
    break;
  case MOQC__TOML_INT:
    if (moqc__toml_int(n, &i) != 0) {
      abort();
    }
    break;
  case MOQC__TOML_BOOL:
    if (moqc__toml_bool(n, &b) != 0) {
      abort();
    }
    break;
  case MOQC__TOML_ARRAY:
  case MOQC__TOML_TABLE:
    for (size_t k = 0; k < moqc__toml_count(n); k++) {
      moqc_str key;
      const moqc__toml_node *c = moqc__toml_at(n, k, &key);
      if (c == NULL) {
        abort();
      }
      if (t == MOQC__TOML_TABLE && moqc__toml_child(n, key) != c) {
        abort(); /* keys are unique */
      }
      count += fuzz_toml_walk(c, depth + 1);
    }
    break;
  default:
    abort();
  }
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  moqc__toml_doc *doc = NULL;
  moqc__toml_error err;
  int rv = moqc__toml_parse((const char *)data, size, NULL, &doc, &err);

  if (rv == 0) {
    const moqc__toml_node *root = moqc__toml_root(doc);
    moqc_str list[4];
    size_t n;
    int64_t v;
    if (fuzz_toml_walk(root, 0) > MOQC__TOML_MAX_NODES) {
      abort();
    }
    (void)moqc__toml_get_strings(root, "server.tls.cert", list, 4, &n, &err);
    (void)moqc__toml_get_int(root, "a.b", 0, 10, &v, &err);
    (void)moqc__toml_check_keys(root, NULL, 0, &err);
    moqc__toml_del(doc);
  } else {
    if (rv != MOQC_ERR_MALFORMED || doc != NULL || err.message == NULL ||
        strlen(err.key) >= sizeof(err.key)) {
      abort();
    }
    if (err.line == 0 && strcmp(err.message, "file too large") != 0) {
      abort();
    }
  }
  return 0;
}
