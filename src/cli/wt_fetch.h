/*
 * moqc: fetches a relay's certificate fingerprint from http://host:port/certificate.sha256 (what
 * @moq/net does for an http:// URL before it tries WebTransport).
 */
#ifndef MOQC_CLI_WT_FETCH_H
#define MOQC_CLI_WT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"

/**
 * GETs /certificate.sha256 from u's host and port over plain HTTP/1.1 (blocking, at most
 * timeout_ms for the connect and for each read) and parses the fingerprint into out. Returns 0,
 * or a negative moqc error with a message in err: MOQC_ERR_IO (resolution, connect, read,
 * timeout), MOQC_ERR_REMOTE (a status other than 200), MOQC_ERR_MALFORMED (not an HTTP response
 * or not a fingerprint).
 */
int cli_cert_fetch(const cli_url *u, int timeout_ms, uint8_t out[32], char *err, size_t errlen);

/**
 * Tells whether nothing listens on UDP at u's host and port: sends one 1-byte datagram (QUIC
 * servers drop datagrams that short) from a connected socket and waits at most wait_ms for the
 * ICMP port-unreachable error that comes back at once on loopback and most LANs. Returns true
 * only for that error; silence, an answer or any other failure return false (then WebTransport
 * is tried and its handshake timeout decides).
 */
bool cli_udp_port_closed(const cli_url *u, int wait_ms);

#endif /* MOQC_CLI_WT_FETCH_H */
