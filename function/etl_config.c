/*
 * etl_config.c - parsing and validating the ETL_* variables (and the Powertools names for the
 * metrics namespace and service, as fallbacks).
 */
#include "etl_config.h"

#include <stdio.h>
#include <string.h>

#include "ddb.h"
#include "env.h"
#include "etl_codec.h"
#include "etl_format.h"
#include "pq_codec.h"

static enum err_code copy_choice(char *const *envp,
                                 const char *name,
                                 const char *const *choices,
                                 int n,
                                 char *dst,
                                 size_t cap,
                                 struct err *err)
{
    int idx = -1;
    dst[0] = '\0';
    enum err_code rc = env_get_choice(envp, name, choices, n, -1, &idx, err);
    if (rc == ERR_OK && idx >= 0) {
        snprintf(dst, cap, "%s", choices[idx]);
    }
    return rc;
}

/* ETL_FORMAT: one of the formats the stream can write (etl_formats.def). */
static enum err_code load_format(char *const *envp, const struct etl_format **out, struct err *err)
{
    const char *names[16];
    size_t n = etl_format_stream_names(names, sizeof(names) / sizeof(names[0]));
    int idx = 0;
    enum err_code rc = env_get_choice(envp, "ETL_FORMAT", names, (int)n, 0, &idx, err);
    if (rc == ERR_OK) {
        *out = etl_format_find(names[idx]);
    }
    return rc;
}

/* ETL_COMPRESSION: a codec's name. */
static enum err_code load_codec(char *const *envp, const struct etl_codec **out, struct err *err)
{
    int n = 0;
    while (etl_codec_names[n] != NULL) {
        n++;
    }
    int idx = 0;
    enum err_code rc = env_get_choice(envp, "ETL_COMPRESSION", etl_codec_names, n, 0, &idx, err);
    if (rc == ERR_OK) {
        *out = etl_codec_find(etl_codec_names[idx]);
    }
    return rc;
}

/* ETL_PARQUET_CODEC (default snappy, the engines' default) and ETL_PARQUET_ROW_GROUP_BYTES (values
 * buffered per row group: the writer's memory beyond the object's rows). Read whatever the
 * format, so a typo fails at init rather than when the format is switched. */
static enum err_code load_parquet(char *const *envp, struct etl_format_options *o, struct err *err)
{
    int n = 0;
    while (pq_codec_names[n] != NULL) {
        n++;
    }
    int idx = 0;
    enum err_code rc = env_get_choice(envp, "ETL_PARQUET_CODEC", pq_codec_names, n, 1, &idx, err);
    if (rc == ERR_OK) {
        enum pq_codec c = PQ_CODEC_SNAPPY;
        (void)pq_codec_from_name(pq_codec_names[idx], &c);
        o->parquet_codec = (int)c;
        rc = env_get_i64(envp, "ETL_PARQUET_ROW_GROUP_BYTES", ETL_DEFAULT_PARQUET_ROW_GROUP_BYTES,
                         ETL_MIN_PARQUET_ROW_GROUP_BYTES, ETL_MAX_PARQUET_ROW_GROUP_BYTES,
                         &o->parquet_row_group_bytes, err);
    }
    return rc;
}

/* ETL_SNAPSHOT_FORMAT: a snapshot layout's name. */
static enum err_code
load_layout(char *const *envp, const struct etl_snapshot_layout **out, struct err *err)
{
    int n = 0;
    while (etl_layout_names[n] != NULL) {
        n++;
    }
    int idx = 0;
    enum err_code rc =
        env_get_choice(envp, "ETL_SNAPSHOT_FORMAT", etl_layout_names, n, 0, &idx, err);
    if (rc == ERR_OK) {
        *out = etl_layout_find(etl_layout_names[idx]);
    }
    return rc;
}

static enum err_code load_stream(struct etl_config *cfg, char *const *envp, struct err *err)
{
    struct etl_stream_config *st = &cfg->stream;
    st->enc = cfg->enc;
    st->partition = &cfg->partition;
    st->metrics_namespace = cfg->metrics_namespace; /* filled at the end of etl_config_load */
    st->service = cfg->service_name;
    enum err_code rc = env_get_i64(envp, "ETL_MAX_OBJECT_RECORDS", ETL_DEFAULT_MAX_OBJECT_RECORDS,
                                   1, 100000000, &st->max_object_records, err);
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_MAX_OBJECT_BYTES", ETL_DEFAULT_MAX_OBJECT_BYTES, 1024,
                         (int64_t)4 * 1024 * 1024 * 1024, &st->max_object_bytes, err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_DEADLINE_MARGIN_MS", ETL_DEFAULT_DEADLINE_MARGIN_MS, 0, 600000,
                         &st->deadline_margin_ms, err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_UPLOAD_CONCURRENCY", ETL_DEFAULT_UPLOAD_CONCURRENCY, 1,
                         ETL_MAX_UPLOAD_CONCURRENCY, &st->upload_concurrency, err);
    }
    return rc;
}

static enum err_code load_snapshot(struct etl_config *cfg, char *const *envp, struct err *err)
{
    struct etl_snapshot_config *sn = &cfg->snapshot;
    int64_t segments = 0, threads = 0;
    sn->rows = cfg->enc;
    sn->partition = &cfg->partition;
    sn->metrics_namespace = cfg->metrics_namespace; /* filled at the end of etl_config_load */
    sn->service = cfg->service_name;
    enum err_code rc =
        env_get_i64(envp, "ETL_SEGMENTS", ETL_DEFAULT_SEGMENTS, 1, 1000, &segments, err);
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_EXPORT_THREADS", segments < 16 ? segments : 16, 1, 64, &threads,
                         err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_EXPORT_OBJECT_BYTES", ETL_DEFAULT_EXPORT_OBJECT_BYTES,
                         1024 * 1024, (int64_t)64 * 1024 * 1024 * 1024, &sn->export_object_bytes,
                         err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_MAX_RCU", 0, 0, 10000000, &sn->max_rcu, err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_SCAN_PAGE_LIMIT", ETL_DEFAULT_PAGE_LIMIT, 0, 1000000,
                         &sn->page_limit, err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_EXPORT_MARGIN_MS", ETL_DEFAULT_EXPORT_MARGIN_MS, 0, 600000,
                         &sn->export_margin_ms, err);
    }
    if (rc == ERR_OK) {
        rc = load_layout(envp, &sn->layout, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    sn->segments = (int)segments;
    sn->threads = (int)threads;
    const char *table = env_get_nonempty(envp, "ETL_TABLE");
    if (table != NULL) {
        struct err terr = ERR_INIT;
        if (ddb_check_table_name(table, &terr) != ERR_OK) {
            return err_set(err, ERR_CONFIG, "ETL_TABLE: %s", terr.msg);
        }
        snprintf(sn->table, sizeof(sn->table), "%s", table);
    }
    return ERR_OK;
}

static enum err_code
load_spool_dir(struct etl_snapshot_config *sn, char *const *envp, struct err *err)
{
    const char *spool = env_get_nonempty(envp, "ETL_SPOOL_DIR");
    if (spool == NULL) {
        spool = "/tmp";
    }
    if (spool[0] != '/' || strlen(spool) >= sizeof(sn->spool_dir)) {
        return err_set(err, ERR_CONFIG, "ETL_SPOOL_DIR=\"%.100s\": expected an absolute directory",
                       spool);
    }
    snprintf(sn->spool_dir, sizeof(sn->spool_dir), "%s", spool);
    return ERR_OK;
}

/* ETL_CATALOG_DATABASE (empty: no catalog) and ETL_CATALOG_SCHEMA_CHANGE (update or log). */
static enum err_code load_catalog(struct etl_config *cfg, char *const *envp, struct err *err)
{
    static const char *const policies[] = {"update", "log"};
    int idx = 0;
    const char *db = env_get_nonempty(envp, "ETL_CATALOG_DATABASE");
    enum err_code rc = env_get_choice(envp, "ETL_CATALOG_SCHEMA_CHANGE", policies, 2, 0, &idx, err);
    if (rc != ERR_OK || db == NULL) {
        return rc;
    }
    cfg->catalog.policy = (enum etl_catalog_policy)idx;
    size_t n = strlen(db);
    /* Glue takes 1-255 characters; Athena only lowercase letters, digits and '_' unquoted. */
    if (n > 255 || strspn(db, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
        return err_set(err, ERR_CONFIG,
                       "ETL_CATALOG_DATABASE=\"%.100s\": 1 to 255 lowercase letters, digits, '_' "
                       "or '-'",
                       db);
    }
    if (cfg->enc.format->serde == NULL) {
        return err_set(
            err, ERR_CONFIG,
            "ETL_CATALOG_DATABASE needs a format Athena and Glue can read: ETL_FORMAT=%s "
            "has no SerDe",
            cfg->enc.format->name);
    }
    snprintf(cfg->catalog.database, sizeof(cfg->catalog.database), "%s", db);
    return ERR_OK;
}

enum err_code etl_config_load(struct etl_config *cfg, char *const *envp, struct err *err)
{
    static const char *const sses[] = {"AES256", "aws:kms"};
    static const char *const classes[] = {"STANDARD",   "STANDARD_IA", "INTELLIGENT_TIERING",
                                          "ONEZONE_IA", "GLACIER_IR",  "REDUCED_REDUNDANCY"};
    static const char *const checksums[] = {"md5", "crc32c"};
    int idx = 0;
    int64_t n = 0;
    memset(cfg, 0, sizeof(*cfg));
    enum err_code rc = etl_sink_parse_location(env_get(envp, "ETL_OUTPUT"), &cfg->out, err);
    if (rc == ERR_OK) {
        rc = load_format(envp, &cfg->enc.format, err);
    }
    if (rc == ERR_OK) {
        rc = load_codec(envp, &cfg->enc.codec, err);
    }
    if (rc == ERR_OK) {
        rc = env_get_i64(envp, "ETL_GZIP_LEVEL", 6, 1, 9, &n, err);
        cfg->enc.level = (int)n;
    }
    if (rc == ERR_OK) {
        rc = load_parquet(envp, &cfg->enc.opts, err);
    }
    if (rc == ERR_OK) {
        const char *tmpl = env_get_nonempty(envp, "ETL_PARTITION");
        rc = etl_partition_compile(&cfg->partition, tmpl != NULL ? tmpl : ETL_PARTITION_DEFAULT,
                                   err);
    }
    if (rc == ERR_OK) {
        rc = load_stream(cfg, envp, err);
    }
    if (rc == ERR_OK) {
        rc = copy_choice(envp, "ETL_S3_SSE", sses, 2, cfg->sse, sizeof(cfg->sse), err);
    }
    if (rc == ERR_OK) {
        rc = copy_choice(envp, "ETL_S3_STORAGE_CLASS", classes, 6, cfg->storage_class,
                         sizeof(cfg->storage_class), err);
    }
    if (rc == ERR_OK) {
        rc = env_get_choice(envp, "ETL_S3_CHECKSUM", checksums, 2, 0, &idx, err);
        cfg->put.checksum = (enum s3_checksum)idx;
    }
    if (rc == ERR_OK) {
        rc = load_snapshot(cfg, envp, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    cfg->transform = env_get_nonempty(envp, "ETL_TRANSFORM"); /* loaded by etl_app */
    rc = load_spool_dir(&cfg->snapshot, envp, err);
    if (rc == ERR_OK) {
        rc = load_catalog(cfg, envp, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    const char *kms = env_get_nonempty(envp, "ETL_S3_KMS_KEY_ID");
    if (kms != NULL) {
        if (strcmp(cfg->sse, "aws:kms") != 0) {
            return err_set(err, ERR_CONFIG,
                           "ETL_S3_KMS_KEY_ID is set but ETL_S3_SSE is not aws:kms");
        }
        if (strlen(kms) >= sizeof(cfg->kms_key_id)) {
            return err_set(err, ERR_CONFIG, "ETL_S3_KMS_KEY_ID is too long");
        }
        snprintf(cfg->kms_key_id, sizeof(cfg->kms_key_id), "%s", kms);
    }
    const char *ns = env_get_nonempty(envp, "ETL_METRICS_NAMESPACE");
    if (ns == NULL) {
        ns = env_get_nonempty(envp, "POWERTOOLS_METRICS_NAMESPACE");
    }
    const char *svc = env_get_nonempty(envp, "POWERTOOLS_SERVICE_NAME");
    if (svc == NULL) {
        svc = env_get_nonempty(envp, "AWS_LAMBDA_FUNCTION_NAME");
    }
    snprintf(cfg->metrics_namespace, sizeof(cfg->metrics_namespace), "%s",
             ns != NULL ? ns : ETL_DEFAULT_NAMESPACE);
    snprintf(cfg->service_name, sizeof(cfg->service_name), "%s", svc != NULL ? svc : "ddb-s3-etl");
    cfg->put.content_type = etl_writer_content_type(&cfg->enc);
    cfg->put.sse = cfg->sse[0] != '\0' ? cfg->sse : NULL;
    cfg->put.sse_kms_key_id = cfg->kms_key_id[0] != '\0' ? cfg->kms_key_id : NULL;
    cfg->put.storage_class = cfg->storage_class[0] != '\0' ? cfg->storage_class : NULL;
    return ERR_OK;
}
