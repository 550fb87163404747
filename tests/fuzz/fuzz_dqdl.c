/*
 * fuzz_dqdl.c - the DQDL parser (function/transform/etl_dqdl*.c) and, when a ruleset parses, its
 * compilation by etl_dq_new (where clauses and regexes through the expression compiler, Glue's
 * per-type checks). A parsed tree keeps each rule's text as written at its offset, names its
 * top-level rules Rule_1, Rule_2, ... and has at least one leaf under every rule.
 */
#include <stdio.h>
#include <string.h>

#include "etl_dq.h"
#include "etl_dqdl.h"
#include "fuzz_util.h"

static void check_rule(const struct etl_dqdl_ruleset *rs, const struct etl_dqdl_rule *r, int depth)
{
    FUZZ_CHECK(depth < 1000);
    FUZZ_CHECK(r->type < ETL_DQDL_RTYPE_COUNT);
    /* The rule's text is a NUL-terminated copy of the document's bytes at its offset. */
    FUZZ_CHECK(r->text != NULL && r->text[r->text_len] == '\0');
    FUZZ_CHECK(r->off <= rs->text.len && r->text_len <= rs->text.len - r->off);
    FUZZ_CHECK(r->text_len == 0 || memcmp(r->text, rs->text.data + r->off, r->text_len) == 0);
    FUZZ_CHECK(r->line >= 1 && r->col >= 1);
    FUZZ_CHECK(etl_dqdl_leaf_count(r) >= 1);
    FUZZ_CHECK(etl_dqdl_rtype_name(r->type) != NULL);
    if (r->type == ETL_DQDL_COMPOSITE) {
        FUZZ_CHECK(r->lhs != NULL && r->rhs != NULL);
        FUZZ_CHECK(etl_dqdl_leaf_count(r) ==
                   etl_dqdl_leaf_count(r->lhs) + etl_dqdl_leaf_count(r->rhs));
        check_rule(rs, r->lhs, depth + 1);
        check_rule(rs, r->rhs, depth + 1);
        return;
    }
    for (size_t i = 0; i < r->n_params; i++) {
        FUZZ_CHECK(r->params[i] != NULL);
    }
    if (r->cond.op != ETL_DQDL_OP_NONE) {
        FUZZ_CHECK(r->cond.text != NULL);
        FUZZ_CHECK(r->cond.n == 0 || r->cond.values != NULL);
    }
    for (size_t i = 0; i < r->n_labels; i++) {
        FUZZ_CHECK(r->labels[i].key != NULL && r->labels[i].value != NULL);
    }
    FUZZ_CHECK(etl_dqdl_action_name(r->action) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur text = cur_make(data, size);
    struct etl_dqdl_ruleset *rs = NULL;
    struct err err = ERR_INIT;
    enum err_code rc = etl_dqdl_parse(text, &rs, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(rs == NULL);
        return 0;
    }
    FUZZ_CHECK(rs != NULL && rs->n >= 1);
    for (size_t i = 0; i < rs->n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Rule_%zu", i + 1);
        FUZZ_CHECK(strcmp(rs->rules[i]->name, name) == 0);
        check_rule(rs, rs->rules[i], 0);
    }
    size_t n = rs->n;
    etl_dqdl_free(rs);

    struct etl_dq_rules *dq = NULL;
    rc = etl_dq_new(text, NULL, &dq, &err);
    if (rc == ERR_OK) {
        FUZZ_CHECK(etl_dq_rule_count(dq) == n);
        for (size_t i = 0; i < n; i++) {
            const struct etl_dq_rule_info *info = etl_dq_rule(dq, i);
            FUZZ_CHECK(info != NULL && info->action != ETL_DQDL_ACTION_DEFAULT);
        }
        for (size_t i = 0; i < etl_dq_column_count(dq); i++) {
            FUZZ_CHECK(etl_dq_column_name(dq, i) != NULL);
        }
    } else {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(dq == NULL);
    }
    etl_dq_free(dq);
    return 0;
}
