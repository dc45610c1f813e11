/* The console's static files (console/ at the top of the source tree), compiled into the
 * binary with the assembler's .incbin, so nothing is read from disk or fetched at run time.
 * The Makefile makes this object depend on the files in console/. */
#include "daemon/console.h"

#include <string.h>

#define EMBED(sym, file)                                                                   \
    __asm__(".section .rodata\n.global " #sym "_start\n.global " #sym "_end\n" #sym        \
            "_start:\n.incbin \"" file "\"\n" #sym "_end:\n.byte 0\n.previous\n");         \
    extern const char sym##_start[], sym##_end[];

EMBED(sc_console_index, "console/index.html")
EMBED(sc_console_css, "console/app.css")
EMBED(sc_console_js, "console/app.js")

const char *sc_console_file(const char *name, size_t *len, const char **type)
{
    static const struct {
        const char *name, *type;
        const char *start, *end;
    } files[] = {
        {"", "text/html; charset=utf-8", sc_console_index_start, sc_console_index_end},
        {"index.html", "text/html; charset=utf-8", sc_console_index_start, sc_console_index_end},
        {"app.css", "text/css; charset=utf-8", sc_console_css_start, sc_console_css_end},
        {"app.js", "text/javascript; charset=utf-8", sc_console_js_start, sc_console_js_end},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!strcmp(name, files[i].name)) {
            *len = (size_t)(files[i].end - files[i].start);
            *type = files[i].type;
            return files[i].start;
        }
    return NULL;
}
