/* Where an installed or checked-out binary finds its files: the Lua prelude and
 * transforms (data), the orgs (config) and the stores (state).
 *
 * Run from a checkout (the binary has lua/ beside it, or two levels up as
 * build/FLAVOUR/scenarist), data is the checkout's lua/ and orgs and stores stay
 * relative to the working directory, as they always were. Installed, each comes from
 * a path compiled in from PREFIX (Makefile: SC_PREFIX, SC_DATADIR, SC_CONFDIR,
 * SC_STATEDIR); one under PREFIX is taken relative to the binary's own PREFIX
 * (BINARY/..), so a tree installed under DESTDIR or moved whole still finds itself.
 * Each is overridden by an option (sc_paths_set) or an environment variable
 * (SCENARIST_DATA_DIR, SCENARIST_CONFIG_DIR, SCENARIST_STATE_DIR); SCENARIST_LUA_DIR
 * still names the Lua folder itself. Strings returned are static: not thread-safe to
 * set, safe to read once set (set only in main before threads start). */
#ifndef SC_PATHS_H
#define SC_PATHS_H

#include <stdbool.h>

/* Overrides from the command line (--data-dir, --config-dir, --state-dir); NULL keeps
 * the environment's or the default. The strings are borrowed for the process's life. */
void sc_paths_set(const char *data_dir, const char *config_dir, const char *state_dir);
/* True when the binary runs from a checkout (see above). */
bool sc_paths_checkout(void);
/* The folder holding prelude/ and transforms/. */
const char *sc_paths_lua(void);
/* The folder holding orgs/; "" for the working directory (a checkout). */
const char *sc_paths_config(void);
/* The folder under which relative store paths and default stores live; "" for the
 * working directory (a checkout). */
const char *sc_paths_state(void);

#endif
