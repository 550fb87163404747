/*
 * http.c - transport-independent HTTP helpers: responses, header lookup, CA bundle probing.
 */
#include "http.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

void http_response_init(struct http_response *resp, size_t max_body_bytes)
{
    resp->status = 0;
    buf_init(&resp->headers, HTTP_HEADERS_MAX_BYTES);
    buf_init(&resp->body, max_body_bytes);
}

void http_response_reset(struct http_response *resp)
{
    resp->status = 0;
    buf_reset(&resp->headers);
    buf_reset(&resp->body);
}

void http_response_cleanup(struct http_response *resp)
{
    if (resp == NULL) {
        return;
    }
    buf_cleanup(&resp->headers);
    buf_cleanup(&resp->body);
    resp->status = 0;
}

bool http_response_header(const struct http_response *resp, const char *name, struct cur *value)
{
    size_t nlen = strlen(name);
    const uint8_t *p = resp->headers.data;
    const uint8_t *end = p + resp->headers.len;
    while (p != NULL && p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *line_end = eol != NULL ? eol : end;
        const uint8_t *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon != NULL && (size_t)(colon - p) == nlen &&
            strncasecmp((const char *)p, name, nlen) == 0) {
            *value = cur_trim(cur_make(colon + 1, (size_t)(line_end - colon - 1)));
            return true;
        }
        p = eol != NULL ? eol + 1 : end;
    }
    return false;
}

void http_transport_free(struct http_transport *t)
{
    if (t != NULL && t->destroy != NULL) {
        t->destroy(t);
    }
}

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

const char *http_ca_bundle_probe(const char *ssl_cert_file, bool (*exists)(const char *path))
{
    static const char *const candidates[] = {
        "/etc/pki/tls/certs/ca-bundle.crt",                  /* Amazon Linux 2023 and 2, RHEL */
        "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* Fedora, RHEL 7+ */
        "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
        "/etc/pki/tls/cacert.pem",                           /* OpenELEC */
        "/etc/ssl/cert.pem",                                 /* Alpine, macOS */
    };
    if (exists == NULL) {
        exists = file_exists;
    }
    if (ssl_cert_file != NULL && ssl_cert_file[0] != '\0') {
        return exists(ssl_cert_file) ? ssl_cert_file : NULL;
    }
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (exists(candidates[i])) {
            return candidates[i];
        }
    }
    return NULL;
}
