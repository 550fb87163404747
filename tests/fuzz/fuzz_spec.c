/*
 * fuzz_spec.c - the transform spec (function/transform/etl_spec.c): etl_spec_parse checks the
 * JSON skeleton and compiles what is in it (column paths, types, expressions, DQDL rules and
 * their actions). A spec either parses into datasets whose parts are all there, or fails with
 * ERR_CONFIG and a message; either way every allocation is freed (LeakSanitizer).
 */
#include <string.h>

#include "etl_spec.h"
#include "fuzz_util.h"

static void count_declared(void *ctx, const char *name, const char *athena_type)
{
    FUZZ_CHECK(name != NULL && athena_type != NULL && athena_type[0] != '\0');
    (*(size_t *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct etl_spec *spec = NULL;
    struct err err = ERR_INIT;
    enum err_code rc = etl_spec_parse(cur_make(data, size), &spec, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(spec == NULL);
        return 0;
    }
    FUZZ_CHECK(spec != NULL && spec->version == ETL_SPEC_VERSION);
    FUZZ_CHECK(spec->n_datasets >= 1);
    bool hashes = false;
    for (size_t i = 0; i < spec->n_datasets; i++) {
        const struct etl_spec_dataset *d = &spec->datasets[i];
        FUZZ_CHECK(d->name != NULL);
        for (size_t j = 0; j < d->n_mappings; j++) {
            FUZZ_CHECK(d->mappings[j].target.text != NULL && d->mappings[j].target.json != NULL);
            FUZZ_CHECK(d->mappings[j].type != NULL);
        }
        for (size_t j = 0; j < d->n_derive; j++) {
            FUZZ_CHECK(d->derive[j].expr != NULL && d->derive[j].name.json != NULL);
        }
        for (size_t j = 0; j < d->n_pii; j++) {
            hashes = hashes || d->pii[j].method == ETL_PII_HMAC_SHA256;
        }
        FUZZ_CHECK((d->rules == NULL) == (d->dq == NULL));
        size_t declared = 0;
        etl_spec_declared(d, count_declared, &declared);
        (void)etl_spec_meta_omit(d);
    }
    FUZZ_CHECK(etl_spec_needs_key(spec) == hashes);
    etl_spec_free(spec);
    return 0;
}
