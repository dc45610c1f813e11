/* YAML -> jansson with a source map: every node's file:line:col, found by its
 * JSON Pointer path ("/steps/0/with/method").
 * Ownership: a sc_doc owns its text, its JSON tree and its map; sc_doc_free frees
 * them all. json_t values reached through doc->root are borrowed. */
#ifndef SC_YAML_H
#define SC_YAML_H

#include "lang/diag.h"

#include <stdbool.h>
#include <jansson.h>

/* Limits on untrusted input (docs/scenario-format.md, "Limits"). */
#define SC_YAML_MAX_BYTES (1024 * 1024)
#define SC_YAML_MAX_DEPTH 64
#define SC_YAML_MAX_NODES 100000  /* after alias expansion: stops "billion laughs" */
#define SC_YAML_MAX_ALIASES 1000

struct sc_pos {
    int line, col, len; /* 1-based; len in characters, 0 when unknown (spans lines) */
};

struct sc_node_pos {
    struct sc_pos val, key;
    int quote;          /* 1 for a quoted one-line scalar, else 0 */
    bool verbatim;      /* the scalar's text appears as-is in the source */
};

struct sc_doc {
    struct sc_src src;  /* src.text and src.name are owned */
    json_t *root;       /* NULL when the file held no document */
    json_t *paths;      /* path -> index into pos */
    struct sc_node_pos *pos;
    size_t npos, cappos;
};

/* Parses text (copied). Returns NULL only when nothing usable was built; every
 * problem is added to d. Errors inside a document still return what was built. */
struct sc_doc *sc_doc_parse(const char *name, const char *text, size_t len, struct sc_diags *d);
struct sc_doc *sc_doc_load_file(const char *path, struct sc_diags *d);
void sc_doc_free(struct sc_doc *doc);

/* Position of the node at path, or of its nearest ancestor that has one. */
const struct sc_node_pos *sc_doc_pos(const struct sc_doc *doc, const char *path);

/* Column of the byte offset off inside the string value at path (exact when the
 * scalar sits verbatim on one line, else the scalar's own column). */
struct sc_pos sc_doc_pos_in(const struct sc_doc *doc, const char *path, size_t off, size_t len);

/* Appends "/" + the escaped key to a path buffer; returns the old length to restore. */
size_t sc_path_push(char *path, size_t cap, const char *key);
size_t sc_path_pushi(char *path, size_t cap, size_t index);

#endif
