/*
 * moqc: Media over QUIC with usage metering in the pub/sub model.
 *
 * The one header to include. See docs/ARCHITECTURE.md for the layers, the threading rule and the
 * ownership rules.
 */
#ifndef MOQC_H
#define MOQC_H

#include <moqc/common.h>
#include <moqc/error.h>
#include <moqc/mem.h>
#include <moqc/model.h>
#include <moqc/origin.h>
#include <moqc/usage.h>
#include <moqc/path.h>
#include <moqc/quic.h>
#include <moqc/rcbuf.h>
#include <moqc/stats.h>
#include <moqc/session.h>
#include <moqc/time.h>
#include <moqc/transport.h>
#include <moqc/webtransport.h>
#include <moqc/version.h>

#endif /* MOQC_H */
