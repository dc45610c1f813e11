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

enum sc_store_rc sc_store_lock(const char *path, int *fd, int64_t *prev, char *err, size_t errlen)
{
    *fd = -1;
    *prev = -1;
    char *lp = sc_asprintf("%s.lock", path);
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
