/*
 * Core primitives: errors, varints, readers and writers, paths, time, rcbuf.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include "core/bytes.h"
#include "core/log.h"

static void test_error_strings(void **state) {
  (void)state;
  assert_string_equal(moqc_strerror(MOQC_ERR_NOT_FOUND), "not found");
  assert_string_equal(moqc_err_name(MOQC_ERR_NOT_FOUND), "NOT_FOUND");
  assert_string_equal(moqc_strerror(12345), "unknown error");
  assert_true(moqc_err_is_fatal(MOQC_ERR_NOMEM));
  assert_false(moqc_err_is_fatal(MOQC_ERR_PENDING));
}

static void test_error_lite_mapping(void **state) {
  (void)state;
  assert_int_equal(moqc_err_to_lite_code(0), 0);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_CANCEL), 0);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_OLD), 2);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_NOT_FOUND), 13);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_DROPPED), 24);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_EVICTED), 31);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_NOMEM), 15);
  assert_int_equal(moqc_err_to_lite_code(MOQC_ERR_MALFORMED), 5);
  assert_int_equal(moqc_err_from_lite_code(0), MOQC_ERR_CANCEL);
  assert_int_equal(moqc_err_from_lite_code(5), MOQC_ERR_DECODE);
  assert_int_equal(moqc_err_from_lite_code(13), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_err_from_lite_code(31), MOQC_ERR_EVICTED);
  assert_int_equal(moqc_err_from_lite_code(64), MOQC_ERR_APP);
  assert_int_equal(moqc_err_from_lite_code(7), MOQC_ERR_REMOTE);
  /* Every code with a wire code of its own maps back to an error with that code. */
  for (uint64_t c = 0; c < 64; c++) {
    int e = moqc_err_from_lite_code(c);
    if (e != MOQC_ERR_REMOTE) {
      assert_int_equal(moqc_err_to_lite_code(e), c);
    }
  }
}

/* RFC 9000 A.1 examples. */
static const struct {
  const char *hex;
  uint64_t value;
} varints[] = {
    {"c2197c5eff14e88c", 151288809941952652ULL},
    {"9d7f3e7d", 494878333ULL},
    {"7bbd", 15293ULL},
    {"25", 37ULL},
    {"4025", 37ULL},
};

static void test_varint_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
    uint8_t buf[8], out[8];
    size_t n = test_unhex(varints[i].hex, buf, sizeof(buf));
    const uint8_t *p = buf;
    uint64_t v;
    assert_int_equal(moqc__get_varint(&p, buf + n, &v), 0);
    assert_int_equal(v, varints[i].value);
    assert_ptr_equal(p, buf + n);
    /* Every truncation is incomplete and leaves the cursor alone. */
    for (size_t k = 0; k < n; k++) {
      p = buf;
      assert_int_equal(moqc__get_varint(&p, buf + k, &v), MOQC_ERR_INCOMPLETE);
      assert_ptr_equal(p, buf);
    }
    if (i != 4) { /* the last is a non-minimal form; encoders emit minimal */
      moqc__writer w;
      moqc__writer_init(&w, out, sizeof(out));
      moqc__put_varint(&w, varints[i].value);
      assert_int_equal(moqc__writer_result(&w), (moqc_ssize)n);
      assert_memory_equal(out, buf, n);
    }
  }
}

static void test_varint_bounds(void **state) {
  uint8_t buf[16];
  moqc__writer w;
  (void)state;
  assert_int_equal(moqc__varint_len(63), 1);
  assert_int_equal(moqc__varint_len(64), 2);
  assert_int_equal(moqc__varint_len(16383), 2);
  assert_int_equal(moqc__varint_len(16384), 4);
  assert_int_equal(moqc__varint_len(MOQC_VARINT_MAX), 8);
  assert_int_equal(moqc__varint_len(MOQC_VARINT_MAX + 1), 0);
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__put_varint(&w, MOQC_VARINT_MAX + 1);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_BOUNDS_EXCEEDED);
  moqc__writer_init(&w, buf, 3);
  moqc__put_varint(&w, 16384);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__put_varint_n(&w, 5, 4);
  assert_int_equal(moqc__writer_result(&w), 4);
  assert_int_equal(buf[0], 0x80);
  assert_int_equal(buf[3], 5);
  {
    const uint8_t *p = buf;
    uint64_t v;
    assert_int_equal(moqc__get_varint_max(&p, buf + 4, 4, &v), MOQC_ERR_MALFORMED);
    assert_ptr_equal(p, buf);
  }
}

static void test_reader_strings(void **state) {
  const uint8_t ok[] = {0x03, 'a', 'b', 'c', 0x00};
  const uint8_t bad_utf8[] = {0x02, 0xc0, 0x80};
  const uint8_t too_long[] = {0x05, 'a', 'b', 'c', 'd', 'e'};
  const uint8_t *p = ok;
  moqc_str s;
  bool b;
  (void)state;
  assert_int_equal(moqc__get_string(&p, ok + sizeof(ok), 16, &s), 0);
  assert_int_equal(s.len, 3);
  assert_memory_equal(s.ptr, "abc", 3);
  assert_int_equal(moqc__get_bool(&p, ok + sizeof(ok), &b), 0);
  assert_false(b);
  for (size_t k = 0; k < 4; k++) {
    p = ok;
    assert_int_equal(moqc__get_string(&p, ok + k, 16, &s), MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(p, ok);
  }
  p = bad_utf8;
  assert_int_equal(moqc__get_string(&p, bad_utf8 + 3, 16, &s), MOQC_ERR_MALFORMED);
  p = too_long;
  assert_int_equal(moqc__get_lbytes(&p, too_long + 6, 4, &s), MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, too_long);
  /* The size check comes before the bytes: a huge declared length is malformed, not incomplete. */
  {
    const uint8_t huge[] = {0xc0, 0, 0, 0, 0x10, 0, 0, 0};
    p = huge;
    assert_int_equal(moqc__get_lbytes(&p, huge + 8, 1024, &s), MOQC_ERR_MALFORMED);
  }
  {
    const uint8_t two = 2;
    p = &two;
    assert_int_equal(moqc__get_bool(&p, &two + 1, &b), MOQC_ERR_MALFORMED);
  }
}

static void test_utf8(void **state) {
  (void)state;
  assert_true(moqc__utf8_valid((const uint8_t *)"h\xc3\xa9llo", 6));
  assert_true(moqc__utf8_valid((const uint8_t *)"\xf0\x9f\x8e\xa5", 4));
  assert_false(moqc__utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
  assert_false(moqc__utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3)); /* overlong */
  assert_false(moqc__utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
  assert_false(moqc__utf8_valid((const uint8_t *)"\xc3", 1));
  assert_false(moqc__utf8_valid((const uint8_t *)"\xff", 1));
}

static void test_zigzag(void **state) {
  (void)state;
  assert_int_equal(moqc__zigzag_encode(0), 0);
  assert_int_equal(moqc__zigzag_encode(-1), 1);
  assert_int_equal(moqc__zigzag_encode(1), 2);
  assert_int_equal(moqc__zigzag_encode(-2), 3);
  assert_int_equal(moqc__zigzag_encode(33), 66);
  for (int64_t v = -1000; v <= 1000; v++) {
    assert_int_equal(moqc__zigzag_decode(moqc__zigzag_encode(v)), v);
  }
  assert_int_equal(moqc__zigzag_decode(moqc__zigzag_encode(INT64_MIN)), INT64_MIN);
}

static moqc_str S(const char *s) { return moqc_str_c(s); }

static void test_path_normalize(void **state) {
  char out[64];
  size_t n;
  (void)state;
  n = moqc_path_normalize(out, S("/foo//bar/"));
  assert_int_equal(n, 7);
  assert_memory_equal(out, "foo/bar", 7);
  n = moqc_path_normalize(out, S("///"));
  assert_int_equal(n, 0);
  assert_true(moqc_path_is_normalized(S("foo/bar")));
  assert_true(moqc_path_is_normalized(S("")));
  assert_false(moqc_path_is_normalized(S("/foo")));
  assert_false(moqc_path_is_normalized(S("foo//bar")));
  assert_false(moqc_path_is_normalized(S("foo/")));
  assert_int_equal(moqc_path_count_parts(S("")), 0);
  assert_int_equal(moqc_path_count_parts(S("a/b/c")), 3);
}

static void test_path_prefix(void **state) {
  moqc_str rest;
  (void)state;
  assert_true(moqc_path_has_prefix(S("foo/bar"), S("")));
  assert_true(moqc_path_has_prefix(S("foo/bar"), S("foo")));
  assert_true(moqc_path_has_prefix(S("foo/bar"), S("foo/")));
  assert_true(moqc_path_has_prefix(S("foo/bar"), S("foo/bar")));
  assert_false(moqc_path_has_prefix(S("foobar"), S("foo")));
  assert_false(moqc_path_has_prefix(S("foo"), S("foo/bar")));
  assert_true(moqc_path_strip_prefix(S("foo/bar/baz"), S("foo"), &rest));
  assert_true(moqc_str_eq(rest, S("bar/baz")));
  assert_true(moqc_path_strip_prefix(S("foo"), S("foo"), &rest));
  assert_int_equal(rest.len, 0);
  assert_true(moqc_path_strip_prefix(S("foo"), S(""), &rest));
  assert_true(moqc_str_eq(rest, S("foo")));
  rest = S("untouched");
  assert_false(moqc_path_strip_prefix(S("foobar"), S("foo"), &rest));
  assert_true(moqc_str_eq(rest, S("untouched")));
}

static void test_path_join_parts(void **state) {
  char out[256];
  moqc_ssize n;
  moqc_str p, part;
  char deep[128];
  (void)state;
  n = moqc_path_join(out, sizeof(out), S("a/b"), S("c"));
  assert_int_equal(n, 5);
  assert_memory_equal(out, "a/b/c", 5);
  n = moqc_path_join(out, sizeof(out), S(""), S("c"));
  assert_int_equal(n, 1);
  n = moqc_path_join(out, sizeof(out), S("a"), S(""));
  assert_int_equal(n, 1);
  assert_int_equal(moqc_path_join(out, 3, S("a/b"), S("c")), MOQC_ERR_NOBUF);
  /* 32 segments join; 33 do not. */
  memset(deep, 0, sizeof(deep));
  for (int i = 0; i < 31; i++) {
    strcat(deep, i ? "/x" : "x");
  }
  assert_true(moqc_path_join(out, sizeof(out), S(deep), S("y")) > 0);
  assert_int_equal(moqc_path_join(out, sizeof(out), S(deep), S("y/z")),
                   MOQC_ERR_BOUNDS_EXCEEDED);
  p = S("a/bb/c");
  assert_true(moqc_path_next_part(&p, &part));
  assert_true(moqc_str_eq(part, S("a")));
  assert_true(moqc_path_next_part(&p, &part));
  assert_true(moqc_str_eq(part, S("bb")));
  assert_true(moqc_path_next_part(&p, &part));
  assert_true(moqc_str_eq(part, S("c")));
  assert_false(moqc_path_next_part(&p, &part));
}

static void test_path_prefixes(void **state) {
  moqc_str list[] = {S("demo"), S("demo/foo"), S("anon"), S("demo"), S("anonymous")};
  size_t n;
  (void)state;
  n = moqc_path_prefixes_normalize(list, 5);
  assert_int_equal(n, 3);
  assert_true(moqc_str_eq(list[0], S("anon")));
  assert_true(moqc_str_eq(list[1], S("demo")));
  assert_true(moqc_str_eq(list[2], S("anonymous")));
  {
    moqc_str all[] = {S("x/y"), S(""), S("z")};
    assert_int_equal(moqc_path_prefixes_normalize(all, 3), 1);
    assert_int_equal(all[0].len, 0);
  }
}

static void test_time(void **state) {
  moqc_timestamp a, b, c;
  (void)state;
  assert_int_equal(moqc_timestamp_make(&a, 1500, MOQC_TIMESCALE_MILLI), 0);
  assert_int_equal(moqc_timestamp_convert(&a, MOQC_TIMESCALE_MICRO, &b), 0);
  assert_int_equal(b.value, 1500000);
  assert_int_equal(moqc_timestamp_convert(&a, MOQC_TIMESCALE_SECOND, &b), 0);
  assert_int_equal(b.value, 1);
  assert_int_equal(moqc_timestamp_cmp(&a, &b), 1);
  assert_int_equal(moqc_timestamp_make(&a, 1, 0), MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc_timestamp_make(&a, MOQC_TIME_MAX + 1, 1), MOQC_ERR_TIME_OVERFLOW);
  assert_int_equal(moqc_timestamp_make(&a, MOQC_TIME_MAX, 1), 0);
  assert_int_equal(moqc_timestamp_convert(&a, 1000, &b), MOQC_ERR_TIME_OVERFLOW);
  assert_int_equal(moqc_timestamp_make(&b, 1, 1), 0);
  assert_int_equal(moqc_timestamp_add(&a, &b, &c), MOQC_ERR_TIME_OVERFLOW);
  assert_int_equal(moqc_timestamp_sub(&b, &a, &c), MOQC_ERR_TIME_OVERFLOW);
  assert_int_equal(moqc_timestamp_sub(&a, &b, &c), 0);
  assert_int_equal(c.value, MOQC_TIME_MAX - 1);
  assert_int_equal(moqc_timestamp_make(&b, 1, 1000), 0);
  assert_int_equal(moqc_timestamp_add(&a, &b, &c), MOQC_ERR_TIMESTAMP_MISMATCH);
  assert_int_equal(moqc_timestamp_from_tstamp(2500 * MOQC_MILLISECONDS, MOQC_TIMESCALE_MILLI, &c), 0);
  assert_int_equal(c.value, 2500);
  assert_int_equal(moqc_timestamp_from_tstamp(UINT64_MAX, MOQC_TIMESCALE_SECOND, &c), 0);
  assert_int_equal(c.value, UINT64_MAX / 1000000000ULL);
}

static int counting_allocs;
static void *count_malloc(size_t n, void *ud) {
  (void)ud;
  counting_allocs++;
  return malloc(n);
}
static void count_free(void *p, void *ud) {
  (void)ud;
  if (p) {
    counting_allocs--;
  }
  free(p);
}
static void *count_calloc(size_t a, size_t b, void *ud) {
  (void)ud;
  counting_allocs++;
  return calloc(a, b);
}
static void *count_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  return realloc(p, n);
}

static void test_rcbuf(void **state) {
  moqc_mem mem = {NULL, count_malloc, count_free, count_calloc, count_realloc};
  moqc_rcbuf *b;
  (void)state;
  assert_int_equal(moqc_rcbuf_new_copy(&b, (const uint8_t *)"hello", 5, &mem), 0);
  assert_int_equal(counting_allocs, 1);
  assert_int_equal(moqc_rcbuf_len(b), 5);
  assert_memory_equal(moqc_rcbuf_data(b), "hello", 5);
  for (int i = 0; i < 1000; i++) {
    moqc_rcbuf_incref(b);
  }
  assert_int_equal(moqc_rcbuf_refcount(b), 1001);
  for (int i = 0; i < 1000; i++) {
    moqc_rcbuf_decref(b);
  }
  assert_int_equal(counting_allocs, 1);
  moqc_rcbuf_decref(b);
  assert_int_equal(counting_allocs, 0);
  moqc_rcbuf_decref(NULL);
  assert_int_equal(moqc_rcbuf_new(&b, SIZE_MAX, NULL), MOQC_ERR_NOMEM);
}

static char last_line[256];
static void log_write(void *ud, moqc_log_level lvl, const char *msg) {
  (void)ud;
  (void)lvl;
  strncpy(last_line, msg, sizeof(last_line) - 1);
}

static void test_log(void **state) {
  moqc_log log = {log_write, NULL, MOQC_LOG_INFO};
  moqc_log_level lvl;
  (void)state;
  MOQC_LOG(&log, MOQC_LOG_INFO, "hello %d", 42);
  assert_string_equal(last_line, "hello 42");
  MOQC_LOG(&log, MOQC_LOG_DEBUG, "quiet");
  assert_string_equal(last_line, "hello 42");
  MOQC_LOG((const moqc_log *)NULL, MOQC_LOG_ERROR, "nothing");
  assert_int_equal(moqc_log_level_parse("WARN", &lvl), 0);
  assert_int_equal(lvl, MOQC_LOG_WARN);
  assert_int_equal(moqc_log_level_parse("loud", &lvl), MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(moqc_log_level_name(MOQC_LOG_TRACE), "trace");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_strings),  cmocka_unit_test(test_error_lite_mapping),
      cmocka_unit_test(test_varint_vectors), cmocka_unit_test(test_varint_bounds),
      cmocka_unit_test(test_reader_strings), cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_zigzag),         cmocka_unit_test(test_path_normalize),
      cmocka_unit_test(test_path_prefix),    cmocka_unit_test(test_path_join_parts),
      cmocka_unit_test(test_path_prefixes),  cmocka_unit_test(test_time),
      cmocka_unit_test(test_rcbuf),          cmocka_unit_test(test_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
