/* Shared by the fuzz targets: the libFuzzer entry point each defines. Built two ways:
 * with clang's libFuzzer (`make fuzz`), and with replay.c as main, which runs the seed
 * corpus under ASan+UBSan in `make test` so that what was fixed stays fixed. */
#ifndef SC_FUZZ_H
#define SC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
