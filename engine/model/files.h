/* The scenario files a command names: validate, serve and deploy find the same files
 * in the same order. A path that is a folder stands for every *.yaml and *.yml file
 * under it, at any depth (16 levels at most), each folder taken in name order (byte
 * order, files and subfolders interleaved), names starting with '.' skipped; any other
 * path stands for itself (a missing file is reported by whoever opens it).
 * Ownership: a sc_files owns its strings; v is NULL-terminated, or NULL while empty. */
#ifndef SC_FILES_H
#define SC_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct sc_files {
    char **v;
    size_t n, cap;
};

/* Adds the files path stands for. Returns how many were added (0: a folder without
 * scenario files), -1 when out of memory. */
long sc_files_add(struct sc_files *f, const char *path);
/* True when path names a folder. */
bool sc_files_is_dir(const char *path);
/* Hands v over (the caller frees each string and the array) and empties f. */
char **sc_files_take(struct sc_files *f);
void sc_files_free(struct sc_files *f);

#endif
