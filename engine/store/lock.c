/* The store lock: one daemon per SQLite store, held by an advisory lock on a file beside
 * the database (see store/hooks.h), and the directories a store's files need. */
#include "store/backend.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int sc_store_mkdirs(const char *path)
{
    char *p = sc_strdup(path);
    if (!p)
        return -1;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

/* The database's one name: symbolic links followed (also one to a file not made yet)
 * and the folder made absolute, so every name of one file locks one lock file. New
 * string; NULL when memory runs out (errno ENOMEM) or a link loops (ELOOP). */
static char *lock_name(const char *path)
{
    char *p = sc_strdup(path);
    for (int hops = 0; p && hops < 40; hops++) {
        char target[4096];
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n < 0)
            break; /* not a link (or not there yet): p names the file */
        target[n] = '\0';
        const char *slash = strrchr(p, '/');
        char *next = target[0] == '/' || !slash
                         ? sc_strdup(target)
                         : sc_asprintf("%.*s/%s", (int)(slash - p), p, target);
        free(p);
        p = next;
        if (hops == 39) {
            free(p);
            errno = ELOOP;
            return NULL;
        }
    }
    if (!p || sc_store_mkdirs(p) != 0) {
        free(p);
        return NULL;
    }
    const char *slash = strrchr(p, '/');
    char *dir = slash ? sc_strndup(p, slash == p ? 1 : (size_t)(slash - p)) : sc_strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    char *name = real ? sc_asprintf("%s%s%s", real, strcmp(real, "/") ? "/" : "",
                                    slash ? slash + 1 : p)
                      : NULL;
    free(real);
    free(dir);
    free(p);
    return name;
}

enum sc_store_rc sc_store_lock(const char *path, int *fd, int64_t *prev, char *err, size_t errlen)
{
    *fd = -1;
    *prev = -1;
    char *canon = lock_name(path);
    char *lp = canon ? sc_asprintf("%s.lock", canon) : NULL;
    free(canon);
    if (!lp || sc_store_mkdirs(lp) != 0) {
        snprintf(err, errlen, "store %s: cannot make its directory: %s", path,
                 lp ? strerror(errno) : "out of memory");
        free(lp);
        return -1;
    }
    int f = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        snprintf(err, errlen, "store %s: cannot open its lock file %s: %s", path, lp, strerror(errno));
        free(lp);
        return -1;
    }
    char held[256] = "";
    ssize_t n = pread(f, held, sizeof held - 1, 0);
    held[n > 0 ? n : 0] = '\0';
    held[strcspn(held, "\n")] = '\0';
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) { /* read again: the holder may have written it just now */
            n = pread(f, held, sizeof held - 1, 0);
            held[n > 0 ? n : 0] = '\0';
            held[strcspn(held, "\n")] = '\0';
            long pid = 0;
            char host[128] = "?";
            sscanf(held, "pid %ld host %127s", &pid, host);
            snprintf(err, errlen, "store %s is in use by another scenarist serve (pid %ld on host "
                     "%s, lock file %s): only one daemon may own an SQLite store", path, pid,
                     host, lp);
        } else {
            snprintf(err, errlen, "store %s: cannot lock %s: %s", path, lp, strerror(e));
        }
        close(f);
        free(lp);
        return e == EWOULDBLOCK ? SC_STORE_BUSY : SC_STORE_ERR;
    }
    long long who = -1;
    const char *o = strstr(held, " owner ");
    if (o && sscanf(o, " owner %lld", &who) == 1 && who > 0)
        *prev = who;
    char host[128] = "unknown", line[256];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    int len = snprintf(line, sizeof line, "pid %ld host %s owner %lld\n", (long)getpid(), host,
                       (long long)sc_store_owner());
    if (ftruncate(f, 0) != 0 || pwrite(f, line, (size_t)len, 0) != len) {
        snprintf(err, errlen, "store %s: cannot write its lock file %s: %s", path, lp,
                 strerror(errno));
        close(f);
        free(lp);
        return -1;
    }
    free(lp);
    *fd = f;
    return 0;
}

void sc_store_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

int sc_store_lock_held(const char *path)
{
    char *canon = lock_name(path);
    char *lp = canon ? sc_asprintf("%s.lock", canon) : NULL;
    free(canon);
    if (!lp)
        return -1;
    int f = open(lp, O_RDONLY | O_CLOEXEC);
    free(lp);
    if (f < 0)
        return errno == ENOENT ? 0 : -1;
    int held = 0;
    if (flock(f, LOCK_SH | LOCK_NB) == 0)
        flock(f, LOCK_UN);
    else
        held = errno == EWOULDBLOCK ? 1 : -1;
    close(f);
    return held;
}
