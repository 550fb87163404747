/*
 * sys.c - the real clocks (CLOCK_REALTIME, CLOCK_MONOTONIC), nanosleep and OpenSSL's CSPRNG.
 */
#include "sys.h"

#include <errno.h>
#include <time.h>

#include <openssl/rand.h>

static int64_t real_wall_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_mono_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void real_sleep_ms(void *ctx, int64_t ms)
{
    (void)ctx;
    if (ms <= 0) {
        return;
    }
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t real_random_u64(void *ctx)
{
    (void)ctx;
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, (int)sizeof(v)) != 1) {
        /* Jitter only: a weak fallback is acceptable, never a failure. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint64_t)ts.tv_nsec * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    return v;
}

const struct sys *sys_real(void)
{
    static const struct sys real = {
        .wall_ms = real_wall_ms,
        .mono_ms = real_mono_ms,
        .sleep_ms = real_sleep_ms,
        .random_u64 = real_random_u64,
        .ctx = NULL,
    };
    return &real;
}
