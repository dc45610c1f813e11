/* Every command's help, did-you-mean for commands and options, and the manual pages,
 * all from one table of commands and one of options (cli_help.c). */
#ifndef SC_CLI_HELP_H
#define SC_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

#define SC_VERSION "0.1.0"

/* `scenarist CMD --help`: prints CMD's usage, description and options to out. Returns 0,
 * or 2 after saying on stderr that CMD is no command (with a did-you-mean). */
int cli_help_command(const char *cmd, FILE *out);
/* True when the arguments after the command ask for help (--help or -h before any "--"). */
bool cli_help_asked(int argc, char **argv);
/* Says that cmd is no command, with the nearest one; returns 2. */
int cli_unknown_command(const char *cmd);
/* Says that opt (as typed, "--jsn" or "--jsn=x") is no option, with the nearest one. */
void cli_unknown_option(const char *opt);
/* The manual pages in roff (man(7)): scenarist(1) from the tables of commands and options,
 * scenarist-scenario(5) from the validator's and modules' tables. */
void cli_man1(void);
void cli_man5(void);

#endif
