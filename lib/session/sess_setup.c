/*
 * Version handshakes: the lite-05 SETUP uni streams (spec 4.2) and the legacy CLIENT_SETUP /
 * SERVER_SETUP exchange on the first bidi stream, which then stays open as the lite-01/02
 * session stream carrying SESSION_INFO (spec 2.3, 4.11).
 */
#include <string.h>

#include "session/session_int.h"

/** Versions a legacy handshake may pick. */
#define SETUP_LEGACY_VERSIONS (MOQC_LITE_BIT(MOQC_LITE_01) | MOQC_LITE_BIT(MOQC_LITE_02))

static int setup_send_setup(moqc_session *s) {
  sess_stream *st;
  int rv = moqc__sess_open(s, true, SK_SETUP_TX, &st);
  if (rv < 0) {
    return rv;
  }
  uint8_t buf[64 + 4096];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_setup m;
  memset(&m, 0, sizeof(m));
  if (s->settings.origin_id != 0) {
    m.present |= MOQC_LITE_SETUP_HAS_ORIGIN;
    m.origin = s->settings.origin_id;
  }
  if (moqc__sess_probe_can_measure(s)) {
    /* Only a transport that reports its path announces Report (spec 4.2; absent = None). */
    m.present |= MOQC_LITE_SETUP_HAS_PROBE;
    m.probe = MOQC_LITE_PROBE_REPORT;
  }
  if (!s->is_server && s->setup_path != NULL) {
    m.present |= MOQC_LITE_SETUP_HAS_PATH;
    m.path = moqc_str_c(s->setup_path);
  }
  if ((rv = moqc__lite_encode_stream_type(&w, MOQC_LITE_UNI_SETUP)) < 0 ||
      (rv = moqc__lite_encode_setup(&w, MOQC_LITE_05, &m)) < 0) {
    return rv == MOQC_ERR_NOMEM ? rv : MOQC_ERR_INVALID_ARGUMENT;
  }
  rv = moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
  moqc__sess_queue_fin(s, st);
  return rv;
}

static int setup_send_client_setup(moqc_session *s) {
  sess_stream *st;
  int rv = moqc__sess_open(s, false, SK_LEGACY, &st);
  if (rv < 0) {
    return rv;
  }
  uint8_t buf[128];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_client_setup m;
  memset(&m, 0, sizeof(m));
  m.n_versions = 2;
  m.versions[0] = MOQC_LITE_CODE_02;
  m.versions[1] = MOQC_LITE_CODE_01;
  if ((rv = moqc__lite_encode_stream_type(&w, MOQC_LITE_BIDI_LEGACY_SETUP)) < 0 ||
      (rv = moqc__lite_encode_client_setup(&w, &m)) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  return moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
}

int moqc__sess_setup_start(moqc_session *s) {
  switch (s->version) {
  case MOQC_LITE_05: {
    s->ready = true;
    int rv = setup_send_setup(s);
    if (rv < 0) {
      return rv;
    }
    /* A server serves once the client's SETUP arrived (moq-relay does the same). */
    return s->is_server ? 0 : moqc__sess_on_ready(s);
  }
  case MOQC_LITE_03:
  case MOQC_LITE_04:
    return moqc__sess_on_ready(s);
  default:
    return s->is_server ? 0 : setup_send_client_setup(s);
  }
}

int moqc__sess_setup_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                     bool fin) {
  if (!s->peer_setup) {
    moqc__lite_setup m;
    int rv = moqc__lite_decode_setup(p, end, MOQC_LITE_05, &m);
    if (rv == MOQC_ERR_INCOMPLETE) {
      if (fin) {
        moqc__sess_fail(s, MOQC_ERR_DECODE, "setup stream ended early");
      }
      return 0;
    }
    if (rv < 0) {
      moqc__sess_fail(s, MOQC_ERR_DECODE, "malformed SETUP");
      return 0;
    }
    s->peer_setup = true;
    if ((m.present & MOQC_LITE_SETUP_HAS_ORIGIN) != 0) {
      s->peer_origin = m.origin;
    }
    MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "peer SETUP: origin %llu",
             (unsigned long long)s->peer_origin);
    if (s->is_server) {
      if (s->settings.on_setup != NULL) {
        moqc_str path = {"", 0};
        if ((m.present & MOQC_LITE_SETUP_HAS_PATH) != 0) {
          path = m.path;
        }
        s->settings.on_setup(s, path, s->settings.user_data);
        if (s->closed) {
          return 0;
        }
      }
      if ((rv = moqc__sess_on_ready(s)) < 0 || (rv = moqc__sess_unpark(s)) < 0) {
        return rv;
      }
    }
  }
  /* Anything after the one SETUP is ignored; the stream ends with the peer's FIN. */
  *p = end;
  if (fin) {
    st->rx_done = true;
  }
  return 0;
}

/* The server side: CLIENT_SETUP arrives, SERVER_SETUP goes back. */
static int legacy_server_handshake(moqc_session *s, sess_stream *st, const uint8_t **p,
                                   const uint8_t *end, bool fin) {
  moqc__lite_client_setup cs;
  int rv = moqc__lite_decode_client_setup(p, end, &cs);
  if (rv == MOQC_ERR_INCOMPLETE) {
    if (fin) {
      moqc__sess_fail(s, MOQC_ERR_DECODE, "CLIENT_SETUP cut short");
    }
    return 0;
  }
  if (rv < 0) {
    moqc__sess_fail(s, MOQC_ERR_DECODE, "malformed CLIENT_SETUP");
    return 0;
  }
  moqc_lite_version v = moqc__lite_legacy_select(&cs, SETUP_LEGACY_VERSIONS);
  if (v == MOQC_LITE_NONE) {
    moqc__sess_fail(s, MOQC_ERR_VERSION, "no common moq-lite version");
    return 0;
  }
  uint8_t buf[32];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_server_setup ss;
  memset(&ss, 0, sizeof(ss));
  ss.version = moqc__lite_version_code(v);
  if (moqc__lite_encode_server_setup(&w, &ss) < 0) {
    return MOQC_ERR_INTERNAL;
  }
  if ((rv = moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w))) < 0) {
    return rv;
  }
  s->version = v;
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "legacy handshake picked lite-0%d", (int)v);
  if ((rv = moqc__sess_on_ready(s)) < 0) {
    return rv;
  }
  return moqc__sess_unpark(s);
}

static int legacy_client_handshake(moqc_session *s, const uint8_t **p, const uint8_t *end,
                                   bool fin) {
  moqc__lite_server_setup ss;
  int rv = moqc__lite_decode_server_setup(p, end, &ss);
  if (rv == MOQC_ERR_INCOMPLETE) {
    if (fin) {
      moqc__sess_fail(s, MOQC_ERR_DECODE, "SERVER_SETUP cut short");
    }
    return 0;
  }
  if (rv < 0) {
    moqc__sess_fail(s, MOQC_ERR_DECODE, "malformed SERVER_SETUP");
    return 0;
  }
  moqc_lite_version v = moqc__lite_version_from_code(ss.version);
  if (v != MOQC_LITE_01 && v != MOQC_LITE_02) {
    moqc__sess_fail(s, MOQC_ERR_VERSION, "server picked a version we did not offer");
    return 0;
  }
  s->version = v;
  if ((rv = moqc__sess_on_ready(s)) < 0) {
    return rv;
  }
  /* Streams the server opened before its SERVER_SETUP reached us. */
  return moqc__sess_unpark(s);
}

int moqc__sess_legacy_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                      bool fin) {
  int rv;
  if (!s->ready) {
    rv = s->is_server ? legacy_server_handshake(s, st, p, end, fin)
                      : legacy_client_handshake(s, p, end, fin);
    if (rv < 0 || !s->ready) {
      return rv;
    }
  }
  /* SESSION_INFO messages: read and ignored. */
  while (*p < end && !s->closed) {
    moqc__lite_session_info info;
    rv = moqc__lite_decode_session_info(p, end, s->version, &info);
    if (rv == MOQC_ERR_INCOMPLETE) {
      break;
    }
    if (rv < 0) {
      moqc__sess_fail(s, MOQC_ERR_DECODE, "malformed SESSION_INFO");
      return 0;
    }
  }
  if (fin && !s->closed) {
    /* Closing the session stream ends the session (spec 2.3). */
    st->rx_done = true;
    moqc__sess_fail(s, *p == end ? 0 : MOQC_ERR_DECODE, "session stream closed");
  }
  return 0;
}
