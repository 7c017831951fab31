/*
 * Fuzz target: the WebSocket opening handshake on arbitrary request heads (parse, check,
 * subprotocol selection, accept, response), and base64 decode/encode round trips.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static moqc__http1_request req;
  static uint8_t out[2048];
  uint8_t dec[256];
  char enc[512];
  moqc_ssize n;

  moqc__http1_init(&req);
  if (moqc__http1_parse(&req, data, size) == 0) {
    moqc__writer w;
    moqc__qmux_choice c;
    int status = 0;
    int rv;
    moqc__writer_init(&w, out, sizeof(out));
    rv = moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status);
    if (rv == 0) {
      if (status != 101 || moqc__writer_result(&w) <= 0 ||
          memcmp(out, "HTTP/1.1 101 ", 13) != 0) {
        abort();
      }
    } else if (rv == MOQC_ERR_MALFORMED) {
      if (status != 400 && status != 426) {
        abort();
      }
    } else if (rv != MOQC_ERR_NOT_FOUND) {
      abort();
    }
  }
  /* base64: whatever decodes re-encodes to the same text (strict decoding is canonical). */
  {
    moqc_str in = {(const char *)data, size < 340 ? size : 340};
    n = moqc__base64_decode(in, dec, sizeof(dec));
    if (n >= 0) {
      size_t m = moqc__base64_encode(dec, (size_t)n, enc);
      if (m != in.len || memcmp(enc, in.ptr, m) != 0) {
        abort();
      }
    } else if (n != MOQC_ERR_MALFORMED && n != MOQC_ERR_NOBUF) {
      abort();
    }
  }
  return 0;
}
