/*
 * test_writer.c - JSON Lines and CSV rendering (RFC 4180 quoting, header union, nested values),
 * deterministic gzip (header bytes, same input gives the same bytes), and round trips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_fmt_csv.h"
#include "etl_row.h"
#include "etl_writer.h"
#include "limit.h"
#include "test_util.h"

static void add_row(struct buf *store, const char *const *cols, size_t n)
{
    /* cols: name_json, type ("s","n","b","0","j"), value_json triples */
    struct etl_row_builder rb;
    struct err err = ERR_INIT;
    assert_int_equal(etl_row_begin(&rb, store, &err), ERR_OK);
    for (size_t i = 0; i < n; i += 3) {
        enum etl_type t = cols[i + 1][0] == 's'   ? ETL_T_S
                          : cols[i + 1][0] == 'n' ? ETL_T_N
                          : cols[i + 1][0] == 'b' ? ETL_T_BOOL
                          : cols[i + 1][0] == '0' ? ETL_T_NULL
                                                  : ETL_T_L;
        assert_int_equal(
            etl_row_add(&rb, t, 0, cur_from_str(cols[i]), cur_from_str(cols[i + 2]), &err), ERR_OK);
    }
    etl_row_end(&rb);
}

static void sample_store(struct buf *store, size_t offsets[3])
{
    static const char *const r1[] = {
        "\"id\"", "n", "1", "\"name\"", "s", "\"a,b \\\"q\\\"\"", "\"tags\"", "j", "[\"x\",\"y\"]"};
    static const char *const r2[] = {"\"id\"",   "n", "12345678901234567890123456789012345678",
                                     "\"ok\"",   "b", "true",
                                     "\"note\"", "s", "\"line1\\nline2\""};
    static const char *const r3[] = {
        "\"name\"", "s", "\"\xc3\xa9t\xc3\xa9\"", "\"id\"", "n", "3", "\"gone\"", "0", "null"};
    offsets[0] = store->len;
    add_row(store, r1, 9);
    offsets[1] = store->len;
    add_row(store, r2, 9);
    offsets[2] = store->len;
    add_row(store, r3, 9);
}

/* Writes rows (offsets into store) through an encoding. */
static void
write_rows(struct etl_writer *w, const struct buf *store, const size_t *offsets, size_t n)
{
    struct err err = ERR_INIT;
    for (size_t i = 0; i < n; i++) {
        struct etl_row_ref row = {store, offsets[i], {NULL, 0}};
        assert_int_equal(etl_writer_row(w, &row, &err), ERR_OK);
    }
}

static struct etl_encoding encoding(const char *format, const char *codec, int level)
{
    struct etl_encoding e = {etl_format_find(format), etl_codec_find(codec), level};
    assert_non_null(e.format);
    assert_non_null(e.codec);
    return e;
}

static void render(const char *f, const char *c, struct buf *out)
{
    struct buf store = BUF_INIT(0);
    size_t offsets[3];
    sample_store(&store, offsets);
    struct etl_writer w;
    struct err err = ERR_INIT;
    struct etl_encoding enc = encoding(f, c, 6);
    assert_int_equal(etl_writer_open(&w, out, &enc, NULL, &err), ERR_OK);
    write_rows(&w, &store, offsets, 3);
    assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
    assert_int_equal(w.rows, 3);
    etl_writer_cleanup(&w);
    buf_cleanup(&store);
}

static void test_jsonl(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    render("jsonl", "none", &out);
    assert_string_equal(
        buf_cstr(&out),
        "{\"id\":1,\"name\":\"a,b \\\"q\\\"\",\"tags\":[\"x\",\"y\"]}\n"
        "{\"id\":12345678901234567890123456789012345678,\"ok\":true,\"note\":\"line1\\nline2\"}\n"
        "{\"name\":\"\xc3\xa9t\xc3\xa9\",\"id\":3,\"gone\":null}\n");
    buf_cleanup(&out);
}

static void test_csv(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    render("csv", "none", &out);
    assert_string_equal(buf_cstr(&out),
                        "id,name,tags,ok,note,gone\r\n"
                        "1,\"a,b \"\"q\"\"\",\"[\"\"x\"\",\"\"y\"\"]\",,,\r\n"
                        "12345678901234567890123456789012345678,,,true,\"line1\nline2\",\r\n"
                        "3,\xc3\xa9t\xc3\xa9,,,,\r\n");
    buf_cleanup(&out);
}

static void test_gzip_deterministic(void **state)
{
    (void)state;
    struct buf a = BUF_INIT(0), b = BUF_INIT(0), plain = BUF_INIT(0), back = BUF_INIT(0);
    render("jsonl", "gzip", &a);
    render("jsonl", "gzip", &b);
    render("jsonl", "none", &plain);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    /* Header: magic, deflate, no flags, MTIME 0, XFL 0, OS 255 (as DynamoDB's exports). */
    static const uint8_t header[] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff};
    assert_memory_equal(a.data, header, sizeof(header));
    test_gunzip(&a, &back);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    buf_cleanup(&a);
    buf_cleanup(&b);
    buf_cleanup(&plain);
    buf_cleanup(&back);
}

static void test_large_gzip_round_trip(void **state)
{
    (void)state;
    /* Enough rows to pass the staging threshold many times. */
    struct buf store = BUF_INIT(0), out = BUF_INIT(0), back = BUF_INIT(0), plain = BUF_INIT(0);
    enum { ROWS = 20000 };
    size_t *offsets = calloc(ROWS, sizeof(*offsets));
    char val[64];
    for (int i = 0; i < ROWS; i++) {
        offsets[i] = store.len;
        snprintf(val, sizeof(val), "\"value-%d\"", i * 7919);
        const char *cols[] = {"\"k\"", "s", val, "\"n\"", "n", "42"};
        add_row(&store, cols, 6);
    }
    struct etl_writer w;
    struct err err = ERR_INIT;
    struct etl_encoding gz = encoding("jsonl", "gzip", 1), none = encoding("jsonl", "none", 1);
    assert_int_equal(etl_writer_open(&w, &out, &gz, NULL, &err), ERR_OK);
    write_rows(&w, &store, offsets, ROWS);
    assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
    uint64_t raw = w.raw_bytes;
    etl_writer_cleanup(&w);
    assert_int_equal(etl_writer_open(&w, &plain, &none, NULL, &err), ERR_OK);
    write_rows(&w, &store, offsets, ROWS);
    assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
    etl_writer_cleanup(&w);
    test_gunzip(&out, &back);
    assert_int_equal(back.len, plain.len);
    assert_int_equal(raw, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    assert_true(out.len < plain.len / 3);
    free(offsets);
    buf_cleanup(&store);
    buf_cleanup(&out);
    buf_cleanup(&back);
    buf_cleanup(&plain);
}

/* With a codec cache, the writer holds the text and compresses it whole at close: the same
 * rows as the streaming path once inflated, the same bytes on every run and across a reused
 * cache, and nothing reaches out before close. The text is staged in the cache, whose buffer
 * is kept (empty) for the next object rather than allocated again. */
static void test_gzip_whole_object(void **state)
{
    (void)state;
    struct buf store = BUF_INIT(0), plain = BUF_INIT(0), a = BUF_INIT(0), b = BUF_INIT(0),
               back = BUF_INIT(0);
    size_t offsets[3];
    sample_store(&store, offsets);
    render("jsonl", "none", &plain);
    struct etl_codec_cache cache;
    etl_codec_cache_init(&cache);
    struct etl_encoding enc = encoding("jsonl", "gzip", 6);
    enc.cache = &cache;
    struct buf *outs[] = {&a, &b};
    const uint8_t *stage = NULL;
    for (size_t i = 0; i < 2; i++) {
        struct etl_writer w;
        struct err err = ERR_INIT;
        assert_int_equal(etl_writer_open(&w, outs[i], &enc, NULL, &err), ERR_OK);
        write_rows(&w, &store, offsets, 3);
        assert_int_equal(outs[i]->len, 0);
        assert_int_equal(etl_writer_pending_bytes(&w), plain.len);
        assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
        assert_int_equal(w.raw_bytes, plain.len);
        etl_writer_cleanup(&w);
        assert_int_equal(cache.stage.len, 0);
        assert_true(cache.stage.cap >= plain.len);
        if (stage != NULL) {
            assert_ptr_equal(cache.stage.data, stage);
        }
        stage = cache.stage.data;
    }
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    static const uint8_t header[] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff};
    assert_memory_equal(a.data, header, sizeof(header));
    test_gunzip(&a, &back);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    etl_codec_cache_cleanup(&cache);
    buf_cleanup(&store);
    buf_cleanup(&plain);
    buf_cleanup(&a);
    buf_cleanup(&b);
    buf_cleanup(&back);
}

struct csv_row {
    const char *name;
    const char *in;
    const char *out;
};

static const struct csv_row csv_rows[] = {
    {"plain", "abc", "abc"},          {"empty", "", ""},
    {"comma", "a,b", "\"a,b\""},      {"quote", "say \"hi\"", "\"say \"\"hi\"\"\""},
    {"newline", "a\nb", "\"a\nb\""},  {"cr", "a\rb", "\"a\rb\""},
    {"only_quote", "\"", "\"\"\"\""},
};

static void test_csv_field_row(void **state)
{
    const struct csv_row *row = *state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_fmt_csv_field(&out, (const uint8_t *)row->in, strlen(row->in), &err),
                     ERR_OK);
    assert_string_equal(buf_cstr(&out), row->out);
    buf_cleanup(&out);
}

/* The cache's stage starts at 256 KiB (one reservation, not a doubling chain) and is kept warm,
 * but an object that grew it past LIMIT_KEEP_WARM_BYTES gives it back at cleanup, closed or not
 * (here: abandoned before close, as when a row fails). */
static void test_whole_object_stage_bounded(void **state)
{
    (void)state;
    struct etl_codec_cache cache;
    etl_codec_cache_init(&cache);
    struct etl_encoding enc = encoding("jsonl", "gzip", 6);
    enc.cache = &cache;
    struct buf out = BUF_INIT(0);
    struct etl_writer w;
    struct err err = ERR_INIT;
    assert_int_equal(etl_writer_open(&w, &out, &enc, NULL, &err), ERR_OK);
    assert_int_equal(cache.stage.cap, 256 * 1024);
    static char line[64 * 1024];
    memset(line, 'x', sizeof(line));
    for (size_t n = 0; n <= LIMIT_KEEP_WARM_BYTES; n += sizeof(line)) {
        assert_int_equal(etl_writer_raw(&w, line, sizeof(line), &err), ERR_OK);
    }
    assert_true(cache.stage.cap > LIMIT_KEEP_WARM_BYTES);
    etl_writer_cleanup(&w); /* never closed */
    assert_int_equal(cache.stage.cap, 0);
    assert_int_equal(out.len, 0);
    /* the next object starts afresh */
    assert_int_equal(etl_writer_open(&w, &out, &enc, NULL, &err), ERR_OK);
    assert_int_equal(etl_writer_raw(&w, "{}\n", 3, &err), ERR_OK);
    assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
    etl_writer_cleanup(&w);
    struct buf back = BUF_INIT(0);
    test_gunzip(&out, &back);
    assert_string_equal(buf_cstr(&back), "{}\n");
    assert_int_equal(cache.stage.cap, 256 * 1024);
    buf_cleanup(&back);
    buf_cleanup(&out);
    etl_codec_cache_cleanup(&cache);
}

int main(void)
{
    enum { N = sizeof(csv_rows) / sizeof(csv_rows[0]) };
    struct CMUnitTest tests[N + 6];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){csv_rows[i].name, test_csv_field_row, NULL, NULL,
                                       (void *)&csv_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_jsonl);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_csv);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_gzip_deterministic);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_large_gzip_round_trip);
    tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_gzip_whole_object);
    tests[N + 5] = (struct CMUnitTest)cmocka_unit_test(test_whole_object_stage_bounded);
    return _cmocka_run_group_tests("writer", tests, N + 6, NULL, NULL);
}
