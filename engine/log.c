/* The log's one line per event (log.h). */
#include "log.h"

#include "clock.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool as_json;

int sc_log_set_format(const char *name)
{
    if (!strcmp(name, "text"))
        as_json = false;
    else if (!strcmp(name, "json"))
        as_json = true;
    else
        return -1;
    return 0;
}

bool sc_log_is_json(void)
{
    return as_json;
}

static const char *level_name(enum sc_log_level l)
{
    return l == SC_LOG_ERROR ? "error" : l == SC_LOG_WARN ? "warn" : "info";
}

/* A thread's held lines (sc_log_hold): whole lines, at most PIPE_BUF bytes, the size a
 * pipe writes whole (POSIX), so held lines never interleave with another thread's. */
static _Thread_local struct {
    bool on;
    size_t n;
    char b[PIPE_BUF];
} held;

static void write_all(const char *line, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, n);
        if (w <= 0)
            return;
        line += w;
        n -= (size_t)w;
    }
}

void sc_log_hold(void)
{
    held.on = true;
}

void sc_log_flush(void)
{
    if (held.n)
        write_all(held.b, held.n);
    held.n = 0;
    held.on = false;
}

/* The whole line in one write(2): stderr is unbuffered, and pieces could interleave. */
static void emit(const char *line, size_t n)
{
    if (held.on && held.n + n > sizeof held.b) { /* in order: what is held goes first */
        write_all(held.b, held.n);
        held.n = 0;
    }
    if (held.on && n <= sizeof held.b) {
        memcpy(held.b + held.n, line, n);
        held.n += n;
        return;
    }
    write_all(line, n);
}

void sc_log(enum sc_log_level level, const char *execution, const char *scenario,
            const char *fmt, ...)
{
    char msg[4096], at[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sc_clock_iso(sc_clock_now_ms(), at, sizeof at);
    if (!as_json) {
        char line[4200];
        int n = snprintf(line, sizeof line, "%s %s scenarist: %s\n", at, level_name(level), msg);
        if (n >= (int)sizeof line) { /* cut: keep the newline */
            n = (int)sizeof line - 1;
            line[n - 1] = '\n';
        }
        emit(line, (size_t)n);
        return;
    }
    json_t *o = json_pack("{s:s, s:s}", "time", at, "level", level_name(level));
    if (o && execution)
        json_object_set_new(o, "execution", json_string(execution));
    if (o && scenario)
        json_object_set_new(o, "scenario", json_string(scenario));
    json_t *m = o ? json_string(msg) : NULL;
    if (o) /* a message that is not UTF-8 (a peer's bytes) is said so rather than lost */
        json_object_set_new(o, "message", m ? m : json_string("(message not UTF-8)"));
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (s) {
        size_t n = strlen(s);
        char *line = malloc(n + 2);
        if (line) {
            memcpy(line, s, n);
            line[n] = '\n';
            emit(line, n + 1);
            free(line);
        }
    } else { /* out of memory: the message still goes out, as text */
        emit(msg, strlen(msg));
        emit("\n", 1);
    }
    free(s);
    json_decref(o);
}
