/* The web console's files, built into the binary (console.c). */
#ifndef SC_CONSOLE_H
#define SC_CONSOLE_H

#include <stddef.h>

/* The file under /console/ named name ("" is index.html): its bytes (static, len of them)
 * and Content-Type; NULL when there is no such file. */
const char *sc_console_file(const char *name, size_t *len, const char **type);

#endif
