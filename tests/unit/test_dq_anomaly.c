/*
 * test_dq_anomaly.c - DetectAnomalies' band: warming up below five values, the median and MAD of
 * the last twenty, the floor for a constant history, outliers in the history, NaN.
 */
#include <math.h>

#include "etl_dq_anomaly.h"
#include "test_util.h"

static void test_warming_up(void **state)
{
    (void)state;
    const double h[] = {100, 101, NAN, 99, INFINITY};
    struct etl_dq_band band;
    assert_false(etl_dq_anomaly_band(NULL, 0, &band));
    assert_int_equal(band.points, 0);
    assert_false(etl_dq_anomaly_band(h, 5, &band)); /* three finite values */
    assert_int_equal(band.points, 3);
}

/* median 100, deviations 0 1 1 2 2: MAD 1, so 100 +/- 3 * 1.4826 */
static void test_band(void **state)
{
    (void)state;
    const double h[] = {98, 99, 100, 101, 102};
    struct etl_dq_band band;
    assert_true(etl_dq_anomaly_band(h, 5, &band));
    assert_int_equal(band.points, 5);
    assert_true(band.expected == 100);
    assert_true(fabs(band.lower - (100 - 3 * 1.4826)) < 1e-9);
    assert_true(fabs(band.upper - (100 + 3 * 1.4826)) < 1e-9);
    assert_false(etl_dq_anomaly_outside(&band, 104));
    assert_true(etl_dq_anomaly_outside(&band, 104.5));
    assert_true(etl_dq_anomaly_outside(&band, 95.5));
    assert_true(etl_dq_anomaly_outside(&band, NAN));
    assert_false(etl_dq_anomaly_outside(&band, band.lower));
}

/* Only the last 20 values count: an old regime is forgotten. */
static void test_window(void **state)
{
    (void)state;
    double h[30];
    for (int i = 0; i < 30; i++) {
        h[i] = i < 10 ? 1000 : 10 + (i % 2);
    }
    struct etl_dq_band band;
    assert_true(etl_dq_anomaly_band(h, 30, &band));
    assert_int_equal(band.points, 20);
    assert_true(band.expected == 10.5);
    assert_true(etl_dq_anomaly_outside(&band, 1000));
}

/* A constant history: 1% of the median either side; zeros accept only zero. */
static void test_floor(void **state)
{
    (void)state;
    const double flat[] = {200, 200, 200, 200, 200, 200};
    const double zeros[] = {0, 0, 0, 0, 0};
    struct etl_dq_band band;
    assert_true(etl_dq_anomaly_band(flat, 6, &band));
    assert_true(band.lower == 198 && band.upper == 202);
    assert_false(etl_dq_anomaly_outside(&band, 201));
    assert_true(etl_dq_anomaly_outside(&band, 203));
    assert_true(etl_dq_anomaly_band(zeros, 5, &band));
    assert_false(etl_dq_anomaly_outside(&band, 0));
    assert_true(etl_dq_anomaly_outside(&band, 1));
}

/* An outlier in the history hardly moves the band (the point of MAD over the deviation). */
static void test_robust(void **state)
{
    (void)state;
    const double h[] = {100, 101, 99, 100, 1000000, 100, 101, 99};
    struct etl_dq_band band;
    assert_true(etl_dq_anomaly_band(h, 8, &band));
    assert_true(band.expected == 100);
    assert_true(band.upper < 110);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warming_up), cmocka_unit_test(test_band),
        cmocka_unit_test(test_window),     cmocka_unit_test(test_floor),
        cmocka_unit_test(test_robust),
    };
    return cmocka_run_group_tests_name("dq_anomaly", tests, NULL, NULL);
}
