/*
 * pool.h - a worker pool: runs tasks 0..n-1 on a few threads, each thread with its own state
 * (its HTTP connection and AWS client), taking tasks in index order until none is left or one
 * fails. Made for export segments and parallel uploads.
 * Ownership: pool_run borrows ops, ctx and inline_state for the call. Thread states are made by
 *   ops->thread_init and released by ops->thread_cleanup, both in the calling thread; the pool
 *   keeps nothing after pool_run returns.
 * Errors: the first task failure stops the pool from starting further tasks (those running
 *   finish) and is returned with its err. Threads that cannot be set up are not an error while
 *   at least one starts: pool_run logs a warning and goes on with fewer.
 * Threads: task may run on several threads at once, each call with its own thread's state; what
 *   ctx holds that tasks share is the caller's to guard. thread_init and thread_cleanup run in the
 *   calling thread only.
 */
#ifndef ETL_POOL_H
#define ETL_POOL_H

#include <stddef.h>

#include "err.h"

struct pool_ops {
    /* Per-thread state (e.g. the thread's own HTTP connection and AWS client); NULL with err set
     * when it cannot be made. A NULL thread_init runs every task in the calling thread with
     * pool_run's inline_state. */
    void *(*thread_init)(void *ctx, struct err *err);
    /* Releases what thread_init made; may be NULL. Called once per state thread_init returned. */
    void (*thread_cleanup)(void *ctx, void *tstate);
    /* Runs task `index` with the thread's state; a failure stops the pool from starting further
     * tasks. */
    enum err_code (*task)(void *ctx, void *tstate, size_t index, struct err *err);
};

/*
 * Runs tasks 0..n_tasks-1 on up to max_threads threads (never more than n_tasks). With
 * max_threads <= 1, or when thread_init is NULL, runs them in the calling thread with
 * inline_state. If only some threads start, logs a warning (log_warn) naming how many and why,
 * and continues with those; if none start, returns that error. Returns ERR_OK or the first task
 * failure (its err). Tasks are taken in index order; n_tasks 0 runs nothing.
 */
MUST_CHECK enum err_code pool_run(size_t n_tasks,
                                  int max_threads,
                                  const struct pool_ops *ops,
                                  void *ctx,
                                  void *inline_state,
                                  struct err *err);

#endif
