/* The daemon's log: one line per event worth a person's or a collector's attention (an
 * execution's end, an error), on stderr, where journald picks it up. Each line has a
 * timestamp (ISO 8601 UTC with milliseconds, from clock.h: the test clock in tests), a
 * level, and the execution's id when there is one.
 *
 *   text: 2026-03-08T08:00:00.000Z error scenarist: MESSAGE
 *   json: {"time":"2026-03-08T08:00:00.000Z","level":"error","execution":"ID",
 *          "scenario":"NAME","message":"MESSAGE"}   (one object per line, RFC 8259)
 *
 * A line is written with one write, so lines of concurrent threads never interleave. */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdbool.h>

enum sc_log_level { SC_LOG_INFO, SC_LOG_WARN, SC_LOG_ERROR };

/* Chooses the format by name, "text" (the default) or "json"; -1 for another name (the
 * format is unchanged). Set before threads start. */
int sc_log_set_format(const char *name);
/* True when the format is json. */
bool sc_log_is_json(void);
/* Writes one line. execution and scenario may be NULL (not shown in text, absent in
 * JSON); the message is printf-formatted and cut at 4 KiB. */
void sc_log(enum sc_log_level level, const char *execution, const char *scenario,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* sc_log_hold: the calling thread's next lines are kept (up to PIPE_BUF bytes, 4 KiB on
 * Linux, then written whole) till sc_log_flush writes them in one write(2); a worker holds
 * the lines of a batch (one per execution's end) so a batch costs one system call. */
void sc_log_hold(void);
void sc_log_flush(void);

#endif
