/*
 * moqc-relay: log lines to stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "relay.h"

static void log_write(void *user_data, moqc_log_level level, const char *msg) {
  struct timespec ts;
  struct tm tm;
  char when[32];

  (void)user_data;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000, moqc_log_level_name(level),
          msg);
}

void relay_log_init(moqc_log *log, moqc_log_level level) {
  log->write = log_write;
  log->user_data = NULL;
  log->level = level;
}

void relay_logf(const moqc_log *log, moqc_log_level level, const char *fmt, ...) {
  char line[1024];
  va_list ap;

  if (log == NULL || log->write == NULL || log->level < level) {
    return;
  }
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  log->write(log->user_data, level, line);
}
