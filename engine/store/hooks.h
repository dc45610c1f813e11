/* The daemon's hooks into the store's SQLite backend: what only `scenarist serve` calls,
 * to run one store from many threads (write turns, fsync of the write-ahead log, a
 * checkpoint apart from the commits) and to own the store alone (the store lock). A
 * backend without such a need (PostgreSQL) does nothing for them and answers 0.
 * Ownership and errors as store.h. */
#ifndef SC_STORE_HOOKS_H
#define SC_STORE_HOOKS_H

#include "store/store.h"

/* ---- the store lock: one daemon per SQLite store ----
 * An advisory lock (flock, exclusive) on the file NAME.lock beside the database, NAME
 * being the database's one name (symbolic links followed, the folder absolute: every
 * name of one store takes the same lock), held
 * for the life of the process, with "pid PID host HOST owner TOKEN" written in it.
 * SC_STORE_OK with *fd holding it and *prev the last holder's owner token (-1: none: its
 * leases can be dropped, as the lock proves it gone); SC_STORE_BUSY when another process
 * holds it (err names its pid and host); SC_STORE_ERR (err). */
enum sc_store_rc sc_store_lock(const char *path, int *fd, int64_t *prev, char *err, size_t errlen);
/* Releases it (the file stays). */
void sc_store_unlock(int fd);
/* True when the store at path is shared by several daemons (PostgreSQL): no store lock,
 * and no lease of the last holder to drop (each daemon's leases lapse on their own). */
bool sc_store_shared(const char *path);
/* Whether this connection leads the org's timers (schedules, polls, backups, audit
 * checkpoints) among the daemons sharing the store: 1 it does (always, on SQLite: one
 * daemon), 0 another daemon's connection does, -1 error. PostgreSQL: a session advisory
 * lock, taken when free and held till the connection closes or is lost (a killed daemon's
 * lock goes with its connection). */
int sc_store_lead(struct sc_store *st);
/* Calls wake(arg), from a thread with a connection of its own, soon after another process
 * commits new events to the store (PostgreSQL: LISTEN), so this one's workers look for
 * work at once; a backend with one daemon per store does nothing. sc_store_close(st)
 * stops it. 0, or -1 (error set). */
int sc_store_watch(struct sc_store *st, void (*wake)(void *), void *arg);
/* Whether a daemon serves the shared store st now: 1 yes, 0 no, -1 error (set), or -1 with
 * no error on a backend that cannot tell (SQLite: ask sc_store_lock_held of its path).
 * PostgreSQL: some session holds the timers' lead (a running daemon always leads or
 * waits behind the one that does). */
int sc_store_served(struct sc_store *st);
/* Whether the store can be reached now, for /readyz: 0 yes, -1 no (error set, as the
 * failure of any call would say it). One round trip at most (PostgreSQL: a session the
 * server ended is replaced first, then SELECT 1; a connection attempt gives up after the
 * URI's connect_timeout, 10 s by default); a backend whose store is a file answers 0. */
int sc_store_ping(struct sc_store *st);
/* Whether a daemon holds the store lock of path now, without taking it or writing the
 * lock file (a shared flock tried and let go at once): 1 held, 0 not (or no lock file
 * yet), -1 on error (errno). */
int sc_store_lock_held(const char *path);

/* Commits are durable across a crash of the process; across a power loss only once
 * synced: sc_store_sync writes to disk (fsync) everything committed so far, by any
 * connection, so an acknowledgement can wait for it without holding the write lock. */
int sc_store_sync(struct sc_store *st);
/* This connection's commits leave the write-ahead log to sc_store_checkpoint, called by
 * a connection of its own, so no commit waits for a checkpoint. */
int sc_store_checkpoint_apart(struct sc_store *st);
/* Copies what it can of the write-ahead log into the database, without blocking writers.
 * Returns the log's length in pages (once all is copied, the next commit to begin starts
 * it again from its beginning), -1 on error. */
int sc_store_checkpoint(struct sc_store *st);

/* Writes of this connection take turns with the other connections given the same turns
 * (the daemon's, in one process): take() before its outermost transaction or a write
 * outside one, give() after, first come first served, instead of SQLite's busy wait. */
void sc_store_turns(struct sc_store *st, void (*take)(void *), void (*give)(void *),
                    void *turns);

#endif
