/*
 * test_pq_file.c - whole files: the magic at both ends and the footer length, the same rows
 * giving the same bytes with every codec, row groups written in pieces, chunk metadata (null
 * counts, min and max in each type's order, dictionary or PLAIN), and rows that miss a column.
 * The bytes themselves are read back by DuckDB, arrow-rs and hyparquet in the integration test
 * (tests/integration/test_parquet.py).
 */
#include <stdio.h>
#include <string.h>

#include "pq_file.h"
#include "test_util.h"

static void add_rows(struct pq_file *f, int from, int to)
{
    struct err err = ERR_INIT;
    for (int r = from; r < to; r++) {
        char s[32];
        int n = snprintf(s, sizeof(s), "v%03d", r % 7);
        if (r % 5 == 0) {
            assert_int_equal(pq_column_add_null(pq_file_column(f, 0), &err), ERR_OK);
        } else {
            assert_int_equal(pq_column_add_bytes(pq_file_column(f, 0), s, (size_t)n, &err), ERR_OK);
        }
        assert_int_equal(pq_column_add_i64(pq_file_column(f, 1), (int64_t)r * 1000 - 5000, &err),
                         ERR_OK);
        assert_int_equal(pq_column_add_bool(pq_file_column(f, 2), r % 2 == 0, &err), ERR_OK);
        pq_column_list_begin(pq_file_column(f, 3));
        for (int e = 0; e < r % 3; e++) {
            assert_int_equal(pq_column_add_bytes(pq_file_column(f, 3), "e", 1, &err), ERR_OK);
        }
        assert_int_equal(pq_column_list_end(pq_file_column(f, 3), &err), ERR_OK);
        assert_int_equal(
            pq_column_add_decimal(pq_file_column(f, 4), (pq_i128)(r - 10) * 1000000007, &err),
            ERR_OK);
        assert_int_equal(pq_file_end_row(f, &err), ERR_OK);
    }
}

static void make_file(enum pq_codec codec, int groups, struct buf *out)
{
    struct pq_file f;
    struct err err = ERR_INIT;
    pq_file_init(&f, out, codec, "test");
    struct pq_type s = {PQ_STRING, 0, 0, false}, ts = {PQ_TIMESTAMP_MS, 0, 0, false},
                   b = {PQ_BOOLEAN, 0, 0, false}, l = {PQ_STRING, 0, 0, true},
                   d = {PQ_DECIMAL, 30, 3, false};
    assert_int_equal(pq_file_add_column(&f, "s", 1, &s, &err), ERR_OK);
    assert_int_equal(pq_file_add_column(&f, "ts", 2, &ts, &err), ERR_OK);
    assert_int_equal(pq_file_add_column(&f, "b", 1, &b, &err), ERR_OK);
    assert_int_equal(pq_file_add_column(&f, "l", 1, &l, &err), ERR_OK);
    assert_int_equal(pq_file_add_column(&f, "d", 1, &d, &err), ERR_OK);
    assert_int_equal(pq_file_begin(&f, &err), ERR_OK);
    for (int g = 0; g < groups; g++) {
        add_rows(&f, g * 100, g * 100 + 100);
        assert_true(pq_file_buffered_bytes(&f) > 0);
        assert_int_equal(pq_file_flush_row_group(&f, &err), ERR_OK);
        assert_int_equal(pq_file_buffered_bytes(&f), 0);
        /* Chunk metadata of this group. */
        const struct pq_row_group *rg = &f.groups[f.n_groups - 1];
        assert_int_equal(rg->num_rows, 100);
        assert_int_equal(rg->chunks[0].null_count, 20);
        assert_true(rg->chunks[0].dictionary_page_offset >= 0); /* 7 distinct of 80 */
        assert_true(rg->chunks[1].dictionary_page_offset < 0);  /* all distinct */
        assert_int_equal(rg->chunks[1].min_len, 8);
        int64_t lo;
        memcpy(&lo, rg->chunks[1].min, 8);
        assert_int_equal(lo, (int64_t)g * 100000 - 5000); /* signed order */
        assert_int_equal(rg->chunks[2].min[0], 0);
        assert_int_equal(rg->chunks[2].max[0], 1);
        assert_int_equal(rg->chunks[4].min_len, 13); /* decimal(30,3): 13 bytes */
        assert_int_equal(rg->chunks[4].null_count, 0);
    }
    assert_int_equal(pq_file_finish(&f, &err), ERR_OK);
    assert_int_equal(f.num_rows, groups * 100);
    pq_file_cleanup(&f);
}

static void test_layout_and_determinism(void **state)
{
    (void)state;
    const enum pq_codec codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
    size_t sizes[4];
    for (size_t c = 0; c < 4; c++) {
        struct buf a = BUF_INIT(0), b = BUF_INIT(0);
        make_file(codecs[c], 3, &a);
        make_file(codecs[c], 3, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_memory_equal(a.data, "PAR1", 4);
        assert_memory_equal(a.data + a.len - 4, "PAR1", 4);
        uint32_t footer = (uint32_t)a.data[a.len - 8] | (uint32_t)a.data[a.len - 7] << 8 |
                          (uint32_t)a.data[a.len - 6] << 16 | (uint32_t)a.data[a.len - 5] << 24;
        assert_true(footer > 0 && footer < a.len - 12);
        assert_int_equal(a.data[a.len - 9], 0); /* the FileMetaData's stop byte */
        sizes[c] = a.len;
        buf_cleanup(&a);
        buf_cleanup(&b);
    }
    for (size_t c = 1; c < 4; c++) {
        assert_true(sizes[c] < sizes[0]); /* every codec compresses these pages */
    }
}

static void test_missing_entry(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct pq_file f;
    struct err err = ERR_INIT;
    pq_file_init(&f, &out, PQ_CODEC_NONE, "test");
    struct pq_type s = {PQ_STRING, 0, 0, false};
    assert_int_equal(pq_file_add_column(&f, "a", 1, &s, &err), ERR_OK);
    assert_int_equal(pq_file_add_column(&f, "b", 1, &s, &err), ERR_OK);
    assert_int_equal(pq_file_begin(&f, &err), ERR_OK);
    assert_int_equal(pq_column_add_null(pq_file_column(&f, 0), &err), ERR_OK);
    assert_int_equal(pq_file_end_row(&f, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "\"b\" has 0 entries for 1 rows"));
    assert_int_equal(pq_file_add_column(&f, "c", 1, &s, &err), ERR_INVALID_INPUT);
    assert_int_equal(pq_column_add_i64(pq_file_column(&f, 0), 1, &err), ERR_INVALID_INPUT);
    struct pq_type bad = {PQ_DECIMAL, 39, 0, false};
    pq_file_cleanup(&f);
    pq_file_init(&f, &out, PQ_CODEC_NONE, "test");
    assert_int_equal(pq_file_add_column(&f, "d", 1, &bad, &err), ERR_INVALID_INPUT);
    pq_file_cleanup(&f);
    buf_cleanup(&out);
}

static void test_empty_file(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct pq_file f;
    struct err err = ERR_INIT;
    pq_file_init(&f, &out, PQ_CODEC_SNAPPY, "test");
    assert_int_equal(pq_file_finish(&f, &err), ERR_OK);
    assert_memory_equal(out.data, "PAR1", 4);
    assert_memory_equal(out.data + out.len - 4, "PAR1", 4);
    pq_file_cleanup(&f);
    buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_determinism),
        cmocka_unit_test(test_missing_entry),
        cmocka_unit_test(test_empty_file),
    };
    return cmocka_run_group_tests_name("pq_file", tests, NULL, NULL);
}
