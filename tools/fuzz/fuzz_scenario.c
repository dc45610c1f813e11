/* The YAML scenario loader and the validator, on any bytes. */
#include "fuzz.h"

#include "lang/diag.h"
#include "model/validate.h"
#include "model/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_doc *doc = sc_doc_parse("fuzz.yaml", (const char *)data, size, &d);
    if (doc) {
        struct sc_validator *v = sc_validator_new(NULL, &d);
        if (v)
            sc_validate_doc(v, doc);
        sc_validator_free(v);
        sc_doc_free(doc);
    }
    sc_diags_free(&d);
    return 0;
}
