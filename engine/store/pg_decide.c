/* PostgreSQL store: people's decisions on held and incomplete executions, and the
 * continuations they hand to the daemons (store.h, "decisions"; the SQLite backend,
 * store/sqlite_decide.c, is the reference). Several daemons take continuations: a take
 * is one UPDATE of the oldest waiting row FOR UPDATE SKIP LOCKED, so two never take the
 * same one and none waits for another's. A taken one is its holder's: the heartbeat renews
 * the take while its execution runs (pg_lease_renew), another daemon takes it only a lease
 * after the last renewal, and only the holder records its outcome. */
#include "store/pg.h"

#include "clock.h"

#include <string.h>

static json_t *decision_row(const PGresult *s, int i)
{
    json_t *v = json_pack("{s:I, s:s, s:s, s:s, s:o, s:s}", "id", (json_int_t)pg_int(s, i, 0),
                          "execution", pg_text(s, i, 1), "action", pg_text(s, i, 2),
                          "decided_by", pg_text(s, i, 4), "decided_at", pg_iso(pg_int(s, i, 5)),
                          "state", pg_text(s, i, 7));
    if (v && !pg_null(s, i, 3))
        json_object_set_new(v, "hold", json_integer(pg_int(s, i, 3)));
    if (v && !pg_null(s, i, 6))
        json_object_set_new(v, "reason", json_string(pg_text(s, i, 6)));
    if (v && !pg_null(s, i, 8))
        json_object_set_new(v, "outcome", json_string(pg_text(s, i, 8)));
    if (v && !pg_null(s, i, 9))
        json_object_set_new(v, "ended_at", pg_iso(pg_int(s, i, 9)));
    return v;
}

enum sc_store_rc pg_decision_add(struct sc_store *base, const struct sc_decision_row *r,
                                 int64_t *id)
{
    struct pg_store *st = (struct pg_store *)base;
    *id = -1;
    if (sc_defer_refuse(st->defer, "recording a decision"))
        return SC_STORE_ERR;
    bool hold = !strcmp(r->action, "approve") || !strcmp(r->action, "reject");
    if (!hold && strcmp(r->action, "retry"))
        return pg_err(st, "internal error: no decision '%s'", r->action), SC_STORE_ERR;
    int64_t now = sc_clock_now_ms();
    if (pg_begin(st) != 0)
        return SC_STORE_ERR;
    int n = 1;
    if (hold)
        n = pg_run(st, "deciding the hold", P_DEC_HOLD, "sisis",
                   !strcmp(r->action, "approve") ? "approved" : "rejected", now, r->by,
                   r->hold, r->execution) != 0 ? -1 : (int)st->changes;
    const char *state = !strcmp(r->action, "reject") ? "done" : r->here ? "here" : "pending";
    bool done = !strcmp(state, "done");
    int64_t got = -1;
    if (n > 0) {
        PGresult *s = pg_q(st, P_DEC_ADD, "ssIsisssI", r->execution, r->action,
                           hold ? r->hold : (int64_t)-1, r->by, now, r->reason, state,
                           done ? "rejected" : NULL, done ? now : (int64_t)-1);
        n = !s ? -1 : PQntuples(s) == 1 ? 1 : 0;
        if (n > 0)
            got = pg_int(s, 0, 0);
        PQclear(s);
    }
    if (n <= 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        if (n == 0) { /* decided already, or a continuation already waits */
            st->err[0] = '\0';
            return SC_STORE_EXISTS;
        }
        return SC_STORE_ERR;
    }
    *id = got;
    return SC_STORE_OK;
}

enum sc_store_rc pg_decision_take(struct sc_store *base, json_t **info)
{
    struct pg_store *st = (struct pg_store *)base;
    *info = NULL;
    PGresult *s = pg_q(st, P_DEC_TAKE, "iii", sc_store_owner(), sc_clock_now_ms(),
                       sc_store_lease_ms());
    if (!s)
        return SC_STORE_ERR;
    int64_t id = PQntuples(s) == 1 ? pg_int(s, 0, 0) : -1;
    PQclear(s);
    if (id < 0)
        return SC_STORE_NONE;
    *info = pg_decision(base, id);
    return *info ? SC_STORE_OK : SC_STORE_ERR;
}

enum sc_store_rc pg_decision_end(struct sc_store *base, int64_t id, const char *outcome)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_run(st, "ending the decision", P_DEC_END, "siii", outcome, sc_clock_now_ms(), id,
               sc_store_owner()) != 0)
        return SC_STORE_ERR;
    return st->changes ? SC_STORE_OK : SC_STORE_NONE;
}

json_t *pg_decision(struct sc_store *base, int64_t id)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_DEC_GET, "i", id);
    json_t *v = s && PQntuples(s) == 1 ? decision_row(s, 0) : NULL;
    if (s)
        st->err[0] = '\0';
    PQclear(s);
    return v;
}

json_t *pg_decisions(struct sc_store *base, const char *execution)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_DEC_LIST, "s", execution), decision_row);
}
