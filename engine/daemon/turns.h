/* A first-come first-served lock handed straight to the next in line: SQLite's write
 * lock is not fair (the intake's back-to-back commits starved the workers), and waking
 * every waiter at each turn cost more context switches than the work. The daemon's
 * writing connections take one around each write transaction (sc_store_turns). */
#ifndef SC_TURNS_H
#define SC_TURNS_H

#include <pthread.h>
#include <stdbool.h>

struct sc_turn; /* a waiter, on its thread's stack */
struct sc_turns {
    pthread_mutex_t mu;
    bool busy;
    struct sc_turn *head, **tail;
};

void sc_turns_init(struct sc_turns *t);
void sc_turns_destroy(struct sc_turns *t);
/* Waits for the turn (in arrival order) and holds it. */
void sc_turns_take(struct sc_turns *t);
/* Passes the turn to the next in line, or frees it. */
void sc_turns_give(struct sc_turns *t);

#endif
