/*
 * fuzz_expr.c - the expression language (function/transform/etl_expr*.c): etl_expr_compile
 * (lexer, parser, arity and literal checks, regex translation) and then evaluation on one fixed
 * row, so the functions' run-time paths see whatever arguments the parser lets through. A compiled
 * expression keeps its text and compiles the same way twice; its column paths print; evaluation
 * ends in a value of a known kind or an error with a message, and frees everything it took.
 */
#include <string.h>

#include "etl_colpath.h"
#include "etl_expr.h"
#include "fuzz_util.h"

struct row_ctx {
    struct buf store;
    struct etl_arena arena;
};

static const struct {
    enum etl_type type;
    const char *name;
    const char *value;
} row_cols[] = {
    {ETL_T_S, "\"pk\"", "\"order#1\""},
    {ETL_T_S, "\"name\"", "\"\\t Z\\u00fcrich Caf\\u00e9 \\u3000\""},
    {ETL_T_S, "\"emoji\"", "\"a\xf0\x9f\x98\x80z\""},
    {ETL_T_N, "\"amount\"", "12.50"},
    {ETL_T_N, "\"big\"", "12345678901234567890123456789012345678"},
    {ETL_T_N, "\"neg\"", "-7"},
    {ETL_T_N, "\"zero\"", "0"},
    {ETL_T_N, "\"exp\"", "1e-5"},
    {ETL_T_BOOL, "\"flag\"", "true"},
    {ETL_T_NULL, "\"nothing\"", "null"},
    {ETL_T_M, "\"address\"",
     "{\"city\":\"Z\\u00fcrich\",\"zip\":\"8001\",\"lines\":[\"a\",\"b\"]}"},
    {ETL_T_L, "\"items\"", "[{\"sku\":\"A1\",\"price\":10.5},{\"sku\":\"B2\",\"price\":2}]"},
    {ETL_T_SS, "\"tags\"", "[\"x\",\"y\"]"},
    {ETL_T_TIMESTAMP, "\"_ts\"", "\"2026-11-24T07:05:09.123Z\""},
    {ETL_T_S, "\"created\"", "\"2026-11-24T02:00:00-05:00\""},
    {ETL_T_S, "\"day\"", "\"2026-11-24\""},
    {ETL_T_N, "\"epoch\"", "1795503600"},
    {ETL_T_S, "\"csv\"", "\"a,b,,d\""},
    {ETL_T_B, "\"blob\"", "\"AAEqQQ==\""},
    {ETL_T_S, "\"empty\"", "\"\""},
};

static enum err_code
lookup(void *ctx, const struct etl_colpath *path, struct etl_value *out, struct err *err)
{
    struct row_ctx *r = ctx;
    return etl_colpath_get(path, &r->store, 0, &r->arena, out, err);
}

static void print_path(void *ctx, const struct etl_colpath *path)
{
    char text[256];
    (void)ctx;
    etl_colpath_text(path, text, sizeof(text));
    FUZZ_CHECK(memchr(text, '\0', sizeof(text)) != NULL);
}

static void row_init(struct row_ctx *r)
{
    struct etl_row_builder rb;
    struct err err = ERR_INIT;
    buf_init(&r->store, 0);
    etl_arena_init(&r->arena, 16 * 1024 * 1024);
    FUZZ_CHECK(etl_row_begin(&rb, &r->store, &err) == ERR_OK);
    for (size_t i = 0; i < sizeof(row_cols) / sizeof(row_cols[0]); i++) {
        FUZZ_CHECK(etl_row_add(&rb, row_cols[i].type, 0, cur_from_str(row_cols[i].name),
                               cur_from_str(row_cols[i].value), &err) == ERR_OK);
    }
    etl_row_end(&rb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct etl_expr *e = NULL, *again = NULL;
    struct err err = ERR_INIT;
    enum err_code rc = etl_expr_compile(cur_make(data, size), &e, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(e == NULL);
        return 0;
    }
    FUZZ_CHECK(e != NULL);
    /* The text kept for messages is the input, and compiles again; a NUL inside a string literal
     * is a byte of its value, but the kept text is a C string and ends there. */
    const char *text = etl_expr_text(e);
    FUZZ_CHECK(text != NULL);
    if (memchr(data, '\0', size) == NULL) {
        FUZZ_CHECK(strlen(text) == size && memcmp(text, data, size) == 0);
    }
    FUZZ_CHECK(etl_expr_compile(cur_make(data, size), &again, &err) == ERR_OK);
    etl_expr_paths(e, print_path, NULL);

    struct row_ctx row;
    row_init(&row);
    struct etl_expr_env env = {lookup, &row, &row.arena};
    struct etl_value v;
    rc = etl_expr_eval(e, &env, &v, &err);
    if (rc == ERR_OK) {
        FUZZ_CHECK(v.kind >= ETL_V_NULL && v.kind <= ETL_V_JSON);
        struct etl_value w;
        struct err err2 = ERR_INIT;
        /* Deterministic: the same row gives the same value. */
        FUZZ_CHECK(etl_expr_eval(again, &env, &w, &err2) == ERR_OK);
        FUZZ_CHECK(w.kind == v.kind);
    } else {
        fuzz_check_failure(rc, &err);
    }
    buf_cleanup(&row.store);
    etl_arena_cleanup(&row.arena);
    etl_expr_free(again);
    etl_expr_free(e);
    return 0;
}
