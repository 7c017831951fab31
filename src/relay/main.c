/*
 * moqc-relay: the Media over QUIC relay. See --help and README.md.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "relay.h"

int main(int argc, char **argv) {
  relay_config cfg;
  relay r;
  char err[512];
  bool help = false;
  uv_loop_t loop;
  int rv = 0;

  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("moqc-relay %s\n", MOQC_VERSION);
    return 0;
  }
  if (relay_config_default(&cfg) != 0) {
    fprintf(stderr, "moqc-relay: out of memory\n");
    return 1;
  }
  if (relay_config_parse_args(&cfg, argc, argv, &help, err, sizeof(err)) != 0) {
    fprintf(stderr, "moqc-relay: %s\n", err);
    relay_config_free(&cfg);
    return 2;
  }
  if (help) {
    char text[8192];
    relay_config_usage(text, sizeof(text), "moqc-relay");
    fputs(text, stdout);
    relay_config_free(&cfg);
    return 0;
  }
  /* A peer that goes away mid-write must not kill the relay. */
  signal(SIGPIPE, SIG_IGN);
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "moqc-relay: cannot create the event loop\n");
    relay_config_free(&cfg);
    return 1;
  }
  if (relay_start(&r, &loop, &cfg) != 0) {
    rv = 1;
    relay_stop(&r);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  relay_free(&r);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "moqc-relay: handles left open at exit\n");
    rv = 1;
  }
  relay_config_free(&cfg);
  return rv;
}
