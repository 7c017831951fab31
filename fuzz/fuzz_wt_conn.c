/*
 * Fuzz target: the HTTP/3 + WebTransport session machine (lib/transport/wt_conn.c) without a
 * network. A fake lower transport stands in for the QUIC connection and a sink application for
 * the session; the input is a script of stream bytes (control, QPACK, request and WebTransport
 * streams, with FINs), datagrams, resets, stream closes, write pulls with partial takes and
 * acknowledgements, polls and timers, on the server or the client side. The embedder accepts,
 * refuses or defers each CONNECT as the script says. Everything must stay in bounds, leak-free,
 * and never call the application after it was told the session closed.
 */
#include <stdlib.h>
#include <string.h>

#include "transport/wt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
  moqc_wt_conn c;
  int64_t next_bidi, next_uni;
  bool lower_closed;
  uint8_t decide; /* 0 accept, 1 refuse, 2 defer */
  bool app_closed_told;
  moqc_stream_id last_open;
} fz;

static fz *g_fz;

static int fz_open(void *ud, bool uni, moqc_stream_id *id) {
  fz *f = ud;
  if (f->lower_closed) {
    return MOQC_ERR_CLOSED;
  }
  int64_t *n = uni ? &f->next_uni : &f->next_bidi;
  *id = *n;
  *n += 4;
  return 0;
}
static void fz_resume(void *ud, moqc_stream_id id) { (void)ud, (void)id; }
static int fz_reset(void *ud, moqc_stream_id id, uint64_t code) {
  (void)ud, (void)id, (void)code;
  return 0;
}
static int fz_dgram(void *ud, const uint8_t *d, size_t len) {
  (void)ud, (void)d, (void)len;
  return 0;
}
static void fz_close(void *ud, uint64_t code, const char *reason, size_t len) {
  fz *f = ud;
  (void)code, (void)reason, (void)len;
  if (f->lower_closed) {
    abort(); /* closed twice */
  }
  f->lower_closed = true;
}
static void fz_wake(void *ud) { (void)ud; }

static const moqc_transport_ops fz_lower_ops = {
    .open_stream = fz_open,
    .resume_stream = fz_resume,
    .reset_stream = fz_reset,
    .stop_sending = fz_reset,
    .send_datagram = fz_dgram,
    .close = fz_close,
    .wake = fz_wake,
};

/* The application: consumes everything, sometimes opens a stream or sends a datagram. */
static void fz_app_check(void) {
  if (g_fz->app_closed_told) {
    abort(); /* called after closed() */
  }
}
static moqc_ssize app_read(void *a, moqc_stream_id id, const uint8_t *d, size_t len, bool fin,
                           moqc_tstamp ts) {
  (void)a, (void)id, (void)d, (void)fin, (void)ts;
  fz_app_check();
  if (len > 0 && d[0] == 0x42) {
    moqc_transport t = moqc_wt_conn_transport(&g_fz->c);
    moqc_stream_id nid;
    if (t.ops->open_stream(t.user_data, (d[0] & 1) != 0, &nid) == 0) {
      g_fz->last_open = nid;
    }
    t.ops->send_datagram(t.user_data, d, len > 64 ? 64 : len);
  }
  return (moqc_ssize)len;
}
static const uint8_t app_bytes[] = "application bytes";
static moqc_ssize app_writev(void *a, moqc_stream_id *id, bool *fin, moqc_vec *vec, size_t n,
                             moqc_tstamp ts) {
  (void)a, (void)ts;
  fz_app_check();
  *id = g_fz->last_open;
  *fin = true;
  if (*id == MOQC_STREAM_NONE || n == 0) {
    *id = MOQC_STREAM_NONE;
    return 0;
  }
  vec[0].base = app_bytes;
  vec[0].len = sizeof(app_bytes) - 1;
  return 1;
}
static int app_add_write(void *a, moqc_stream_id id, size_t n) {
  (void)a, (void)id;
  fz_app_check();
  if (n > sizeof(app_bytes) - 1) {
    abort(); /* more than offered: a header was not accounted */
  }
  if (n == sizeof(app_bytes) - 1) {
    g_fz->last_open = MOQC_STREAM_NONE;
  }
  return 0;
}
static int app_id_op(void *a, moqc_stream_id id) {
  (void)a, (void)id;
  fz_app_check();
  return 0;
}
static int app_ack(void *a, moqc_stream_id id, uint64_t n) {
  (void)a, (void)id, (void)n;
  fz_app_check();
  return 0;
}
static int app_code_op(void *a, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  (void)a, (void)id, (void)code, (void)ts;
  fz_app_check();
  return 0;
}
static int app_close_stream(void *a, moqc_stream_id id, moqc_tstamp ts) {
  (void)a, (void)id, (void)ts;
  fz_app_check();
  return 0;
}
static int app_dgram(void *a, const uint8_t *d, size_t len, moqc_tstamp ts) {
  (void)a, (void)d, (void)len, (void)ts;
  fz_app_check();
  return 0;
}
static int app_poll(void *a, moqc_tstamp ts) {
  (void)a, (void)ts;
  fz_app_check();
  return 0;
}
static moqc_tstamp app_expiry(void *a) {
  (void)a;
  return UINT64_MAX;
}
static int app_handle_expiry(void *a, moqc_tstamp ts) {
  (void)a, (void)ts;
  return 0;
}
static void app_closed(void *a, uint64_t code, const char *reason, size_t len) {
  (void)a, (void)code, (void)reason, (void)len;
  fz_app_check();
  g_fz->app_closed_told = true;
}

static const moqc_stream_app_ops fz_app_ops = {
    .read_stream = app_read,
    .writev_stream = app_writev,
    .add_write_offset = app_add_write,
    .add_ack_offset = app_ack,
    .block_stream = app_id_op,
    .unblock_stream = app_id_op,
    .recv_reset = app_code_op,
    .recv_stop_sending = app_code_op,
    .close_stream = app_close_stream,
    .recv_datagram = app_dgram,
    .poll = app_poll,
    .get_expiry = app_expiry,
    .handle_expiry = app_handle_expiry,
    .closed = app_closed,
};

static void fz_on_request(moqc_wt_conn *c) {
  moqc_wt_request *req = &c->req;
  (void)moqc_wt_request_path(req);
  for (size_t i = 0; i < moqc_wt_request_protocol_count(req); i++) {
    (void)moqc_wt_request_protocol(req, i);
  }
  if (g_fz->decide == 0) {
    if (moqc_wt_accept(req, moqc_wt_request_protocol_count(req) > 0 ? "moq-lite-05" : NULL,
                       NULL) == 0) {
      moqc_wt_conn_attach(c, &fz_app_ops, NULL, NULL, NULL);
    }
  } else if (g_fz->decide == 1) {
    moqc_wt_refuse(req, 403);
  }
}

static void fz_on_response(moqc_wt_conn *c, int status) {
  if (status >= 200 && status < 300) {
    moqc_wt_conn_attach(c, &fz_app_ops, NULL, NULL, NULL);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t connect_frame[] = {0x01, 0x03, 0x00, 0x00, 0xcf};
  fz f;
  const uint8_t *p = data, *end = data + size;
  moqc_tstamp ts = 1000;
  if (size < 2) {
    return 0;
  }
  memset(&f, 0, sizeof(f));
  g_fz = &f;
  bool server = (p[0] & 1) != 0;
  f.decide = (uint8_t)((p[0] >> 1) % 3);
  p++;
  f.next_bidi = server ? 1 : 0;
  f.next_uni = server ? 3 : 2;
  f.last_open = MOQC_STREAM_NONE;
  moqc_transport lower = {&fz_lower_ops, &f};
  if (moqc__wt_conn_init(&f.c, server, lower, NULL, NULL) != 0) {
    return 0;
  }
  f.c.on_request = fz_on_request;
  f.c.on_response = fz_on_response;
  f.c.max_header_size = 1024;
  f.c.max_early_bytes = 256;
  if (!server) {
    f.c.connect_frame = malloc(sizeof(connect_frame));
    memcpy(f.c.connect_frame, connect_frame, sizeof(connect_frame));
    f.c.connect_frame_len = sizeof(connect_frame);
  }
  const moqc_stream_app_ops *ops = &moqc__wt_lower_ops;
  void *app = &f.c;
  (void)moqc__wt_conn_start(&f.c);
  while (p < end && !f.lower_closed) {
    uint8_t op = *p++;
    /* Stream ids: 0..15 scaled into each kind, peer or ours. */
    int64_t id = (int64_t)((op >> 4) & 0x7) * 4 + (int64_t)(server ? 0 : 1);
    if (op & 0x80) {
      id += 2; /* a uni stream */
    }
    size_t len = p < end ? *p++ : 0;
    if (len > (size_t)(end - p)) {
      len = (size_t)(end - p);
    }
    ts += 1000000;
    switch (op & 0x0f) {
    case 0:
    case 1:
    case 2:
    case 3:
      ops->read_stream(app, id, p, len, (op & 0x0f) == 1, ts);
      p += len;
      break;
    case 4:
      ops->recv_datagram(app, p, len, ts);
      p += len;
      break;
    case 5:
      ops->recv_reset(app, id, len, ts);
      break;
    case 6:
      ops->recv_stop_sending(app, id, len, ts);
      break;
    case 7:
      ops->close_stream(app, id, ts);
      break;
    case 8:
    case 9: {
      moqc_vec vec[8];
      moqc_stream_id wid;
      bool fin;
      moqc_ssize n = ops->writev_stream(app, &wid, &fin, vec, 8, ts);
      if (n > 0 && wid != MOQC_STREAM_NONE) {
        size_t total = 0;
        for (moqc_ssize i = 0; i < n; i++) {
          if (vec[i].base == NULL && vec[i].len > 0) {
            abort();
          }
          total += vec[i].len;
        }
        size_t take = (op & 0x0f) == 8 ? total : (len < total ? len : total);
        ops->add_write_offset(app, wid, take);
        ops->add_ack_offset(app, wid, take);
      }
      break;
    }
    case 10:
      ops->block_stream(app, id);
      break;
    case 11:
      ops->unblock_stream(app, id);
      break;
    case 12:
      ops->poll(app, ts);
      break;
    case 13:
      if (ops->get_expiry(app) <= ts + 2000000000ULL) {
        ops->handle_expiry(app, ts + 2000000000ULL);
      }
      break;
    case 14:
      if (f.c.req.active) {
        if (len & 1) {
          moqc_wt_refuse(&f.c.req, 404);
        } else if (moqc_wt_accept(&f.c.req, NULL, NULL) == 0) {
          moqc_wt_conn_attach(&f.c, &fz_app_ops, NULL, NULL, NULL);
        }
      } else if (len & 2) {
        (void)moqc_wt_conn_drain(&f.c);
        (void)moqc_wt_conn_draining(&f.c);
      } else {
        moqc_wt_conn_close(&f.c, (uint32_t)len, "fuzz");
      }
      break;
    default: {
      moqc_transport t = moqc_wt_conn_transport(&f.c);
      if (f.c.app_ops != NULL && !f.c.app_closed) {
        t.ops->close(t.user_data, len, "x", 1);
      }
      break;
    }
    }
  }
  moqc_wt_close_info info;
  if (!f.lower_closed) {
    ops->closed(app, 0, "", 0);
  }
  moqc__wt_conn_lower_gone(&f.c, 0, 0x100, true, &info);
  moqc__wt_conn_free(&f.c);
  return 0;
}
