/*
 * moq-lite codecs against the capture files themselves: every "[bytes]
 * annotation" line of the reassembled streams in
 * shared/vectors/moq-lite-05.txt, moq-lite-04.txt, moq-lite-03.txt, legacy.txt
 * and legacy-moql.txt (including the per-run origin ids) is decoded with the
 * codec its annotation names, in the file's version, checked against the
 * annotated length/fields where the annotation gives them, re-encoded to the
 * same bytes, and every truncation is INCOMPLETE.
 */
#include "test_wire_lite.h"

typedef struct kind {
  const char *word; /* the annotation's first word */
  lt_dec_fn dec;
  lt_enc_fn enc; /* NULL: the caller re-encodes (lists built by iteration) */
  size_t seen;
} kind;

static kind kinds[] = {
    {"SETUP", lt_dec_setup, lt_enc_setup, 0},
    {"ANNOUNCE_REQUEST", lt_dec_announce_request, lt_enc_announce_request, 0},
    {"ANNOUNCE_OK", lt_dec_announce_ok, lt_enc_announce_ok, 0},
    {"ANNOUNCE_BROADCAST", lt_dec_announce, lt_enc_announce, 0},
    {"ANNOUNCE_INIT", lt_dec_announce_init, NULL, 0},
    {"TRACK", lt_dec_track, lt_enc_track, 0},
    {"TRACK_INFO", lt_dec_track_info, lt_enc_track_info, 0},
    {"SUBSCRIBE", lt_dec_subscribe, lt_enc_subscribe, 0},
    {"SUBSCRIBE_OK", lt_dec_subscribe_response, lt_enc_subscribe_response, 0},
    {"SUBSCRIBE_OK/START", lt_dec_subscribe_response, lt_enc_subscribe_response,
     0},
    {"SUBSCRIBE_END", lt_dec_subscribe_response, lt_enc_subscribe_response, 0},
    {"GROUP", lt_dec_group, lt_enc_group, 0},
    {"FRAME", lt_dec_frame, lt_enc_frame, 0},
    {"u16", lt_dec_client_setup, NULL,
     0}, /* CLIENT_SETUP body, or SERVER_SETUP after 0x21 */
};

static lt_vec vec;

/* Returns the decimal value after "key=" in the annotation, or -1. */
static long long ann_field(const char *ann, const char *key) {
  char pat[40];
  const char *s;
  snprintf(pat, sizeof(pat), " %s=", key);
  s = strstr(ann, pat);
  if (s == NULL) {
    return -1;
  }
  return strtoll(s + strlen(pat), NULL, 10);
}

static void check_fields(const char *word, const char *ann, const void *out) {
  long long n;
  if (strcmp(word, "GROUP") == 0) {
    const moqc__lite_group *g = out;
    assert_int_equal(g->sequence, ann_field(ann, "sequence"));
    assert_int_equal(g->subscribe_id, ann_field(ann, "subscribe_id"));
  } else if (strcmp(word, "FRAME") == 0) {
    const moqc__lite_frame *f = out;
    assert_int_equal(f->size, ann_field(ann, "size"));
  } else if (strcmp(word, "TRACK_INFO") == 0) {
    const moqc__lite_track_info *t = out;
    assert_int_equal(t->priority, ann_field(ann, "publisher_priority"));
    assert_int_equal(t->timescale, ann_field(ann, "timescale"));
  } else if (strcmp(word, "SUBSCRIBE") == 0) {
    const moqc__lite_subscribe *s = out;
    assert_int_equal(s->id, ann_field(ann, "subscribe_id"));
    assert_int_equal(s->priority, ann_field(ann, "priority"));
  } else if (strcmp(word, "ANNOUNCE_BROADCAST") == 0) {
    const moqc__lite_announce *a = out;
    assert_int_equal(a->status, ann_field(ann, "status"));
    if ((n = ann_field(ann, "hop_count")) >= 0) {
      assert_int_equal(a->n_hops, n);
    }
  } else if (strcmp(word, "ANNOUNCE_OK") == 0) {
    const moqc__lite_announce_ok *o = out;
    assert_int_equal(o->active_count, ann_field(ann, "active_count"));
  } else if (strcmp(word, "SUBSCRIBE_END") == 0 ||
             strcmp(word, "SUBSCRIBE_OK/START") == 0) {
    const moqc__lite_subscribe_response *r = out;
    assert_int_equal(r->group, ann_field(ann, strcmp(word, "SUBSCRIBE_END") == 0
                                                  ? "end(exclusive)"
                                                  : "group"));
  }
}

static void run_file(const char *name, moqc_lite_version v, size_t min_msgs) {
  char path[512], line[2048];
  FILE *f;
  bool in_streams = false, server_setup_next = false;
  size_t msgs = 0;
  union {
    moqc__lite_setup a;
    moqc__lite_announce b;
    moqc__lite_announce_init c;
    moqc__lite_client_setup d;
    moqc__lite_server_setup e;
    moqc__lite_subscribe g;
    moqc__lite_subscribe_response h;
    moqc__lite_frame i;
    moqc__lite_track_info j;
  } out;

  snprintf(path, sizeof(path), "%s/vectors/%s", MOQC_SHARED_DIR, name);
  f = fopen(path, "r");
  assert_non_null(f);
  while (fgets(line, sizeof(line), f) != NULL) {
    char *open, *close, word[64];
    kind *k = NULL;
    if (strncmp(line, "### Reassembled streams", 23) == 0) {
      in_streams = true;
      continue;
    }
    if (strncmp(line, "## Connection", 13) == 0) {
      in_streams = false;
    }
    open = strchr(line, '[');
    if (!in_streams || open == NULL ||
        strspn(line, " ") != (size_t)(open - line)) {
      continue;
    }
    close = strchr(open, ']');
    assert_non_null(close);
    *close = 0;
    if (sscanf(close + 1, " %63s", word) != 1) {
      continue;
    }
    if (strcmp(word, "stream") == 0 || strcmp(word, "0x20") == 0) {
      continue; /* stream type byte */
    }
    if (strcmp(word, "0x21") == 0) {
      server_setup_next =
          true; /* SERVER_SETUP type byte: decoded with its body below */
      continue;
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
      if (strcmp(kinds[i].word, word) == 0) {
        k = &kinds[i];
      }
    }
    assert_non_null(k);
    k->seen++;
    msgs++;
    if (strcmp(word, "u16") == 0 && server_setup_next) {
      char hex[1100];
      snprintf(hex, sizeof(hex), "21 %s", open + 1);
      lt_check(&vec, hex, v, lt_dec_server_setup, NULL, &out);
      assert_int_equal(out.e.version, moqc__lite_version_code(v));
      server_setup_next = false;
      continue;
    }
    lt_check(&vec, open + 1, v, k->dec, k->enc, &out);
    if (k->enc != NULL) {
      /* The annotated length is the body size: check it where given. */
      long long len = ann_field(close + 1, "length");
      if (len >= 0 && strcmp(word, "FRAME") != 0) {
        size_t type_len =
            (strncmp(word, "SUBSCRIBE_", 10) == 0 && v >= MOQC_LITE_03) ? 1 : 0;
        assert_int_equal(
            (long long)vec.len - (long long)type_len - (len < 64 ? 1 : 2), len);
      }
      check_fields(word, close + 1, &out);
    } else if (strcmp(word, "u16") == 0) {
      assert_int_equal(moqc__lite_legacy_select(&out.d, MOQC_LITE_ALL_VERSIONS),
                       MOQC_LITE_02);
    } else {
      assert_int_equal(out.c.count, ann_field(close + 1, "count"));
    }
  }
  fclose(f);
  assert_true(msgs >= min_msgs);
}

static void test_file_lite05(void **state) {
  (void)state;
  run_file("moq-lite-05.txt", MOQC_LITE_05, 30);
}

static void test_file_lite04(void **state) {
  (void)state;
  run_file("moq-lite-04.txt", MOQC_LITE_04, 20);
}

static void test_file_lite03(void **state) {
  (void)state;
  run_file("moq-lite-03.txt", MOQC_LITE_03, 20);
}

static void test_file_legacy(void **state) {
  (void)state;
  run_file("legacy.txt", MOQC_LITE_02, 20);
  run_file("legacy-moql.txt", MOQC_LITE_02, 20);
}

/* Every kind of message in the captures was met at least once. */
static void test_all_kinds_seen(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (kinds[i].seen == 0) {
      fail_msg("no %s line found in the vector files", kinds[i].word);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_lite05),    cmocka_unit_test(test_file_lite04),
      cmocka_unit_test(test_file_lite03),    cmocka_unit_test(test_file_legacy),
      cmocka_unit_test(test_all_kinds_seen),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
