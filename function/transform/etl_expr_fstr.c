/*
 * etl_expr_fstr.c - the string functions of expressions, on code points as Trino's are (length,
 * substr, strpos and split_part count characters, not bytes), with Java's notions of case
 * (etl_casemap) and whitespace. Results borrow the argument where they can (trim, substr,
 * split_part) and are otherwise built in the environment's arena in one allocation.
 */
#include "etl_expr_fstr.h"

#include <string.h>

#include "etl_casemap.h"
#include "etl_decimal.h"
#include "etl_utf8.h"

/* ---- case and whitespace ---- */

static enum err_code map_case(const struct etl_expr_node *call,
                              const struct etl_value *args,
                              const struct etl_expr_env *env,
                              struct etl_value *out,
                              bool upper,
                              struct err *err)
{
    (void)call;
    struct cur s;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc != ERR_OK) {
        return rc;
    }
    /* First the length of the result (a mapping may change a character's width), and whether
     * anything changes at all: an unchanged string is borrowed. */
    size_t n = 0, len = 0;
    bool changed = false, valid = false;
    for (size_t i = 0; i < s.len; i += len) {
        uint32_t cp = etl_utf8_decode(s.ptr + i, s.len - i, &len, &valid);
        uint32_t m = !valid ? cp : upper ? etl_casemap_upper(cp) : etl_casemap_lower(cp);
        changed |= m != cp;
        n += m != cp ? etl_utf8_width(m) : len;
    }
    if (!changed) {
        etl_expr_func_set_string(out, s);
        return ERR_OK;
    }
    uint8_t *dst = NULL;
    rc = etl_arena_alloc(env->arena, n, &dst, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t w = 0;
    for (size_t i = 0; i < s.len; i += len) {
        uint32_t cp = etl_utf8_decode(s.ptr + i, s.len - i, &len, &valid);
        uint32_t m = !valid ? cp : upper ? etl_casemap_upper(cp) : etl_casemap_lower(cp);
        if (m != cp) {
            w += buf_utf8_encode(m, dst + w);
        } else {
            memcpy(dst + w, s.ptr + i, len);
            w += len;
        }
    }
    etl_expr_func_set_string(out, cur_make(dst, w));
    return ERR_OK;
}

static enum err_code fn_lower(const struct etl_expr_node *call,
                              const struct etl_value *args,
                              const struct etl_expr_env *env,
                              struct etl_value *out,
                              struct err *err)
{
    return map_case(call, args, env, out, false, err);
}

static enum err_code fn_upper(const struct etl_expr_node *call,
                              const struct etl_value *args,
                              const struct etl_expr_env *env,
                              struct etl_value *out,
                              struct err *err)
{
    return map_case(call, args, env, out, true, err);
}

/* Java's Character.isWhitespace, which Trino's trim functions use: space separators other than
 * the no-break ones, the line and paragraph separators, and \t \n \v \f \r and U+001C..U+001F. */
static bool is_java_whitespace(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x2006) || (cp >= 0x2008 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x205F || cp == 0x3000;
}

static enum err_code trim(const struct etl_value *args,
                          const struct etl_expr_env *env,
                          struct etl_value *out,
                          bool left,
                          bool right,
                          struct err *err)
{
    struct cur s;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t a = 0, b = s.len, len = 0;
    bool valid = false;
    while (left && a < b && is_java_whitespace(etl_utf8_decode(s.ptr + a, b - a, &len, &valid))) {
        a += len;
    }
    while (right && b > a) {
        size_t start = b - 1;
        while (start > a && (s.ptr[start] & 0xC0) == 0x80) {
            start--;
        }
        uint32_t cp = etl_utf8_decode(s.ptr + start, b - start, &len, &valid);
        if (start + len != b || !is_java_whitespace(cp)) {
            break;
        }
        b = start;
    }
    etl_expr_func_set_string(out, cur_make(s.ptr + a, b - a));
    return ERR_OK;
}

static enum err_code fn_trim(const struct etl_expr_node *call,
                             const struct etl_value *args,
                             const struct etl_expr_env *env,
                             struct etl_value *out,
                             struct err *err)
{
    (void)call;
    return trim(args, env, out, true, true, err);
}

static enum err_code fn_ltrim(const struct etl_expr_node *call,
                              const struct etl_value *args,
                              const struct etl_expr_env *env,
                              struct etl_value *out,
                              struct err *err)
{
    (void)call;
    return trim(args, env, out, true, false, err);
}

static enum err_code fn_rtrim(const struct etl_expr_node *call,
                              const struct etl_value *args,
                              const struct etl_expr_env *env,
                              struct etl_value *out,
                              struct err *err)
{
    (void)call;
    return trim(args, env, out, false, true, err);
}

static enum err_code fn_length(const struct etl_expr_node *call,
                               const struct etl_value *args,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    (void)call;
    struct cur s;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    return rc == ERR_OK
               ? etl_expr_func_set_i64(out, (int64_t)etl_utf8_count(s.ptr, s.len), env->arena, err)
               : rc;
}

/* ---- substrings ---- */

/* Trino's substring(string, start[, length]): 1-based code points, a negative start counts
 * from the end, 0 or past the end is empty, and a length of 0 or less is empty. */
static enum err_code fn_substr(const struct etl_expr_node *call,
                               const struct etl_value *args,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    struct cur s;
    int64_t start = 0, length = INT64_MAX;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc == ERR_OK) {
        rc = etl_expr_func_int_arg(call, &args[1], "start", &start, err);
    }
    if (rc == ERR_OK && call->n_kids == 3) {
        rc = etl_expr_func_int_arg(call, &args[2], "length", &length, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    etl_expr_func_set_string(out, cur_make(s.ptr, 0));
    if (start == 0 || length <= 0 || s.len == 0) {
        return ERR_OK;
    }
    int64_t count = (int64_t)etl_utf8_count(s.ptr, s.len);
    int64_t first = start > 0 ? start - 1 : count + start; /* 0-based */
    if (first < 0 || first >= count) {
        return ERR_OK;
    }
    int64_t end = length >= count - first ? count : first + length;
    size_t a = etl_utf8_offset(s, (size_t)first);
    size_t b = a + etl_utf8_offset(cur_make(s.ptr + a, s.len - a), (size_t)(end - first));
    etl_expr_func_set_string(out, cur_make(s.ptr + a, b - a));
    return ERR_OK;
}

static const uint8_t *find(struct cur hay, size_t from, struct cur needle)
{
    if (from > hay.len || needle.len > hay.len - from) {
        return NULL;
    }
    return memmem(hay.ptr + from, hay.len - from, needle.ptr, needle.len);
}

/* Trino's split_part: 1-based field; past the last field is NULL; an empty delimiter splits
 * into code points. */
static enum err_code fn_split_part(const struct etl_expr_node *call,
                                   const struct etl_value *args,
                                   const struct etl_expr_env *env,
                                   struct etl_value *out,
                                   struct err *err)
{
    struct cur s, d;
    int64_t index = 0;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc == ERR_OK) {
        rc = etl_value_text(&args[1], env->arena, &d, err);
    }
    if (rc == ERR_OK) {
        rc = etl_expr_func_int_arg(call, &args[2], "index", &index, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (index <= 0) {
        return etl_expr_node_fail(call, err, "split_part", "index must be greater than zero");
    }
    *out = etl_value_null();
    if (d.len == 0) {
        if ((uint64_t)index > (uint64_t)etl_utf8_count(s.ptr, s.len)) {
            return ERR_OK;
        }
        size_t a = etl_utf8_offset(s, (size_t)index - 1);
        size_t b = a + etl_utf8_offset(cur_make(s.ptr + a, s.len - a), 1);
        etl_expr_func_set_string(out, cur_make(s.ptr + a, b - a));
        return ERR_OK;
    }
    size_t field_start = 0;
    for (int64_t field = 1;; field++) {
        const uint8_t *m = find(s, field_start, d);
        size_t field_end = m != NULL ? (size_t)(m - s.ptr) : s.len;
        if (field == index) {
            etl_expr_func_set_string(out, cur_make(s.ptr + field_start, field_end - field_start));
            return ERR_OK;
        }
        if (m == NULL) {
            return ERR_OK; /* fewer fields than index: NULL */
        }
        field_start = field_end + d.len;
    }
}

static enum err_code fn_concat(const struct etl_expr_node *call,
                               const struct etl_value *args,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    struct cur parts[ETL_EXPR_NODE_MAX_ARGS];
    size_t total = 0;
    for (size_t i = 0; i < call->n_kids; i++) {
        enum err_code rc = etl_value_text(&args[i], env->arena, &parts[i], err);
        if (rc != ERR_OK) {
            return rc;
        }
        total += parts[i].len;
    }
    uint8_t *dst = NULL;
    enum err_code rc = etl_arena_alloc(env->arena, total > 0 ? total : 1, &dst, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t w = 0;
    for (size_t i = 0; i < call->n_kids; i++) {
        if (parts[i].len > 0) {
            memcpy(dst + w, parts[i].ptr, parts[i].len);
            w += parts[i].len;
        }
    }
    etl_expr_func_set_string(out, cur_make(dst, w));
    return ERR_OK;
}

/* Trino's replace: every non-overlapping occurrence, left to right; an empty search inserts the
 * replacement before every code point and at the end. */
static enum err_code fn_replace(const struct etl_expr_node *call,
                                const struct etl_value *args,
                                const struct etl_expr_env *env,
                                struct etl_value *out,
                                struct err *err)
{
    struct cur s, from, to = cur_make("", 0);
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc == ERR_OK) {
        rc = etl_value_text(&args[1], env->arena, &from, err);
    }
    if (rc == ERR_OK && call->n_kids == 3) {
        rc = etl_value_text(&args[2], env->arena, &to, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    /* Count first, so the result is one allocation. */
    size_t matches = 0;
    if (from.len == 0) {
        matches = etl_utf8_count(s.ptr, s.len) + 1;
    } else {
        for (const uint8_t *m = find(s, 0, from); m != NULL;
             m = find(s, (size_t)(m - s.ptr) + from.len, from)) {
            matches++;
        }
    }
    if (matches == 0) {
        etl_expr_func_set_string(out, s);
        return ERR_OK;
    }
    size_t total = s.len - (from.len * (from.len > 0 ? matches : 0)) + to.len * matches;
    uint8_t *dst = NULL;
    rc = etl_arena_alloc(env->arena, total > 0 ? total : 1, &dst, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t w = 0, i = 0;
    if (from.len == 0) {
        for (size_t k = 0; k < matches; k++) {
            memcpy(dst + w, to.ptr, to.len);
            w += to.len;
            size_t next = i + etl_utf8_offset(cur_make(s.ptr + i, s.len - i), 1);
            memcpy(dst + w, s.ptr + i, next - i);
            w += next - i;
            i = next;
        }
    } else {
        for (const uint8_t *m = find(s, 0, from); m != NULL; m = find(s, i, from)) {
            size_t at = (size_t)(m - s.ptr);
            memcpy(dst + w, s.ptr + i, at - i);
            w += at - i;
            if (to.len > 0) {
                memcpy(dst + w, to.ptr, to.len);
                w += to.len;
            }
            i = at + from.len;
        }
        memcpy(dst + w, s.ptr + i, s.len - i);
        w += s.len - i;
    }
    etl_expr_func_set_string(out, cur_make(dst, w));
    return ERR_OK;
}

static enum err_code affix(const struct etl_value *args,
                           const struct etl_expr_env *env,
                           struct etl_value *out,
                           bool prefix,
                           struct err *err)
{
    struct cur s, a;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc == ERR_OK) {
        rc = etl_value_text(&args[1], env->arena, &a, err);
    }
    if (rc == ERR_OK) {
        bool fits = a.len <= s.len;
        const uint8_t *at = prefix ? s.ptr : s.ptr + (s.len - (fits ? a.len : 0));
        etl_expr_func_set_bool(out, fits && (a.len == 0 || memcmp(at, a.ptr, a.len) == 0));
    }
    return rc;
}

static enum err_code fn_starts_with(const struct etl_expr_node *call,
                                    const struct etl_value *args,
                                    const struct etl_expr_env *env,
                                    struct etl_value *out,
                                    struct err *err)
{
    (void)call;
    return affix(args, env, out, true, err);
}

static enum err_code fn_ends_with(const struct etl_expr_node *call,
                                  const struct etl_value *args,
                                  const struct etl_expr_env *env,
                                  struct etl_value *out,
                                  struct err *err)
{
    (void)call;
    return affix(args, env, out, false, err);
}

/* Trino's strpos: the 1-based code point where sub first starts, 0 if nowhere, 1 for ''. */
static enum err_code fn_strpos(const struct etl_expr_node *call,
                               const struct etl_value *args,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    (void)call;
    struct cur s, sub;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc == ERR_OK) {
        rc = etl_value_text(&args[1], env->arena, &sub, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (sub.len == 0) {
        return etl_expr_func_set_i64(out, 1, env->arena, err);
    }
    const uint8_t *m = find(s, 0, sub);
    int64_t pos = m == NULL ? 0 : (int64_t)etl_utf8_count(s.ptr, (size_t)(m - s.ptr)) + 1;
    return etl_expr_func_set_i64(out, pos, env->arena, err);
}

/* Checks a literal index of split_part at compile time. */
static enum err_code
prepare_split_part(struct etl_expr_node *call, struct cur text, struct err *err)
{
    (void)text;
    const struct etl_expr_node *index = call->kids[2];
    struct etl_decimal d;
    struct err ignored = ERR_INIT;
    if (etl_expr_node_is_literal(index, ETL_V_NUMBER) &&
        etl_decimal_parse(index->lit.s, &d, &ignored) == ERR_OK && (d.n == 0 || d.neg)) {
        return etl_expr_node_fail(index, err, "split_part", "index must be greater than zero");
    }
    return ERR_OK;
}

#define MANY ETL_EXPR_NODE_MAX_ARGS

const struct etl_expr_func etl_expr_fstr_funcs[] = {
    {"lower", 1, 1, false, fn_lower, NULL, NULL},
    {"upper", 1, 1, false, fn_upper, NULL, NULL},
    {"length", 1, 1, false, fn_length, NULL, NULL},
    {"trim", 1, 1, false, fn_trim, NULL, NULL},
    {"ltrim", 1, 1, false, fn_ltrim, NULL, NULL},
    {"rtrim", 1, 1, false, fn_rtrim, NULL, NULL},
    {"substr", 2, 3, false, fn_substr, NULL, NULL},
    {"substring", 2, 3, false, fn_substr, NULL, NULL},
    {"split_part", 3, 3, false, fn_split_part, NULL, prepare_split_part},
    {"concat", 2, MANY, false, fn_concat, NULL, NULL},
    {"replace", 2, 3, false, fn_replace, NULL, NULL},
    {"starts_with", 2, 2, false, fn_starts_with, NULL, NULL},
    {"ends_with", 2, 2, false, fn_ends_with, NULL, NULL},
    {"strpos", 2, 2, false, fn_strpos, NULL, NULL},
};

const size_t etl_expr_fstr_count = sizeof(etl_expr_fstr_funcs) / sizeof(etl_expr_fstr_funcs[0]);
