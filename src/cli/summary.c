/*
 * Subscription summary: counts, gaps and latency percentiles.
 */
#include "summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void summary_init(summary *s) { memset(s, 0, sizeof(*s)); }

void summary_group(summary *s, uint64_t group_seq) {
  if (s->groups == 0 || group_seq < s->first_group) {
    s->first_group = group_seq;
  }
  if (s->groups == 0 || group_seq > s->last_group) {
    s->last_group = group_seq;
  }
  s->groups++;
}

int summary_frame(summary *s, const uint8_t *buf, size_t len, uint64_t now_us, bool check,
                  uint64_t *prev_seq) {
  payload_info info;

  s->frames++;
  s->bytes += len;
  if (!check) {
    return 0;
  }
  if (payload_check(buf, len, &info) != 0) {
    s->bad_frames++;
    return -1;
  }
  if (*prev_seq != UINT64_MAX && info.frame_seq > *prev_seq + 1) {
    s->gaps += info.frame_seq - *prev_seq - 1;
  }
  *prev_seq = info.frame_seq;
  if (s->nlatency == s->caplatency) {
    size_t cap = s->caplatency ? s->caplatency * 2 : 1024;
    uint64_t *p = realloc(s->latency_us, cap * sizeof(*p));
    if (p == NULL) {
      return -2;
    }
    s->latency_us = p;
    s->caplatency = cap;
  }
  s->latency_us[s->nlatency++] = now_us > info.sent_us ? now_us - info.sent_us : 0;
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

double summary_latency_ms(summary *s, double p) {
  size_t idx;

  if (s->nlatency == 0) {
    return 0;
  }
  qsort(s->latency_us, s->nlatency, sizeof(uint64_t), cmp_u64);
  if (p <= 0) {
    return (double)s->latency_us[0] / 1000.0;
  }
  /* Nearest rank: the smallest sample with at least p% of samples at or below it. */
  idx = (size_t)((p / 100.0) * (double)s->nlatency + 0.999999);
  if (idx == 0) {
    idx = 1;
  }
  if (idx > s->nlatency) {
    idx = s->nlatency;
  }
  return (double)s->latency_us[idx - 1] / 1000.0;
}

size_t summary_json(summary *s, char *buf, size_t cap) {
  int n = snprintf(buf, cap,
                   "{\"groups\":%llu,\"frames\":%llu,\"bytes\":%llu,\"bad_frames\":%llu,"
                   "\"gaps\":%llu,\"aborted_groups\":%llu,\"latency_p50_ms\":%.3f,\"latency_p90_ms\":%.3f,"
                   "\"latency_p99_ms\":%.3f,\"latency_max_ms\":%.3f}",
                   (unsigned long long)s->groups, (unsigned long long)s->frames,
                   (unsigned long long)s->bytes, (unsigned long long)s->bad_frames,
                   (unsigned long long)s->gaps, (unsigned long long)s->aborted_groups,
                   summary_latency_ms(s, 50),
                   summary_latency_ms(s, 90), summary_latency_ms(s, 99),
                   summary_latency_ms(s, 100));
  return n < 0 ? 0 : (size_t)n;
}

void summary_free(summary *s) {
  free(s->latency_us);
  memset(s, 0, sizeof(*s));
}
