/*
 * fake_sys.h - a controllable struct sys for unit tests: a settable wall clock, a monotonic
 * clock that sleeping advances, recorded sleeps and a deterministic random sequence.
 */
#ifndef ETL_FAKE_SYS_H
#define ETL_FAKE_SYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sys.h"

#define FAKE_SYS_MAX_SLEEPS 64

struct fake_sys {
    struct sys sys; /* pass &f->sys */
    int64_t wall_ms;
    int64_t mono_ms;
    int64_t sleeps[FAKE_SYS_MAX_SLEEPS];
    size_t n_sleeps;
    uint64_t random_state;
    uint64_t fixed_random; /* when nonzero, random_u64 returns this */
    pthread_mutex_t lock;  /* taken by every call through sys (tests read the fields directly) */
};

void fake_sys_init(struct fake_sys *f, int64_t wall_ms);

#endif
