/*
 * fake_sys.c - deterministic clocks for unit tests. Each call takes the fake's lock: export
 * segments and parallel uploads use one fake from several threads.
 */
#include "fake_sys.h"

#include <string.h>

static int64_t fs_wall(void *ctx)
{
    struct fake_sys *f = ctx;
    pthread_mutex_lock(&f->lock);
    int64_t v = f->wall_ms;
    pthread_mutex_unlock(&f->lock);
    return v;
}

static int64_t fs_mono(void *ctx)
{
    struct fake_sys *f = ctx;
    pthread_mutex_lock(&f->lock);
    int64_t v = f->mono_ms;
    pthread_mutex_unlock(&f->lock);
    return v;
}

static void fs_sleep(void *ctx, int64_t ms)
{
    struct fake_sys *f = ctx;
    pthread_mutex_lock(&f->lock);
    if (f->n_sleeps < FAKE_SYS_MAX_SLEEPS) {
        f->sleeps[f->n_sleeps++] = ms;
    }
    f->mono_ms += ms;
    f->wall_ms += ms;
    pthread_mutex_unlock(&f->lock);
}

static uint64_t fs_random(void *ctx)
{
    struct fake_sys *f = ctx;
    pthread_mutex_lock(&f->lock);
    uint64_t v = f->fixed_random;
    if (v == 0) {
        f->random_state = f->random_state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = f->random_state;
    }
    pthread_mutex_unlock(&f->lock);
    return v;
}

void fake_sys_init(struct fake_sys *f, int64_t wall_ms)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->sys.wall_ms = fs_wall;
    f->sys.mono_ms = fs_mono;
    f->sys.sleep_ms = fs_sleep;
    f->sys.random_u64 = fs_random;
    f->sys.ctx = f;
    f->wall_ms = wall_ms;
    f->mono_ms = 1000000;
    f->random_state = 42;
}
