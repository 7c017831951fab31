/*
 * moqc: how the tool reaches a relay for a parsed URL and flags — the transport plan (WebSocket,
 * raw QUIC, WebTransport, or the npm client's development mode for http://), the WebTransport
 * URL, the server verification, and the parsing of what http://host:port/certificate.sha256
 * answers. Pure: no I/O, no allocation.
 */
#ifndef MOQC_CLI_WT_PLAN_H
#define MOQC_CLI_WT_PLAN_H

#include <moqc/quic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"

/** http://: how long the /certificate.sha256 fetch may take (connect, each read), ms. */
#define CLI_DEV_FETCH_TIMEOUT_MS 2000
/** http://: the WebTransport handshake time before falling back to WebSocket, ms. */
#define CLI_DEV_WT_TIMEOUT_MS 1000

/** http://: how long to wait for the ICMP answer that says no UDP socket listens, ms. */
#define CLI_DEV_UDP_PROBE_MS 50

/** The transport the tool dials. */
typedef enum cli_plan {
  CLI_PLAN_WS = 0, /* ws://, or http:// with --websocket */
  CLI_PLAN_QUIC,   /* moql:// */
  CLI_PLAN_WT,     /* https:// */
  CLI_PLAN_DEV     /* http://: fetch /certificate.sha256, WebTransport pinned to it, else ws:// */
} cli_plan;

/**
 * The plan for o (after cli_parse), or -1 with a message in err when the flags contradict the
 * URL (--websocket with https:// or moql://; --tls-* flags with ws:// or --websocket).
 */
int cli_plan_for(const cli_opts *o, cli_plan *out, char *err, size_t errlen);

/** Writes "https://host:port/path" (IPv6 hosts in brackets). Returns 0 or -1 (cap too small). */
int cli_url_wt(const cli_url *u, char *buf, size_t cap);

/**
 * Fills v with the verification the flags ask for: --tls-disable-verify (none), --tls-fingerprint
 * (pin, pointing at o->fingerprint), --tls-root (CA file), else the system roots. v points into o.
 */
void cli_tls_verify_for(const cli_opts *o, moqc_tls_verify *v);

/**
 * Parses an HTTP/1.x response in buf[0..len): the status code and where the body starts.
 * Returns 0, MOQC_ERR_INCOMPLETE (the head is not complete yet) or MOQC_ERR_MALFORMED.
 */
int cli_http_head_parse(const char *buf, size_t len, int *status, size_t *body_off);

/**
 * Parses the body of /certificate.sha256: one fingerprint (64 hex digits, optionally
 * colon-separated), surrounding white space allowed. Returns 0 or -1.
 */
int cli_cert_body_parse(const char *body, size_t len, uint8_t out[32]);

#endif /* MOQC_CLI_WT_PLAN_H */
