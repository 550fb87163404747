/*
 * etl_dq_anomaly.c - median and MAD over at most 20 values: a copy sorted by insertion is all it
 * needs.
 */
#include "etl_dq_anomaly.h"

#include <math.h>

static void sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static double median_of_sorted(const double *v, size_t n)
{
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

bool etl_dq_anomaly_band(const double *history, size_t n, struct etl_dq_band *band)
{
    double w[ETL_DQ_ANOMALY_WINDOW];
    size_t k = 0;
    /* the newest finite values, up to the window */
    for (size_t i = n; i > 0 && k < ETL_DQ_ANOMALY_WINDOW; i--) {
        if (isfinite(history[i - 1])) {
            w[k++] = history[i - 1];
        }
    }
    band->points = k;
    band->expected = band->lower = band->upper = 0;
    if (k < ETL_DQ_ANOMALY_MIN_POINTS) {
        return false;
    }
    sort(w, k);
    double median = median_of_sorted(w, k);
    double dev[ETL_DQ_ANOMALY_WINDOW];
    for (size_t i = 0; i < k; i++) {
        dev[i] = fabs(w[i] - median);
    }
    sort(dev, k);
    double half = ETL_DQ_ANOMALY_K * ETL_DQ_ANOMALY_MAD_SCALE * median_of_sorted(dev, k);
    if (half == 0) {
        half = ETL_DQ_ANOMALY_FLOOR * fabs(median);
    }
    band->expected = median;
    band->lower = median - half;
    band->upper = median + half;
    return true;
}

bool etl_dq_anomaly_outside(const struct etl_dq_band *band, double value)
{
    return !(value >= band->lower && value <= band->upper);
}
