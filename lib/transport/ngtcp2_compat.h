/*
 * ngtcp2 0.12 / 1.x compatibility. moqc is written against the 0.12 API (Debian
 * 12); these wrappers map the names and signatures that changed in 1.0 so the
 * same code builds on both.
 */
#ifndef MOQC_TRANSPORT_NGTCP2_COMPAT_H
#define MOQC_TRANSPORT_NGTCP2_COMPAT_H

#include <ngtcp2/ngtcp2.h>

#if defined(NGTCP2_VERSION_NUM) && NGTCP2_VERSION_NUM >= 0x010000

typedef ngtcp2_ccerr moqc__ccerr;
#define moqc__ccerr_default ngtcp2_ccerr_default
#define moqc__ccerr_set_application_error ngtcp2_ccerr_set_application_error
#define moqc__ccerr_set_liberr ngtcp2_ccerr_set_liberr
#define moqc__ccerr_set_tls_alert ngtcp2_ccerr_set_tls_alert
#define MOQC__CCERR_TYPE_APPLICATION NGTCP2_CCERR_TYPE_APPLICATION
#define MOQC__CCERR_TYPE_IDLE_CLOSE NGTCP2_CCERR_TYPE_IDLE_CLOSE
#define moqc__conn_in_closing_period ngtcp2_conn_in_closing_period
#define moqc__conn_in_draining_period ngtcp2_conn_in_draining_period

typedef ngtcp2_conn_info moqc__conn_stat;
#define moqc__conn_get_stat ngtcp2_conn_get_conn_info

static inline int moqc__conn_shutdown_stream_write(ngtcp2_conn *conn,
                                                   int64_t sid, uint64_t code) {
  return ngtcp2_conn_shutdown_stream_write(conn, 0, sid, code);
}
static inline int moqc__conn_shutdown_stream_read(ngtcp2_conn *conn,
                                                  int64_t sid, uint64_t code) {
  return ngtcp2_conn_shutdown_stream_read(conn, 0, sid, code);
}
/* 1.x keeps an Initial packet's token as a pointer and a length. */
#define MOQC__HD_TOKEN(hd) ((hd)->token)
#define MOQC__HD_TOKENLEN(hd) ((hd)->tokenlen)
/* 1.x servers must say that original_dcid is set. */
#define MOQC__TP_SET_ORIGINAL_DCID(tp, cid)                                    \
  do {                                                                         \
    (tp)->original_dcid = (cid);                                               \
    (tp)->original_dcid_present = 1;                                           \
  } while (0)

#else /* ngtcp2 0.x */

typedef ngtcp2_connection_close_error moqc__ccerr;
#define moqc__ccerr_default ngtcp2_connection_close_error_default
#define moqc__ccerr_set_application_error                                      \
  ngtcp2_connection_close_error_set_application_error
#define moqc__ccerr_set_liberr                                                 \
  ngtcp2_connection_close_error_set_transport_error_liberr
#define moqc__ccerr_set_tls_alert                                              \
  ngtcp2_connection_close_error_set_transport_error_tls_alert
#define MOQC__CCERR_TYPE_APPLICATION                                           \
  NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
#define MOQC__CCERR_TYPE_IDLE_CLOSE                                            \
  NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT_IDLE_CLOSE
#define moqc__conn_in_closing_period ngtcp2_conn_is_in_closing_period
#define moqc__conn_in_draining_period ngtcp2_conn_is_in_draining_period

typedef ngtcp2_conn_stat moqc__conn_stat;
#define moqc__conn_get_stat ngtcp2_conn_get_conn_stat

static inline int moqc__conn_shutdown_stream_write(ngtcp2_conn *conn,
                                                   int64_t sid, uint64_t code) {
  return ngtcp2_conn_shutdown_stream_write(conn, sid, code);
}
static inline int moqc__conn_shutdown_stream_read(ngtcp2_conn *conn,
                                                  int64_t sid, uint64_t code) {
  return ngtcp2_conn_shutdown_stream_read(conn, sid, code);
}
#define MOQC__TP_SET_ORIGINAL_DCID(tp, cid)                                    \
  do {                                                                         \
    (tp)->original_dcid = (cid);                                               \
  } while (0)
#define MOQC__HD_TOKEN(hd) ((hd)->token.base)
#define MOQC__HD_TOKENLEN(hd) ((hd)->token.len)

#endif

/** Copies the close error received from the peer into *out, on either version.
 */
static inline void moqc__conn_remote_ccerr(ngtcp2_conn *conn,
                                           moqc__ccerr *out) {
#if defined(NGTCP2_VERSION_NUM) && NGTCP2_VERSION_NUM >= 0x010000
  *out = *ngtcp2_conn_get_ccerr(conn);
#else
  ngtcp2_conn_get_connection_close_error(conn, out);
#endif
}

#endif /* MOQC_TRANSPORT_NGTCP2_COMPAT_H */
