/*
 * moqc: the synthetic frame payload that `moqc pub` writes and `moqc sub` checks.
 *
 * Layout (big-endian): magic "MQC1" (4), frame sequence over the whole run (8), send time in
 * microseconds of the wall clock (8), group sequence (8), frame index in its group (4), then
 * filler bytes i = PAYLOAD_HEADER.. with value (frame_seq * 7 + i) & 0xff, so every byte of a
 * received frame can be checked. Frames are at least PAYLOAD_HEADER bytes.
 */
#ifndef MOQC_CLI_PAYLOAD_H
#define MOQC_CLI_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_HEADER 32

/** What a synthetic frame carries. */
typedef struct payload_info {
  uint64_t frame_seq;
  uint64_t sent_us;
  uint64_t group_seq;
  uint32_t frame_index;
} payload_info;

/** Writes a frame of len bytes (len >= PAYLOAD_HEADER) into buf. Returns 0, or -1 if too short. */
int payload_write(uint8_t *buf, size_t len, const payload_info *info);

/**
 * Checks a received frame: magic, header and every filler byte. Returns 0 and fills *info, or
 * -1 when the frame is not a valid synthetic frame (too short, bad magic, a wrong byte).
 */
int payload_check(const uint8_t *buf, size_t len, payload_info *info);

/**
 * Checks a frame in the format of tests/interop/payload.mjs (the npm peers): the ASCII header
 * "g<group>f<frame>:" (decimal, no leading '+'/'-'), then filler bytes i = header length.. with
 * value (group * 31 + frame * 7 + i) & 0xff. Returns 0 and fills *group and *frame, or -1 when
 * the frame is not in that format or a byte is wrong.
 */
int payload_check_npm(const uint8_t *buf, size_t len, uint64_t *group, uint64_t *frame);

/** Writes a frame in the npm peers' format (for tests); returns 0, or -1 when len is too short
 * for the header. */
int payload_write_npm(uint8_t *buf, size_t len, uint64_t group, uint64_t frame);

#endif /* MOQC_CLI_PAYLOAD_H */
