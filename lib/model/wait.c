/*
 * Waiter lists: wakers registered by pending calls, drained under the model
 * lock and fired after it is released.
 */
#include "model/model_int.h"

#include <moqc/error.h>

int moqc__wlist_add(moqc__wlist *list, moqc__wreg *reg, const void *owner,
                    moqc_waker *w, const moqc_mem *mem) {
  moqc__wnode *n;

  if (w == NULL) {
    return 0;
  }
  if (reg->list == list && reg->gen == list->gen) {
    if (reg->waker == w) {
      return 0;
    }
    /* Still registered with another waker: swap it in place. */
    for (n = list->head; n != NULL; n = n->next) {
      if (n->owner == owner && n->waker == reg->waker) {
        moqc_waker_incref(w);
        moqc_waker_decref(n->waker);
        n->waker = w;
        reg->waker = w;
        return 0;
      }
    }
  }
  n = moqc_mem_malloc(mem, sizeof(*n));
  if (n == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc_waker_incref(w);
  n->waker = w;
  n->owner = owner;
  n->next = list->head;
  list->head = n;
  reg->list = list;
  reg->gen = list->gen;
  reg->waker = w;
  return 0;
}

void moqc__wlist_drain(moqc__wlist *list, moqc__wake *batch) {
  moqc__wnode *n = list->head;

  list->gen++;
  if (n == NULL) {
    return;
  }
  while (n->next != NULL) {
    n = n->next;
  }
  n->next = batch->head;
  batch->head = list->head;
  list->head = NULL;
}

void moqc__wlist_remove(moqc__wreg *reg, const void *owner,
                        const moqc_mem *mem) {
  moqc__wlist *list = reg->list;
  moqc__wnode **pp;
  moqc__wake dead = {NULL};

  if (list == NULL || reg->gen != list->gen) {
    reg->list = NULL;
    return;
  }
  pp = &list->head;
  while (*pp != NULL) {
    moqc__wnode *n = *pp;
    if (n->owner == owner) {
      *pp = n->next;
      n->next = dead.head;
      dead.head = n;
    } else {
      pp = &n->next;
    }
  }
  reg->list = NULL;
  moqc__wake_discard(&dead, mem);
}

void moqc__wlist_clear(moqc__wlist *list, const moqc_mem *mem) {
  moqc__wake dead = {list->head};

  list->head = NULL;
  list->gen++;
  moqc__wake_discard(&dead, mem);
}

void moqc__wake_fire(moqc__wake *batch, const moqc_mem *mem) {
  moqc__wnode *n = batch->head;

  batch->head = NULL;
  while (n != NULL) {
    moqc__wnode *next = n->next;
    moqc_waker_wake(n->waker);
    moqc_waker_decref(n->waker);
    moqc_mem_free(mem, n);
    n = next;
  }
}

void moqc__wake_discard(moqc__wake *batch, const moqc_mem *mem) {
  moqc__wnode *n = batch->head;

  batch->head = NULL;
  while (n != NULL) {
    moqc__wnode *next = n->next;
    moqc_waker_decref(n->waker);
    moqc_mem_free(mem, n);
    n = next;
  }
}
