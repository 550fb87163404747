/*
 * fake_sys.c - deterministic clocks for unit tests.
 */
#include "fake_sys.h"

#include <string.h>

static int64_t fs_wall(void *ctx)
{
    struct fake_sys *f = ctx;
    return f->wall_ms;
}

static int64_t fs_mono(void *ctx)
{
    struct fake_sys *f = ctx;
    return f->mono_ms;
}

static void fs_sleep(void *ctx, int64_t ms)
{
    struct fake_sys *f = ctx;
    if (f->n_sleeps < FAKE_SYS_MAX_SLEEPS) {
        f->sleeps[f->n_sleeps++] = ms;
    }
    f->mono_ms += ms;
    f->wall_ms += ms;
}

static uint64_t fs_random(void *ctx)
{
    struct fake_sys *f = ctx;
    if (f->fixed_random != 0) {
        return f->fixed_random;
    }
    f->random_state = f->random_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return f->random_state;
}

void fake_sys_init(struct fake_sys *f, int64_t wall_ms)
{
    memset(f, 0, sizeof(*f));
    f->sys.wall_ms = fs_wall;
    f->sys.mono_ms = fs_mono;
    f->sys.sleep_ms = fs_sleep;
    f->sys.random_u64 = fs_random;
    f->sys.ctx = f;
    f->wall_ms = wall_ms;
    f->mono_ms = 1000000;
    f->random_state = 42;
}
