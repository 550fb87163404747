/*
 * etl_dq_report.h - the document Glue's GetDataQualityResult returns, written from results
 * (etl_dq_result.h) for the lake's data-quality reports: the members of botocore's
 * GetDataQualityResultResponse that apply, {"ResultId"?, "RulesetName"?, "Score", "StartedOn",
 * "CompletedOn" (epoch seconds, as the AWS JSON protocol writes timestamps), "RuleResults":
 * [{"Name", "Description", "EvaluationMessage"?, "Result", "EvaluatedMetrics": {name: number},
 * "EvaluatedRule", "Labels"?}], "Observations": [{"Description", "MetricBasedObservation":
 * {"MetricName", "MetricValues": {"ActualValue", "ExpectedValue", "LowerLimit", "UpperLimit"}}}],
 * "AggregatedMetrics": {"TotalRowsProcessed", "TotalRowsPassed", "TotalRowsFailed",
 * "TotalRulesProcessed", "TotalRulesPassed", "TotalRulesFailed"}}. Strings longer than Glue's
 * 2048 characters are cut at a character boundary; metrics that are not finite are left out.
 * Ownership: borrows everything; writes into the caller's buf or jsonw.
 */
#ifndef ETL_DQ_REPORT_H
#define ETL_DQ_REPORT_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_dq_result.h"
#include "jsonw.h"

struct etl_dq_report_meta {
    const char *result_id;    /* NULL: left out */
    const char *ruleset_name; /* NULL: left out */
    int64_t started_ms;
    int64_t completed_ms;
};

void etl_dq_report_write(const struct etl_dq_results *r,
                         const struct etl_dq_report_meta *meta,
                         struct jsonw *w);
MUST_CHECK enum err_code etl_dq_report_to_json(const struct etl_dq_results *r,
                                               const struct etl_dq_report_meta *meta,
                                               struct buf *out,
                                               struct err *err);

#endif
