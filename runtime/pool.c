/*
 * pool.c - the worker pool: one mutex guards the next task index and the first failure; every
 * thread loops "take the next index, run it, report a failure" until none is left or one failed.
 * Taken from etl_export.c's segment workers so that other callers can share it.
 */
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "log.h"

struct pool_state {
    const struct pool_ops *ops;
    void *ctx;
    size_t n_tasks;
    size_t next; /* the next index to hand out */
    pthread_mutex_t lock;
    enum err_code rc; /* the first failure; it stops the pool */
    struct err err;
};

struct pool_thread {
    struct pool_state *pool;
    void *tstate;
    pthread_t id;
};

static bool take(struct pool_state *p, size_t *index)
{
    pthread_mutex_lock(&p->lock);
    bool ok = p->rc == ERR_OK && p->next < p->n_tasks;
    if (ok) {
        *index = p->next++;
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

/* Keeps the first failure; later ones are dropped (their tasks were already running). */
static void report(struct pool_state *p, enum err_code rc, const struct err *e)
{
    if (rc == ERR_OK) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (p->rc == ERR_OK) {
        p->rc = rc;
        p->err = *e;
        if (p->err.code == ERR_OK) {
            p->err.code = rc; /* a task that returned a code without setting its err */
        }
    }
    pthread_mutex_unlock(&p->lock);
}

/* Runs tasks with one thread's state until none is left or one failed. */
static void work(struct pool_state *p, void *tstate)
{
    size_t index;
    while (take(p, &index)) {
        struct err e = ERR_INIT;
        enum err_code rc = p->ops->task(p->ctx, tstate, index, &e);
        report(p, rc, &e);
    }
}

static void *thread_main(void *arg)
{
    struct pool_thread *t = arg;
    work(t->pool, t->tstate);
    return NULL;
}

/*
 * Makes each thread's state and starts it, stopping at the first that cannot be made or started
 * (*why then says why). Returns how many started.
 */
static size_t
start_threads(struct pool_state *p, struct pool_thread *threads, size_t n_threads, struct err *why)
{
    size_t started = 0;
    for (size_t i = 0; i < n_threads; i++) {
        void *tstate = p->ops->thread_init(p->ctx, why);
        if (tstate == NULL) {
            if (why->code == ERR_OK) {
                (void)err_set(why, ERR_NOMEM, "pool: thread_init gave no state and no reason");
            }
            break;
        }
        threads[started] = (struct pool_thread){.pool = p, .tstate = tstate};
        int erc = pthread_create(&threads[started].id, NULL, thread_main, &threads[started]);
        if (erc != 0) {
            if (p->ops->thread_cleanup != NULL) {
                p->ops->thread_cleanup(p->ctx, tstate);
            }
            char ebuf[LIMIT_ERRNO_TEXT_BYTES];
            (void)err_set(why, ERR_NOMEM, "pool: cannot start a thread: %s",
                          strerror_r(erc, ebuf, sizeof(ebuf)));
            break;
        }
        started++;
    }
    return started;
}

enum err_code pool_run(size_t n_tasks,
                       int max_threads,
                       const struct pool_ops *ops,
                       void *ctx,
                       void *inline_state,
                       struct err *err)
{
    if (ops == NULL || ops->task == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "pool: no task to run");
    }
    if (n_tasks == 0) {
        return ERR_OK;
    }
    struct pool_state p = {.ops = ops, .ctx = ctx, .n_tasks = n_tasks, .rc = ERR_OK};
    struct pool_thread *threads = NULL;
    struct err why = ERR_INIT; /* why fewer threads started than asked */
    size_t started = 0;
    enum err_code rc = ERR_OK;
    pthread_mutex_init(&p.lock, NULL);
    size_t n_threads = max_threads <= 1 ? 1 : (size_t)max_threads;
    if (n_threads > n_tasks) {
        n_threads = n_tasks;
    }
    if (n_threads <= 1 || ops->thread_init == NULL) {
        work(&p, inline_state);
        goto out_result;
    }
    threads = calloc(n_threads, sizeof(*threads));
    if (threads == NULL) {
        rc = err_set(err, ERR_NOMEM, "pool: out of memory for %zu threads", n_threads);
        goto out;
    }
    started = start_threads(&p, threads, n_threads, &why);
    if (started == 0) {
        rc = why.code;
        if (err != NULL) {
            *err = why;
        }
        goto out;
    }
    if (started < n_threads) {
        /* The threads that started do all the work: say why there are fewer, and go on. */
        log_warn("pool: %zu of %zu threads started (%s); continuing with %zu", started, n_threads,
                 why.msg, started);
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i].id, NULL);
    }
    for (size_t i = 0; ops->thread_cleanup != NULL && i < started; i++) {
        ops->thread_cleanup(ctx, threads[i].tstate);
    }
out_result:
    if (p.rc != ERR_OK) {
        rc = p.rc;
        if (err != NULL) {
            *err = p.err;
        }
    }
out:
    free(threads);
    pthread_mutex_destroy(&p.lock);
    return rc;
}
