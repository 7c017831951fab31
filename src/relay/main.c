/*
 * moqc-relay: placeholder until the relay lands (see README, Status).
 */
#include <moqc/moqc.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("moqc-relay %s\n", MOQC_VERSION);
    return 0;
  }
  fprintf(stderr, "moqc-relay %s: the relay is not built yet; this is a "
                  "placeholder. See README.md, Status.\n",
          MOQC_VERSION);
  return 1;
}
