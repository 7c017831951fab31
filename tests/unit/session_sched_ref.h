/*
 * The reference the session scheduling tests compare the ready heap with: whether a stream wants
 * to write, and the scheduling order (docs/SESSION.md "Priorities") as writev's scan of every
 * stream applied it before the ready heap. Kept apart from lib/session on purpose: an independent
 * oracle. Include after session/session_int.h.
 */
#ifndef TEST_SESSION_SCHED_REF_H
#define TEST_SESSION_SCHED_REF_H

static inline bool ref_wants_write(const sess_stream *st) {
  if (st->send_done || st->blocked) {
    return false;
  }
  return st->written < st->queued || (st->fin_queued && !st->fin_written);
}

static inline bool ref_before(const sess_stream *a, const sess_stream *b) {
  if (a->sclass != b->sclass) {
    return a->sclass < b->sclass;
  }
  if (a->sclass == SESS_CLASS_CONTROL) {
    return a->id < b->id;
  }
  if (a->sub_priority != b->sub_priority) {
    return a->sub_priority > b->sub_priority;
  }
  if (a->pub_priority != b->pub_priority) {
    return a->pub_priority > b->pub_priority;
  }
  if (a->sequence != b->sequence) {
    return a->ordered ? a->sequence < b->sequence : a->sequence > b->sequence;
  }
  return a->id < b->id;
}

#endif /* TEST_SESSION_SCHED_REF_H */
