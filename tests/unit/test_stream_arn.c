/*
 * test_stream_arn.c - the table a stream record names: taken from eventSourceARN only when it is
 * a valid DynamoDB table name; otherwise the caller's fallback ("unknown-table") is kept.
 */
#include <stdio.h>
#include <string.h>

#include "etl_stream.h"
#include "test_util.h"

struct arn_row {
    const char *name;
    const char *arn;
    const char *table; /* NULL: not a table, out untouched */
};

static const struct arn_row arn_rows[] = {
    {"stream",
     "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-11-01T00:00:00.000",
     "Orders"},
    {"no_stream_suffix", "arn:aws:dynamodb:eu-west-1:1:table/my.table-2", "my.table-2"},
    {"not_an_arn", "table/Orders/stream/x", NULL},
    {"no_table", "arn:aws:dynamodb:us-east-1:1:stream/x", NULL},
    {"empty_name", "arn:aws:dynamodb:us-east-1:1:table//stream/x", NULL},
    {"too_short", "arn:aws:dynamodb:us-east-1:1:table/ab/stream/x", NULL},
    {"bad_characters", "arn:aws:dynamodb:us-east-1:1:table/Or ders/stream/x", NULL},
    {"path_characters", "arn:aws:dynamodb:us-east-1:1:table/..%2f../stream/x", NULL},
};

static void test_arn_row(void **state)
{
    const struct arn_row *row = *state;
    char out[300];
    snprintf(out, sizeof(out), "%s", "unknown-table");
    bool ok = etl_stream_table_from_arn(row->arn, out, sizeof(out));
    assert_int_equal(ok, row->table != NULL);
    assert_string_equal(out, row->table != NULL ? row->table : "unknown-table");
}

int main(void)
{
    struct CMUnitTest tests[sizeof(arn_rows) / sizeof(arn_rows[0])];
    for (size_t i = 0; i < sizeof(arn_rows) / sizeof(arn_rows[0]); i++) {
        tests[i] =
            (struct CMUnitTest){arn_rows[i].name, test_arn_row, NULL, NULL, (void *)&arn_rows[i]};
    }
    return _cmocka_run_group_tests("arn", tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
