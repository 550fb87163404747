/*
 * etl_regex.c - compiling a translated pattern (etl_regex_xlat) with regcomp and searching with
 * regexec, the subject passed as a byte range (REG_STARTEND).
 */
#include "etl_regex.h"

#include <stdio.h>
#include <string.h>

#include "etl_regex_xlat.h"

enum err_code etl_regex_compile(struct cur pattern,
                                bool with_groups,
                                struct etl_regex *out,
                                size_t *where,
                                struct err *err)
{
    memset(out, 0, sizeof(*out));
    *where = 0;
    if (pattern.len > ETL_REGEX_MAX_PATTERN) {
        return err_set(err, ERR_INVALID_INPUT, "regex: pattern of %zu bytes is over %d",
                       pattern.len, ETL_REGEX_MAX_PATTERN);
    }
    struct buf posix = BUF_INIT(0);
    enum err_code rc = etl_regex_xlat(pattern, &posix, out, where, err);
    if (rc == ERR_OK) {
        int flags = REG_EXTENDED | (out->icase ? REG_ICASE : 0) | (with_groups ? 0 : REG_NOSUB);
        int code = regcomp(&out->re, buf_cstr(&posix), flags);
        if (code != 0) {
            char msg[128];
            regerror(code, &out->re, msg, sizeof(msg));
            rc = err_set(err, ERR_INVALID_INPUT, "regex: %s", msg);
        } else {
            out->compiled = true;
        }
    }
    buf_cleanup(&posix);
    if (rc != ERR_OK) {
        etl_regex_free(out);
    }
    return rc;
}

void etl_regex_free(struct etl_regex *r)
{
    if (r == NULL) {
        return;
    }
    if (r->compiled) {
        regfree(&r->re);
    }
    memset(r, 0, sizeof(*r));
}

enum err_code etl_regex_search(const struct etl_regex *r,
                               struct cur subject,
                               bool *found,
                               struct etl_regex_span *spans,
                               size_t n_spans,
                               struct err *err)
{
    regmatch_t m[ETL_REGEX_MAX_GROUPS + 1];
    *found = false;
    if (!r->compiled) {
        return err_set(err, ERR_INVALID_INPUT, "regex: not compiled");
    }
    if (subject.len > (size_t)INT32_MAX) {
        return err_set(err, ERR_TOO_LARGE, "regex: subject of %zu bytes", subject.len);
    }
    /* REG_STARTEND (glibc, BSD): the subject is pmatch[0]'s range, NULs and all. */
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)subject.len;
    size_t nmatch = spans != NULL && n_spans > 0 ? r->n_posix + 1 : 0;
    const char *text = subject.ptr != NULL ? (const char *)subject.ptr : "";
    int code = regexec(&r->re, text, nmatch, m, REG_STARTEND);
    if (code == REG_NOMATCH) {
        return ERR_OK;
    }
    if (code != 0) {
        char msg[128];
        regerror(code, &r->re, msg, sizeof(msg));
        return err_set(err, code == REG_ESPACE ? ERR_NOMEM : ERR_INVALID_INPUT, "regex: %s", msg);
    }
    *found = true;
    for (size_t k = 0; k < n_spans && nmatch > 0; k++) {
        if (k > r->n_groups) {
            spans[k].start = spans[k].end = -1;
            continue;
        }
        const regmatch_t *g = &m[k == 0 ? 0 : r->group_map[k]];
        spans[k].start = g->rm_so;
        spans[k].end = g->rm_so < 0 ? -1 : g->rm_eo;
    }
    return ERR_OK;
}
