/*
 * etl_dq_anomaly.h - DetectAnomalies' test: is a metric's new value far from its recent history?
 * Glue does not publish its algorithm; ours is the median absolute deviation, robust to the
 * outliers it is looking for:
 *   window    the last ETL_DQ_ANOMALY_WINDOW (20) stored values (oldest first in the history)
 *   warm-up   fewer than ETL_DQ_ANOMALY_MIN_POINTS (5) finite values: no band, the rule passes
 *   band      median +/- k * 1.4826 * MAD with k = ETL_DQ_ANOMALY_K (3): 1.4826 * MAD estimates
 *             the standard deviation of normal data, so the band is a robust three-sigma band
 *   floor     when MAD is 0 (a constant history) the half-width is 1% of |median|, so a metric
 *             that never moved does not fail on the first tiny change; a history of zeros
 *             accepts only 0
 *   inside    lower <= value <= upper passes; NaN never does
 * Ownership: plain values.
 */
#ifndef ETL_DQ_ANOMALY_H
#define ETL_DQ_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>

#define ETL_DQ_ANOMALY_WINDOW     20
#define ETL_DQ_ANOMALY_MIN_POINTS 5
#define ETL_DQ_ANOMALY_K          3.0
/* 1 / Phi^-1(3/4): makes MAD a consistent estimator of a normal distribution's sigma. */
#define ETL_DQ_ANOMALY_MAD_SCALE 1.4826
/* The half-width of the band around a constant history, relative to |median|. */
#define ETL_DQ_ANOMALY_FLOOR 0.01

struct etl_dq_band {
    double expected; /* the median */
    double lower;
    double upper;
    size_t points; /* values the band was computed from */
};

/* The band of the last values of history[0..n) (oldest first; NaN and infinities skipped); false
 * while there are fewer than ETL_DQ_ANOMALY_MIN_POINTS of them (*band->points says how many). */
bool etl_dq_anomaly_band(const double *history, size_t n, struct etl_dq_band *band);
/* True when value lies outside the band (NaN is outside). */
bool etl_dq_anomaly_outside(const struct etl_dq_band *band, double value);

#endif
