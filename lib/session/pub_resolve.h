/*
 * Publisher half internals: resolving (broadcast path, track name) against the local origin
 * consumer step by step as the model allows (request the broadcast, look up the track, wait for
 * its info), shared by Track, Subscribe and Fetch streams; and the group stream state.
 */
#ifndef MOQC_SESSION_PUB_RESOLVE_H
#define MOQC_SESSION_PUB_RESOLVE_H

#include "session/session_int.h"

typedef struct pub_resolve {
  char *path;
  char *track;
  moqc_origin_request *req;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
} pub_resolve;

/** Copies the names. Returns 0 or MOQC_ERR_NOMEM. */
int moqc__sess_pub_resolve_init(moqc_session *s, pub_resolve *r, moqc_str path, moqc_str track);
/**
 * Advances until the track consumer exists (r->tc). Returns 0, MOQC_ERR_PENDING (the session
 * waker is registered), or the error to reset the stream with (MOQC_ERR_NOT_FOUND when nothing
 * is published, MOQC_ERR_UNROUTABLE...).
 */
int moqc__sess_pub_resolve_track(moqc_session *s, pub_resolve *r);
/** As moqc__sess_pub_resolve_track, then waits for the track's info. */
int moqc__sess_pub_resolve_info(moqc_session *s, pub_resolve *r, moqc_track_info *info);
/** Releases every handle and name. */
void moqc__sess_pub_resolve_free(moqc_session *s, pub_resolve *r);
/** A group stream out (SK_GROUP_TX), serving one subscription or one fetch. */
typedef struct pub_group {
  moqc_stream_id sub_stream;
  moqc_group_consumer *gc;
  moqc_frame_consumer *fc;
  uint64_t last_ts;
  moqc_tstamp arrival;
  bool done;
} pub_group;

/** The group stream will carry nothing more: drops its model handles; its subscription may end. */
void moqc__sess_pub_group_done(moqc_session *s, sess_stream *st);
/** After the track ended, FINs the Subscribe stream once every group was acked or reset. */
int moqc__sess_pub_sub_maybe_finish(moqc_session *s, sess_stream *sub_st);

/** Converts a track info to TRACK_INFO fields. */
void moqc__sess_pub_info_to_wire(const moqc_track_info *info, moqc__lite_track_info *out);

#endif /* MOQC_SESSION_PUB_RESOLVE_H */
