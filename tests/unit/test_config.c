/*
 * test_config.c - ETL_* configuration: defaults, every accepted value, and init errors that name
 * the variable; the partition template and ISO-8601 formatting.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "etl_config.h"
#include "etl_metrics.h"
#include "etl_partition.h"
#include "etl_time.h"
#include "pq_codec.h"
#include "test_util.h"

static const char *extension(const struct etl_config *cfg)
{
    static char ext[32];
    etl_writer_extension(&cfg->enc, ext, sizeof(ext));
    return ext;
}

static void test_defaults(void **state)
{
    (void)state;
    char *const env[] = {"ETL_OUTPUT=s3://my-lake/raw/ddb", NULL};
    struct etl_config cfg;
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(&cfg, env, &err), ERR_OK);
    assert_true(cfg.out.is_s3);
    assert_string_equal(cfg.out.bucket, "my-lake");
    assert_string_equal(cfg.out.prefix, "raw/ddb/");
    assert_ptr_equal(cfg.enc.format, etl_format_find("jsonl"));
    assert_ptr_equal(cfg.enc.codec, &etl_codec_gzip);
    assert_int_equal(cfg.enc.level, 6);
    assert_string_equal(cfg.partition.tmpl, "dt=%Y-%m-%d/hour=%H");
    assert_int_equal(cfg.stream.max_object_records, ETL_DEFAULT_MAX_OBJECT_RECORDS);
    assert_int_equal(cfg.stream.max_object_bytes, ETL_DEFAULT_MAX_OBJECT_BYTES);
    assert_int_equal(cfg.stream.upload_concurrency, 8);
    assert_string_equal(cfg.metrics_namespace, "DdbS3Etl");
    assert_string_equal(extension(&cfg), "jsonl.gz");
    assert_null(cfg.put.sse);
    assert_int_equal(cfg.put.checksum, S3_CHECKSUM_MD5);
    assert_int_equal(cfg.enc.opts.parquet_codec, PQ_CODEC_SNAPPY);
    assert_int_equal(cfg.enc.opts.parquet_row_group_bytes, ETL_DEFAULT_PARQUET_ROW_GROUP_BYTES);
    assert_string_equal(cfg.catalog.database, ""); /* no catalog */
}

/* Parquet compresses its own pages: the object gets no codec around it (ETL_COMPRESSION still
 * applies to the JSON Lines side outputs), and the codec's name and row group size are read. */
static void test_parquet(void **state)
{
    (void)state;
    char *const env[] = {"ETL_OUTPUT=s3://lake/", "ETL_FORMAT=parquet", "ETL_PARQUET_CODEC=ZSTD",
                         "ETL_PARQUET_ROW_GROUP_BYTES=1048576", NULL};
    struct etl_config cfg;
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(&cfg, env, &err), ERR_OK);
    assert_ptr_equal(cfg.enc.format, &etl_fmt_parquet);
    assert_ptr_equal(cfg.enc.codec, &etl_codec_gzip);
    assert_ptr_equal(etl_writer_codec(&cfg.enc), &etl_codec_none);
    assert_string_equal(extension(&cfg), "parquet");
    assert_string_equal(cfg.put.content_type, "application/vnd.apache.parquet");
    assert_int_equal(cfg.enc.opts.parquet_codec, PQ_CODEC_ZSTD);
    assert_int_equal(cfg.enc.opts.parquet_row_group_bytes, 1048576);
}

static void test_catalog_set(void **state)
{
    (void)state;
    char *const env[] = {"ETL_OUTPUT=s3://lake/", "ETL_CATALOG_DATABASE=lake_db-1",
                         "ETL_CATALOG_SCHEMA_CHANGE=LOG", NULL};
    struct etl_config cfg;
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(&cfg, env, &err), ERR_OK);
    assert_string_equal(cfg.catalog.database, "lake_db-1");
    assert_int_equal(cfg.catalog.policy, ETL_CATALOG_LOG);
    char *const env2[] = {"ETL_OUTPUT=s3://lake/", "ETL_CATALOG_DATABASE=lake", NULL};
    assert_int_equal(etl_config_load(&cfg, env2, &err), ERR_OK);
    assert_int_equal(cfg.catalog.policy, ETL_CATALOG_UPDATE);
}

static void test_everything_set(void **state)
{
    (void)state;
    char *const env[] = {"ETL_OUTPUT=file:///tmp/lake/",
                         "ETL_FORMAT=CSV",
                         "ETL_COMPRESSION=none",
                         "ETL_GZIP_LEVEL=9",
                         "ETL_PARTITION=year=%Y/month=%m",
                         "ETL_MAX_OBJECT_RECORDS=10",
                         "ETL_MAX_OBJECT_BYTES=2048",
                         "ETL_S3_SSE=aws:kms",
                         "ETL_S3_KMS_KEY_ID=alias/lake",
                         "ETL_S3_STORAGE_CLASS=INTELLIGENT_TIERING",
                         "ETL_S3_CHECKSUM=crc32c",
                         "ETL_UPLOAD_CONCURRENCY=64",
                         "POWERTOOLS_METRICS_NAMESPACE=Lake",
                         "POWERTOOLS_SERVICE_NAME=orders-etl",
                         NULL};
    struct etl_config cfg;
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(&cfg, env, &err), ERR_OK);
    assert_false(cfg.out.is_s3);
    assert_string_equal(cfg.out.dir, "/tmp/lake");
    assert_ptr_equal(cfg.enc.format, etl_format_find("csv"));
    assert_string_equal(extension(&cfg), "csv");
    assert_string_equal(cfg.put.sse, "aws:kms");
    assert_string_equal(cfg.put.sse_kms_key_id, "alias/lake");
    assert_string_equal(cfg.put.storage_class, "INTELLIGENT_TIERING");
    assert_int_equal(cfg.put.checksum, S3_CHECKSUM_CRC32C);
    assert_int_equal(cfg.stream.upload_concurrency, 64);
    assert_string_equal(cfg.metrics_namespace, "Lake");
    assert_string_equal(cfg.service_name, "orders-etl");
}

struct bad_row {
    const char *name;
    char *env[4];
    const char *msg_part;
};

static const struct bad_row bad_rows[] = {
    {"no_output", {NULL}, "ETL_OUTPUT is not set"},
    {"bad_scheme", {"ETL_OUTPUT=http://x/", NULL}, "ETL_OUTPUT"},
    {"relative_dir", {"ETL_OUTPUT=file://tmp/x", NULL}, "file:///absolute"},
    {"bad_bucket", {"ETL_OUTPUT=s3://My_Bucket/", NULL}, "ETL_OUTPUT"},
    {"empty_bucket", {"ETL_OUTPUT=s3:///x/", NULL}, "bucket"},
    {"double_slash_prefix", {"ETL_OUTPUT=s3://lake/a//b/", NULL}, "empty path segment"},
    {"format",
     {"ETL_OUTPUT=s3://lake/", "ETL_FORMAT=orc", NULL},
     "ETL_FORMAT=\"orc\": expected jsonl, csv or parquet"},
    {"parquet_codec",
     {"ETL_OUTPUT=s3://lake/", "ETL_PARQUET_CODEC=lz4", NULL},
     "ETL_PARQUET_CODEC=\"lz4\": expected none, snappy, gzip or zstd"},
    {"parquet_row_group_bytes",
     {"ETL_OUTPUT=s3://lake/", "ETL_PARQUET_ROW_GROUP_BYTES=1000", NULL},
     "ETL_PARQUET_ROW_GROUP_BYTES=\"1000\": expected an integer from 65536 to 1073741824"},
    {"compression", {"ETL_OUTPUT=s3://lake/", "ETL_COMPRESSION=zstd", NULL}, "ETL_COMPRESSION"},
    {"gzip_level",
     {"ETL_OUTPUT=s3://lake/", "ETL_GZIP_LEVEL=10", NULL},
     "ETL_GZIP_LEVEL=\"10\": expected an integer from 1 to 9"},
    {"partition_token", {"ETL_OUTPUT=s3://lake/", "ETL_PARTITION=dt=%x", NULL}, "unknown token %x"},
    {"partition_char", {"ETL_OUTPUT=s3://lake/", "ETL_PARTITION=dt %Y", NULL}, "not allowed"},
    {"partition_dotdot", {"ETL_OUTPUT=s3://lake/", "ETL_PARTITION=../%Y", NULL}, "\"..\""},
    {"partition_empty_segment", {"ETL_OUTPUT=s3://lake/", "ETL_PARTITION=%Y//%m", NULL}, "empty"},
    {"max_records",
     {"ETL_OUTPUT=s3://lake/", "ETL_MAX_OBJECT_RECORDS=0", NULL},
     "ETL_MAX_OBJECT_RECORDS"},
    {"max_bytes",
     {"ETL_OUTPUT=s3://lake/", "ETL_MAX_OBJECT_BYTES=12k", NULL},
     "ETL_MAX_OBJECT_BYTES"},
    {"sse", {"ETL_OUTPUT=s3://lake/", "ETL_S3_SSE=aws:kms:dsse", NULL}, "ETL_S3_SSE"},
    {"upload_concurrency_zero",
     {"ETL_OUTPUT=s3://lake/", "ETL_UPLOAD_CONCURRENCY=0", NULL},
     "ETL_UPLOAD_CONCURRENCY=\"0\": expected an integer from 1 to 64"},
    {"upload_concurrency_high",
     {"ETL_OUTPUT=s3://lake/", "ETL_UPLOAD_CONCURRENCY=65", NULL},
     "ETL_UPLOAD_CONCURRENCY=\"65\": expected an integer from 1 to 64"},
    {"upload_concurrency_text",
     {"ETL_OUTPUT=s3://lake/", "ETL_UPLOAD_CONCURRENCY=eight", NULL},
     "ETL_UPLOAD_CONCURRENCY"},
    {"kms_without_sse",
     {"ETL_OUTPUT=s3://lake/", "ETL_S3_KMS_KEY_ID=k", NULL},
     "ETL_S3_SSE is not aws:kms"},
    {"storage_class",
     {"ETL_OUTPUT=s3://lake/", "ETL_S3_STORAGE_CLASS=CHEAP", NULL},
     "ETL_S3_STORAGE_CLASS=\"CHEAP\": expected STANDARD"},
    {"checksum",
     {"ETL_OUTPUT=s3://lake/", "ETL_S3_CHECKSUM=sha1", NULL},
     "ETL_S3_CHECKSUM=\"sha1\": expected md5 or crc32c"},
    {"snapshot_format",
     {"ETL_OUTPUT=s3://lake/", "ETL_SNAPSHOT_FORMAT=parquet", NULL},
     "ETL_SNAPSHOT_FORMAT=\"parquet\": expected rows or ddb-export"},
    {"segments",
     {"ETL_OUTPUT=s3://lake/", "ETL_SEGMENTS=0", NULL},
     "ETL_SEGMENTS=\"0\": expected an integer from 1 to 1000"},
    {"export_object_bytes",
     {"ETL_OUTPUT=s3://lake/", "ETL_EXPORT_OBJECT_BYTES=5", NULL},
     "ETL_EXPORT_OBJECT_BYTES=\"5\": expected an integer from 1048576"},
    {"max_rcu",
     {"ETL_OUTPUT=s3://lake/", "ETL_MAX_RCU=-1", NULL},
     "ETL_MAX_RCU=\"-1\": expected an integer from 0"},
    {"catalog_database_name",
     {"ETL_OUTPUT=s3://lake/", "ETL_CATALOG_DATABASE=Lake.DB", NULL},
     "ETL_CATALOG_DATABASE=\"Lake.DB\": 1 to 255 lowercase letters"},
    {"catalog_csv",
     {"ETL_OUTPUT=s3://lake/", "ETL_FORMAT=csv", "ETL_CATALOG_DATABASE=lake", NULL},
     "ETL_FORMAT=csv has no SerDe"},
    {"catalog_schema_change",
     {"ETL_OUTPUT=s3://lake/", "ETL_CATALOG_SCHEMA_CHANGE=drop", NULL},
     "ETL_CATALOG_SCHEMA_CHANGE=\"drop\": expected update or log"},
};

static void test_bad_row(void **state)
{
    const struct bad_row *row = *state;
    struct etl_config cfg;
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(&cfg, (char *const *)row->env, &err), ERR_CONFIG);
    if (strstr(err.msg, row->msg_part) == NULL) {
        fail_msg("\"%s\" lacks \"%s\"", err.msg, row->msg_part);
    }
}

struct part_row {
    const char *name;
    const char *tmpl;
    int64_t ms;
    const char *want;
};

static const struct part_row part_rows[] = {
    {"default", "dt=%Y-%m-%d/hour=%H", 1480642020000LL, "dt=2016-12-02/hour=01"},
    {"midnight_utc", "dt=%Y-%m-%d/hour=%H", 1704067199999LL, "dt=2023-12-31/hour=23"},
    {"new_year", "dt=%Y-%m-%d/hour=%H", 1704067200000LL, "dt=2024-01-01/hour=00"},
    {"minutes_and_percent", "y=%Y/m=%M/%%", 1480642020000LL, "y=2016/m=27/%"},
    {"plain", "year=%Y/month=%m/day=%d", 0, "year=1970/month=01/day=01"},
};

static void test_part_row(void **state)
{
    const struct part_row *row = *state;
    struct etl_partition p;
    struct err err = ERR_INIT;
    char out[ETL_PARTITION_MAX];
    assert_int_equal(etl_partition_compile(&p, row->tmpl, &err), ERR_OK);
    assert_int_equal(etl_partition_render(&p, row->ms, out, sizeof(out)), strlen(row->want));
    assert_string_equal(out, row->want);
}

static void test_iso8601(void **state)
{
    (void)state;
    char out[ETL_ISO8601_MAX];
    int64_t back = 0;
    etl_time_format_iso8601(1480642020000LL, out);
    assert_string_equal(out, "2016-12-02T01:27:00.000Z");
    assert_true(etl_time_parse_iso8601_ms(cur_from_str(out), &back));
    assert_int_equal(back, 1480642020000LL);
    etl_time_format_iso8601(1635734407123LL, out);
    assert_string_equal(out, "2021-11-01T02:40:07.123Z");
    assert_true(etl_time_parse_iso8601_ms(cur_from_str(out), &back));
    assert_int_equal(back, 1635734407123LL);
    assert_false(etl_time_parse_iso8601_ms(cur_from_str("2021-11-01T02:40:07Z"), &back));
    etl_time_format_iso8601(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

/* fuzz checkpoint (tests/fuzz/regressions/checkpoint/run-ms-int64-min): a run.json whose run_ms
 * is -2^63 (the commit formats it) made `epoch_ms - ms` overflow (UBSan: "-9223372036854775808 -
 * 192 cannot be represented"); the wrapped value printed a time 292 million years ahead. The run
 * reader now refuses such a run_ms, and the formatter clamps to years 0000-9999. */
static void test_iso8601_extremes(void **state)
{
    (void)state;
    char out[ETL_ISO8601_MAX];
    /* Times outside the years four digits write are clamped to them, never wrapped. */
    etl_time_format_iso8601(INT64_MIN, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    etl_time_format_iso8601(INT64_MIN + 808, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    etl_time_format_iso8601(INT64_MAX, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    etl_time_format_iso8601(-62167219200000LL - 1, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    etl_time_format_iso8601(-62135596800001LL, out); /* the last millisecond of year 0 */
    assert_string_equal(out, "0000-12-31T23:59:59.999Z");
}

/* The calendar by arithmetic (etl_time_civil) writes what gmtime_r and snprintf write, for ISO
 * times and partitions: at the edges (epoch, leap days, century years, 9999) and at 200,000
 * pseudo-random milliseconds over 1970-9999; outside that range gmtime_r still answers. */
static void reference_iso(int64_t ms, char out[ETL_ISO8601_MAX])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    assert_non_null(gmtime_r(&secs, &tm));
    snprintf(out, ETL_ISO8601_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void check_calendar(const struct etl_partition *p, int64_t ms)
{
    char got[ETL_ISO8601_MAX], want[ETL_ISO8601_MAX], part[ETL_PARTITION_MAX];
    char want_part[ETL_PARTITION_MAX];
    etl_time_format_iso8601(ms, got);
    reference_iso(ms, want);
    if (strcmp(got, want) != 0) {
        fail_msg("%lld: %s, not %s", (long long)ms, got, want);
    }
    /* "y=%Y/m=%m/d=%d/h=%H/i=%M" from the same fields */
    snprintf(want_part, sizeof(want_part), "y=%.4s/m=%.2s/d=%.2s/h=%.2s/i=%.2s", want, want + 5,
             want + 8, want + 11, want + 14);
    assert_int_equal(etl_partition_render(p, ms, part, sizeof(part)), strlen(want_part));
    assert_string_equal(part, want_part);
}

static void test_calendar_matches_gmtime(void **state)
{
    (void)state;
    struct etl_partition p;
    struct err err = ERR_INIT;
    assert_int_equal(etl_partition_compile(&p, "y=%Y/m=%m/d=%d/h=%H/i=%M", &err), ERR_OK);
    static const int64_t edges[] = {0,
                                    999,
                                    1000,
                                    86399999,
                                    86400000,
                                    951782400000LL /* 2000-02-29 */,
                                    951868800000LL /* 2000-03-01 */,
                                    4107456000000LL /* 2100-02-28 */,
                                    4107542400000LL /* 2100-03-01: 2100 is no leap year */,
                                    1709164800000LL /* 2024-02-29 */,
                                    253402300799999LL /* 9999-12-31T23:59:59.999 */};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        check_calendar(&p, edges[i]);
    }
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        check_calendar(&p, (int64_t)(x % 253402300800000ULL));
    }
    struct etl_civil c;
    assert_false(etl_time_civil(-1, &c));
    assert_false(etl_time_civil(253402300800LL, &c)); /* 10000-01-01 */
    assert_true(etl_time_civil(253402300799LL, &c));
    assert_int_equal(c.year, 9999);
    char part[ETL_PARTITION_MAX];
    /* past 9999 and before 1970, gmtime_r's fields */
    assert_true(etl_partition_render(&p, 253402300800000LL, part, sizeof(part)) > 0);
    assert_string_equal(part, "y=10000/m=01/d=01/h=00/i=00");
    assert_true(etl_partition_render(&p, -1, part, sizeof(part)) > 0);
    assert_string_equal(part, "y=1969/m=12/d=31/h=23/i=59");
}

static void test_metrics_shape(void **state)
{
    (void)state;
    struct etl_metrics m;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    etl_metrics_init(&m);
    etl_metrics_add(&m, "RecordsIn", "Count", 3);
    etl_metrics_add(&m, "FreshnessSeconds", "Seconds", 1.5);
    static const char *const props[] = {"table", "Orders", NULL};
    assert_int_equal(etl_metrics_render(&m, "Ns", "svc", 1700000000000LL, props, &out, &err),
                     ERR_OK);
    assert_string_equal(
        buf_cstr(&out),
        "{\"_aws\":{\"Timestamp\":1700000000000,\"CloudWatchMetrics\":[{\"Namespace\":\"Ns\",\"Dimensions\":[[\"service\"]],\"Metrics\":[{\"Name\":\"RecordsIn\",\"Unit\":\"Count\"},{\"Name\":\"FreshnessSeconds\",\"Unit\":\"Seconds\"}]}]},\"service\":\"svc\",\"table\":\"Orders\",\"RecordsIn\":3,\"FreshnessSeconds\":1.5}");
    buf_cleanup(&out);
}

int main(void)
{
    enum { NB = sizeof(bad_rows) / sizeof(bad_rows[0]) };
    enum { NP = sizeof(part_rows) / sizeof(part_rows[0]) };
    struct CMUnitTest tests[NB + NP + 8];
    size_t n = 0;
    for (size_t i = 0; i < NB; i++) {
        tests[n++] =
            (struct CMUnitTest){bad_rows[i].name, test_bad_row, NULL, NULL, (void *)&bad_rows[i]};
    }
    for (size_t i = 0; i < NP; i++) {
        tests[n++] = (struct CMUnitTest){part_rows[i].name, test_part_row, NULL, NULL,
                                         (void *)&part_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defaults);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parquet);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_catalog_set);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_everything_set);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_iso8601);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_iso8601_extremes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_calendar_matches_gmtime);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_metrics_shape);
    return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
