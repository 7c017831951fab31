/*
 * Error buffers: the "char *err, size_t errlen" pairs parsers and the programs' option readers
 * fill with a message for their caller.
 */
#ifndef MOQC_CORE_ERRBUF_H
#define MOQC_CORE_ERRBUF_H

#include <stddef.h>

/**
 * Formats a message into err (capacity errlen, always NUL-terminated, cut when too long). Does
 * nothing when err is NULL or errlen is 0.
 */
void moqc__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MOQC_CORE_ERRBUF_H */
