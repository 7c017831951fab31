/*
 * moqc: the allocator hook and the log hook. Both are passed per object, never set globally.
 */
#ifndef MOQC_MEM_H
#define MOQC_MEM_H

#include <moqc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A custom allocator. Every function receives user_data. Pass NULL wherever a moqc_mem is taken
 * to use the C library's allocator. The struct is referenced, not copied: it must outlive every
 * object created with it. The functions may be called from any thread that uses the object.
 */
typedef struct moqc_mem {
  /** Passed to every function below. */
  void *user_data;
  /** Like malloc(3). Returns NULL on failure. */
  void *(*malloc)(size_t size, void *user_data);
  /** Like free(3); called with NULL is allowed and does nothing. */
  void (*free)(void *ptr, void *user_data);
  /** Like calloc(3). Returns NULL on failure. */
  void *(*calloc)(size_t nmemb, size_t size, void *user_data);
  /** Like realloc(3). Returns NULL on failure and leaves ptr untouched. */
  void *(*realloc)(void *ptr, size_t size, void *user_data);
} moqc_mem;

/** Returns the allocator used when NULL is given: the C library's. Never NULL. */
MOQC_EXTERN const moqc_mem *moqc_mem_default(void);

/** Allocates size bytes with mem (NULL = default). Returns NULL on failure. */
MOQC_EXTERN void *moqc_mem_malloc(const moqc_mem *mem, size_t size);
/** Allocates zeroed memory with mem (NULL = default). Returns NULL on failure or overflow. */
MOQC_EXTERN void *moqc_mem_calloc(const moqc_mem *mem, size_t nmemb, size_t size);
/** Resizes ptr with mem (NULL = default). Returns NULL on failure, leaving ptr valid. */
MOQC_EXTERN void *moqc_mem_realloc(const moqc_mem *mem, void *ptr, size_t size);
/** Frees ptr with mem (NULL = default). ptr may be NULL. */
MOQC_EXTERN void moqc_mem_free(const moqc_mem *mem, void *ptr);

/** Log levels, from quiet to verbose. */
typedef enum moqc_log_level {
  MOQC_LOG_NONE = 0,
  MOQC_LOG_ERROR = 1,
  MOQC_LOG_WARN = 2,
  MOQC_LOG_INFO = 3,
  MOQC_LOG_DEBUG = 4,
  MOQC_LOG_TRACE = 5
} moqc_log_level;

/**
 * A log hook. The library never prints: it formats a line (without a trailing newline) and
 * passes it to write, which may be called from any thread that uses the object holding the hook.
 * Lines above level are not formatted at all. A NULL hook or a NULL write discards everything.
 */
typedef struct moqc_log {
  /** Receives one formatted line; msg is valid only during the call. */
  void (*write)(void *user_data, moqc_log_level level, const char *msg);
  /** Passed to write. */
  void *user_data;
  /** The most verbose level passed to write. */
  moqc_log_level level;
} moqc_log;

/** Returns the lower-case name of a level ("warn"), or "unknown". Never NULL. */
MOQC_EXTERN const char *moqc_log_level_name(moqc_log_level level);

/**
 * Parses a level name ("error", "warn", "info", "debug", "trace", "none"; case-insensitive) into
 * *out. Returns 0, or MOQC_ERR_INVALID_ARGUMENT for an unknown name (*out untouched).
 */
MOQC_EXTERN int moqc_log_level_parse(const char *name, moqc_log_level *out);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_MEM_H */
