/*
 * The synthetic frame payload (see payload.h).
 */
#include "payload.h"

#include <stdio.h>
#include <string.h>

static const uint8_t magic[4] = {'M', 'Q', 'C', '1'};

static void put_be(uint8_t *p, uint64_t v, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    p[n - 1 - i] = (uint8_t)(v >> (8 * i));
  }
}

static uint64_t get_be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    v = v << 8 | p[i];
  }
  return v;
}

static uint8_t filler(uint64_t frame_seq, size_t i) {
  return (uint8_t)((frame_seq * 7 + i) & 0xff);
}

int payload_write(uint8_t *buf, size_t len, const payload_info *info) {
  size_t i;

  if (len < PAYLOAD_HEADER) {
    return -1;
  }
  memcpy(buf, magic, 4);
  put_be(buf + 4, info->frame_seq, 8);
  put_be(buf + 12, info->sent_us, 8);
  put_be(buf + 20, info->group_seq, 8);
  put_be(buf + 28, info->frame_index, 4);
  for (i = PAYLOAD_HEADER; i < len; i++) {
    buf[i] = filler(info->frame_seq, i);
  }
  return 0;
}

int payload_check(const uint8_t *buf, size_t len, payload_info *info) {
  payload_info in;
  size_t i;

  if (len < PAYLOAD_HEADER || memcmp(buf, magic, 4) != 0) {
    return -1;
  }
  in.frame_seq = get_be(buf + 4, 8);
  in.sent_us = get_be(buf + 12, 8);
  in.group_seq = get_be(buf + 20, 8);
  in.frame_index = (uint32_t)get_be(buf + 28, 4);
  for (i = PAYLOAD_HEADER; i < len; i++) {
    if (buf[i] != filler(in.frame_seq, i)) {
      return -1;
    }
  }
  *info = in;
  return 0;
}

static size_t npm_number(const uint8_t *buf, size_t len, size_t i, uint64_t *out) {
  size_t start = i;
  uint64_t v = 0;

  while (i < len && i - start < 19 && buf[i] >= '0' && buf[i] <= '9') {
    v = v * 10 + (uint64_t)(buf[i] - '0');
    i++;
  }
  *out = v;
  return i - start;
}

static uint8_t npm_filler(uint64_t group, uint64_t frame, size_t i) {
  return (uint8_t)((group * 31 + frame * 7 + i) & 0xff);
}

int payload_write_npm(uint8_t *buf, size_t len, uint64_t group, uint64_t frame) {
  char head[48];
  int n = snprintf(head, sizeof(head), "g%lluf%llu:", (unsigned long long)group,
                   (unsigned long long)frame);
  size_t i;

  if (n < 0 || (size_t)n > len) {
    return -1;
  }
  memcpy(buf, head, (size_t)n);
  for (i = (size_t)n; i < len; i++) {
    buf[i] = npm_filler(group, frame, i);
  }
  return 0;
}

int payload_check_npm(const uint8_t *buf, size_t len, uint64_t *group, uint64_t *frame) {
  char head[48];
  uint64_t g, f;
  size_t i = 1, n;
  int hn;

  if (len < 5 || buf[0] != 'g') {
    return -1;
  }
  if ((n = npm_number(buf, len, i, &g)) == 0) {
    return -1;
  }
  i += n;
  if (i >= len || buf[i] != 'f') {
    return -1;
  }
  i++;
  if ((n = npm_number(buf, len, i, &f)) == 0) {
    return -1;
  }
  i += n;
  if (i >= len || buf[i] != ':') {
    return -1;
  }
  i++;
  /* The canonical header (no leading zeros), byte for byte. */
  hn = snprintf(head, sizeof(head), "g%lluf%llu:", (unsigned long long)g, (unsigned long long)f);
  if (hn < 0 || (size_t)hn != i || memcmp(head, buf, i) != 0) {
    return -1;
  }
  for (; i < len; i++) {
    if (buf[i] != npm_filler(g, f, i)) {
      return -1;
    }
  }
  *group = g;
  *frame = f;
  return 0;
}
