/*
 * test_fmt_parquet.c - the Parquet format as the writer uses it: no codec around the file (PAR1
 * at both ends whatever ETL_COMPRESSION says), the same rows giving the same bytes, a column of
 * only NULLs left out, and the type rule the DDL declares (athena_type). The files themselves are
 * read back by three engines in tests/integration/test_parquet.py.
 */
#include <string.h>

#include "etl_format.h"
#include "etl_row.h"
#include "etl_writer.h"
#include "pq_codec.h"
#include "test_util.h"

static void add_row(struct buf *store, enum etl_type t, const char *name, const char *value)
{
    struct etl_row_builder rb;
    struct err err = ERR_INIT;
    assert_int_equal(etl_row_begin(&rb, store, &err), ERR_OK);
    assert_int_equal(
        etl_row_add(&rb, ETL_T_S, 0, cur_from_str("\"id\""), cur_from_str("\"k\""), &err), ERR_OK);
    assert_int_equal(etl_row_add(&rb, t, 0, cur_from_str(name), cur_from_str(value), &err), ERR_OK);
    assert_int_equal(
        etl_row_add(&rb, ETL_T_NULL, 0, cur_from_str("\"gone\""), cur_from_str("null"), &err),
        ERR_OK);
    etl_row_end(&rb);
}

static void render(enum pq_codec codec, struct buf *out)
{
    struct buf store = BUF_INIT(0);
    size_t offsets[4];
    offsets[0] = store.len;
    add_row(&store, ETL_T_N, "\"amount\"", "12345678901234567890123456789012345678");
    offsets[1] = store.len;
    add_row(&store, ETL_T_S, "\"amount\"", "\"n/a\"");
    offsets[2] = store.len;
    add_row(&store, ETL_T_BOOL, "\"flag\"", "true");
    offsets[3] = store.len;
    add_row(&store, ETL_T_SS, "\"tags\"", "[\"x\",\"y\"]");
    struct etl_encoding enc = {.format = &etl_fmt_parquet,
                               .codec = &etl_codec_gzip,
                               .level = 6,
                               .opts = {(int)codec, 65536}};
    struct etl_writer w;
    struct err err = ERR_INIT;
    assert_int_equal(etl_writer_open(&w, out, &enc, NULL, &err), ERR_OK);
    for (size_t i = 0; i < 4; i++) {
        struct etl_row_ref row = {&store, offsets[i], {NULL, 0}};
        assert_int_equal(etl_writer_row(&w, &row, &err), ERR_OK);
    }
    assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
    etl_writer_cleanup(&w);
    buf_cleanup(&store);
}

static void test_file(void **state)
{
    (void)state;
    const enum pq_codec codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
    for (size_t c = 0; c < 4; c++) {
        struct buf a = BUF_INIT(0), b = BUF_INIT(0);
        render(codecs[c], &a);
        render(codecs[c], &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len); /* deterministic */
        assert_memory_equal(a.data, "PAR1", 4);     /* no gzip around it */
        assert_memory_equal(a.data + a.len - 4, "PAR1", 4);
        /* The footer names the columns; the one of only NULLs is not among them. */
        assert_non_null(memmem(a.data, a.len, "amount", 6));
        assert_non_null(memmem(a.data, a.len, "tags", 4));
        assert_null(memmem(a.data, a.len, "gone", 4));
        buf_cleanup(&a);
        buf_cleanup(&b);
    }
    struct etl_encoding enc = {
        .format = &etl_fmt_parquet, .codec = &etl_codec_gzip, .level = 6, .opts = {0, 0}};
    char ext[32];
    etl_writer_extension(&enc, ext, sizeof(ext));
    assert_string_equal(ext, "parquet");
    assert_string_equal(etl_writer_content_type(&enc), "application/vnd.apache.parquet");
}

struct type_row {
    const char *name;
    uint32_t types;
    const char *athena;
};

#define T(x) (1u << ETL_T_##x)
static const struct type_row type_rows[] = {
    {"S", T(S), "string"},
    {"N", T(N), "string"},
    {"S and N", T(S) | T(N), "string"},
    {"B", T(B), "binary"},
    {"BOOL", T(BOOL), "boolean"},
    {"BOOL and NULL", T(BOOL) | T(NULL), "boolean"},
    {"M", T(M), "string"},
    {"L", T(L), "string"},
    {"SS", T(SS), "array<string>"},
    {"NS", T(NS), "array<string>"},
    {"SS and NS", T(SS) | T(NS), "array<string>"},
    {"BS", T(BS), "array<binary>"},
    {"timestamp", T(TIMESTAMP), "timestamp"},
    {"S and BOOL widen", T(S) | T(BOOL), "string"},
    {"B and BS widen", T(B) | T(BS), "string"},
    {"only NULL", T(NULL), "string"},
};
#undef T

static void test_type_row(void **state)
{
    const struct type_row *r = *state;
    char out[64];
    etl_fmt_parquet.athena_type(r->types, out, sizeof(out));
    assert_string_equal(out, r->athena);
}

int main(void)
{
    static struct CMUnitTest tests[32];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_file);
    for (size_t i = 0; i < sizeof(type_rows) / sizeof(type_rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){type_rows[i].name, test_type_row, NULL, NULL,
                                         (void *)&type_rows[i]};
    }
    return _cmocka_run_group_tests("fmt_parquet", tests, n, NULL, NULL);
}
