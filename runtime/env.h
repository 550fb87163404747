/*
 * env.h - reading configuration from an explicit environment block (envp), never getenv().
 * Ownership: returned strings borrow from envp.
 * Errors: a present but invalid value is ERR_CONFIG naming the variable and what it accepts.
 */
#ifndef ETL_ENV_H
#define ETL_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* The value of name in envp, or NULL when unset. */
const char *env_get(char *const *envp, const char *name);
/* Like env_get, but an empty value counts as unset. */
const char *env_get_nonempty(char *const *envp, const char *name);

/* Integer in [min, max]; unset or empty gives def. */
MUST_CHECK enum err_code env_get_i64(char *const *envp,
                                     const char *name,
                                     int64_t def,
                                     int64_t min,
                                     int64_t max,
                                     int64_t *out,
                                     struct err *err);

/* true/false/1/0/yes/no (case-insensitive); unset or empty gives def. */
MUST_CHECK enum err_code
env_get_bool(char *const *envp, const char *name, bool def, bool *out, struct err *err);

/* One of the allowed strings (case-insensitive), as its index; unset or empty gives def_index. */
MUST_CHECK enum err_code env_get_choice(char *const *envp,
                                        const char *name,
                                        const char *const *choices,
                                        int n_choices,
                                        int def_index,
                                        int *out,
                                        struct err *err);

#endif
