/*
 * etl_rate.h - a read-capacity budget shared by a run's segments (ETL_MAX_RCU, like Glue's
 * dynamodb.throughput.read.percent): units per second refill a bucket that Scan pages draw on;
 * a page's actual ConsumedCapacity may overdraw it, and then the next page waits.
 * Ownership: plain struct with a mutex; threads share one.
 */
#ifndef ETL_RATE_H
#define ETL_RATE_H

#include <pthread.h>
#include <stdint.h>

struct etl_rate {
    pthread_mutex_t lock;
    double per_s; /* 0 = unlimited */
    double tokens;
    int64_t last_ms;
};

void etl_rate_init(struct etl_rate *r, double per_s, int64_t now_ms);
void etl_rate_cleanup(struct etl_rate *r);
/* Milliseconds to wait before the next request (0 = go). */
int64_t etl_rate_wait_ms(struct etl_rate *r, int64_t now_ms);
/* Charges units actually consumed. */
void etl_rate_consume(struct etl_rate *r, double units, int64_t now_ms);

#endif
