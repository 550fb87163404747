/*
 * sys.h - the clocks, sleep and randomness the rest of the code may use, behind one struct so
 * tests can pass fakes (a fake sleep is a no-op that records the delay).
 * Ownership: sys_real() returns a static, immutable struct; callers never free it.
 * Threads: the real implementation is thread-safe.
 */
#ifndef ETL_SYS_H
#define ETL_SYS_H

#include <stdint.h>

struct sys {
    int64_t (*wall_ms)(void *ctx);           /* X-Amz-Date, partition keys */
    int64_t (*mono_ms)(void *ctx);           /* deadlines, backoff; never goes backwards */
    void (*sleep_ms)(void *ctx, int64_t ms); /* backoff waits; a no-op in tests */
    uint64_t (*random_u64)(void *ctx);       /* retry jitter */
    void *ctx;
};

const struct sys *sys_real(void);

static inline int64_t sys_wall_ms(const struct sys *s)
{
    return s->wall_ms(s->ctx);
}

static inline int64_t sys_mono_ms(const struct sys *s)
{
    return s->mono_ms(s->ctx);
}

static inline void sys_sleep_ms(const struct sys *s, int64_t ms)
{
    s->sleep_ms(s->ctx, ms);
}

static inline uint64_t sys_random_u64(const struct sys *s)
{
    return s->random_u64(s->ctx);
}

/*
 * Deadlines are monotonic times (sys_mono_ms), with 0 meaning "none"; a wall-clock deadline is
 * converted once, where it arrives (rt_invocation_deadline_mono), so a clock step cannot move it.
 */

/* Milliseconds until deadline_mono_ms: INT64_MAX when it is 0 (no deadline), negative once past. */
static inline int64_t sys_ms_left(const struct sys *s, int64_t deadline_mono_ms)
{
    if (deadline_mono_ms == 0) {
        return INT64_MAX;
    }
    return deadline_mono_ms - sys_mono_ms(s);
}

/* The deadline ms from now (now_mono + ms), for sys_ms_left. */
static inline int64_t sys_deadline_in(const struct sys *s, int64_t ms)
{
    return sys_mono_ms(s) + ms;
}

#endif
