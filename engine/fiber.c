/* Fibers on ucontext with guarded mmap'd stacks (fiber.h). */
#include "fiber.h"

#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SC_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_FIBER_ASAN 1
#endif
#endif
#ifdef SC_FIBER_ASAN
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

/* libc's own swapcontext: ASan's wrapper of it warns on stderr once per process (a line in
 * the daemon's log), and every switch here is announced to ASan already. */
static int (*swap_fn)(ucontext_t *, const ucontext_t *);

static int swap(ucontext_t *from, const ucontext_t *to)
{
    if (!swap_fn) {
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        void *f = libc ? dlsym(libc, "swapcontext") : NULL;
        swap_fn = f ? (int (*)(ucontext_t *, const ucontext_t *))f : swapcontext;
    }
    return swap_fn(from, to);
}
#else
#define swap swapcontext
#endif

struct sc_fiber {
    ucontext_t ctx, back; /* its own, and its resumer's */
    void *map;            /* guard page + stack */
    size_t maplen, page;
    void (*fn)(void *);
    void *arg;
    bool ended, ready, begun; /* begun: resumed once, not ended yet */
    int (*leave)(void *);
    void (*enter)(void *);
    void *ud;
#ifdef SC_FIBER_ASAN
    void *fake;                 /* the resumer's fake stack while the fiber runs */
    const void *back_bottom;    /* the resumer's stack, as ASan reported it */
    size_t back_size;
#endif
};

static _Thread_local struct sc_fiber *current;

struct sc_fiber *sc_fiber_current(void) { return current; }
void sc_fiber_wake(struct sc_fiber *f, bool ready) { f->ready = ready; }
bool sc_fiber_ready(const struct sc_fiber *f) { return f->ready; }
bool sc_fiber_ended(const struct sc_fiber *f) { return f->ended; }

/* makecontext passes int arguments only: the pointer goes in two halves. */
static void trampoline(unsigned hi, unsigned lo)
{
    struct sc_fiber *f = (struct sc_fiber *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
#ifdef SC_FIBER_ASAN
    __sanitizer_finish_switch_fiber(NULL, &f->back_bottom, &f->back_size);
#endif
    f->fn(f->arg);
    f->ended = true;
    f->begun = false;
    current = NULL;
#ifdef SC_FIBER_ASAN
    __sanitizer_start_switch_fiber(NULL, f->back_bottom, f->back_size); /* its stack dies */
#endif
    /* returning resumes uc_link: the resumer */
}

/* getcontext returns twice in principle: kept apart, so no local of the caller is at risk. */
static __attribute__((noinline)) int context(struct sc_fiber *f) { return getcontext(&f->ctx); }

struct sc_fiber *sc_fiber_new(size_t stack, void (*fn)(void *arg), void *arg)
{
    struct sc_fiber *f = sc_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    long pg = sysconf(_SC_PAGESIZE);
    f->page = pg > 0 ? (size_t)pg : 4096;
    stack = stack ? stack : SC_FIBER_STACK;
#ifdef SC_FIBER_ASAN
    stack *= 4; /* its frames carry redzones */
#endif
    stack = (stack + f->page - 1) / f->page * f->page;
    f->maplen = stack + f->page;
    f->map = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                  -1, 0);
    if (f->map == MAP_FAILED || mprotect(f->map, f->page, PROT_NONE) != 0) {
        if (f->map != MAP_FAILED)
            munmap(f->map, f->maplen);
        free(f);
        return NULL;
    }
    if (!sc_fiber_reset(f, fn, arg)) {
        munmap(f->map, f->maplen);
        free(f);
        return NULL;
    }
    return f;
}

bool sc_fiber_reset(struct sc_fiber *f, void (*fn)(void *arg), void *arg)
{
    if (f->begun || context(f) != 0)
        return false;
    f->fn = fn;
    f->arg = arg;
    f->ended = f->ready = false;
    f->leave = NULL;
    f->enter = NULL;
    f->ctx.uc_stack.ss_sp = (char *)f->map + f->page;
    f->ctx.uc_stack.ss_size = f->maplen - f->page;
    f->ctx.uc_link = &f->back;
#ifdef SC_FIBER_ASAN
    __asan_unpoison_memory_region(f->ctx.uc_stack.ss_sp, f->ctx.uc_stack.ss_size);
#endif
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->ctx, (void (*)(void))trampoline, 2, (unsigned)(p >> 16 >> 16),
                (unsigned)(p & 0xffffffffu));
    return true;
}

void sc_fiber_free(struct sc_fiber *f)
{
    if (!f)
        return;
    munmap(f->map, f->maplen);
    free(f);
}

bool sc_fiber_resume(struct sc_fiber *f)
{
    if (f->ended || current)
        return f->ended;
    current = f;
    f->ready = false;
    f->begun = true;
#ifdef SC_FIBER_ASAN
    __sanitizer_start_switch_fiber(&f->fake, f->ctx.uc_stack.ss_sp, f->ctx.uc_stack.ss_size);
#endif
    swap(&f->back, &f->ctx);
#ifdef SC_FIBER_ASAN
    __sanitizer_finish_switch_fiber(f->fake, NULL, NULL);
#endif
    current = NULL;
    return f->ended;
}

void sc_fiber_hooks(struct sc_fiber *f, int (*leave)(void *ud), void (*enter)(void *ud),
                    void *ud)
{
    f->leave = leave;
    f->enter = enter;
    f->ud = ud;
}

bool sc_fiber_yield(void)
{
    struct sc_fiber *f = current;
    if (!f || (f->leave && f->leave(f->ud) != 0))
        return false;
    current = NULL;
#ifdef SC_FIBER_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, f->back_bottom, f->back_size);
#endif
    swap(&f->ctx, &f->back);
#ifdef SC_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, &f->back_bottom, &f->back_size);
#endif
    current = f;
    if (f->enter)
        f->enter(f->ud);
    return true;
}
