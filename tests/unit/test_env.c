/*
 * test_env.c - typed configuration lookups and their error messages.
 */
#include <string.h>

#include "env.h"
#include "test_util.h"

static char *const envp[] = {
    "A=1", "EMPTY=", "NUM=42", "BAD=4x2", "BIG=99999", "YES=True", "FMT=CSV", "PREFIX_LONG=x", NULL,
};

static void test_get(void **state)
{
    (void)state;
    assert_string_equal(env_get(envp, "A"), "1");
    assert_string_equal(env_get(envp, "EMPTY"), "");
    assert_null(env_get_nonempty(envp, "EMPTY"));
    assert_null(env_get(envp, "PREFIX"));
    assert_null(env_get(envp, "MISSING"));
    assert_null(env_get(NULL, "A"));
}

static void test_i64(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    int64_t v = 0;
    assert_int_equal(env_get_i64(envp, "NUM", 5, 1, 100, &v, &err), ERR_OK);
    assert_int_equal(v, 42);
    assert_int_equal(env_get_i64(envp, "MISSING", 5, 1, 100, &v, &err), ERR_OK);
    assert_int_equal(v, 5);
    assert_int_equal(env_get_i64(envp, "EMPTY", 6, 1, 100, &v, &err), ERR_OK);
    assert_int_equal(v, 6);
    assert_int_equal(env_get_i64(envp, "BAD", 5, 1, 100, &v, &err), ERR_CONFIG);
    assert_string_equal(err.msg, "BAD=\"4x2\": expected an integer from 1 to 100");
    assert_int_equal(env_get_i64(envp, "BIG", 5, 1, 100, &v, &err), ERR_CONFIG);
}

static void test_bool_and_choice(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    bool b = false;
    assert_int_equal(env_get_bool(envp, "YES", false, &b, &err), ERR_OK);
    assert_true(b);
    assert_int_equal(env_get_bool(envp, "NUM", false, &b, &err), ERR_CONFIG);
    static const char *const formats[] = {"jsonl", "csv"};
    int idx = -1;
    assert_int_equal(env_get_choice(envp, "FMT", formats, 2, 0, &idx, &err), ERR_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(env_get_choice(envp, "A", formats, 2, 0, &idx, &err), ERR_CONFIG);
    assert_string_equal(err.msg, "A=\"1\": expected jsonl or csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_i64),
        cmocka_unit_test(test_bool_and_choice),
    };
    return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
