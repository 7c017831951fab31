/*
 * The log hook: level names and line formatting.
 */
#include "core/log.h"

#include <moqc/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

static const char *const level_names[] = {"none",  "error", "warn",
                                          "info",  "debug", "trace"};

const char *moqc_log_level_name(moqc_log_level level) {
  if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0])) {
    return "unknown";
  }
  return level_names[level];
}

int moqc_log_level_parse(const char *name, moqc_log_level *out) {
  size_t i;

  if (name == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
    if (strcasecmp(name, level_names[i]) == 0) {
      *out = (moqc_log_level)i;
      return 0;
    }
  }
  if (strcasecmp(name, "warning") == 0) {
    *out = MOQC_LOG_WARN;
    return 0;
  }
  return MOQC_ERR_INVALID_ARGUMENT;
}

void moqc__log(const moqc_log *log, moqc_log_level level, const char *fmt,
               ...) {
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
