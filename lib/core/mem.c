/*
 * The default allocator and the NULL-means-default helpers.
 */
#include <moqc/mem.h>

#include <stdlib.h>

static void *mem_malloc(size_t size, void *user_data) {
  (void)user_data;
  return malloc(size);
}

static void mem_free(void *ptr, void *user_data) {
  (void)user_data;
  free(ptr);
}

static void *mem_calloc(size_t nmemb, size_t size, void *user_data) {
  (void)user_data;
  return calloc(nmemb, size);
}

static void *mem_realloc(void *ptr, size_t size, void *user_data) {
  (void)user_data;
  return realloc(ptr, size);
}

static const moqc_mem mem_default = {NULL, mem_malloc, mem_free, mem_calloc,
                                     mem_realloc};

const moqc_mem *moqc_mem_default(void) { return &mem_default; }

void *moqc_mem_malloc(const moqc_mem *mem, size_t size) {
  if (mem == NULL) {
    mem = &mem_default;
  }
  return mem->malloc(size, mem->user_data);
}

void *moqc_mem_calloc(const moqc_mem *mem, size_t nmemb, size_t size) {
  if (mem == NULL) {
    mem = &mem_default;
  }
  if (size != 0 && nmemb > SIZE_MAX / size) {
    return NULL;
  }
  return mem->calloc(nmemb, size, mem->user_data);
}

void *moqc_mem_realloc(const moqc_mem *mem, void *ptr, size_t size) {
  if (mem == NULL) {
    mem = &mem_default;
  }
  return mem->realloc(ptr, size, mem->user_data);
}

void moqc_mem_free(const moqc_mem *mem, void *ptr) {
  if (mem == NULL) {
    mem = &mem_default;
  }
  mem->free(ptr, mem->user_data);
}
