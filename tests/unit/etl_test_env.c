/*
 * etl_test_env.c - shared wiring of the orchestrator tests: the fakes behind one AWS client, the
 * configuration and sink, and readers for the lake, the requests and the log.
 */
#include "etl_test_env.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "log.h"

#define ETE_MAX_VARS 64

static const char *const aws_vars[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
    "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567",
};

static void capture_log(void *ctx, const char *line, size_t len)
{
    struct etl_test_env *e = ctx;
    struct err err = ERR_INIT;
    if (buf_append(&e->log, line, len, &err) != ERR_OK) {
        abort();
    }
    e->log_lines++;
}

static struct etl_test_env *env_new(const char *const *vars, bool file_output)
{
    struct etl_test_env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    const char *envp[ETE_MAX_VARS];
    size_t n = 0;
    char output[300] = "ETL_OUTPUT=s3://" ETE_BUCKET "/" ETE_PREFIX;
    if (file_output) {
        snprintf(e->dir, sizeof(e->dir), "/tmp/etl-test-XXXXXX");
        assert_non_null(mkdtemp(e->dir));
        snprintf(output, sizeof(output), "ETL_OUTPUT=file://%s/", e->dir);
    }
    /* The test's variables first: env_get takes the first of a name, so they win. */
    for (size_t i = 0; vars != NULL && vars[i] != NULL; i++) {
        assert_true(n < ETE_MAX_VARS - 8);
        envp[n++] = vars[i];
    }
    envp[n++] = output;
    for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++) {
        envp[n++] = aws_vars[i];
    }
    envp[n] = NULL;
    char *const *env = (char *const *)envp;

    struct err err = ERR_INIT;
    fake_sys_init(&e->fs, ETE_WALL_MS);
    e->fs.fixed_random = 0xcafe; /* ETE_ATTEMPT */
    e->fh = fake_http_new();
    e->s3 = fake_s3_new();
    fake_s3_install(e->s3, e->fh);
    buf_init(&e->log, 0);
    pthread_mutex_init(&e->lock, NULL);
    e->fh->fn_lock = &e->lock; /* the sink's own client and the threads' share the fakes */
    log_set_sink(capture_log, e);
    if (etl_config_load(&e->cfg, env, &err) != ERR_OK) {
        fail_msg("etl_config_load: %s", err.msg);
    }
    assert_int_equal(aws_endpoints_load(&e->eps, env, &err), ERR_OK);
    assert_int_equal(aws_max_attempts_from_env(env, &e->max_attempts, &err), ERR_OK);
    assert_int_equal(creds_provider_init(&e->creds, env, NULL, &e->fs.sys, &err), ERR_OK);
    aws_client_init(&e->aws, &e->fh->base, &e->fs.sys, &e->creds, &e->eps, e->max_attempts);
    etl_sink_init(&e->sink, &e->cfg.out, &e->cfg.put, &e->aws);
    return e;
}

struct etl_test_env *ete_new(const char *const *vars)
{
    return env_new(vars, false);
}

struct etl_test_env *ete_new_file(const char *const *vars)
{
    return env_new(vars, true);
}

static void forget_files(struct etl_test_env *e)
{
    for (size_t i = 0; i < e->n_files; i++) {
        free(e->files[i]);
    }
    free(e->files);
    e->files = NULL;
    e->n_files = 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ete_free(struct etl_test_env *e)
{
    if (e == NULL) {
        return;
    }
    log_set_sink(NULL, NULL);
    aws_client_cleanup(&e->aws);
    creds_provider_cleanup(&e->creds);
    http_transport_free(&e->fh->base);
    fake_ddb_free(e->ddb);
    fake_s3_free(e->s3);
    if (e->dir[0] != '\0') {
        (void)nftw(e->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    forget_files(e);
    buf_cleanup(&e->log);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

void ete_item(size_t i, char *out, size_t cap)
{
    snprintf(
        out, cap,
        "{\"pk\":{\"S\":\"item-%03zu\"},\"amount\":{\"N\":\"1234567890123456789012345678901234.%04zu\"},"
        "\"tags\":{\"SS\":[\"a\",\"b\"]},\"address\":{\"M\":{\"city\":{\"S\":\"Z\\u00fcrich\"}}}}",
        i, i);
}

void ete_add_table(struct etl_test_env *e, const char *table, size_t n_items)
{
    assert_null(e->ddb);
    e->ddb = fake_ddb_new(table, "pk");
    for (size_t i = 0; i < n_items; i++) {
        char item[512];
        ete_item(i, item, sizeof(item));
        fake_ddb_add_item(e->ddb, item);
    }
    fake_ddb_install(e->ddb, e->fh);
}

/* Hands a thread's request to the env's responders (fake_ddb, then fake_s3), one at a time. */
static enum err_code locked_dispatch(void *ctx,
                                     const struct http_request *req,
                                     struct http_response *resp,
                                     struct err *err)
{
    struct etl_test_env *e = ctx;
    pthread_mutex_lock(&e->lock);
    enum err_code rc = e->fh->fn(e->fh->fn_ctx, req, resp, err);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

struct http_transport *ete_thread_transport(void *ctx, struct err *err)
{
    (void)err;
    struct etl_test_env *e = ctx;
    struct fake_http *fh = fake_http_new();
    fake_http_set_fn(fh, locked_dispatch, e);
    pthread_mutex_lock(&e->lock);
    e->thread_transports++;
    pthread_mutex_unlock(&e->lock);
    return &fh->base;
}

/* ---- events ---------------------------------------------------------------------------- */

static void must(enum err_code rc)
{
    assert_int_equal(rc, ERR_OK);
}

void ete_stream_event(const struct ete_rec *recs, size_t n, struct buf *out)
{
    struct err err = ERR_INIT;
    must(buf_append_str(out, "{\"Records\":[", &err));
    for (size_t i = 0; i < n; i++) {
        const struct ete_rec *r = &recs[i];
        bool remove = strcmp(r->op, "REMOVE") == 0;
        must(buf_printf(out, &err,
                        "%s{\"eventID\":\"ev-%s\",\"eventName\":\"%s\",\"eventVersion\":\"1.1\","
                        "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-east-1\",",
                        i > 0 ? "," : "", r->seq, r->op));
        if (r->ttl) {
            must(buf_append_str(out,
                                "\"userIdentity\":{\"type\":\"Service\","
                                "\"principalId\":\"dynamodb.amazonaws.com\"},",
                                &err));
        }
        must(buf_append_str(out, "\"dynamodb\":{", &err));
        if (r->ts_s >= 0) {
            must(
                buf_printf(out, &err, "\"ApproximateCreationDateTime\":%lld,", (long long)r->ts_s));
        }
        if (r->keys != NULL) {
            must(buf_printf(out, &err, "\"Keys\":%s,", r->keys));
        }
        if (r->image != NULL) {
            must(buf_printf(out, &err, "\"%s\":%s,", remove ? "OldImage" : "NewImage", r->image));
        }
        if (r->seq[0] != '\0') {
            must(buf_printf(out, &err, "\"SequenceNumber\":\"%s\",", r->seq));
        }
        must(buf_printf(out, &err,
                        "\"SizeBytes\":100,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
                        "\"eventSourceARN\":\"" ETE_ARN "%s/stream/2025-11-25T00:00:00.000\"}",
                        r->table));
    }
    must(buf_append_str(out, "]}", &err));
}

void ete_parse_event(const struct buf *text, struct etl_event *ev)
{
    struct err err = ERR_INIT;
    if (etl_event_parse(buf_cur(text), ev, &err) != ERR_OK) {
        fail_msg("etl_event_parse: %s", err.msg);
    }
}

void ete_invocation(struct rt_invocation *inv, const char *text, int64_t deadline_ms)
{
    struct err err = ERR_INIT;
    rt_invocation_init(inv);
    snprintf(inv->request_id, sizeof(inv->request_id), "req-1");
    inv->deadline_ms = deadline_ms;
    must(buf_append_str(&inv->event, text, &err));
}

/* ---- transforms ---------------------------------------------------------------------------- */

void ete_spec_text(const char *spec, struct buf *out)
{
    struct err err = ERR_INIT;
    for (const char *p = spec; *p != '\0'; p++) {
        const char *c = *p == '`' ? "\"" : *p == '~' ? "\\\"" : (char[]){*p, '\0'};
        must(buf_append_str(out, c, &err));
    }
}

struct etl_spec *ete_spec(const char *spec)
{
    struct buf text = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct etl_spec *out = NULL;
    ete_spec_text(spec, &text);
    if (etl_spec_parse(buf_cur(&text), &out, &err) != ERR_OK) {
        fail_msg("spec: %s", err.msg);
    }
    buf_cleanup(&text);
    return out;
}

/* ---- the lake ---------------------------------------------------------------------------- */

bool ete_get(struct etl_test_env *e, const char *key, struct buf *out)
{
    char full[2048];
    if (e->dir[0] != '\0') {
        snprintf(full, sizeof(full), "%s/%s", e->dir, key);
        return test_try_read_file(full, out);
    }
    const uint8_t *p = NULL;
    size_t n = 0;
    snprintf(full, sizeof(full), "%s%s", ETE_PREFIX, key);
    if (!fake_s3_get(e->s3, ETE_BUCKET, full, &p, &n)) {
        return false;
    }
    struct err err = ERR_INIT;
    must(buf_append(out, p, n, &err));
    return true;
}

void ete_gunzip(const uint8_t *p, size_t n, struct buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    int zrc = Z_OK;
    struct err err = ERR_INIT;
    while (zrc == Z_OK) {
        uint8_t chunk[16384];
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        zrc = inflate(&z, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END) {
            inflateEnd(&z);
            fail_msg("not valid gzip (zlib %d)", zrc);
        }
        must(buf_append(out, chunk, sizeof(chunk) - z.avail_out, &err));
        if (zrc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
            inflateEnd(&z);
            fail_msg("gzip member cut short");
        }
    }
    size_t rest = z.avail_in;
    inflateEnd(&z);
    assert_int_equal(rest, 0); /* one member, nothing after it */
}

void ete_text(struct etl_test_env *e, const char *key, struct buf *out)
{
    struct buf raw = BUF_INIT(0);
    if (!ete_get(e, key, &raw)) {
        fail_msg("no object %s", key);
    }
    size_t n = strlen(key);
    if (n > 3 && strcmp(key + n - 3, ".gz") == 0) {
        ete_gunzip(raw.data, raw.len, out);
    } else {
        struct err err = ERR_INIT;
        must(buf_append(out, raw.data, raw.len, &err));
    }
    buf_cleanup(&raw);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds every regular file under dir/rel to e->files as a path relative to dir. */
static void walk_files(struct etl_test_env *e, const char *rel)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s%s%s", e->dir, rel[0] != '\0' ? "/" : "", rel);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char child[2048], full[4200];
        struct stat sb;
        snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", de->d_name);
        snprintf(full, sizeof(full), "%s/%s", e->dir, child);
        assert_int_equal(lstat(full, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            walk_files(e, child);
            continue;
        }
        char **files = realloc(e->files, (e->n_files + 1) * sizeof(*files));
        assert_non_null(files);
        e->files = files;
        e->files[e->n_files] = strdup(child);
        assert_non_null(e->files[e->n_files]);
        e->n_files++;
    }
    closedir(d);
}

/* The relative keys starting with prefix, sorted; the array is the caller's to free. */
static const char **keys_under(struct etl_test_env *e, const char *prefix, size_t *n)
{
    size_t total, plen = 0;
    const char *root = "";
    if (e->dir[0] != '\0') {
        forget_files(e);
        walk_files(e, "");
        total = e->n_files;
    } else {
        total = fake_s3_count(e->s3);
        root = ETE_PREFIX;
        plen = strlen(ETE_PREFIX);
    }
    const char **keys = calloc(total + 1, sizeof(*keys));
    assert_non_null(keys);
    *n = 0;
    for (size_t i = 0; i < total; i++) {
        const char *k = e->dir[0] != '\0' ? e->files[i] : fake_s3_key(e->s3, i);
        if (strncmp(k, root, plen) == 0 && strncmp(k + plen, prefix, strlen(prefix)) == 0) {
            keys[(*n)++] = k + plen;
        }
    }
    qsort(keys, *n, sizeof(*keys), cmp_str);
    return keys;
}

size_t ete_count(struct etl_test_env *e, const char *prefix)
{
    size_t n = 0;
    free(keys_under(e, prefix, &n));
    return n;
}

const char *ete_key(struct etl_test_env *e, const char *prefix, size_t i)
{
    size_t n = 0;
    const char **keys = keys_under(e, prefix, &n);
    const char *k = i < n ? keys[i] : NULL;
    free(keys);
    return k;
}

size_t ete_lines(const struct buf *text)
{
    size_t n = 0;
    for (size_t i = 0; i < text->len; i++) {
        n += text->data[i] == '\n';
    }
    return n;
}

void ete_count_items(struct etl_test_env *e, const char *prefix, int *counts, size_t n_items)
{
    memset(counts, 0, n_items * sizeof(*counts));
    size_t n = ete_count(e, prefix);
    for (size_t k = 0; k < n; k++) {
        struct buf text = BUF_INIT(0);
        ete_text(e, ete_key(e, prefix, k), &text);
        const char *line = buf_cstr(&text);
        for (size_t l = 0; *line != '\0'; l++) {
            /* JSON rows and items name the key "pk"; CSV rows start with it, after a header. */
            const char *pk = strstr(line, "\"pk\":");
            const char *id =
                pk != NULL ? strstr(pk, "item-") : (strncmp(line, "item-", 5) == 0 ? line : NULL);
            if (id == NULL && !(l == 0 && strncmp(line, "pk,", 3) == 0)) {
                fail_msg("%s: a line without an item: %.80s", ete_key(e, prefix, k), line);
            }
            if (id != NULL) {
                size_t i = strtoul(id + strlen("item-"), NULL, 10);
                assert_true(i < n_items);
                counts[i]++;
            }
            line += strcspn(line, "\n");
            line += *line == '\n';
        }
        buf_cleanup(&text);
    }
}

cJSON *ete_json(struct etl_test_env *e, const char *key)
{
    struct buf text = BUF_INIT(0);
    ete_text(e, key, &text);
    cJSON *j = cJSON_ParseWithLength((const char *)text.data, text.len);
    if (j == NULL) {
        fail_msg("%s is not JSON: %s", key, buf_cstr(&text));
    }
    buf_cleanup(&text);
    return j;
}

const char *ete_json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v)) {
        fail_msg("no string member %s", name);
    }
    return v->valuestring;
}

double ete_json_num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v)) {
        fail_msg("no number member %s", name);
    }
    return v->valuedouble;
}

void ete_md5_hex(const void *p, size_t n, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t sum[16];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, sum, &len, EVP_md5(), NULL), 1);
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = digits[sum[i] >> 4];
        out[2 * i + 1] = digits[sum[i] & 0xf];
    }
    out[32] = '\0';
}

/* ---- requests and logs -------------------------------------------------------------------- */

/* The request's decoded path (no query) into out. */
static void url_path(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    p += strcspn(p, "/");
    size_t j = 0;
    for (; *p != '\0' && *p != '?' && j + 1 < cap; p++) {
        unsigned v = 0;
        if (p[0] == '%' && sscanf(p + 1, "%2x", &v) == 1) {
            out[j++] = (char)v;
            p += 2;
        } else {
            out[j++] = *p;
        }
    }
    out[j] = '\0';
}

static bool is_object_req(const struct fake_request *r, const char *method, const char *key)
{
    char path[2048], want[2048];
    if (strcmp(r->method, method) != 0) {
        return false;
    }
    url_path(r->url, path, sizeof(path));
    if (key == NULL) {
        return strncmp(path, "/" ETE_BUCKET "/", strlen(ETE_BUCKET) + 2) == 0;
    }
    snprintf(want, sizeof(want), "/%s/%s%s", ETE_BUCKET, ETE_PREFIX, key);
    return strcmp(path, want) == 0;
}

size_t ete_requests(const struct etl_test_env *e, const char *method, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < e->fh->n_reqs; i++) {
        n += is_object_req(&e->fh->reqs[i], method, key);
    }
    return n;
}

long ete_request_index(const struct etl_test_env *e, const char *method, const char *key)
{
    long index = -1;
    for (size_t i = 0; i < e->fh->n_reqs; i++) {
        if (is_object_req(&e->fh->reqs[i], method, key)) {
            index = (long)i;
        }
    }
    return index;
}

static const struct fake_request *scan_req(const struct etl_test_env *e, size_t nth)
{
    for (size_t i = 0; i < e->fh->n_reqs; i++) {
        const char *t = fake_request_header(&e->fh->reqs[i], "X-Amz-Target");
        if (t != NULL && strcmp(t, "DynamoDB_20120810.Scan") == 0 && nth-- == 0) {
            return &e->fh->reqs[i];
        }
    }
    return NULL;
}

size_t ete_scan_count(const struct etl_test_env *e)
{
    size_t n = 0;
    while (scan_req(e, n) != NULL) {
        n++;
    }
    return n;
}

void ete_scan_body(const struct etl_test_env *e, size_t i, struct buf *out)
{
    const struct fake_request *r = scan_req(e, i);
    if (r == NULL) {
        fail_msg("no Scan request %zu", i);
    }
    struct err err = ERR_INIT;
    buf_reset(out);
    must(buf_append(out, r->body.data, r->body.len, &err));
}

size_t ete_log_count(const struct etl_test_env *e, const char *needle)
{
    size_t n = 0;
    const char *p = buf_cstr(&e->log);
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        const char *hit = strstr(p, needle);
        n += hit != NULL && hit < p + len;
        p += len + (p[len] == '\n' ? 1 : 0);
    }
    return n;
}

void ete_forget(struct etl_test_env *e)
{
    fake_http_clear(e->fh);
    fake_s3_reset_calls(e->s3);
    buf_reset(&e->log);
    e->log_lines = 0;
}
