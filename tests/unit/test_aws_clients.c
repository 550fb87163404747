/*
 * test_aws_clients.c - kept-alive clients for parallel requests: client 0 is the base client,
 * the others are made on first use with its settings and deadline, and kept.
 */
#include <stdlib.h>

#include "aws_clients.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "test_util.h"

struct factory {
    size_t made;
    bool fail;
};

static struct http_transport *new_fake(void *ctx, struct err *err)
{
    struct factory *f = ctx;
    if (f->fail) {
        (void)err_set(err, ERR_NOMEM, "no transport today");
        return NULL;
    }
    f->made++;
    return &fake_http_new()->base;
}

static void test_clients_made_once_and_kept(void **state)
{
    (void)state;
    struct fake_sys fs;
    fake_sys_init(&fs, 0);
    struct fake_http *fh = fake_http_new();
    struct aws_client base;
    aws_client_init(&base, &fh->base, &fs.sys, NULL, NULL, 5);
    aws_client_set_deadline(&base, fs.mono_ms + 60000);
    struct factory f = {0, false};
    struct aws_clients p;
    aws_clients_init(&p, &base, new_fake, &f, 4);
    struct err err = ERR_INIT;
    assert_int_equal(aws_clients_limit(&p), 4);
    assert_ptr_equal(aws_clients_get(&p, 0, &err), &base);
    assert_int_equal(f.made, 0);
    struct aws_client *c2 = aws_clients_get(&p, 2, &err);
    assert_non_null(c2);
    assert_int_equal(f.made, 1);
    assert_int_equal(c2->max_attempts, 5);
    assert_ptr_equal(c2->sys, &fs.sys);
    assert_int_equal(c2->deadline_mono_ms, base.deadline_mono_ms);
    /* The next invocation's deadline follows; the connection stays. */
    aws_client_set_deadline(&base, fs.mono_ms + 3000);
    assert_ptr_equal(aws_clients_get(&p, 2, &err), c2);
    assert_int_equal(c2->deadline_mono_ms, base.deadline_mono_ms);
    assert_int_equal(c2->min_attempt_ms, base.min_attempt_ms);
    assert_int_equal(f.made, 1);
    assert_null(aws_clients_get(&p, 4, &err));
    assert_int_equal(err.code, ERR_INVALID_INPUT);
    aws_clients_cleanup(&p);
    aws_clients_cleanup(&p); /* twice: a no-op */
    aws_client_cleanup(&base);
    http_transport_free(&fh->base);
}

static void test_without_factory_only_base(void **state)
{
    (void)state;
    struct fake_sys fs;
    fake_sys_init(&fs, 0);
    struct aws_client base;
    aws_client_init(&base, NULL, &fs.sys, NULL, NULL, 3);
    struct aws_clients p;
    aws_clients_init(&p, &base, NULL, NULL, 8);
    struct err err = ERR_INIT;
    assert_int_equal(aws_clients_limit(&p), 1);
    assert_ptr_equal(aws_clients_get(&p, 0, &err), &base);
    assert_null(aws_clients_get(&p, 1, &err));
    aws_clients_cleanup(&p);
    aws_client_cleanup(&base);
}

static void test_factory_failure(void **state)
{
    (void)state;
    struct fake_sys fs;
    fake_sys_init(&fs, 0);
    struct aws_client base;
    aws_client_init(&base, NULL, &fs.sys, NULL, NULL, 3);
    struct factory f = {0, true};
    struct aws_clients p;
    aws_clients_init(&p, &base, new_fake, &f, 2);
    struct err err = ERR_INIT;
    assert_null(aws_clients_get(&p, 1, &err));
    assert_int_equal(err.code, ERR_NOMEM);
    f.fail = false; /* a later call tries again */
    assert_non_null(aws_clients_get(&p, 1, &err));
    aws_clients_cleanup(&p);
    aws_client_cleanup(&base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients_made_once_and_kept),
        cmocka_unit_test(test_without_factory_only_base),
        cmocka_unit_test(test_factory_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
