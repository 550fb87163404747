/*
 * test_pool.c - the worker pool: every task runs exactly once on 1, 2 or 8 threads, each thread
 * with its own state; the first failure stops new tasks and is returned; threads that cannot be
 * set up leave the others to do the work (with a warning), and none at all is an error; every
 * state made is cleaned up once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool.h"
#include "test_util.h"

#define MAX_TASKS  2000
#define NO_FAILURE ((size_t)-1)

struct tstate {
    int id; /* the order thread_init made it in */
    pthread_t owner;
    atomic_bool owned;
    atomic_int cleanups;
};

struct ctx {
    int fail_init_from; /* thread_init calls from this one on fail (-1: none) */
    size_t fail_task;   /* this task fails (NO_FAILURE: none) */
    long task_sleep_ns;
    atomic_int inits;
    atomic_int runs[MAX_TASKS];
    atomic_int total_runs;
    atomic_bool wrong_state; /* a task saw a state not its thread's */
    struct tstate states[16];
    struct tstate inline_state;
};

static void *t_init(void *vctx, struct err *err)
{
    struct ctx *c = vctx;
    int n = atomic_fetch_add(&c->inits, 1);
    if (c->fail_init_from >= 0 && n >= c->fail_init_from) {
        (void)err_set(err, ERR_TRANSPORT, "cannot open connection %d", n);
        return NULL;
    }
    c->states[n].id = n;
    return &c->states[n];
}

static void t_cleanup(void *vctx, void *tstate)
{
    (void)vctx;
    struct tstate *s = tstate;
    atomic_fetch_add(&s->cleanups, 1);
}

static enum err_code t_task(void *vctx, void *tstate, size_t index, struct err *err)
{
    struct ctx *c = vctx;
    struct tstate *s = tstate;
    /* A state belongs to one thread: the first task to use it claims it. */
    bool expected = false;
    if (atomic_compare_exchange_strong(&s->owned, &expected, true)) {
        s->owner = pthread_self();
    } else if (!pthread_equal(s->owner, pthread_self())) {
        atomic_store(&c->wrong_state, true);
    }
    atomic_fetch_add(&c->runs[index], 1);
    atomic_fetch_add(&c->total_runs, 1);
    if (index == c->fail_task) {
        return err_set(err, ERR_HTTP, "task %zu failed", index);
    }
    if (c->task_sleep_ns > 0) {
        struct timespec ts = {0, c->task_sleep_ns};
        nanosleep(&ts, NULL);
    }
    return ERR_OK;
}

static const struct pool_ops ops = {t_init, t_cleanup, t_task};
static const struct pool_ops ops_no_init = {NULL, t_cleanup, t_task};
static const struct pool_ops ops_no_cleanup = {t_init, NULL, t_task};

struct row {
    const char *name;
    size_t n_tasks;
    int max_threads;
    const struct pool_ops *ops;
    int fail_init_from;
    size_t fail_task;
    enum err_code code;
    int expect_inits;  /* thread_init calls */
    bool inline_run;   /* every task ran with inline_state */
    bool all_run_once; /* else: the failure stopped the pool */
    const char *warning;
};

static const struct row rows[] = {
    {"inline_one_thread", 500, 1, &ops, -1, NO_FAILURE, ERR_OK, 0, true, true, NULL},
    {"inline_zero_threads", 50, 0, &ops, -1, NO_FAILURE, ERR_OK, 0, true, true, NULL},
    {"two_threads", 500, 2, &ops, -1, NO_FAILURE, ERR_OK, 2, false, true, NULL},
    {"eight_threads", 2000, 8, &ops, -1, NO_FAILURE, ERR_OK, 8, false, true, NULL},
    {"threads_capped_by_tasks", 3, 8, &ops, -1, NO_FAILURE, ERR_OK, 3, false, true, NULL},
    {"one_task_many_threads", 1, 8, &ops, -1, NO_FAILURE, ERR_OK, 0, true, true, NULL},
    {"no_thread_init_is_inline", 100, 8, &ops_no_init, -1, NO_FAILURE, ERR_OK, 0, true, true, NULL},
    {"no_thread_cleanup", 100, 4, &ops_no_cleanup, -1, NO_FAILURE, ERR_OK, 4, false, true, NULL},
    {"no_tasks", 0, 8, &ops, -1, NO_FAILURE, ERR_OK, 0, false, true, NULL},
    {"failure_stops_inline", 1000, 1, &ops, -1, 5, ERR_HTTP, 0, true, false, NULL},
    {"failure_stops_threads", 2000, 4, &ops, -1, 5, ERR_HTTP, 4, false, false, NULL},
    {"some_inits_fail", 500, 4, &ops, 2, NO_FAILURE, ERR_OK, 3, false, true,
     "pool: 2 of 4 threads started (cannot open connection 2); continuing with 2"},
    {"all_inits_fail", 500, 4, &ops, 0, NO_FAILURE, ERR_TRANSPORT, 1, false, false, NULL},
};

struct captured {
    char text[1024];
    int lines;
};

static void capture_line(void *vctx, const char *line, size_t len)
{
    struct captured *c = vctx;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof(c->text) - used, "%.*s\n", (int)len, line);
    c->lines++;
}

static void test_row(void **state)
{
    const struct row *row = *state;
    struct ctx *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fail_init_from = row->fail_init_from;
    c->fail_task = row->fail_task;
    c->task_sleep_ns = row->fail_task != NO_FAILURE && row->max_threads > 1 ? 100000 : 0;
    struct captured logs = {"", 0};
    log_set_sink(capture_line, &logs);
    struct err err = ERR_INIT;
    enum err_code rc =
        pool_run(row->n_tasks, row->max_threads, row->ops, c, &c->inline_state, &err);
    log_set_sink(NULL, NULL);

    assert_int_equal(rc, row->code);
    assert_int_equal(atomic_load(&c->inits), row->expect_inits);
    assert_false(atomic_load(&c->wrong_state));
    if (row->all_run_once) {
        for (size_t i = 0; i < row->n_tasks; i++) {
            assert_int_equal(atomic_load(&c->runs[i]), 1);
        }
    }
    for (size_t i = 0; i < row->n_tasks; i++) {
        assert_true(atomic_load(&c->runs[i]) <= 1); /* never twice */
    }
    if (row->fail_task != NO_FAILURE) {
        /* The failing task's own err comes back, and the pool stopped well short of the end. */
        assert_string_equal(err.msg, "task 5 failed");
        assert_int_equal(err.code, ERR_HTTP);
        assert_int_equal(atomic_load(&c->runs[row->fail_task]), 1);
        if (row->max_threads <= 1) {
            assert_int_equal(atomic_load(&c->total_runs), (int)row->fail_task + 1);
        } else {
            assert_true(atomic_load(&c->total_runs) < (int)row->n_tasks / 2);
        }
    }
    if (row->code == ERR_TRANSPORT) {
        assert_string_equal(err.msg, "cannot open connection 0");
        assert_int_equal(atomic_load(&c->total_runs), 0);
    }
    /* Tasks ran with inline_state exactly when the pool ran inline. */
    bool used_inline = atomic_load(&c->inline_state.owned);
    assert_int_equal(used_inline, row->inline_run && row->n_tasks > 0);
    assert_int_equal(atomic_load(&c->inline_state.cleanups), 0);
    /* Every state thread_init made is cleaned up once (when there is a cleanup). */
    int made = row->fail_init_from >= 0 ? row->fail_init_from : row->expect_inits;
    for (int i = 0; i < 16; i++) {
        int want = (row->ops->thread_cleanup != NULL && i < made) ? 1 : 0;
        assert_int_equal(atomic_load(&c->states[i].cleanups), want);
    }
    if (row->warning != NULL) {
        assert_non_null(strstr(logs.text, row->warning));
        assert_int_equal(logs.lines, 1);
    } else {
        assert_int_equal(logs.lines, 0);
    }
    free(c);
}

static void test_no_task_callback(void **state)
{
    (void)state;
    static const struct pool_ops none = {NULL, NULL, NULL};
    struct err err = ERR_INIT;
    assert_int_equal(pool_run(3, 2, &none, NULL, NULL, &err), ERR_INVALID_INPUT);
    assert_int_equal(pool_run(3, 2, NULL, NULL, NULL, &err), ERR_INVALID_INPUT);
}

int main(void)
{
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    struct CMUnitTest tests[N + 1];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){rows[i].name, test_row, NULL, NULL, (void *)&rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_no_task_callback);
    return _cmocka_run_group_tests("pool", tests, N + 1, NULL, NULL);
}
