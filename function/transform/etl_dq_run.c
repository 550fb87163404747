/*
 * etl_dq_run.c - rules over a batch or a run: row verdicts, the evaluation, and the documents and
 * metrics around it.
 */
#include "etl_dq_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonw.h"

void etl_dq_run_init(struct etl_dq_run *run, const struct etl_dq_rules *rules, int64_t now_ms)
{
    memset(run, 0, sizeof(*run));
    run->rules = rules;
    run->now_ms = now_ms;
    etl_schema_init(&run->observed);
}

void etl_dq_run_cleanup(struct etl_dq_run *run)
{
    if (run == NULL) {
        return;
    }
    etl_dq_state_free(run->state);
    run->state = NULL;
    etl_schema_cleanup(&run->observed);
}

void etl_dq_run_reset(struct etl_dq_run *run, int64_t now_ms)
{
    /* A state holds its now: a new batch gets a new one. */
    etl_dq_state_free(run->state);
    run->state = NULL;
    etl_schema_reset(&run->observed);
    run->now_ms = now_ms;
    run->rows = 0;
}

enum err_code etl_dq_run_row(struct etl_dq_run *run,
                             const struct etl_expr_env *env,
                             struct cur rejected,
                             bool *quarantine,
                             struct buf *fail_json,
                             struct err *err)
{
    struct etl_dq_verdict v = {0};
    enum err_code rc = ERR_OK;
    if (run->rules != NULL && run->state == NULL) {
        rc = etl_dq_state_new(run->rules, run->now_ms, &run->state, err);
    }
    if (rc == ERR_OK && run->rules != NULL) {
        rc = etl_dq_row(run->state, env, &v, err);
        run->rows += rc == ERR_OK ? 1 : 0;
    }
    *quarantine = rejected.len > 0 || v.quarantine;
    if (rc != ERR_OK || !*quarantine) {
        return rc;
    }
    /* The row's earlier failures first, then the rules it broke. */
    struct jsonw w;
    struct json_val arr = {.type = JSON_ARRAY, .raw = rejected}, item;
    struct json_iter it;
    buf_reset(fail_json);
    jsonw_init(&w, fail_json, err);
    jsonw_array(&w, JSONW_COMPACT);
    if (rejected.len > 0) {
        json_iter_init(&it, &arr);
        while (json_array_next(&it, &item)) {
            jsonw_raw(&w, item.raw);
        }
    }
    for (size_t i = 0; i < v.n_failed; i++) {
        jsonw_str(&w, etl_dq_rule(run->rules, v.failed[i])->text);
    }
    jsonw_end(&w);
    return jsonw_finish(&w);
}

enum err_code
etl_dq_run_observe(struct etl_dq_run *run, const struct etl_row_ref *row, struct err *err)
{
    return etl_schema_observe(&run->observed, row, err);
}

struct etl_dq_partial *etl_dq_run_partial(struct etl_dq_run *run)
{
    return run->state != NULL ? etl_dq_state_partial(run->state) : NULL;
}

/* ---- the anomaly history ---- */

struct history {
    struct etl_dq_history *v;
    size_t n;
    char **names;
    double **values;
    char **ids; /* the evaluations that wrote, oldest first */
    size_t n_ids;
};

static void history_free(struct history *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->names[i]);
        free(h->values[i]);
    }
    for (size_t i = 0; i < h->n_ids; i++) {
        free(h->ids[i]);
    }
    free(h->ids);
    free(h->v);
    free(h->names);
    free(h->values);
    memset(h, 0, sizeof(*h));
}

/* Reads {"version":1,"metrics":{"name":[numbers...]}}; a document that is not one is ignored
 * (a history is advice: losing it restarts the warm-up, it never fails a batch). */
static enum err_code history_read(struct cur text, struct history *h, struct err *err)
{
    struct json_val root, metrics, k, arr, e;
    struct err ignored = ERR_INIT;
    memset(h, 0, sizeof(*h));
    if (text.len == 0 || json_validate(text, 8, &root, &ignored) != ERR_OK ||
        root.type != JSON_OBJECT ||
        !json_object_get_type(&root, "metrics", JSON_OBJECT, &metrics)) {
        return ERR_OK;
    }
    struct json_val ids;
    if (json_object_get_type(&root, "ids", JSON_ARRAY, &ids)) {
        h->ids = calloc(json_count(&ids) + 1, sizeof(*h->ids));
        if (h->ids == NULL) {
            return err_set(err, ERR_NOMEM, "out of memory reading a DQ history");
        }
        struct json_iter iit;
        struct json_val id;
        json_iter_init(&iit, &ids);
        while (json_array_next(&iit, &id)) {
            char id_text[ETL_DQ_RUN_ID_MAX];
            if (id.type == JSON_STRING && json_string_copy(&id, id_text, sizeof(id_text)) &&
                (h->ids[h->n_ids] = strdup(id_text)) != NULL) {
                h->n_ids++;
            }
        }
    }
    size_t n = json_count(&metrics);
    h->v = calloc(n + 1, sizeof(*h->v));
    h->names = calloc(n + 1, sizeof(*h->names));
    h->values = calloc(n + 1, sizeof(*h->values));
    if (h->v == NULL || h->names == NULL || h->values == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading a DQ history");
    }
    struct json_iter it, ait;
    json_iter_init(&it, &metrics);
    while (json_object_next(&it, &k, &arr)) {
        if (arr.type != JSON_ARRAY) {
            continue;
        }
        size_t i = h->n;
        h->names[i] = malloc(k.raw.len + 1);
        h->values[i] = calloc(json_count(&arr) + 1, sizeof(double));
        if (h->names[i] == NULL || h->values[i] == NULL) {
            free(h->names[i]);
            free(h->values[i]);
            return err_set(err, ERR_NOMEM, "out of memory reading a DQ history");
        }
        (void)json_string_copy(&k, h->names[i], k.raw.len + 1);
        size_t m = 0;
        json_iter_init(&ait, &arr);
        while (json_array_next(&ait, &e)) {
            char num[64];
            if (e.type == JSON_NUMBER && cur_copy_to(e.raw, num, sizeof(num))) {
                h->values[i][m++] = strtod(num, NULL);
            }
        }
        h->v[i] = (struct etl_dq_history){h->names[i], h->values[i], m};
        h->n++;
    }
    return ERR_OK;
}

static const struct etl_dq_history *history_find(const struct history *h, const char *metric)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i].metric, metric) == 0) {
            return &h->v[i];
        }
    }
    return NULL;
}

static bool history_has(const struct history *h, const char *id)
{
    for (size_t i = 0; id != NULL && i < h->n_ids; i++) {
        if (strcmp(h->ids[i], id) == 0) {
            return true;
        }
    }
    return false;
}

/* The history with each stored value appended, the last ETL_DQ_RUN_HISTORY of each metric, and
 * the evaluation's id (if any) after the last ETL_DQ_RUN_HISTORY ids. */
static enum err_code history_write(const struct history *h,
                                   const struct etl_dq_results *r,
                                   const char *id,
                                   struct buf *out,
                                   struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "version");
    jsonw_i64(&w, 1);
    jsonw_key(&w, "ids");
    jsonw_array(&w, JSONW_COMPACT);
    size_t total = h->n_ids + (id != NULL ? 1 : 0);
    for (size_t i = total > ETL_DQ_RUN_HISTORY ? total - ETL_DQ_RUN_HISTORY : 0; i < h->n_ids;
         i++) {
        jsonw_str(&w, h->ids[i]);
    }
    if (id != NULL) {
        jsonw_str(&w, id);
    }
    jsonw_end(&w);
    jsonw_key(&w, "metrics");
    jsonw_object(&w, JSONW_COMPACT);
    /* Metrics this evaluation stored, then the ones it did not touch (kept as they were). */
    for (size_t i = 0; i < r->n_stores; i++) {
        const struct etl_dq_history *old = history_find(h, r->stores[i].metric);
        size_t n_old = old != NULL ? old->n : 0;
        size_t from = n_old + 1 > ETL_DQ_RUN_HISTORY ? n_old + 1 - ETL_DQ_RUN_HISTORY : 0;
        jsonw_key(&w, r->stores[i].metric);
        jsonw_array(&w, JSONW_COMPACT);
        for (size_t j = from; j < n_old; j++) {
            jsonw_double(&w, "%.17g", old->values[j]);
        }
        jsonw_double(&w, "%.17g", r->stores[i].value);
        jsonw_end(&w);
    }
    for (size_t i = 0; i < h->n; i++) {
        bool stored = false;
        for (size_t j = 0; j < r->n_stores && !stored; j++) {
            stored = strcmp(r->stores[j].metric, h->v[i].metric) == 0;
        }
        if (stored) {
            continue;
        }
        jsonw_key(&w, h->v[i].metric);
        jsonw_array(&w, JSONW_COMPACT);
        for (size_t j = 0; j < h->v[i].n; j++) {
            jsonw_double(&w, "%.17g", h->v[i].values[j]);
        }
        jsonw_end(&w);
    }
    jsonw_end(&w);
    jsonw_end(&w);
    return jsonw_finish(&w);
}

/* ---- drift ---- */

static const struct etl_schema_attr *find_attr(const struct etl_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->attrs[i].name, name) == 0) {
            return &s->attrs[i];
        }
    }
    return NULL;
}

size_t etl_dq_run_drift(const struct etl_schema *observed,
                        const struct etl_schema *reference,
                        char *note,
                        size_t cap)
{
    size_t drift = 0, used = 0;
    if (cap > 0) {
        note[0] = '\0';
    }
    for (size_t i = 0; reference != NULL && i < observed->n; i++) {
        const struct etl_schema_attr *a = &observed->attrs[i];
        const struct etl_schema_attr *ref = find_attr(reference, a->name);
        for (int t = 0; t < ETL_T_COUNT; t++) {
            if (a->counts[t] == 0 || t == ETL_T_NULL || (ref != NULL && ref->counts[t] > 0)) {
                continue;
            }
            drift++;
            if (used < cap) {
                int n = snprintf(note + used, cap - used, "%s\"%.60s\" %s %s", used > 0 ? "; " : "",
                                 a->name, ref == NULL ? "new," : "now also",
                                 etl_type_name((enum etl_type)t));
                used += n > 0 ? (size_t)n : 0;
            }
            if (ref == NULL) {
                break; /* a new attribute counts once, whatever its types */
            }
        }
    }
    return drift;
}

/* ---- evaluation ---- */

static enum err_code emf_lines(const struct etl_dq_results *r,
                               const struct etl_dq_run_eval *in,
                               struct buf *out,
                               struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    for (size_t i = 0; i < r->n; i++) {
        const struct etl_dq_rule_result *rr = &r->rules[i];
        jsonw_object(&w, JSONW_COMPACT);
        jsonw_key(&w, "_aws");
        jsonw_object(&w, JSONW_COMPACT);
        jsonw_key(&w, "Timestamp");
        jsonw_i64(&w, in->emf_time_ms);
        jsonw_key(&w, "CloudWatchMetrics");
        jsonw_array(&w, JSONW_COMPACT);
        jsonw_object(&w, JSONW_COMPACT);
        jsonw_key(&w, "Namespace");
        jsonw_str(&w, in->metrics_namespace);
        jsonw_key(&w, "Dimensions");
        jsonw_raw(&w, cur_from_str("[[\"service\",\"dataset\",\"rule\"]]"));
        jsonw_key(&w, "Metrics");
        jsonw_raw(&w, cur_from_str("[{\"Name\":\"RulePassed\",\"Unit\":\"Count\"}]"));
        jsonw_end(&w);
        jsonw_end(&w);
        jsonw_end(&w);
        jsonw_key(&w, "service");
        jsonw_str(&w, in->service);
        jsonw_key(&w, "dataset");
        jsonw_str(&w, in->dataset);
        jsonw_key(&w, "rule");
        jsonw_str(&w, rr->rule->name);
        jsonw_key(&w, "outcome");
        jsonw_str(&w, etl_dq_outcome_name(rr->outcome));
        jsonw_key(&w, "RulePassed");
        jsonw_i64(&w, rr->outcome == ETL_DQ_PASS ? 1 : 0);
        jsonw_end(&w);
        jsonw_text(&w, "\n");
    }
    return jsonw_finish(&w);
}

enum err_code etl_dq_run_evaluate(struct etl_dq_run *run,
                                  const struct etl_dq_run_eval *in,
                                  struct buf *report,
                                  struct buf *history_out,
                                  struct buf *emf,
                                  struct etl_dq_run_summary *out,
                                  struct err *err)
{
    struct history h;
    struct etl_dq_results *r = NULL;
    struct etl_dq_partial *empty = NULL;
    memset(out, 0, sizeof(*out));
    const struct etl_schema *observed = in->observed != NULL ? in->observed : &run->observed;
    out->drift = etl_dq_run_drift(observed, in->reference, NULL, 0);
    if (run->rules == NULL) {
        return ERR_OK;
    }
    const struct etl_dq_partial *partial =
        in->partial != NULL ? in->partial : etl_dq_run_partial(run);
    enum err_code rc = ERR_OK;
    if (partial == NULL) {
        /* No row reached the rules: they are evaluated on an empty dataset. */
        rc = etl_dq_partial_new(run->rules, &empty, err);
        partial = empty;
    }
    if (rc == ERR_OK) {
        rc = history_read(in->history, &h, err);
    } else {
        memset(&h, 0, sizeof(h));
    }
    struct etl_dq_result_input rin = {observed, NULL, 0, in->reference, h.v, h.n};
    if (rc == ERR_OK) {
        rc = etl_dq_result_evaluate(partial, &rin, &r, err);
    }
    if (rc == ERR_OK) {
        rc = etl_dq_report_to_json(r, in->meta, report, err);
    }
    /* Nothing to append for an evaluation already in the history (a retried batch or commit),
     * nor for one that fails the batch or run (it is retried, or nothing of it is kept). */
    if (rc == ERR_OK && r->n_stores > 0 && !r->fail && !history_has(&h, in->evaluation_id)) {
        rc = history_write(&h, r, in->evaluation_id, history_out, err);
    }
    if (rc == ERR_OK && emf != NULL) {
        rc = emf_lines(r, in, emf, err);
    }
    if (rc == ERR_OK) {
        out->score = r->score;
        out->rules = r->n;
        out->passed = r->rules_passed;
        out->failed = r->rules_failed;
        out->rows = r->rows;
        out->rows_failed = r->rows_failed;
        out->fail = r->fail;
    }
    etl_dq_result_free(r);
    etl_dq_partial_free(empty);
    history_free(&h);
    return rc;
}
