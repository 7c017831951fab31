/*
 * A reader for the TOML subset that moq-relay style configuration files use.
 *
 * Supported: comments; [table] and [dotted.table] headers; key = value with bare, "quoted" and
 * 'literal' keys and dotted keys; values: basic strings (escapes \b \t \n \f \r \" \\ \uXXXX
 * \UXXXXXXXX), literal strings, integers (decimal with optional sign and '_' separators, 0x, 0o,
 * 0b), booleans, and arrays of strings, integers or booleans (one type per array, may span
 * lines, trailing comma allowed). Not supported, and reported as errors: floats, dates and
 * times, inline tables, arrays of tables, nested arrays, multi-line strings.
 *
 * Every error carries the 1-based line and column (in bytes) and the dotted key involved, so
 * the relay can say "relay.toml:12:9: server.bind: expected a string". The relay maps keys to
 * its settings with the typed getters below and rejects unknown keys with
 * moqc__toml_check_keys.
 *
 * Bounds: file size, table nesting depth, key length, string length, array length and node
 * count are all limited (MOQC__TOML_MAX_*). A parsed document is allocated with moqc_mem and is
 * immutable afterwards: it may be read from several threads at once.
 */
#ifndef MOQC_WIRE_TOML_H
#define MOQC_WIRE_TOML_H

#include <moqc/mem.h>

#include "core/bytes.h"

/** Largest file accepted, in bytes. */
#define MOQC__TOML_MAX_SIZE (1U << 20)
/** Most key parts in a table path plus dotted key ("a.b.c.d" is 4). */
#define MOQC__TOML_MAX_DEPTH 8U
/** Longest key part, in bytes. */
#define MOQC__TOML_MAX_KEY 128U
/** Longest string value, in bytes (after unescaping). */
#define MOQC__TOML_MAX_STRING 65536U
/** Most elements in one array. */
#define MOQC__TOML_MAX_ARRAY 1024U
/** Most nodes (tables, keys, array elements) in a document. */
#define MOQC__TOML_MAX_NODES 16384U
/** Room for the dotted key in an error (longer keys are cut). */
#define MOQC__TOML_ERROR_KEY 160U

/** The type of a node. */
typedef enum moqc__toml_type {
  MOQC__TOML_NONE = 0,
  MOQC__TOML_STRING = 1,
  MOQC__TOML_INT = 2,
  MOQC__TOML_BOOL = 3,
  MOQC__TOML_ARRAY = 4,
  MOQC__TOML_TABLE = 5
} moqc__toml_type;

/** A parse or lookup error. */
typedef struct moqc__toml_error {
  /** 1-based line and byte column of the fault (0 when no position applies). */
  unsigned line, column;
  /** The dotted key involved ("server.tls.cert"), NUL-terminated; "" when none. */
  char key[MOQC__TOML_ERROR_KEY];
  /** A static description ("duplicate key", "expected a string"). */
  const char *message;
} moqc__toml_error;

/** A parsed document (opaque). */
typedef struct moqc__toml_doc moqc__toml_doc;
/** A node of a document: a table, an array or a value (opaque; owned by its document). */
typedef struct moqc__toml_node moqc__toml_node;

/**
 * Parses text[0..len) into a new document allocated with mem (NULL = default). Returns 0 and
 * sets *out; MOQC_ERR_MALFORMED with *err filled (line, column, key, message); or
 * MOQC_ERR_NOMEM. err may be NULL. A UTF-8 byte-order mark at the start is skipped; any other
 * invalid UTF-8 is an error.
 */
int moqc__toml_parse(const char *text, size_t len, const moqc_mem *mem, moqc__toml_doc **out,
                     moqc__toml_error *err);

/** Frees a document and every node of it. NULL is allowed. */
void moqc__toml_del(moqc__toml_doc *doc);

/** Returns the root table of doc. */
const moqc__toml_node *moqc__toml_root(const moqc__toml_doc *doc);

/**
 * Looks up a dotted path of bare key parts ("server.tls.cert") from table (NULL = nothing).
 * Returns the node or NULL when absent or when a part is not a table.
 */
const moqc__toml_node *moqc__toml_get(const moqc__toml_node *table, const char *dotted);

/** Looks up one key (any bytes, e.g. with a '.') in table. Returns the node or NULL. */
const moqc__toml_node *moqc__toml_child(const moqc__toml_node *table, moqc_str key);

/** Returns the type of n (MOQC__TOML_NONE for NULL). */
moqc__toml_type moqc__toml_type_of(const moqc__toml_node *n);

/** Returns the number of entries of a table or elements of an array (0 otherwise). */
size_t moqc__toml_count(const moqc__toml_node *n);

/**
 * Returns the i-th entry of a table (file order) or element of an array, or NULL when out of
 * range. For a table entry, *key (may be NULL) receives its key.
 */
const moqc__toml_node *moqc__toml_at(const moqc__toml_node *n, size_t i, moqc_str *key);

/** The key of n within its table (empty for the root and array elements). */
moqc_str moqc__toml_key(const moqc__toml_node *n);

/** Reads a value. Returns 0, or MOQC_ERR_INVALID_ARGUMENT when n is NULL or of another type. */
int moqc__toml_string(const moqc__toml_node *n, moqc_str *out);
int moqc__toml_int(const moqc__toml_node *n, int64_t *out);
int moqc__toml_bool(const moqc__toml_node *n, bool *out);

/** Where n was defined (1-based line and byte column of its key or first byte). */
void moqc__toml_pos(const moqc__toml_node *n, unsigned *line, unsigned *column);

/**
 * Fills *err for a problem with node n: its position, its full dotted key, and message (a
 * static string). For the relay's own checks ("port out of range").
 */
void moqc__toml_error_at(const moqc__toml_node *n, const char *message, moqc__toml_error *err);

/**
 * Checks that every entry of table is named in allowed[0..n). Returns 0, or
 * MOQC_ERR_NOT_FOUND with *err naming the first unknown key (message "unknown key"). A NULL or
 * non-table node passes.
 */
int moqc__toml_check_keys(const moqc__toml_node *table, const char *const *allowed, size_t n,
                          moqc__toml_error *err);

/**
 * Typed lookups from table by dotted path, for mapping keys to settings. Each returns 0 and
 * stores the value; MOQC_ERR_NOT_FOUND when the key is absent (*out untouched, *err untouched);
 * MOQC_ERR_INVALID_ARGUMENT with *err filled ("expected a string", "expected an integer",
 * "expected a boolean", "integer out of range", "expected an array of strings") when present
 * but wrong. String views point into the document.
 */
int moqc__toml_get_string(const moqc__toml_node *table, const char *dotted, moqc_str *out,
                          moqc__toml_error *err);
int moqc__toml_get_int(const moqc__toml_node *table, const char *dotted, int64_t min,
                       int64_t max, int64_t *out, moqc__toml_error *err);
int moqc__toml_get_bool(const moqc__toml_node *table, const char *dotted, bool *out,
                        moqc__toml_error *err);
/**
 * An array of strings (a single string is also accepted as a one-element list, as moq-relay's
 * config does for e.g. tls cert). Stores at most cap views in out and the count in *n; more
 * than cap elements is MOQC_ERR_INVALID_ARGUMENT ("too many elements").
 */
int moqc__toml_get_strings(const moqc__toml_node *table, const char *dotted, moqc_str *out,
                           size_t cap, size_t *n, moqc__toml_error *err);

#endif /* MOQC_WIRE_TOML_H */
