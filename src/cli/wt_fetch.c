/*
 * The /certificate.sha256 fetch of the `moqc` tool (see wt_fetch.h). Blocking on purpose: it
 * runs once, before the loop has anything else to do.
 */
#include "wt_fetch.h"

#include <moqc/error.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "wt_plan.h"

/* Connects to one of host's addresses (IPv4 first, like the other transports). */
static int wt_fetch_dial(const cli_url *u, int timeout_ms) {
  struct addrinfo hints, *res = NULL, *ai;
  struct timeval tv;
  char port[8];
  int fd = -1;

  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof(port), "%d", u->port);
  if (getaddrinfo(u->host, port, &hints, &res) != 0) {
    return -1;
  }
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  for (int pass = 0; pass < 2 && fd < 0; pass++) {
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
      if ((pass == 0) != (ai->ai_family == AF_INET)) {
        continue;
      }
      fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        continue;
      }
      /* SO_SNDTIMEO bounds connect() on Linux. */
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
      }
    }
  }
  freeaddrinfo(res);
  return fd;
}

int cli_cert_fetch(const cli_url *u, int timeout_ms, uint8_t out[32], char *err, size_t errlen) {
  char req[CLI_HOST_MAX + 128], buf[2048];
  size_t len = 0, body = 0;
  int fd, n, status = 0, rv = MOQC_ERR_INCOMPLETE;

  fd = wt_fetch_dial(u, timeout_ms);
  if (fd < 0) {
    snprintf(err, errlen, "cannot connect to %s:%d", u->host, u->port);
    return MOQC_ERR_IO;
  }
  n = snprintf(req, sizeof(req),
               u->ipv6 ? "GET /certificate.sha256 HTTP/1.1\r\nHost: [%s]:%d\r\nConnection: "
                         "close\r\n\r\n"
                       : "GET /certificate.sha256 HTTP/1.1\r\nHost: %s:%d\r\nConnection: "
                         "close\r\n\r\n",
               u->host, u->port);
  if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    snprintf(err, errlen, "cannot send the request");
    return MOQC_ERR_IO;
  }
  /* Read until the peer closes (Connection: close) or the buffer is full. */
  for (;;) {
    ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
    if (r <= 0) {
      break;
    }
    len += (size_t)r;
    if (len == sizeof(buf) - 1) {
      break;
    }
  }
  close(fd);
  rv = cli_http_head_parse(buf, len, &status, &body);
  if (rv != 0) {
    snprintf(err, errlen, "%s", len == 0 ? "no answer" : "not an HTTP response");
    return len == 0 ? MOQC_ERR_IO : MOQC_ERR_MALFORMED;
  }
  if (status != 200) {
    snprintf(err, errlen, "HTTP status %d", status);
    return MOQC_ERR_REMOTE;
  }
  if (cli_cert_body_parse(buf + body, len - body, out) != 0) {
    snprintf(err, errlen, "the answer is not a SHA-256 fingerprint");
    return MOQC_ERR_MALFORMED;
  }
  return 0;
}

bool cli_udp_port_closed(const cli_url *u, int wait_ms) {
  struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
  struct pollfd pfd;
  char port[8], b = 0;
  bool closed = false;
  int fd;

  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  snprintf(port, sizeof(port), "%d", u->port);
  if (getaddrinfo(u->host, port, &hints, &res) != 0) {
    return false;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) { /* the address the WebTransport client picks */
    if (ai->ai_family == AF_INET || (ai->ai_family == AF_INET6 && pick == NULL)) {
      pick = ai;
      if (ai->ai_family == AF_INET) {
        break;
      }
    }
  }
  fd = pick != NULL ? socket(pick->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
  if (fd >= 0 && connect(fd, pick->ai_addr, pick->ai_addrlen) == 0 && send(fd, &b, 1, 0) == 1) {
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, wait_ms) > 0 && recv(fd, &b, 1, MSG_DONTWAIT) < 0 &&
        errno == ECONNREFUSED) {
      closed = true;
    }
  }
  if (fd >= 0) {
    close(fd);
  }
  freeaddrinfo(res);
  return closed;
}
