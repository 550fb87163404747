/*
 * http_curl.h - the real HTTP transport: one libcurl easy handle, kept across requests so the
 * connection (and TLS session) stays warm between invocations.
 * Ownership: http_curl_new() returns a transport the caller frees with http_transport_free().
 * Contract: curl_global_init() must have run (main() does it once). TLS peer and host
 * verification are always on; ca_file is the bundle to trust (NULL = libcurl's default).
 * Threads: one transport per thread (export segments each get their own).
 */
#ifndef ETL_HTTP_CURL_H
#define ETL_HTTP_CURL_H

#include "http.h"

struct http_curl_options {
    const char *ca_file;        /* CA bundle path for https; copied */
    int64_t connect_timeout_ms; /* default when the request gives none; 0 = 3000 */
    long low_speed_limit_bps;   /* abort when slower than this ... */
    long low_speed_time_s;      /* ... for this long; 0 = off (the Runtime API) */
};

MUST_CHECK struct http_transport *http_curl_new(const struct http_curl_options *opts,
                                                struct err *err);

/* True when a request that failed with this libcurl code (a CURLcode) can be sent again. */
bool http_curl_is_retryable(int curl_code);

#endif
