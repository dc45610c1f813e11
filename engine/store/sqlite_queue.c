/* SQLite store: the daemon's queue of events (claimed realtime first, lanes in order) and
 * trigger state (schedules' last slots, polls' watermarks and the keys they have seen). */
#include "store/sqlite.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- triggers handed from the intake to a claim of this process ---- */

/* The trigger an event was enqueued with, a private deep copy (the very object when the
 * caller froze it: store.h) kept until a claim in this process takes it, so that the claim does not parse back the JSON just written (json_loadb
 * was ~8% of an execution's instructions). The row stays the truth: a miss (another process,
 * a restart, an entry overwritten) reads it. Bounded: HANDOFF_SLOTS direct-mapped slots by
 * id (a collision replaces the older entry), triggers of up to HANDOFF_BYTES of JSON. */
#define HANDOFF_SLOTS 512
#define HANDOFF_BYTES 4096

static struct handoff {
    char id[64];
    char *path; /* the store's file: ids are unique per store */
    json_t *trigger;
} handoff[HANDOFF_SLOTS];
static pthread_mutex_t handoff_mu = PTHREAD_MUTEX_INITIALIZER;

static struct handoff *handoff_slot(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &handoff[h % HANDOFF_SLOTS];
}

static void handoff_put(const char *path, const char *id, json_t *trigger, size_t len,
                        bool frozen)
{
    if (!trigger || !path || len > HANDOFF_BYTES || strlen(id) >= sizeof handoff[0].id)
        return;
    json_t *copy = frozen ? json_incref(trigger) : json_deep_copy(trigger);
    char *p = copy ? strdup(path) : NULL;
    if (!p) {
        json_decref(copy);
        return;
    }
    struct handoff *h = handoff_slot(id);
    pthread_mutex_lock(&handoff_mu);
    json_t *old = h->trigger;
    char *oldp = h->path;
    snprintf(h->id, sizeof h->id, "%s", id);
    h->path = p;
    h->trigger = copy;
    pthread_mutex_unlock(&handoff_mu);
    json_decref(old);
    free(oldp);
}

/* The trigger put for id in the store at path (the caller's), or NULL. */
static json_t *handoff_take(const char *path, const char *id)
{
    if (!path)
        return NULL;
    struct handoff *h = handoff_slot(id);
    json_t *t = NULL;
    char *p = NULL;
    pthread_mutex_lock(&handoff_mu);
    if (h->trigger && !strcmp(h->id, id) && !strcmp(h->path, path)) {
        t = h->trigger;
        p = h->path;
        h->trigger = NULL;
        h->path = NULL;
        h->id[0] = '\0';
    }
    pthread_mutex_unlock(&handoff_mu);
    free(p);
    return t;
}

/* ---- the queue ---- */

/* The enqueue itself, in the transaction open now. */
static enum sc_store_rc enqueue(struct sq_store *st, const struct sc_event_row *r, char *first,
                                size_t n)
{
    const struct sc_exec_row *e = &r->exec;
    size_t len;
    bool failed;
    void *trig = sq_dumped_blob(st, e->trigger, e->trigger_json, e->confidential, &len, &failed);
    if (failed)
        return -1;
    int64_t now = sc_clock_now_ms();
    struct sc_defer_end end; /* taken, run and ended in this batch: written as it ended */
    bool ended = r->claim && st->defer && sc_defer_take_end(st->defer, e->id, &end);
    sqlite3_stmt *s = ended
        ? sq_q(st, Q_ENQUEUE_ENDED, "sssssibiisssiiiij", e->id, e->scenario, e->org, e->version,
               e->source, (int64_t)e->confidential, trig, len, e->started_ms, (int64_t)r->realtime,
               r->lane, r->dedupe, end.status, now, end.duration_ms,
               r->taken_ms ? r->taken_ms : now, (int64_t)sq_end_erases(end.status), end.summary)
        : r->claim /* taken at once: the row as sq_claim_next leaves it */
        ? sq_q(st, Q_ENQUEUE_TAKEN, "sssssibiissiiii", e->id, e->scenario, e->org, e->version,
               e->source, (int64_t)e->confidential, trig, len, e->started_ms, (int64_t)r->realtime,
               r->lane, r->dedupe, sc_store_owner(), now, (int64_t)sc_store_lease_ms(),
               r->taken_ms ? r->taken_ms : now)
        : sq_q(st, Q_ENQUEUE, "sssssibiiss", e->id, e->scenario, e->org, e->version, e->source,
               (int64_t)e->confidential, trig, len, e->started_ms, (int64_t)r->realtime, r->lane,
               r->dedupe);
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    sq_done(s);
    if (rc == SQLITE_DONE) {
        if (sq_tally(st, e->scenario, "queued") != 0)
            return -1;
        if (ended)
            return sq_tally(st, e->scenario, "running") != 0 ||
                           (strcmp(end.status, "running") != 0 &&
                            sq_tally(st, e->scenario, end.status) != 0)
                       ? -1 : 0;
        if (r->claim) {
            if (sc_store_live_add(e->id) != 0)
                return sq_err(st, "out of memory"), -1;
            if (sq_tally(st, e->scenario, "running") != 0) {
                sc_store_exec_release(e->id);
                return -1;
            }
            return 0;
        }
        handoff_put(st->path, e->id, e->trigger, len, r->frozen);
        return 0;
    }
    int ext = sqlite3_extended_errcode(st->db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return sq_err(st, "execution id %s is taken", e->id), SC_STORE_EXISTS;
    if (ext != SQLITE_CONSTRAINT_UNIQUE || !r->dedupe)
        return sq_db_err(st, "queueing the event");
    if (!(s = sq_q(st, Q_DEDUPE_FIRST, "ss", e->scenario, r->dedupe)))
        return -1;
    rc = sq_step(st, s);
    if (rc == SQLITE_ROW)
        snprintf(first, n, "%s", sq_text(s, 0));
    sq_done(s);
    return rc == SQLITE_ROW ? SC_STORE_SAME : sq_db_err(st, "finding the first of a repeated event");
}

enum sc_store_rc sq_enqueue(struct sc_store *base, const struct sc_event_row *r, char *first, size_t n)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->depth > 0)
        return enqueue(st, r, first, n);
    /* its own transaction: the row and its count together */
    if (sq_begin(st) != 0)
        return -1;
    enum sc_store_rc rc = enqueue(st, r, first, n);
    if (rc < 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        return rc < 0 ? rc : -1;
    }
    return rc;
}

int64_t sq_last_seq(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_LAST_SEQ, "");
    if (!s)
        return -1;
    int64_t seq = sq_step(st, s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sq_done(s);
    return seq >= 0 ? seq : sq_db_err(st, "reading the queue's last event");
}

enum sc_store_rc sq_claim_next(struct sc_store *base, int64_t max_seq, json_t **info)
{
    struct sq_store *st = (struct sq_store *)base;
    *info = NULL;
    bool own = st->depth == 0; /* the read and the take in one transaction */
    if (own && sq_begin(st) != 0)
        return -1;
    sqlite3_stmt *s = sq_q(st, Q_CLAIM_NEXT, "i", max_seq);
    int rc = s ? sq_step(st, s) : SQLITE_ERROR;
    int64_t rowid = 0;
    char id[64] = "", *scenario = NULL;
    if (rc == SQLITE_ROW) {
        static const int col[7] = {1, 2, 3, 4, 5, 6, 7};
        snprintf(id, sizeof id, "%s", sq_text(s, 0));
        rowid = sqlite3_column_int64(s, 8);
        scenario = strdup(sq_text(s, 1));
        json_t *trig = sqlite3_column_type(s, col[6]) == SQLITE_NULL ? NULL : handoff_take(st->path, id);
        if (trig) /* as sq_run_info builds it, the trigger not read back from the row */
            *info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o}", "id", id, "scenario",
                              sq_text(s, col[0]), "version", sq_text(s, col[1]), "source",
                              sq_text(s, col[2]), "status", sq_text(s, col[3]), "attempts",
                              sqlite3_column_int(s, col[4]), "confidential",
                              sqlite3_column_int(s, col[5]), "trigger", trig);
        else if (!(*info = sq_run_info(st, s, id, col)))
            *info = json_pack("{s:s, s:s}", "id", id, "unreadable", st->err);
    }
    if (s)
        sq_done(s);
    if (rc == SQLITE_ROW && *info && scenario) {
        if (sc_store_live_add(id) != 0) /* unrenewed, it is taken up again once its lease lapses */
            sq_err(st, "out of memory");
        int64_t now = sc_clock_now_ms();
        if (sq_exec(st, sq_q(st, Q_CLAIM_TAKE, "iiii", sc_store_owner(), now,
                             (int64_t)sc_store_lease_ms(), rowid), "claiming the next event") != 0 ||
            sq_tally(st, scenario, "running") != 0) {
            sc_store_exec_release(id);
            json_decref(*info);
            *info = NULL;
            rc = SQLITE_ERROR;
        }
    } else if (rc == SQLITE_ROW) {
        sq_err(st, "out of memory");
        rc = SQLITE_ERROR;
    } else if (rc != SQLITE_DONE) {
        if (s)
            sq_db_err(st, "claiming the next event");
        rc = SQLITE_ERROR;
    }
    if (own) {
        if (rc != SQLITE_ERROR && sq_commit(st) != 0)
            rc = SQLITE_ERROR;
        if (rc == SQLITE_ERROR) {
            sq_rollback(st);
            if (*info)
                sc_store_exec_release(id);
            json_decref(*info);
            *info = NULL;
        }
    }
    free(scenario);
    if (rc == SQLITE_ROW)
        return SC_STORE_OK;
    return rc == SQLITE_DONE ? SC_STORE_NONE : SC_STORE_ERR;
}

int sq_queue_state(struct sc_store *base, int64_t *runnable, int64_t *next_retry_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_RUNNABLE, "");
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    *runnable = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sq_done(s);
    if (rc != SQLITE_ROW || !(s = sq_q(st, Q_NEXT_RETRY, "")))
        return rc == SQLITE_ROW ? -1 : sq_db_err(st, "counting the queue");
    rc = sq_step(st, s);
    *next_retry_ms = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL
                         ? sqlite3_column_int64(s, 0) : -1;
    sq_done(s);
    return rc == SQLITE_ROW ? 0 : sq_db_err(st, "reading the next retry");
}

/* ---- trigger state: schedules' last slots, polls' watermarks and seen keys ---- */

enum sc_store_rc sq_trigger_get(struct sc_store *base, const char *scenario, const char *trigger,
                                int64_t *last_ms, int64_t *watermark_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_TRIG_GET, "ss", scenario, trigger);
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    *last_ms = *watermark_ms = -1;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            *last_ms = sqlite3_column_int64(s, 0);
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            *watermark_ms = sqlite3_column_int64(s, 1);
    }
    sq_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? SC_STORE_NONE : sq_db_err(st, "reading trigger state");
}

int sq_trigger_set(struct sc_store *base, const char *scenario, const char *trigger,
                   int64_t last_ms, int64_t watermark_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_exec(st, sq_q(st, Q_TRIG_SET, "ssIIi", scenario, trigger, last_ms, watermark_ms,
                            sc_clock_now_ms()), "recording trigger state");
}

enum sc_store_rc sq_poll_seen(struct sc_store *base, const char *scenario, const char *trigger,
                              const char *key)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_SEEN_GET, "sss", scenario, trigger, key);
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    sq_done(s);
    if (rc == SQLITE_ROW)
        return SC_STORE_EXISTS;
    return rc == SQLITE_DONE ? SC_STORE_NONE : sq_db_err(st, "reading seen poll items");
}

int sq_poll_mark(struct sc_store *base, const char *scenario, const char *trigger,
                 const char *key, int64_t at_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_exec(st, sq_q(st, Q_SEEN_PUT, "sssi", scenario, trigger, key, at_ms),
                   "recording a seen poll item");
}

int sq_poll_prune(struct sc_store *base, const char *scenario, const char *trigger,
                  int64_t before_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_exec(st, sq_q(st, Q_SEEN_PRUNE, "ssi", scenario, trigger, before_ms),
                   "pruning seen poll items");
}
