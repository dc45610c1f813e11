/* Data, config and state folders of a checkout or an installed binary (paths.h). */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SC_PREFIX
#define SC_PREFIX "/usr/local"
#endif
#ifndef SC_DATADIR
#define SC_DATADIR SC_PREFIX "/share/scenarist"
#endif
#ifndef SC_CONFDIR
#define SC_CONFDIR SC_PREFIX "/etc/scenarist"
#endif
#ifndef SC_STATEDIR
#define SC_STATEDIR SC_PREFIX "/var/lib/scenarist"
#endif

static const char *opt_data, *opt_config, *opt_state;

void sc_paths_set(const char *data_dir, const char *config_dir, const char *state_dir)
{
    if (data_dir)
        opt_data = data_dir;
    if (config_dir)
        opt_config = config_dir;
    if (state_dir)
        opt_state = state_dir;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The folder of the running binary, or "" when /proc does not say. */
static const char *exe_dir(void)
{
    static char dir[4000];
    static bool done;
    if (!done) {
        done = true;
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        dir[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            dir[0] = '\0';
    }
    return dir;
}

static const char *installed(const char *compiled, char *buf, size_t n);

/* The checkout's lua/ folder when the binary runs from one, else NULL. A binary that
 * is neither beside lua/ nor installed (a test program deep in build/) run from the
 * checkout's top uses ./lua, as it always did. */
static const char *checkout_lua(void)
{
    static char dir[4200];
    static int state; /* 0 unknown, 1 yes, 2 no */
    if (!state) {
        state = 2;
        const char *e = exe_dir();
        char data[4200], lua[4300];
        snprintf(lua, sizeof lua, "%s/lua", installed(SC_DATADIR, data, sizeof data));
        if (*e) {
            snprintf(dir, sizeof dir, "%s/lua", e);
            if (is_dir(dir))
                state = 1;
            else if (snprintf(dir, sizeof dir, "%s/../../lua", e), is_dir(dir))
                state = 1;
        }
        if (state == 2 && !is_dir(lua) && is_dir("lua")) {
            snprintf(dir, sizeof dir, "lua");
            state = 1;
        }
    }
    return state == 1 ? dir : NULL;
}

bool sc_paths_checkout(void)
{
    return checkout_lua() != NULL;
}

/* A compiled-in path: one under SC_PREFIX is taken under the binary's PREFIX (BIN/..). */
static const char *installed(const char *compiled, char *buf, size_t n)
{
    size_t pl = strlen(SC_PREFIX);
    const char *e = exe_dir();
    if (*e && strncmp(compiled, SC_PREFIX, pl) == 0 && (compiled[pl] == '/' || !compiled[pl])) {
        snprintf(buf, n, "%s/..%s", e, compiled + pl);
        return buf;
    }
    return compiled;
}

static const char *pick(const char *opt, const char *env_name, const char *compiled,
                        char *buf, size_t n)
{
    const char *env = getenv(env_name);
    if (opt && *opt)
        return opt;
    if (env && *env)
        return env;
    if (sc_paths_checkout())
        return "";
    return installed(compiled, buf, n);
}

const char *sc_paths_lua(void)
{
    static char buf[4200], lua[4300];
    const char *env = getenv("SCENARIST_LUA_DIR");
    if (env && *env)
        return env;
    const char *data = opt_data && *opt_data ? opt_data : getenv("SCENARIST_DATA_DIR");
    if (!(data && *data) && checkout_lua())
        return checkout_lua();
    if (!(data && *data))
        data = installed(SC_DATADIR, buf, sizeof buf);
    snprintf(lua, sizeof lua, "%s/lua", data);
    return lua;
}

const char *sc_paths_config(void)
{
    static char buf[4200];
    return pick(opt_config, "SCENARIST_CONFIG_DIR", SC_CONFDIR, buf, sizeof buf);
}

const char *sc_paths_state(void)
{
    static char buf[4200];
    return pick(opt_state, "SCENARIST_STATE_DIR", SC_STATEDIR, buf, sizeof buf);
}
