/*
 * etl_regex_xlat.c - Java patterns translated into POSIX extended ones for glibc's regcomp.
 * Character classes are collected into an ASCII bitmap and emitted in a canonical bracket form,
 * so Java's and POSIX's bracket syntaxes never meet; constructs POSIX cannot express are refused
 * with the offset where they start; the expansion of counted repetition is tallied per group.
 */
#include "etl_regex_xlat.h"

#include <stdio.h>
#include <string.h>

#include "etl_utf8.h"

#define XLAT_MAX_DEPTH 64 /* nested groups */

/* The rest of a UTF-8 character after its first byte, as alternatives of a POSIX group. The
 * translation never matches half a character: '.' and negated classes take one of these. */
#define UTF8_MULTI                                                                                 \
    "[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf][\x80-\xbf]|"                                    \
    "[\xf0-\xf4][\x80-\xbf][\x80-\xbf][\x80-\xbf]"
/* The single bytes that are not part of a multi-byte character, inside a bracket. */
#define UTF8_HIGH "\x80-\xff"

struct level {
    size_t total; /* expanded atoms of this level, the last one excluded */
    size_t last;  /* expanded atoms of the last atom */
};

struct xlat {
    struct cur pat;
    size_t i;
    struct buf *out; /* the POSIX pattern */
    struct etl_regex *re;
    size_t *where;
    struct err *err;
    struct level levels[XLAT_MAX_DEPTH + 1];
    int depth;
    bool have_atom;  /* a quantifier may follow */
    bool quantified; /* the last atom has one */
};

/* ASCII sets as 128-bit maps. */
struct set {
    uint8_t bits[16];
};

static void set_add(struct set *s, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi && c < 128; c++) {
        s->bits[c / 8] |= (uint8_t)(1u << (c % 8));
    }
}

static bool set_has(const struct set *s, unsigned c)
{
    return c < 128 && (s->bits[c / 8] & (1u << (c % 8))) != 0;
}

static void set_del(struct set *s, unsigned c)
{
    s->bits[c / 8] &= (uint8_t) ~(1u << (c % 8));
}

/* Adds pairs of (lo, hi) bytes. */
static void set_add_ranges(struct set *s, const char *pairs)
{
    for (size_t i = 0; pairs[i] != '\0' && pairs[i + 1] != '\0'; i += 2) {
        set_add(s, (uint8_t)pairs[i], (uint8_t)pairs[i + 1]);
    }
}

/* Java's \p{...} names for ASCII classes (java.util.regex.Pattern, "POSIX character classes"). */
static const struct {
    const char *name;
    const char *ranges;
} posix_classes[] = {
    {"Lower", "az"},     {"Upper", "AZ"},     {"ASCII", "\x01\x7f"},         {"Alpha", "azAZ"},
    {"Digit", "09"},     {"Alnum", "azAZ09"}, {"Punct", "!/:@[`{~"},         {"Graph", "!~"},
    {"Print", " ~"},     {"Blank", "  \t\t"}, {"Cntrl", "\x01\x1f\x7f\x7f"}, {"XDigit", "09afAF"},
    {"Space", "  \t\r"},
};

static enum err_code refuse(struct xlat *x, size_t at, const char *what)
{
    *x->where = at;
    return err_set(x->err, ERR_INVALID_INPUT, "regex: %s", what);
}

static enum err_code emit(struct xlat *x, const char *s, size_t n)
{
    return buf_append(x->out, s, n, x->err);
}

static enum err_code emit_str(struct xlat *x, const char *s)
{
    return emit(x, s, strlen(s));
}

static size_t sat_add(size_t a, size_t b)
{
    return a + b < a ? SIZE_MAX : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
    return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static enum err_code check_expansion(struct xlat *x, size_t at)
{
    size_t sum = 0;
    for (int d = 0; d <= x->depth; d++) {
        sum = sat_add(sum, sat_add(x->levels[d].total, x->levels[d].last));
    }
    if (sum > ETL_REGEX_MAX_EXPANSION) {
        return refuse(x, at, "pattern too complex: its repetitions expand past 20000 atoms");
    }
    return ERR_OK;
}

/* A new atom of `size` expanded atoms has been emitted. */
static void atom_done(struct xlat *x, size_t size)
{
    struct level *l = &x->levels[x->depth];
    l->total = sat_add(l->total, l->last);
    l->last = size;
    x->have_atom = true;
    x->quantified = false;
}

/* Something that is not an atom (an anchor, '|'): a quantifier may not follow. */
static void no_atom(struct xlat *x)
{
    struct level *l = &x->levels[x->depth];
    l->total = sat_add(l->total, l->last);
    l->last = 0;
    x->have_atom = false;
    x->quantified = false;
}

static enum err_code count_posix_group(struct xlat *x, size_t at)
{
    if (x->re->n_posix >= ETL_REGEX_MAX_GROUPS) {
        return refuse(x, at,
                      "pattern too complex: over 255 groups (each '.' and negated class "
                      "counts one)");
    }
    x->re->n_posix++;
    return ERR_OK;
}

/* A group the translation adds around text: not numbered for the pattern's user. */
static enum err_code emit_hidden_group(struct xlat *x, size_t at, const char *a, const char *b)
{
    enum err_code rc = count_posix_group(x, at);
    if (rc == ERR_OK) {
        rc = emit(x, "(", 1);
    }
    if (rc == ERR_OK) {
        rc = emit_str(x, a);
    }
    if (rc == ERR_OK && b != NULL) {
        rc = emit_str(x, b);
    }
    if (rc == ERR_OK) {
        rc = emit(x, ")", 1);
    }
    if (rc == ERR_OK) {
        atom_done(x, 8);
    }
    return rc;
}

/* ---- literals ---- */

static bool is_ere_special(uint8_t c)
{
    return c != '\0' && strchr(".[]()*+?{}|^$\\", c) != NULL;
}

static bool next_is_quantifier(const struct xlat *x, size_t pos)
{
    if (pos >= x->pat.len) {
        return false;
    }
    uint8_t c = x->pat.ptr[pos];
    return c == '*' || c == '+' || c == '?' || c == '{';
}

/* One literal character (a code point), then the pattern continues at next. */
static enum err_code emit_literal(struct xlat *x, size_t at, uint32_t cp, size_t next)
{
    if (cp == 0) {
        return refuse(x, at, "a NUL character (\\x00) is not supported");
    }
    if (cp < 0x80) {
        char s[3] = {'\\', (char)cp, '\0'};
        atom_done(x, 1);
        return is_ere_special((uint8_t)cp) ? emit(x, s, 2) : emit(x, s + 1, 1);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return refuse(x, at, "not a Unicode scalar value");
    }
    uint8_t u[5] = {0};
    size_t n = buf_utf8_encode(cp, u);
    u[n] = '\0';
    if (next_is_quantifier(x, next)) {
        /* A quantifier repeats the whole character, not its last byte. */
        return emit_hidden_group(x, at, (const char *)u, NULL);
    }
    atom_done(x, 1);
    return emit(x, (const char *)u, n);
}

/* The UTF-8 character at pos; false (refused) when the bytes are not one. */
static enum err_code utf8_at(struct xlat *x, size_t pos, uint32_t *cp, size_t *len)
{
    bool valid = false;
    *cp = etl_utf8_decode(x->pat.ptr + pos, x->pat.len - pos, len, &valid);
    return valid ? ERR_OK : refuse(x, pos, "the pattern is not valid UTF-8");
}

/* ---- sets ---- */

/* Emits a bracket's members in an order POSIX reads literally: ']' first, '[' and '^' late, '-'
 * last, and the rest as runs. high adds the non-ASCII bytes (for a negated set). */
static enum err_code emit_members(struct xlat *x, const struct set *in, bool high)
{
    struct set s = *in;
    bool rb = set_has(&s, ']'), lb = set_has(&s, '['), caret = set_has(&s, '^');
    bool dash = set_has(&s, '-');
    set_del(&s, ']');
    set_del(&s, '[');
    set_del(&s, '^');
    set_del(&s, '-');
    enum err_code rc = rb ? emit(x, "]", 1) : ERR_OK;
    if (rc == ERR_OK && high) {
        rc = emit_str(x, UTF8_HIGH);
    }
    for (unsigned c = 1; c < 128 && rc == ERR_OK; c++) {
        if (!set_has(&s, c)) {
            continue;
        }
        unsigned hi = c;
        while (hi + 1 < 128 && set_has(&s, hi + 1)) {
            hi++;
        }
        /* "a", "ab" or "a-z" */
        char run[3] = {(char)c, hi == c + 1 ? (char)hi : '-', (char)hi};
        rc = emit(x, run, hi == c ? 1 : (hi == c + 1 ? 2 : 3));
        c = hi;
    }
    if (rc == ERR_OK && lb) {
        rc = emit(x, "[", 1);
    }
    if (rc == ERR_OK && dash && caret && x->out->len > 0 && x->out->data[x->out->len - 1] == '[') {
        rc = emit(x, "-^", 2); /* nothing before: '-' first is literal, then '^' is not first */
        dash = caret = false;
    }
    if (rc == ERR_OK && caret) {
        rc = emit(x, "^", 1);
    }
    if (rc == ERR_OK && dash) {
        rc = emit(x, "-", 1);
    }
    return rc;
}

static bool set_is_only(const struct set *s, unsigned c)
{
    struct set only = {{0}};
    set_add(&only, c, c);
    return memcmp(s->bits, only.bits, sizeof(only.bits)) == 0;
}

/* A set as one atom: a bracket, or for a negated set a group that also takes whole UTF-8
 * characters. */
static enum err_code emit_set(struct xlat *x, size_t at, const struct set *s, bool negated)
{
    enum err_code rc;
    if (negated) {
        rc = count_posix_group(x, at);
        if (rc == ERR_OK) {
            rc = emit(x, "([^", 3);
        }
        if (rc == ERR_OK) {
            rc = emit_members(x, s, true);
        }
        if (rc == ERR_OK) {
            rc = emit_str(x, "]|" UTF8_MULTI ")");
        }
        atom_done(x, 8);
        return rc;
    }
    if (set_is_only(s, '^')) {
        atom_done(x, 1);
        return emit(x, "\\^", 2);
    }
    rc = emit(x, "[", 1);
    if (rc == ERR_OK) {
        rc = emit_members(x, s, false);
    }
    if (rc == ERR_OK) {
        rc = emit(x, "]", 1);
    }
    atom_done(x, 1);
    return rc;
}

/* The set a class escape stands for (\d \w \s, \p{...}); *negated for \D \W \S \P{...}. Returns
 * false when the escape at pos is not a class; *len is its length. */
static enum err_code
class_escape(struct xlat *x, size_t pos, struct set *s, bool *negated, bool *is_class, size_t *len)
{
    uint8_t e = x->pat.ptr[pos + 1];
    memset(s, 0, sizeof(*s));
    *is_class = true;
    *len = 2;
    *negated = e == 'D' || e == 'W' || e == 'S' || e == 'P';
    switch (e) {
    case 'd':
    case 'D':
        set_add_ranges(s, "09");
        return ERR_OK;
    case 'w':
    case 'W':
        set_add_ranges(s, "azAZ09__");
        return ERR_OK;
    case 's':
    case 'S':
        set_add_ranges(s, "  \t\r");
        return ERR_OK;
    case 'p':
    case 'P': {
        size_t start = pos + 3, end = start;
        if (pos + 2 >= x->pat.len || x->pat.ptr[pos + 2] != '{') {
            return refuse(x, pos, "\\p needs a {Name}");
        }
        while (end < x->pat.len && x->pat.ptr[end] != '}') {
            end++;
        }
        if (end >= x->pat.len) {
            return refuse(x, pos, "unclosed \\p{...}");
        }
        struct cur name = cur_make(x->pat.ptr + start, end - start);
        for (size_t k = 0; k < sizeof(posix_classes) / sizeof(posix_classes[0]); k++) {
            if (cur_eq_str(name, posix_classes[k].name)) {
                set_add_ranges(s, posix_classes[k].ranges);
                *len = end + 1 - pos;
                return ERR_OK;
            }
        }
        return refuse(x, pos,
                      "only the ASCII classes \\p{Lower} \\p{Upper} \\p{Alpha} \\p{Digit} "
                      "\\p{Alnum} \\p{Punct} \\p{Graph} \\p{Print} \\p{Blank} \\p{Cntrl} "
                      "\\p{XDigit} \\p{Space} \\p{ASCII} are supported");
    }
    default:
        *is_class = false;
        return ERR_OK;
    }
}

/* A hex number of at most max_digits digits at pos; false if none. */
static bool take_hex(const struct xlat *x, size_t pos, size_t max_digits, uint32_t *v, size_t *n)
{
    *v = 0;
    *n = 0;
    while (*n < max_digits && pos + *n < x->pat.len) {
        uint8_t c = x->pat.ptr[pos + *n];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0) {
            break;
        }
        *v = *v * 16 + (uint32_t)h;
        (*n)++;
    }
    return *n > 0;
}

/* A character escape at pos (\t, \x41, \u00e9, \., ...): its code point and length. */
static enum err_code char_escape(struct xlat *x, size_t pos, uint32_t *cp, size_t *len)
{
    if (pos + 1 >= x->pat.len) {
        return refuse(x, pos, "a pattern cannot end with a backslash");
    }
    uint8_t e = x->pat.ptr[pos + 1];
    size_t n = 0;
    *len = 2;
    switch (e) {
    case 't':
        *cp = '\t';
        return ERR_OK;
    case 'n':
        *cp = '\n';
        return ERR_OK;
    case 'r':
        *cp = '\r';
        return ERR_OK;
    case 'f':
        *cp = '\f';
        return ERR_OK;
    case 'a':
        *cp = 0x07;
        return ERR_OK;
    case 'e':
        *cp = 0x1B;
        return ERR_OK;
    case 'x':
        if (pos + 2 < x->pat.len && x->pat.ptr[pos + 2] == '{') {
            if (!take_hex(x, pos + 3, 6, cp, &n) || pos + 3 + n >= x->pat.len ||
                x->pat.ptr[pos + 3 + n] != '}') {
                return refuse(x, pos, "\\x{...} needs hex digits and a closing brace");
            }
            *len = 4 + n;
            return ERR_OK;
        }
        if (!take_hex(x, pos + 2, 2, cp, &n) || n != 2) {
            return refuse(x, pos, "\\x needs two hex digits");
        }
        *len = 4;
        return ERR_OK;
    case 'u':
        if (!take_hex(x, pos + 2, 4, cp, &n) || n != 4) {
            return refuse(x, pos, "\\u needs four hex digits");
        }
        *len = 6;
        return ERR_OK;
    case '0': {
        uint32_t v = 0;
        size_t k = pos + 2;
        while (k < x->pat.len && k < pos + 5 && x->pat.ptr[k] >= '0' && x->pat.ptr[k] <= '7' &&
               v * 8 + (x->pat.ptr[k] - '0') <= 0377) {
            v = v * 8 + (x->pat.ptr[k] - '0');
            k++;
        }
        if (k == pos + 2) {
            return refuse(x, pos, "\\0 needs octal digits");
        }
        *cp = v;
        *len = k - pos;
        return ERR_OK;
    }
    default:
        break;
    }
    if (e >= '1' && e <= '9') {
        return refuse(x, pos, "backreferences (\\1) are not supported");
    }
    if (e == 'k') {
        return refuse(x, pos, "backreferences (\\k<name>) are not supported");
    }
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) {
        char what[64];
        snprintf(what, sizeof(what), "\\%c is not supported", e);
        return refuse(x, pos, what);
    }
    if (e >= 0x80) {
        return refuse(x, pos, "a backslash before a non-ASCII character is not supported");
    }
    *cp = e; /* escaped punctuation or digit-less symbol stands for itself */
    return ERR_OK;
}

/* A bracket expression [...] at x->i. */
static enum err_code translate_class(struct xlat *x)
{
    size_t start = x->i;
    size_t j = x->i + 1;
    bool negated = j < x->pat.len && x->pat.ptr[j] == '^';
    struct set s = {{0}};
    j += negated;
    bool first = true;
    for (;;) {
        if (j >= x->pat.len) {
            return refuse(x, start, "unclosed character class [");
        }
        uint8_t c = x->pat.ptr[j];
        if (c == ']' && !first) {
            j++;
            break;
        }
        first = false;
        if (c == '[') {
            return refuse(x, j, "nested classes and unions [a[b]] are not supported");
        }
        if (c == '&' && j + 1 < x->pat.len && x->pat.ptr[j + 1] == '&') {
            return refuse(x, j, "class intersection && is not supported");
        }
        uint32_t lo = c;
        size_t len = 1;
        if (c == '\\') {
            if (j + 1 >= x->pat.len) {
                return refuse(x, j, "unclosed character class [");
            }
            struct set cls;
            bool cls_neg = false, is_class = false;
            enum err_code rc = class_escape(x, j, &cls, &cls_neg, &is_class, &len);
            if (rc != ERR_OK) {
                return rc;
            }
            if (is_class) {
                if (cls_neg) {
                    return refuse(x, j, "\\D \\W \\S and \\P inside [...] are not supported");
                }
                for (size_t k = 0; k < sizeof(s.bits); k++) {
                    s.bits[k] |= cls.bits[k];
                }
                j += len;
                continue;
            }
            rc = char_escape(x, j, &lo, &len);
            if (rc != ERR_OK) {
                return rc;
            }
        } else if (c >= 0x80) {
            return refuse(x, j, "non-ASCII characters inside [...] are not supported: write (a|b)");
        }
        j += len;
        uint32_t hi = lo;
        if (j + 1 < x->pat.len && x->pat.ptr[j] == '-' && x->pat.ptr[j + 1] != ']') {
            size_t range_at = j;
            uint8_t h = x->pat.ptr[j + 1];
            len = 1;
            hi = h;
            if (h == '\\') {
                enum err_code rc = char_escape(x, j + 1, &hi, &len);
                if (rc != ERR_OK) {
                    return rc;
                }
            } else if (h == '[') {
                return refuse(x, j + 1, "nested classes and unions [a[b]] are not supported");
            } else if (h >= 0x80) {
                return refuse(x, j + 1,
                              "non-ASCII characters inside [...] are not supported: write (a|b)");
            }
            if (hi < lo) {
                return refuse(x, range_at, "a range's end is before its start");
            }
            j += 1 + len;
        }
        if (lo == 0) {
            return refuse(x, start, "a NUL character (\\x00) is not supported");
        }
        if (hi >= 0x80) {
            return refuse(x, start,
                          "non-ASCII characters inside [...] are not supported: write (a|b)");
        }
        set_add(&s, lo, hi);
    }
    x->i = j;
    return emit_set(x, start, &s, negated);
}

/* {n}, {n,} or {n,m} at x->i: the repetition factor it expands to, and its length. */
static enum err_code parse_bound(struct xlat *x, size_t *factor, size_t *len)
{
    size_t j = x->i + 1, n = 0, m = 0, digits = 0;
    while (j < x->pat.len && x->pat.ptr[j] >= '0' && x->pat.ptr[j] <= '9' && n <= 100000) {
        n = n * 10 + (x->pat.ptr[j++] - '0');
        digits++;
    }
    bool comma = j < x->pat.len && x->pat.ptr[j] == ',';
    bool bounded = !comma;
    m = n;
    if (comma) {
        j++;
        size_t mdigits = 0;
        m = 0;
        while (j < x->pat.len && x->pat.ptr[j] >= '0' && x->pat.ptr[j] <= '9' && m <= 100000) {
            m = m * 10 + (x->pat.ptr[j++] - '0');
            mdigits++;
        }
        bounded = mdigits > 0;
    }
    if (digits == 0 || j >= x->pat.len || x->pat.ptr[j] != '}') {
        return refuse(x, x->i, "'{' must start a repetition {n}, {n,} or {n,m}");
    }
    if (n > ETL_REGEX_MAX_REPEAT || (bounded && m > ETL_REGEX_MAX_REPEAT)) {
        return refuse(x, x->i, "a repetition bound over 1000 is not supported");
    }
    if (bounded && m < n) {
        return refuse(x, x->i, "a repetition {n,m} needs n <= m");
    }
    *factor = bounded ? (m > 0 ? m : 1) : n + 1;
    *len = j + 1 - x->i;
    return ERR_OK;
}

static enum err_code translate_quantifier(struct xlat *x)
{
    size_t at = x->i;
    uint8_t c = x->pat.ptr[at];
    size_t factor = c == '+' ? 2 : 1, len = 1;
    if (!x->have_atom || x->quantified) {
        return refuse(x, at, "a quantifier needs something to repeat");
    }
    if (c == '{') {
        enum err_code rc = parse_bound(x, &factor, &len);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    size_t next = at + len;
    if (next < x->pat.len && x->pat.ptr[next] == '?') {
        return refuse(x, at, "lazy quantifiers (*? +? ?? {n,m}?) are not supported");
    }
    if (next < x->pat.len && x->pat.ptr[next] == '+') {
        return refuse(x, at, "possessive quantifiers (*+ ++ ?+ {n,m}+) are not supported");
    }
    struct level *l = &x->levels[x->depth];
    l->last = sat_mul(l->last, factor);
    x->quantified = true;
    x->i = next;
    enum err_code rc = check_expansion(x, at);
    return rc == ERR_OK ? emit(x, (const char *)x->pat.ptr + at, len) : rc;
}

/* '(' at x->i: a capturing, non-capturing or named group, or a refused (?...) construct. */
static enum err_code translate_open(struct xlat *x)
{
    size_t at = x->i;
    const uint8_t *p = x->pat.ptr + at;
    size_t rest = x->pat.len - at;
    bool user = true;
    size_t len = 1;
    if (rest >= 2 && p[1] == '?') {
        if (rest >= 3 && p[2] == ':') {
            user = false;
            len = 3;
        } else if (rest >= 3 && p[2] == '=') {
            return refuse(x, at, "lookahead (?= is not supported");
        } else if (rest >= 3 && p[2] == '!') {
            return refuse(x, at, "negative lookahead (?! is not supported");
        } else if (rest >= 4 && p[2] == '<' && (p[3] == '=' || p[3] == '!')) {
            return refuse(x, at, "lookbehind (?<= (?<! is not supported");
        } else if (rest >= 3 && p[2] == '>') {
            return refuse(x, at, "atomic groups (?> are not supported");
        } else if (rest >= 3 && p[2] == '<') {
            size_t k = 3;
            while (k < rest && ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z') ||
                                (p[k] >= '0' && p[k] <= '9'))) {
                k++;
            }
            if (k == 3 || k >= rest || p[k] != '>') {
                return refuse(x, at, "a named group needs (?<name>...)");
            }
            len = k + 1;
        } else if (rest >= 4 && p[2] == 'i' && p[3] == ')') {
            return refuse(x, at, "the flag (?i) is supported only at the start of the pattern");
        } else {
            return refuse(x, at, "inline flags such as (?s) (?m) (?x) (?i:...) are not supported");
        }
    }
    if (x->depth >= XLAT_MAX_DEPTH) {
        return refuse(x, at, "groups nested deeper than 64 levels");
    }
    enum err_code rc = count_posix_group(x, at);
    if (rc != ERR_OK) {
        return rc;
    }
    if (user) {
        x->re->n_groups++;
        x->re->group_map[x->re->n_groups] = (uint16_t)x->re->n_posix;
    }
    x->depth++;
    x->levels[x->depth] = (struct level){0, 0};
    x->have_atom = false;
    x->quantified = false;
    x->i += len;
    return emit(x, "(", 1);
}

static enum err_code translate_close(struct xlat *x)
{
    if (x->depth == 0) {
        return refuse(x, x->i, "unmatched ')'");
    }
    struct level *l = &x->levels[x->depth];
    size_t size = sat_add(sat_add(l->total, l->last), 2);
    x->depth--;
    atom_done(x, size);
    x->i++;
    return emit(x, ")", 1);
}

/* A backslash outside brackets at x->i. */
static enum err_code translate_escape(struct xlat *x)
{
    size_t at = x->i;
    if (at + 1 >= x->pat.len) {
        return refuse(x, at, "a pattern cannot end with a backslash");
    }
    uint8_t e = x->pat.ptr[at + 1];
    struct set s;
    bool negated = false, is_class = false;
    size_t len = 2;
    enum err_code rc = class_escape(x, at, &s, &negated, &is_class, &len);
    if (rc != ERR_OK) {
        return rc;
    }
    if (is_class) {
        x->i += len;
        return emit_set(x, at, &s, negated);
    }
    switch (e) {
    case 'b':
    case 'B':
        /* glibc's word boundaries (ASCII letters, digits and '_' in the C locale) */
        no_atom(x);
        x->i += 2;
        return emit(x, e == 'b' ? "\\b" : "\\B", 2);
    case 'A':
        no_atom(x);
        x->i += 2;
        return emit(x, "^", 1);
    case 'z':
        no_atom(x);
        x->i += 2;
        return emit(x, "$", 1);
    case 'Q': {
        size_t j = at + 2;
        while (j < x->pat.len &&
               !(x->pat.ptr[j] == '\\' && j + 1 < x->pat.len && x->pat.ptr[j + 1] == 'E')) {
            size_t n = 1;
            uint32_t cp = 0;
            rc = utf8_at(x, j, &cp, &n);
            if (rc == ERR_OK) {
                rc = emit_literal(x, j, cp, j + n);
            }
            if (rc != ERR_OK) {
                return rc;
            }
            j += n;
        }
        x->i = j < x->pat.len ? j + 2 : j;
        return ERR_OK;
    }
    case 'E':
        x->i += 2; /* \E without \Q is ignored, as in Java */
        return ERR_OK;
    default:
        break;
    }
    uint32_t cp = 0;
    rc = char_escape(x, at, &cp, &len);
    if (rc == ERR_OK) {
        rc = emit_literal(x, at, cp, at + len);
        x->i += len;
    }
    return rc;
}

enum err_code etl_regex_xlat(struct cur pattern,
                             struct buf *posix,
                             struct etl_regex *re,
                             size_t *where,
                             struct err *err)
{
    struct xlat xs;
    struct xlat *x = &xs;
    memset(x, 0, sizeof(*x));
    x->pat = pattern;
    x->re = re;
    x->where = where;
    x->err = err;
    x->out = posix;
    enum err_code rc = ERR_OK;
    if (x->pat.len >= 4 && memcmp(x->pat.ptr, "(?i)", 4) == 0) {
        x->re->icase = true;
        x->i = 4;
    }
    while (rc == ERR_OK && x->i < x->pat.len) {
        uint8_t c = x->pat.ptr[x->i];
        size_t n = 1;
        switch (c) {
        case '\\':
            rc = translate_escape(x);
            break;
        case '[':
            rc = translate_class(x);
            break;
        case '(':
            rc = translate_open(x);
            break;
        case ')':
            rc = translate_close(x);
            break;
        case '|':
        case '^':
        case '$':
            no_atom(x);
            rc = emit(x, (const char *)&c, 1);
            x->i++;
            break;
        case '*':
        case '+':
        case '?':
        case '{':
            rc = translate_quantifier(x);
            break;
        case '.':
            rc = emit_hidden_group(x, x->i, "[^\n" UTF8_HIGH "]|", UTF8_MULTI);
            x->i++;
            break;
        default: {
            uint32_t cp = 0;
            rc = utf8_at(x, x->i, &cp, &n);
            if (rc == ERR_OK) {
                rc = emit_literal(x, x->i, cp, x->i + n);
            }
            x->i += n;
            break;
        }
        }
        if (rc == ERR_OK) {
            rc = check_expansion(x, x->i);
        }
    }
    if (rc == ERR_OK && x->depth > 0) {
        rc = refuse(x, x->pat.len, "unclosed group: expected ')'");
    }
    return rc;
}
