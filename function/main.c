/*
 * main.c - the bootstrap: reads the configuration once, builds the real dependencies (curl
 * transports, clocks), then serves the Runtime API until SIGTERM. Configuration errors go to
 * /runtime/init/error and end the process with a non-zero status.
 */
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "env.h"
#include "etl_app.h"
#include "http_curl.h"
#include "log.h"
#include "rt_loop.h"
#include "sys.h"

extern char **environ;

static struct rt_signals g_signals;

static void on_sigterm(int sig)
{
    (void)sig;
    g_signals.stop = 1;
    if (g_signals.waiting) {
        /* Idle in /next: nothing is in flight, so leaving now loses nothing. */
        static const char msg[] = "SIGTERM received while idle; exiting\n";
        ssize_t n = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
        (void)n;
        _exit(0);
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int init_failed(struct rt_client *rt, const struct err *e)
{
    struct err perr = ERR_INIT;
    const char *type = e->code == ERR_CONFIG ? "Runtime.ConfigInvalid" : rt_error_type(e);
    log_write(LOG_FATAL, (struct log_field[]){LOG_STR("errorType", type)}, 1, "init failed: %s",
              e->msg);
    if (rt_init_error(rt, type, e->msg, &perr) != ERR_OK) {
        log_error("could not report the init error: %s", perr.msg);
    }
    return 1;
}

int main(void)
{
    char *const *envp = environ;
    struct err err = ERR_INIT;
    struct rt_client rt;
    struct http_transport *rt_http = NULL;
    struct etl_app app;
    bool app_ready = false;
    int status = 1;

    install_signals();
    /* Buffers of 128 KiB and more (pages, objects, events) come from mmap and go back to the
     * kernel when freed. glibc's default raises this threshold after the first large free, and
     * then big transient buffers fragment the heap: peak RSS creeps up with the amount of data
     * processed instead of staying bounded by the largest batch or page. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    /* The Runtime API is plain HTTP on loopback: no TLS, no low-speed abort (/next may idle). */
    struct http_curl_options rt_opts = {.connect_timeout_ms = 1000};
    rt_http = http_curl_new(&rt_opts, &err);
    if (rt_http == NULL) {
        fprintf(stderr, "init failed: %s\n", err.msg);
        goto out;
    }
    if (rt_client_init(&rt, env_get(envp, "AWS_LAMBDA_RUNTIME_API"), rt_http, sys_real(), &err) !=
        ERR_OK) {
        log_fatal("init failed: %s", err.msg);
        goto out;
    }
    if (log_configure(env_get(envp, "AWS_LAMBDA_LOG_FORMAT"), env_get(envp, "AWS_LAMBDA_LOG_LEVEL"),
                      &err) != ERR_OK) {
        status = init_failed(&rt, &err);
        goto out;
    }
    app_ready = true;
    if (etl_app_init(&app, envp, sys_real(), &err) != ERR_OK) {
        status = init_failed(&rt, &err);
        goto out;
    }
    log_debug("init done");
    if (rt_run(&rt, etl_handler_invoke, &app.handler, &g_signals, &err) != ERR_OK) {
        log_fatal("Runtime API failed: %s", err.msg);
        goto out;
    }
    log_info("stopped by signal");
    status = 0;
out:
    if (app_ready) {
        etl_app_cleanup(&app);
    }
    http_transport_free(rt_http);
    log_clear_secrets();
    curl_global_cleanup();
    return status;
}
