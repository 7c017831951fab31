/*
 * Refcounted byte buffers: one allocation, header then bytes.
 */
#include <moqc/error.h>
#include <moqc/rcbuf.h>

#include <stdatomic.h>
#include <string.h>

struct moqc_rcbuf {
  const moqc_mem *mem;
  size_t len;
  atomic_uint_fast32_t refs;
  uint8_t data[];
};

int moqc_rcbuf_new(moqc_rcbuf **out, size_t len, const moqc_mem *mem) {
  moqc_rcbuf *buf;

  if (len > SIZE_MAX - sizeof(*buf)) {
    return MOQC_ERR_NOMEM;
  }
  buf = moqc_mem_malloc(mem, sizeof(*buf) + len);
  if (buf == NULL) {
    return MOQC_ERR_NOMEM;
  }
  buf->mem = mem;
  buf->len = len;
  atomic_init(&buf->refs, 1);
  *out = buf;
  return 0;
}

int moqc_rcbuf_new_copy(moqc_rcbuf **out, const uint8_t *data, size_t len,
                        const moqc_mem *mem) {
  moqc_rcbuf *buf;
  int rv = moqc_rcbuf_new(&buf, len, mem);

  if (rv != 0) {
    return rv;
  }
  if (len > 0) {
    memcpy(buf->data, data, len);
  }
  *out = buf;
  return 0;
}

void moqc_rcbuf_incref(moqc_rcbuf *buf) {
  atomic_fetch_add_explicit(&buf->refs, 1, memory_order_relaxed);
}

void moqc_rcbuf_decref(moqc_rcbuf *buf) {
  if (buf == NULL) {
    return;
  }
  if (atomic_fetch_sub_explicit(&buf->refs, 1, memory_order_acq_rel) == 1) {
    moqc_mem_free(buf->mem, buf);
  }
}

const uint8_t *moqc_rcbuf_data(const moqc_rcbuf *buf) { return buf->data; }

uint8_t *moqc_rcbuf_data_mut(moqc_rcbuf *buf) { return buf->data; }

size_t moqc_rcbuf_len(const moqc_rcbuf *buf) { return buf->len; }

uint32_t moqc_rcbuf_refcount(const moqc_rcbuf *buf) {
  return (uint32_t)atomic_load_explicit(&buf->refs, memory_order_relaxed);
}
