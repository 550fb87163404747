/*
 * etl_dq_report.c - Glue's GetDataQualityResult document from results, through jsonw: pretty at
 * the top, metric values in their shortest exact form, texts cut to Glue's limit.
 */
#include "etl_dq_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Glue's DataQualityRuleResult: Description, EvaluationMessage and EvaluatedRule hold at most
 * 2048 characters. */
#define GLUE_TEXT_MAX 2048

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static void write_number(struct jsonw *w, double v)
{
    static const char *const FORMATS[] = {"%.15g", "%.16g", "%.17g"};
    char text[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(text, sizeof(text), "%.*g", p, v);
        if (strtod(text, NULL) == v || p == 17) {
            jsonw_double(w, FORMATS[p - 15], v);
            return;
        }
    }
}

/* s cut to Glue's 2048 characters (whole UTF-8 sequences). */
static void write_text(struct jsonw *w, const char *s)
{
    size_t chars = 0, i = 0;
    for (; s[i] != '\0'; i++) {
        if (((uint8_t)s[i] & 0xC0) != 0x80 && chars++ == GLUE_TEXT_MAX) {
            break;
        }
    }
    jsonw_strn(w, s, i);
}

static void write_rule(struct jsonw *w, const struct etl_dq_rule_result *rr)
{
    const struct etl_dqdl_rule *src = rr->rule->rule;
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "Name");
    jsonw_str(w, rr->rule->name);
    jsonw_key(w, "Description");
    write_text(w, rr->rule->text);
    if (rr->message != NULL) {
        jsonw_key(w, "EvaluationMessage");
        write_text(w, rr->message);
    }
    jsonw_key(w, "Result");
    jsonw_str(w, etl_dq_outcome_name(rr->outcome));
    jsonw_key(w, "EvaluatedMetrics");
    jsonw_object(w, JSONW_PRETTY);
    for (size_t i = 0; i < rr->n_metrics; i++) {
        if (isfinite(rr->metrics[i].value)) {
            jsonw_key(w, rr->metrics[i].name);
            write_number(w, rr->metrics[i].value);
        }
    }
    jsonw_end(w);
    jsonw_key(w, "EvaluatedRule");
    write_text(w, rr->rule->text);
    if (src->n_labels > 0) {
        jsonw_key(w, "Labels");
        jsonw_object(w, JSONW_SPACED);
        for (size_t i = 0; i < src->n_labels; i++) {
            jsonw_key(w, src->labels[i].key);
            jsonw_str(w, src->labels[i].value);
        }
        jsonw_end(w);
    }
    jsonw_end(w);
}

static void write_observation(struct jsonw *w, const struct etl_dq_observation *o)
{
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "Description");
    write_text(w, o->description);
    jsonw_key(w, "MetricBasedObservation");
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "MetricName");
    jsonw_str(w, o->metric);
    jsonw_key(w, "MetricValues");
    jsonw_object(w, JSONW_SPACED);
    jsonw_key(w, "ActualValue");
    write_number(w, o->actual);
    jsonw_key(w, "ExpectedValue");
    write_number(w, o->expected);
    jsonw_key(w, "LowerLimit");
    write_number(w, o->lower);
    jsonw_key(w, "UpperLimit");
    write_number(w, o->upper);
    jsonw_end(w);
    jsonw_end(w);
    jsonw_end(w);
}

void etl_dq_report_write(const struct etl_dq_results *r,
                         const struct etl_dq_report_meta *meta,
                         struct jsonw *w)
{
    static const struct etl_dq_report_meta NONE = {0};
    const struct etl_dq_report_meta *m = meta != NULL ? meta : &NONE;
    jsonw_object(w, JSONW_PRETTY);
    if (m->result_id != NULL) {
        jsonw_key(w, "ResultId");
        jsonw_str(w, m->result_id);
    }
    if (m->ruleset_name != NULL) {
        jsonw_key(w, "RulesetName");
        jsonw_str(w, m->ruleset_name);
    }
    jsonw_key(w, "Score");
    write_number(w, r->score);
    jsonw_key(w, "StartedOn");
    jsonw_double(w, "%.3f", (double)m->started_ms / 1000.0);
    jsonw_key(w, "CompletedOn");
    jsonw_double(w, "%.3f", (double)m->completed_ms / 1000.0);
    jsonw_key(w, "RuleResults");
    jsonw_array(w, JSONW_PRETTY);
    for (size_t i = 0; i < r->n; i++) {
        write_rule(w, &r->rules[i]);
    }
    jsonw_end(w);
    jsonw_key(w, "Observations");
    jsonw_array(w, JSONW_PRETTY);
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->rules[i].n_observations; k++) {
            write_observation(w, &r->rules[i].observations[k]);
        }
    }
    jsonw_end(w);
    jsonw_key(w, "AggregatedMetrics");
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "TotalRowsProcessed");
    jsonw_u64(w, r->rows);
    jsonw_key(w, "TotalRowsPassed");
    jsonw_u64(w, r->rows - r->rows_failed);
    jsonw_key(w, "TotalRowsFailed");
    jsonw_u64(w, r->rows_failed);
    jsonw_key(w, "TotalRulesProcessed");
    jsonw_u64(w, r->n);
    jsonw_key(w, "TotalRulesPassed");
    jsonw_u64(w, r->rules_passed);
    jsonw_key(w, "TotalRulesFailed");
    jsonw_u64(w, r->rules_failed);
    jsonw_end(w);
    jsonw_end(w);
}

enum err_code etl_dq_report_to_json(const struct etl_dq_results *r,
                                    const struct etl_dq_report_meta *meta,
                                    struct buf *out,
                                    struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    etl_dq_report_write(r, meta, &w);
    return jsonw_finish(&w);
}
