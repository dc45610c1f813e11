/* Write turns: first come, first served, each handed straight to the next in line. */
#include "daemon/turns.h"

struct sc_turn {
    pthread_cond_t cv;
    bool go;
    struct sc_turn *next;
};

void sc_turns_init(struct sc_turns *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->busy = false;
    t->head = NULL;
    t->tail = &t->head;
}

void sc_turns_destroy(struct sc_turns *t) { pthread_mutex_destroy(&t->mu); }

void sc_turns_take(struct sc_turns *t)
{
    pthread_mutex_lock(&t->mu);
    if (t->busy) {
        struct sc_turn me = {.go = false};
        pthread_cond_init(&me.cv, NULL);
        *t->tail = &me;
        t->tail = &me.next;
        while (!me.go)
            pthread_cond_wait(&me.cv, &t->mu);
        pthread_cond_destroy(&me.cv);
    }
    t->busy = true;
    pthread_mutex_unlock(&t->mu);
}

void sc_turns_give(struct sc_turns *t)
{
    pthread_mutex_lock(&t->mu);
    struct sc_turn *next = t->head;
    if (next) { /* it stays busy: the turn passes straight on */
        if (!(t->head = next->next))
            t->tail = &t->head;
        next->go = true;
        pthread_cond_signal(&next->cv);
    } else {
        t->busy = false;
    }
    pthread_mutex_unlock(&t->mu);
}
