/*
 * Subscriber half state: broadcasts mirrored from the peer and their remotely served tracks.
 * Streams and tracks refer to each other by stream id (never by pointer), so either may go
 * first.
 */
#ifndef MOQC_SESSION_SUB_INT_H
#define MOQC_SESSION_SUB_INT_H

#include "session/session_int.h"

struct sub_broadcast {
  sub_broadcast *next;
  /** The path, relative to the mirror handle's root and equal to the path on the wire. */
  char *path;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_broadcast_dynamic *dyn;
  /** The original publisher (first hop), to tell a lite-05 reroute from a new broadcast. */
  bool has_first_hop;
  uint64_t first_hop;
  /** Unannounced; kept (unpublished) only while subscribed tracks drain. */
  bool retired;
};

struct sub_track {
  sub_track *next;
  sub_broadcast *b;
  char *name;
  /** The local request, until accepted with the peer's TRACK_INFO. */
  moqc_track_request *req;
  moqc_track_producer *tp;
  uint64_t sub_id;
  moqc_stream_id info_stream;
  moqc_stream_id sub_stream;
  moqc_track_info info;
  bool subscribed;
  /** The publisher ended the subscription: the track is finished, groups may still arrive. */
  bool ended;
  /** The preferences last sent upstream (SUBSCRIBE or SUBSCRIBE_UPDATE). */
  moqc_subscription sent;
  /** lite-05 SUBSCRIBE_END: no group at or above end_group will come. */
  bool has_end;
  uint64_t end_group;
  /** One above the highest group received. */
  uint64_t next_seq;
  /** Ended, but groups below end_group are still on their way: finish when they arrive. */
  bool finish_pending;
  /** When the track lost its last local consumer (0 = in use). */
  moqc_tstamp unused_since;
  /** lite-05: serves local fetches of groups not cached with FETCH streams to the peer. */
  moqc_track_dynamic *fetch;
};

/** Frees a track: rejects or drops the local side with err, cancels its streams. */
void moqc__sess_sub_track_del(moqc_session *s, sub_track *t, int err);
/** Starts serving a new local request for a track of b. */
int moqc__sess_sub_track_start(moqc_session *s, sub_broadcast *b, moqc_track_request *req);
/** Checks a track's local demand and subscribes / unsubscribes. */
int moqc__sess_sub_track_poll(moqc_session *s, sub_track *t);
/** Frees a retired broadcast once no track refers to it. */
void moqc__sess_sub_broadcast_gc(moqc_session *s, sub_broadcast *b);
/** Finds the track subscribed with subscribe id, or NULL. */
sub_track *moqc__sess_sub_track_by_id(moqc_session *s, uint64_t id);
/** Finishes an ended track once every group below its END bound arrived. */
void moqc__sess_sub_track_maybe_finish(sub_track *t);
/**
 * Makes st (our Fetch stream) receive the bare frames of group gp (ownership taken) in the
 * track's timescale, as a group stream after its header.
 */
int moqc__sess_sub_group_attach(moqc_session *s, sess_stream *st, moqc_group_producer *gp,
                                moqc_timescale timescale);
/** A group stream in was reset by the peer: its group aborts with err. */
void moqc__sess_sub_group_reset(moqc_session *s, sess_stream *st, int err);
/** Releases a group stream's model handles (its state itself is freed by the caller). */
void moqc__sess_sub_group_free(moqc_session *s, sess_stream *st);
/** Finds the track owning a stream id (info or subscribe stream), or NULL. */
sub_track *moqc__sess_sub_track_by_stream(moqc_session *s, moqc_stream_id id);

#endif /* MOQC_SESSION_SUB_INT_H */
