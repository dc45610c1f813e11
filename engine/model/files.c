#include "model/files.h"
#include "util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 16

static int push(struct sc_files *f, char *s) /* takes s */
{
    if (!s)
        return -1;
    if (f->n + 1 >= f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        char **v = sc_realloc(f->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return -1;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = s;
    f->v[f->n] = NULL;
    return 0;
}

static bool yaml_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && ((l > 5 && !strcmp(n + l - 5, ".yaml")) ||
                           (l > 4 && !strcmp(n + l - 4, ".yml")));
}

bool sc_files_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static long add_dir(struct sc_files *f, const char *dir, int depth)
{
    DIR *d = depth <= MAX_DEPTH ? opendir(dir) : NULL;
    if (!d)
        return 0;
    struct sc_files here = {0};
    struct dirent *e;
    bool slash = dir[0] && dir[strlen(dir) - 1] == '/';
    long rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (!strcmp(e->d_name, "tests"))
            continue; /* scenarist test's cases (and their org) beside the scenarios */
        char *p = sc_asprintf("%s%s%s", dir, slash ? "" : "/", e->d_name);
        if (p && !sc_files_is_dir(p) && !yaml_name(e->d_name)) {
            free(p);
            continue;
        }
        rc = push(&here, p);
    }
    closedir(d);
    if (here.n)
        qsort(here.v, here.n, sizeof *here.v, by_name);
    long added = 0;
    for (size_t i = 0; rc == 0 && i < here.n; i++) {
        if (sc_files_is_dir(here.v[i])) {
            long k = add_dir(f, here.v[i], depth + 1);
            rc = k < 0 ? -1 : 0;
            added += k > 0 ? k : 0;
        } else {
            rc = push(f, sc_strdup(here.v[i]));
            added += rc == 0;
        }
    }
    sc_files_free(&here);
    return rc < 0 ? -1 : added;
}

long sc_files_add(struct sc_files *f, const char *path)
{
    if (sc_files_is_dir(path))
        return add_dir(f, path, 0);
    return push(f, sc_strdup(path)) == 0 ? 1 : -1;
}

char **sc_files_take(struct sc_files *f)
{
    char **v = f->v;
    if (!v)
        v = sc_calloc(1, sizeof *v);
    f->v = NULL;
    f->n = f->cap = 0;
    return v;
}

void sc_files_free(struct sc_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i]);
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}
