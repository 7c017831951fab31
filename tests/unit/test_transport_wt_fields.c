/*
 * HTTP/3 header sections of the WebTransport layer (lib/transport/h3_fields.c): the CONNECT
 * request writer read back by nghttp3's QPACK decoder, byte vectors for hand-made sections
 * (static and literal fields), a dynamic-table reference refused, bounds, every truncation
 * refused, and the structured-field protocol lists of wt-available-protocols / wt-protocol.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include "transport/h3_fields.h"
#include "wire/h3.h"

static bool field_is(const moqc__h3_fieldset *fs, const char *name, const char *value) {
  moqc_str v;
  return moqc__h3_fieldset_get(fs, name, &v) && v.len == strlen(value) &&
         memcmp(v.ptr, value, v.len) == 0;
}

static void test_connect_roundtrip(void **state) {
  uint8_t buf[1024];
  moqc__writer w;
  moqc_str protos[] = {{"moq-lite-05", 11}, {"moql", 4}};
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_connect_request(&w, moqc_str_c("127.0.0.1:4443"), moqc_str_c("/anon?jwt=x"),
                               moqc_str_c("http://localhost:8080"), protos, 2);
  moqc_ssize n = moqc__writer_result(&w);
  assert_true(n > 0);
  const uint8_t *p = buf;
  moqc__h3_frame f;
  assert_int_equal(moqc__h3_frame_decode(&p, buf + n, 4096, &f), 0);
  assert_int_equal(f.type, MOQC__H3_HEADERS);
  assert_ptr_equal(p, buf + n);
  /* Static :method CONNECT (15) and :scheme https (23) follow the prefix. */
  assert_int_equal(f.payload[0], 0);
  assert_int_equal(f.payload[1], 0);
  assert_int_equal(f.payload[2], 0xcf);
  assert_int_equal(f.payload[3], 0xd7);
  moqc__h3_fieldset fs;
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, f.payload, f.len), 0);
  assert_int_equal(fs.n, 8);
  assert_true(field_is(&fs, ":method", "CONNECT"));
  assert_true(field_is(&fs, ":scheme", "https"));
  assert_true(field_is(&fs, ":authority", "127.0.0.1:4443"));
  assert_true(field_is(&fs, ":path", "/anon?jwt=x"));
  assert_true(field_is(&fs, ":protocol", "webtransport"));
  assert_true(field_is(&fs, "sec-webtransport-http3-draft02", "1"));
  assert_true(field_is(&fs, "origin", "http://localhost:8080"));
  assert_true(field_is(&fs, "wt-available-protocols", "\"moq-lite-05\", \"moql\""));
  moqc_str name = moqc__h3_fieldset_name(&fs, 0);
  assert_int_equal(name.len, 7);
  moqc__h3_fieldset_free(&fs);

  /* Without origin and protocols those two fields are absent. */
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_connect_request(&w, moqc_str_c("h:1"), moqc_str_c("/"), moqc_str_c(NULL), NULL, 0);
  n = moqc__writer_result(&w);
  p = buf;
  assert_int_equal(moqc__h3_frame_decode(&p, buf + n, 4096, &f), 0);
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, f.payload, f.len), 0);
  assert_int_equal(fs.n, 6);
  moqc_str v;
  assert_false(moqc__h3_fieldset_get(&fs, "origin", &v));
  moqc__h3_fieldset_free(&fs);

  /* Bad values are refused in w->err. */
  moqc_str bad[] = {{"a\"b", 3}};
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_connect_request(&w, moqc_str_c("h"), moqc_str_c("/"), moqc_str_c(""), bad, 1);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_connect_request(&w, moqc_str_c("h\r\n"), moqc_str_c("/"), moqc_str_c(""), NULL, 0);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  moqc__writer_init(&w, buf, 20);
  moqc__h3_put_connect_request(&w, moqc_str_c("h"), moqc_str_c("/"), moqc_str_c(""), NULL, 0);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
}

static void test_decode_vectors(void **state) {
  uint8_t blk[256];
  moqc__h3_fieldset fs;
  /* :status 200 (static 25) + literal "wt-protocol: \"moq-lite-05\"" (what moqc_wt_accept sends
   * comes from wire/h3.c's writer; read it back here). */
  uint8_t frame[256];
  moqc__writer w;
  moqc__h3_field fl[] = {{{"wt-protocol", 11}, {"\"moq-lite-05\"", 13}}};
  moqc__writer_init(&w, frame, sizeof(frame));
  moqc__h3_put_response_headers(&w, 200, fl, 1);
  moqc_ssize n = moqc__writer_result(&w);
  const uint8_t *p = frame;
  moqc__h3_frame f;
  assert_int_equal(moqc__h3_frame_decode(&p, frame + n, 4096, &f), 0);
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, f.payload, f.len), 0);
  assert_true(field_is(&fs, ":status", "200"));
  assert_true(field_is(&fs, "wt-protocol", "\"moq-lite-05\""));
  moqc__h3_fieldset_free(&fs);

  /* Every truncation of a section is refused (and never crashes). */
  size_t len = test_unhex("0000 d1 d7 c1 50 09 3132372e302e302e31", blk, sizeof(blk));
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, blk, len), 0);
  assert_true(field_is(&fs, ":method", "GET"));
  assert_true(field_is(&fs, ":path", "/"));
  assert_true(field_is(&fs, ":authority", "127.0.0.1"));
  moqc__h3_fieldset_free(&fs);
  for (size_t cut = 0; cut < len; cut++) {
    moqc__h3_fieldset_init(&fs, 4096, NULL);
    int rv = moqc__h3_fields_decode(&fs, blk, cut);
    /* A cut between two whole fields is a shorter valid section; inside one it is malformed. */
    if (cut == 2 || cut == 3 || cut == 4 || cut == 5) {
      assert_int_equal(rv, 0);
    } else {
      assert_int_equal(rv, MOQC_ERR_MALFORMED);
    }
    moqc__h3_fieldset_free(&fs);
  }

  /* A dynamic table reference (Required Insert Count 1) is refused: we allowed no table. */
  len = test_unhex("0200 80", blk, sizeof(blk));
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, blk, len), MOQC_ERR_MALFORMED);
  moqc__h3_fieldset_free(&fs);
  /* A static index beyond the table (99 + 64) is malformed. */
  len = test_unhex("0000 ff 80 01", blk, sizeof(blk));
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, blk, len), MOQC_ERR_MALFORMED);
  moqc__h3_fieldset_free(&fs);

  /* Bounds: bytes and field count. */
  len = test_unhex("0000 d1 d7 c1 50 09 3132372e302e302e31", blk, sizeof(blk));
  moqc__h3_fieldset_init(&fs, 20, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, blk, len), MOQC_ERR_BOUNDS_EXCEEDED);
  moqc__h3_fieldset_free(&fs);
  uint8_t many[2 + 70];
  many[0] = many[1] = 0;
  memset(many + 2, 0xd1, 70); /* 70 x :method GET */
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  assert_int_equal(moqc__h3_fields_decode(&fs, many, sizeof(many)), MOQC_ERR_BOUNDS_EXCEEDED);
  moqc__h3_fieldset_free(&fs);
}

static void test_sf_lists(void **state) {
  moqc_str out[8];
  size_t n;
  assert_int_equal(moqc__h3_sf_string_list(moqc_str_c("\"moq-lite-05\", \"moq-lite-04\",\"moql\""),
                                           out, 8, &n),
                   0);
  assert_int_equal(n, 3);
  assert_true(moqc_str_eq(out[0], moqc_str_c("moq-lite-05")));
  assert_true(moqc_str_eq(out[2], moqc_str_c("moql")));
  /* Tokens, parameters and surrounding spaces are accepted. */
  assert_int_equal(
      moqc__h3_sf_string_list(moqc_str_c("  a;q=1 , \"b\";x;y=\"z\", c-d/1 "), out, 8, &n), 0);
  assert_int_equal(n, 3);
  assert_true(moqc_str_eq(out[0], moqc_str_c("a")));
  assert_true(moqc_str_eq(out[1], moqc_str_c("b")));
  assert_true(moqc_str_eq(out[2], moqc_str_c("c-d/1")));
  /* Empty list. */
  assert_int_equal(moqc__h3_sf_string_list(moqc_str_c(""), out, 8, &n), 0);
  assert_int_equal(n, 0);
  /* An escaped member is valid sf but unusable as a protocol: skipped. */
  assert_int_equal(moqc__h3_sf_string_list(moqc_str_c("\"a\\\"b\", \"c\""), out, 8, &n), 0);
  assert_int_equal(n, 1);
  assert_true(moqc_str_eq(out[0], moqc_str_c("c")));
  /* Capacity: extra members are dropped. */
  assert_int_equal(moqc__h3_sf_string_list(moqc_str_c("\"a\", \"b\", \"c\""), out, 2, &n), 0);
  assert_int_equal(n, 2);
  /* Malformed lists. */
  const char *bad[] = {"\"a\",", "\"a\" \"b\"", "\"unterminated", "1", ",a", "\"a\\x\"",
                       "\"a\"; =1", "\"\x01\""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(moqc__h3_sf_string_list(moqc_str_c(bad[i]), out, 8, &n), MOQC_ERR_MALFORMED);
  }
  /* One item. */
  moqc_str s;
  assert_int_equal(moqc__h3_sf_string(moqc_str_c(" \"moq-lite-05\" "), &s), 0);
  assert_true(moqc_str_eq(s, moqc_str_c("moq-lite-05")));
  assert_int_equal(moqc__h3_sf_string(moqc_str_c("moql"), &s), 0);
  assert_int_equal(moqc__h3_sf_string(moqc_str_c("\"a\", \"b\""), &s), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__h3_sf_string(moqc_str_c("\"a\\\\\""), &s), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__h3_sf_string(moqc_str_c(""), &s), MOQC_ERR_MALFORMED);
  /* Protocol names. */
  assert_true(moqc__h3_protocol_valid(moqc_str_c("moq-lite-05")));
  assert_false(moqc__h3_protocol_valid(moqc_str_c("")));
  assert_false(moqc__h3_protocol_valid(moqc_str_c("a b\x7f")));
  char longname[80];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[79] = 0;
  assert_false(moqc__h3_protocol_valid(moqc_str_c(longname)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_roundtrip),
      cmocka_unit_test(test_decode_vectors),
      cmocka_unit_test(test_sf_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
