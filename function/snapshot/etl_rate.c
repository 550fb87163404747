/*
 * etl_rate.c - token bucket for read capacity. The bucket holds at most one second of budget, so
 * an idle period does not allow a burst above the configured rate.
 */
#include "etl_rate.h"

#include <string.h>

void etl_rate_init(struct etl_rate *r, double per_s, int64_t now_ms)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->per_s = per_s;
    r->tokens = per_s;
    r->last_ms = now_ms;
}

void etl_rate_cleanup(struct etl_rate *r)
{
    if (r != NULL) {
        pthread_mutex_destroy(&r->lock);
    }
}

static void refill(struct etl_rate *r, int64_t now_ms)
{
    if (now_ms > r->last_ms) {
        r->tokens += r->per_s * (double)(now_ms - r->last_ms) / 1000.0;
        if (r->tokens > r->per_s) {
            r->tokens = r->per_s;
        }
        r->last_ms = now_ms;
    }
}

int64_t etl_rate_wait_ms(struct etl_rate *r, int64_t now_ms)
{
    if (r->per_s <= 0) {
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    refill(r, now_ms);
    int64_t wait = r->tokens >= 0 ? 0 : (int64_t)(-r->tokens * 1000.0 / r->per_s) + 1;
    pthread_mutex_unlock(&r->lock);
    return wait;
}

void etl_rate_consume(struct etl_rate *r, double units, int64_t now_ms)
{
    if (r->per_s <= 0) {
        return;
    }
    pthread_mutex_lock(&r->lock);
    refill(r, now_ms);
    r->tokens -= units;
    pthread_mutex_unlock(&r->lock);
}
