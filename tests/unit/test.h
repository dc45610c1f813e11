/* Shared includes for the cmocka unit tests. */
#ifndef SC_TEST_H
#define SC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#endif
