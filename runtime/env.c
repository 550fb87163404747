/*
 * env.c - typed, validated lookups in an environment block.
 */
#include "env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *env_get(char *const *envp, const char *name)
{
    if (envp == NULL) {
        return NULL;
    }
    size_t n = strlen(name);
    for (char *const *e = envp; *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
            return *e + n + 1;
        }
    }
    return NULL;
}

const char *env_get_nonempty(char *const *envp, const char *name)
{
    const char *v = env_get(envp, name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

enum err_code env_get_i64(char *const *envp,
                          const char *name,
                          int64_t def,
                          int64_t min,
                          int64_t max,
                          int64_t *out,
                          struct err *err)
{
    const char *v = env_get_nonempty(envp, name);
    if (v == NULL) {
        *out = def;
        return ERR_OK;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        return err_set(err, ERR_CONFIG, "%s=\"%.64s\": expected an integer from %lld to %lld", name,
                       v, (long long)min, (long long)max);
    }
    *out = n;
    return ERR_OK;
}

enum err_code
env_get_bool(char *const *envp, const char *name, bool def, bool *out, struct err *err)
{
    const char *v = env_get_nonempty(envp, name);
    if (v == NULL) {
        *out = def;
        return ERR_OK;
    }
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0) {
        *out = true;
        return ERR_OK;
    }
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0) {
        *out = false;
        return ERR_OK;
    }
    return err_set(err, ERR_CONFIG, "%s=\"%.64s\": expected true or false", name, v);
}

enum err_code env_get_choice(char *const *envp,
                             const char *name,
                             const char *const *choices,
                             int n_choices,
                             int def_index,
                             int *out,
                             struct err *err)
{
    const char *v = env_get_nonempty(envp, name);
    if (v == NULL) {
        *out = def_index;
        return ERR_OK;
    }
    for (int i = 0; i < n_choices; i++) {
        if (strcasecmp(v, choices[i]) == 0) {
            *out = i;
            return ERR_OK;
        }
    }
    char allowed[200] = "";
    size_t used = 0;
    for (int i = 0; i < n_choices && used < sizeof(allowed); i++) {
        int n = snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
                         i == 0 ? "" : (i == n_choices - 1 ? " or " : ", "), choices[i]);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
    return err_set(err, ERR_CONFIG, "%s=\"%.64s\": expected %s", name, v, allowed);
}
