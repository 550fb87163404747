/*
 * test_fmt_parquet.c - the Parquet format as the writer uses it: no codec around the file (PAR1
 * at both ends whatever ETL_COMPRESSION says), the same rows giving the same bytes, a column of
 * only NULLs left out, declared decimal and bigint columns, and the type rule the DDL declares
 * (athena_type). The files themselves are
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
                               .opts = {(int)codec, 65536, NULL, 0}};
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
        .format = &etl_fmt_parquet, .codec = &etl_codec_gzip, .level = 6, .opts = {0, 0, NULL, 0}};
    char ext[32];
    etl_writer_extension(&enc, ext, sizeof(ext));
    assert_string_equal(ext, "parquet");
    assert_string_equal(etl_writer_content_type(&enc), "application/vnd.apache.parquet");
}

/* Rows of one N column `amount`, written with `amount` declared as `declared` (NULL: not). */
static enum err_code render_amounts(const char *const *values,
                                    size_t n,
                                    const char *declared,
                                    struct buf *out,
                                    struct err *err)
{
    struct buf store = BUF_INIT(0);
    size_t offsets[8];
    for (size_t i = 0; i < n; i++) {
        offsets[i] = store.len;
        add_row(&store, ETL_T_N, "\"amount\"", values[i]);
    }
    const struct etl_ddl_declared decl[] = {{"unrelated", "bigint"}, {"amount", declared}};
    struct etl_encoding enc = {.format = &etl_fmt_parquet,
                               .codec = &etl_codec_none,
                               .opts = {PQ_CODEC_NONE, 65536, decl, declared != NULL ? 2 : 0}};
    struct etl_writer w;
    enum err_code rc = etl_writer_open(&w, out, &enc, NULL, err);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        struct etl_row_ref row = {&store, offsets[i], {NULL, 0}};
        rc = etl_writer_row(&w, &row, err);
    }
    if (rc == ERR_OK) {
        rc = etl_writer_close(&w, err);
    }
    etl_writer_cleanup(&w);
    buf_cleanup(&store);
    return rc;
}

/* A declared decimal or bigint column holds numbers, not their text; a value that does not fit
 * fails the object with the column's name (the transform's cast should have made it fit: never
 * a rounded value). */
static void test_declared(void **state)
{
    (void)state;
    const char *const fits[] = {"12.5", "-0.01", "99999999.99"};
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT(0), dec = BUF_INIT(0), big = BUF_INIT(0), bad = BUF_INIT(0);
    assert_int_equal(render_amounts(fits, 3, NULL, &text, &err), ERR_OK);
    assert_non_null(memmem(text.data, text.len, "99999999.99", 11)); /* the rule: STRING */
    assert_int_equal(render_amounts(fits, 3, "decimal(12,2)", &dec, &err), ERR_OK);
    assert_null(memmem(dec.data, dec.len, "99999999.99", 11));
    assert_memory_equal(dec.data + dec.len - 4, "PAR1", 4);
    const char *const ints[] = {"9223372036854775807", "-9223372036854775808", "1E+3"};
    assert_int_equal(render_amounts(ints, 3, "bigint", &big, &err), ERR_OK);
    assert_null(memmem(big.data, big.len, "9223372036854775807", 19));
    const char *const too_many_places[] = {"12.5", "0.125"};
    assert_int_equal(render_amounts(too_many_places, 2, "decimal(12,2)", &bad, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "amount"));
    const char *const too_big[] = {"9223372036854775808"};
    err_clear(&err);
    buf_reset(&bad);
    assert_int_equal(render_amounts(too_big, 1, "bigint", &bad, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "amount"));
    buf_cleanup(&text);
    buf_cleanup(&dec);
    buf_cleanup(&big);
    buf_cleanup(&bad);
}

struct type_row {
    const char *name;
    uint32_t types;
    const char *athena;
    const char *declared;
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
    {"N declared decimal(12,2)", T(N), "decimal(12,2)", "decimal(12,2)"},
    {"N declared decimal(38,10)", T(N) | T(NULL), "decimal(38,10)", "decimal(38,10)"},
    {"N declared bigint", T(N), "bigint", "bigint"},
    {"N declared int: INT64, so bigint", T(N), "bigint", "int"},
    {"N declared double: the rule", T(N), "string", "double"},
    {"S declared decimal does not fit: the rule", T(S), "string", "decimal(10,2)"},
    {"BOOL declared boolean", T(BOOL), "boolean", "boolean"},
    {"timestamp declared timestamp", T(TIMESTAMP), "timestamp", "timestamp"},
    {"NS declared array<bigint>: the rule", T(NS), "array<string>", "array<bigint>"},
};
#undef T

static void test_type_row(void **state)
{
    const struct type_row *r = *state;
    char out[64];
    etl_fmt_parquet.athena_type(r->types, r->declared, out, sizeof(out));
    assert_string_equal(out, r->athena);
}

int main(void)
{
    static struct CMUnitTest tests[32];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_file);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_declared);
    for (size_t i = 0; i < sizeof(type_rows) / sizeof(type_rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){type_rows[i].name, test_type_row, NULL, NULL,
                                         (void *)&type_rows[i]};
    }
    return _cmocka_run_group_tests("fmt_parquet", tests, n, NULL, NULL);
}
