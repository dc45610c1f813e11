/* Fibers: functions that run on their own stack inside one thread and give the thread
 * back at a yield, so one worker keeps many executions in flight while each waits on
 * the network (run/http.c is the only place that yields). Cooperative: nothing runs
 * between a yield and the resume but what the resumer runs; a fiber never moves thread.
 * Built on ucontext (makecontext/swapcontext, POSIX.1-2001); each stack is mmap'd with a
 * PROT_NONE guard page below it, so an overflow faults instead of writing over memory.
 * Under AddressSanitizer every switch is announced to it (sanitizer/common_interface_defs.h).
 * Ownership: sc_fiber_new returns a fiber freed by sc_fiber_free (its stack with it). */
#ifndef SC_FIBER_H
#define SC_FIBER_H

#include <stdbool.h>
#include <stddef.h>

#define SC_FIBER_STACK (1024u * 1024) /* bytes: Lua's C-call limit (LUAI_MAXCCALLS 200) of
                                         nested template and Lua frames fits with room */

struct sc_fiber;

/* A fiber that will run fn(arg) on a stack of stack bytes (0: SC_FIBER_STACK) at its
 * first sc_fiber_resume; NULL when memory ran out. */
struct sc_fiber *sc_fiber_new(size_t stack, void (*fn)(void *arg), void *arg);
/* Makes f, ended or never resumed, run fn(arg) afresh on the same stack at its next
 * sc_fiber_resume (no new mapping); false when it is in the middle of its function. */
bool sc_fiber_reset(struct sc_fiber *f, void (*fn)(void *arg), void *arg);
/* Frees f; a fiber that has not ended is dropped where it yielded (its stack's objects
 * are not cleaned up: only free a fiber that ended, or one that never ran). */
void sc_fiber_free(struct sc_fiber *f);
/* Runs f from where it last yielded (or from its start) until it yields again or its
 * function returns; true once it has ended. Called from the thread's own stack only. */
bool sc_fiber_resume(struct sc_fiber *f);
/* From inside a fiber: back to its sc_fiber_resume, once its leave hook agreed; true when
 * it went and came back (the enter hook run), false at once when not on a fiber or the
 * hook refused (the caller then waits in place). */
bool sc_fiber_yield(void);
/* What a yield does around the switch: leave (nonzero refuses the yield) on the fiber's
 * way out, enter on its way back in; each may be NULL; ud is the caller's. */
void sc_fiber_hooks(struct sc_fiber *f, int (*leave)(void *ud), void (*enter)(void *ud),
                    void *ud);
/* The fiber running on this thread, or NULL on the thread's own stack. */
struct sc_fiber *sc_fiber_current(void);
/* Marks f runnable (ready) or waiting; the resumer reads it with sc_fiber_ready. */
void sc_fiber_wake(struct sc_fiber *f, bool ready);
bool sc_fiber_ready(const struct sc_fiber *f);
bool sc_fiber_ended(const struct sc_fiber *f);

#endif
