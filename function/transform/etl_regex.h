/*
 * etl_regex.h - regular expressions in Java's syntax (as Trino's regexp_like and regexp_extract
 * take them), run by POSIX regcomp/regexec (glibc, REG_EXTENDED) through a translation layer.
 *
 * Translated: \d \D \w \W \s \S (Java's ASCII classes), \p{Lower} \p{Upper} \p{Alpha} \p{Digit}
 *   \p{Alnum} \p{Punct} \p{Graph} \p{Print} \p{Blank} \p{Cntrl} \p{XDigit} \p{Space} \p{ASCII}
 *   (and \P{...} outside brackets), escaped punctuation (\. \( \$ ...), \t \n \r \f \a \e,
 *   \xhh \x{h...} \uhhhh \0ooo, \Q...\E, \A and \z (start and end), \b and \B, non-capturing
 *   (?:...) and named (?<name>...) groups, and a leading (?i) (REG_ICASE, ASCII letters only).
 * UTF-8: '.' and negated classes match one whole character (a 1- to 4-byte UTF-8 sequence; '.'
 *   not a newline), a quantifier after a multi-byte character repeats the character, and
 *   group numbers are the pattern's own (the groups the translation adds are skipped).
 * Refused, with the offset of the construct (never a silently different match): lookahead
 *   (?= (?!, lookbehind (?<= (?<!, atomic groups (?>, backreferences \1 \k<name>, lazy *? +?
 *   ?? {n,m}? and possessive *+ ++ ?+ {n,m}+ quantifiers, other inline flags ((?s) (?m) (?x)
 *   (?i) after the start, (?i:...)), \G \Z \R \h \v \X and other escapes POSIX lacks, nested
 *   classes and && in brackets, non-ASCII characters inside brackets ([éè]: write (é|è)), \D \W
 *   \S \P inside brackets, \x00, and a bound over ETL_REGEX_MAX_REPEAT.
 * Where matches still differ from Java: POSIX takes the leftmost-longest match, Java the
 *   leftmost-first (regexp_extract('abcd', 'a|ab') is 'ab' here, 'a' in Trino; a yes/no test is
 *   the same); '$' matches only at the very end (Java also before a final line terminator); \b
 *   is ASCII-word based.
 * Safety on untrusted data: glibc's regexec runs an automaton without backtracking when there
 *   are no backreferences (refused here), so time is polynomial in the subject (sub-match
 *   positions can cost quadratic time); subjects are items of at most 400 KB. Patterns are
 *   bounded in length (ETL_REGEX_MAX_PATTERN), in counted repetition and in the size their
 *   repetitions expand to (ETL_REGEX_MAX_EXPANSION), so regcomp's memory stays small. regexec
 *   itself allocates internally; nothing else here allocates per match.
 * Ownership: an etl_regex owns its compiled pattern (etl_regex_free).
 * Threads: a compiled etl_regex may be searched from one thread at a time.
 */
#ifndef ETL_REGEX_H
#define ETL_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_REGEX_MAX_PATTERN   1024  /* bytes of pattern */
#define ETL_REGEX_MAX_REPEAT    1000  /* the largest n or m in {n,m} */
#define ETL_REGEX_MAX_EXPANSION 20000 /* atoms once counted repetitions are expanded */
#define ETL_REGEX_MAX_GROUPS    255   /* POSIX subexpressions, the added ones included */

struct etl_regex {
    regex_t re;
    bool compiled;
    bool icase;
    size_t n_groups;                              /* the pattern's capturing groups */
    uint16_t group_map[ETL_REGEX_MAX_GROUPS + 1]; /* group k -> POSIX subexpression */
    size_t n_posix;                               /* POSIX subexpressions */
};

/* A match or group position in bytes; start is -1 for a group that took no part. */
struct etl_regex_span {
    ptrdiff_t start;
    ptrdiff_t end;
};

/*
 * Translates and compiles a Java pattern. with_groups false compiles for yes/no searches only
 * (REG_NOSUB: faster). On error, ERR_INVALID_INPUT says what is not supported ("regex:
 * lookahead (?= is not supported") and *where is the byte offset of the construct.
 */
MUST_CHECK enum err_code etl_regex_compile(struct cur pattern,
                                           bool with_groups,
                                           struct etl_regex *out,
                                           size_t *where,
                                           struct err *err);
/* Accepts NULL and never-compiled (zeroed) regexes. */
void etl_regex_free(struct etl_regex *r);

/*
 * Searches subject (not anchored: the pattern may match anywhere, as Trino's regexp_like). When
 * *found and spans is given (a regex compiled with groups), spans[0] is the match and spans[k]
 * group k, for k < n_spans and k <= n_groups. The subject may hold NUL bytes (the range is
 * passed with REG_STARTEND, and glibc reads nothing past it), but must be followed by a NUL
 * that belongs to its buffer: sanitizers' regexec interceptors read the string up to a NUL.
 */
MUST_CHECK enum err_code etl_regex_search(const struct etl_regex *r,
                                          struct cur subject,
                                          bool *found,
                                          struct etl_regex_span *spans,
                                          size_t n_spans,
                                          struct err *err);

#endif
