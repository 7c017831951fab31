/*
 * bench_quic_bulk: one QUIC connection, one unidirectional stream, no MoQ, over
 * loopback. The server and the client each run their own libuv loop on their
 * own thread; the client keeps up to 16 MiB in flight by writing the same 1 MiB
 * rcbuf again and again (zero-copy, one reference per write, as the relay's
 * fan-out does), for a few seconds, then sends FIN. Prints the payload rate the
 * server received: the physical reference for relay fan-out.
 *
 * Usage: bench_quic_bulk [seconds (default 3)] [inflight MiB (default 16)]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <uv.h>

#include <moqc/moqc.h>

#define CHUNK (1u << 20)

/* User + system seconds between two getrusage readings. */
static double cpu_seconds(const struct rusage *a, const struct rusage *b) {
  return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
         (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) / 1e6 +
         (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
         (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

typedef struct server_side {
  uv_loop_t loop;
  moqc_quic_endpoint *ep;
  uint64_t bytes;
  uint64_t t_first, t_fin;
  bool done;
} server_side;

typedef struct client_side {
  uv_loop_t loop;
  uv_timer_t stop;
  moqc_quic_endpoint *ep;
  moqc_quic_conn *conn;
  moqc_rcbuf *buf;
  int64_t sid;
  uint64_t written, acked, inflight;
  uint64_t t_start, t_hs;
  double seconds;
  bool finishing, closed;
  moqc_quic_conn_stats stats;
} client_side;

static server_side srv;
static client_side cli;

static moqc_ssize srv_data(moqc_quic_conn *c, int64_t sid, const uint8_t *d,
                           size_t len, bool fin, void *ud, void *cud) {
  (void)c;
  (void)sid;
  (void)d;
  (void)ud;
  (void)cud;
  if (srv.t_first == 0 && len > 0) {
    srv.t_first = uv_hrtime();
  }
  srv.bytes += len;
  if (fin) {
    srv.t_fin = uv_hrtime();
  }
  return (moqc_ssize)len;
}

static void srv_close(moqc_quic_conn *c, int err, uint64_t app, bool remote,
                      void *ud, void *cud) {
  (void)c;
  (void)err;
  (void)app;
  (void)remote;
  (void)ud;
  (void)cud;
  srv.done = true;
  moqc_quic_endpoint_del(srv.ep);
}

static void cli_fill(void) {
  while (!cli.finishing && cli.written - cli.acked < cli.inflight) {
    if (moqc_quic_conn_write(cli.conn, cli.sid, cli.buf, 0, CHUNK, false) !=
        0) {
      fprintf(stderr, "write failed\n");
      exit(1);
    }
    cli.written += CHUNK;
  }
}

static void cli_stop_cb(uv_timer_t *t) {
  (void)t;
  cli.finishing = true;
  moqc_quic_conn_finish(cli.conn, cli.sid);
}

static int cli_connected(moqc_quic_conn *c, const char *alpn, void *ud,
                         void *cud) {
  (void)alpn;
  (void)ud;
  (void)cud;
  cli.conn = c;
  cli.t_hs = uv_hrtime();
  if (moqc_quic_conn_open_stream(c, true, &cli.sid) != 0) {
    return MOQC_ERR_INTERNAL;
  }
  cli_fill();
  uv_timer_start(&cli.stop, cli_stop_cb, (uint64_t)(cli.seconds * 1000), 0);
  return 0;
}

static void cli_acked(moqc_quic_conn *c, int64_t sid, uint64_t n, void *ud,
                      void *cud) {
  (void)sid;
  (void)ud;
  (void)cud;
  cli.acked += n;
  if (cli.finishing) {
    if (cli.acked == cli.written) {
      moqc_quic_conn_get_stats(c, &cli.stats);
      moqc_quic_conn_close(c, 0, "done");
    }
    return;
  }
  cli_fill();
}

static void cli_close(moqc_quic_conn *c, int err, uint64_t app, bool remote,
                      void *ud, void *cud) {
  (void)c;
  (void)app;
  (void)remote;
  (void)ud;
  (void)cud;
  if (err != 0) {
    fprintf(stderr, "client closed with %s\n", moqc_strerror(err));
  }
  cli.closed = true;
  moqc_quic_endpoint_del(cli.ep);
  uv_close((uv_handle_t *)&cli.stop, NULL);
}

static void *server_thread(void *arg) {
  (void)arg;
  uv_run(&srv.loop, UV_RUN_DEFAULT);
  return NULL;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  uint64_t inflight = (argc > 2 ? (uint64_t)atoi(argv[2]) : 16) << 20;
  moqc_tls_cert *cert;
  if (moqc_tls_cert_generate(&cert, NULL, 0, (int64_t)time(NULL), 0, NULL) !=
      0) {
    fprintf(stderr, "cert generation failed\n");
    return 1;
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  moqc_quic_settings s;
  moqc_quic_settings_default(&s);
  s.initial_rtt = 10 * MOQC_MILLISECONDS;
  s.cert = cert;
  moqc_quic_callbacks scb = {.on_stream_data = srv_data, .on_close = srv_close};
  uv_loop_init(&srv.loop);
  if (moqc_quic_endpoint_new(&srv.ep, &srv.loop, (struct sockaddr *)&a, &s,
                             &scb, NULL) != 0) {
    fprintf(stderr, "server endpoint failed\n");
    return 1;
  }
  struct sockaddr_in sa = a;
  sa.sin_port = htons(moqc_quic_endpoint_port(srv.ep));

  s.cert = NULL;
  moqc_quic_callbacks ccb = {.on_connection = cli_connected,
                             .on_stream_acked = cli_acked,
                             .on_close = cli_close};
  uv_loop_init(&cli.loop);
  uv_timer_init(&cli.loop, &cli.stop);
  cli.seconds = seconds;
  cli.inflight = inflight;
  if (moqc_quic_endpoint_new(&cli.ep, &cli.loop, (struct sockaddr *)&a, &s,
                             &ccb, NULL) != 0) {
    fprintf(stderr, "client endpoint failed\n");
    return 1;
  }
  moqc_rcbuf_new(&cli.buf, CHUNK, NULL);
  uint8_t *d = moqc_rcbuf_data_mut(cli.buf);
  for (size_t i = 0; i < CHUNK; i++) {
    d[i] = (uint8_t)(i * 7);
  }
  moqc_quic_connect_params p;
  memset(&p, 0, sizeof(p));
  p.server_name = "localhost";
  p.verify.mode = MOQC_TLS_VERIFY_PIN;
  p.verify.pins =
      (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])moqc_tls_cert_fingerprint(
          cert);
  p.verify.npins = 1;

  struct rusage ru0, ru1, th0, th1;
  getrusage(RUSAGE_SELF, &ru0);
  getrusage(RUSAGE_THREAD, &th0);
  pthread_t th;
  pthread_create(&th, NULL, server_thread, NULL);
  cli.t_start = uv_hrtime();
  if (moqc_quic_connect(cli.ep, (struct sockaddr *)&sa, &p, NULL) != 0) {
    fprintf(stderr, "connect failed\n");
    return 1;
  }
  uv_run(&cli.loop, UV_RUN_DEFAULT);
  getrusage(RUSAGE_THREAD, &th1); /* the sender: this thread runs the client */
  pthread_join(th, NULL);
  getrusage(RUSAGE_SELF, &ru1);
  uv_loop_close(&cli.loop);
  uv_loop_close(&srv.loop);

  double secs = (double)(srv.t_fin - srv.t_first) / 1e9;
  printf("bench_quic_bulk: one connection, one uni stream, loopback, %.0f MiB "
         "in flight\n",
         (double)inflight / (1 << 20));
  printf("  handshake          %.2f ms\n",
         (double)(cli.t_hs - cli.t_start) / 1e6);
  printf("  payload received   %.1f MiB in %.2f s\n",
         (double)srv.bytes / (1 << 20), secs);
  printf("  throughput         %.1f MB/s (%.2f Gbit/s)\n",
         (double)srv.bytes / secs / 1e6, (double)srv.bytes * 8 / secs / 1e9);
  double cpu = cpu_seconds(&ru0, &ru1);
  double sender_cpu = cpu_seconds(&th0, &th1);
  /* CPU-normalised: what one fully busy core would move for sender and receiver
   * together; stable when other processes compete for the CPU. */
  printf("  CPU (both threads) %.2f s = %.1f MB per CPU-second (%.0f%% of the "
         "wall time)\n",
         cpu, (double)srv.bytes / cpu / 1e6, 100.0 * cpu / secs);
  /* The sending side alone (on loopback the kernel's receive path mostly runs
   * in the sender's system calls too): the figure a relay's CPU per delivered
   * byte compares with, since a relay only sends what it fans out. */
  printf("  sender CPU         %.2f s = %.1f MB per sender CPU-second\n",
         sender_cpu, (double)srv.bytes / sender_cpu / 1e6);
  printf("  client packets     %llu sent, srtt %.3f ms, cwnd %llu\n",
         (unsigned long long)cli.stats.packets_sent,
         (double)cli.stats.smoothed_rtt / 1e6,
         (unsigned long long)cli.stats.cwnd);
  printf("  rcbuf refcount after close: %u (1 = every acked write released)\n",
         moqc_rcbuf_refcount(cli.buf));
  int ok = srv.bytes == cli.written && cli.closed && srv.done;
  moqc_rcbuf_decref(cli.buf);
  moqc_tls_cert_del(cert);
  if (!ok) {
    fprintf(stderr, "FAILED: server got %llu of %llu bytes\n",
            (unsigned long long)srv.bytes, (unsigned long long)cli.written);
    return 1;
  }
  return 0;
}
