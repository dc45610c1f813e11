/* The import document reader: format, checksum and name checks, then the diff of the
 * document against itself (which must find nothing). */
#include "fuzz.h"

#include "store/version.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[600];
    json_t *e = sc_version_read((const char *)data, size, err, sizeof err);
    if (e) {
        json_t *doc = json_object_get(e, "document");
        json_t *d = sc_version_diff(doc, doc);
        if (!d || json_array_size(d) != 0)
            abort(); /* a document differs from itself */
        json_decref(d);
        char *t = sc_version_text(doc);
        free(t);
    }
    json_decref(e);
    return 0;
}
