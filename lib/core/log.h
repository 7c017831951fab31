/*
 * Internal logging: formats a line and passes it to a moqc_log hook.
 */
#ifndef MOQC_CORE_LOG_H
#define MOQC_CORE_LOG_H

#include <moqc/mem.h>

/**
 * Formats and emits one line through log (which may be NULL) when level is enabled.
 * Lines longer than 1 KiB are truncated.
 */
void moqc__log(const moqc_log *log, moqc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MOQC_LOG(log, lvl, ...)                                                \
  do {                                                                         \
    if ((log) != NULL && (log)->write != NULL && (log)->level >= (lvl)) {      \
      moqc__log((log), (lvl), __VA_ARGS__);                                    \
    }                                                                          \
  } while (0)

#endif /* MOQC_CORE_LOG_H */
