/*
 * moqc: command-line publisher, subscriber and load generator.
 */
#include <moqc/moqc.h>

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage: moqc COMMAND [ARGS]\n"
    "\n"
    "Commands (each needs a transport, still being built; see README, Status):\n"
    "  pub URL BROADCAST   publish synthetic frames\n"
    "  sub URL BROADCAST   subscribe and check what arrives\n"
    "  announced URL [P]   list broadcasts under a prefix\n"
    "  --version           print the version\n"
    "  --help              show this text\n";

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("moqc %s\n", MOQC_VERSION);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--help") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  fputs(usage, stderr);
  return 2;
}
