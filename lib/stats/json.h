/*
 * JSON pieces shared by the readout and the stats broadcast emission.
 */
#ifndef MOQC_STATS_JSON_H
#define MOQC_STATS_JSON_H

#include <moqc/stats.h>

#include "stats/sbuf.h"

/** Writes {"announced":n,...,"datagrams":n}: every MOQC_USAGE_FOREACH field, in
 * order. */
void moqc__json_counters(moqc__sbuf *b, const moqc_usage_counters *c);
/** Writes {"sessions":n,"sessions_closed":n}. */
void moqc__json_presence(moqc__sbuf *b, moqc_stats_presence p);
/** Returns true when every counter of c is 0 (an unused slot). */
bool moqc__counters_zero(const moqc_usage_counters *c);

#endif /* MOQC_STATS_JSON_H */
