/*
 * test_datetime.c - the calendar of TIMESTAMP and DATE values: ISO-8601 forms with offsets and
 * fractions, refusals with their reasons, rendering across years and before 1970, ISO weeks, and
 * every MySQL specifier date_format takes (the values were checked against Python's datetime).
 */
#include <string.h>

#include "etl_datetime.h"
#include "test_util.h"

struct parse_row {
    const char *name;
    const char *text;
    bool ok;
    int64_t ms;      /* when ok */
    bool date_only;  /* when ok */
    const char *why; /* a fragment of the reason, when not ok */
};

static const struct parse_row parse_rows[] = {
    {"date", "2026-11-24", true, 1795478400000, true, NULL},
    {"lake_form", "2026-11-24T07:00:00.000Z", true, 1795503600000, false, NULL},
    {"space_no_zone", "2026-11-24 07:00:00", true, 1795503600000, false, NULL},
    {"no_seconds", "2026-11-24T07:00", true, 1795503600000, false, NULL},
    {"lower_t_z", "2026-11-24t07:00:00z", true, 1795503600000, false, NULL},
    {"offset_colon", "2026-11-24T02:00:00.123-05:00", true, 1795503600123, false, NULL},
    {"offset_compact", "2026-11-24T12:30:00+0530", true, 1795503600000, false, NULL},
    {"offset_hours", "2026-11-24T09:00:00+02", true, 1795503600000, false, NULL},
    {"utc_suffix", "2026-11-24 07:00:00 UTC", true, 1795503600000, false, NULL},
    {"fraction_1", "2026-11-24T07:00:00.5Z", true, 1795503600500, false, NULL},
    {"fraction_comma", "2026-11-24T07:00:00,25Z", true, 1795503600250, false, NULL},
    {"fraction_9_zeros", "2026-11-24T07:00:00.123000000Z", true, 1795503600123, false, NULL},
    {"before_epoch", "1969-12-31T23:59:59.999Z", true, -1, false, NULL},
    {"leap_day", "2016-02-29", true, 1456704000000, true, NULL},
    {"year_1", "0001-01-01T00:00:00Z", true, -62135596800000, false, NULL},
    {"year_9999", "9999-12-31T23:59:59.999Z", true, 253402300799999, false, NULL},
    {"fraction_finer", "2026-11-24T07:00:00.1234Z", false, 0, false, "finer than milli"},
    {"fraction_10_digits", "2026-11-24T07:00:00.1230000000Z", false, 0, false, "ISO-8601"},
    {"fraction_empty", "2026-11-24T07:00:00.Z", false, 0, false, "ISO-8601"},
    {"not_leap", "2026-02-29", false, 0, false, "day is out of range"},
    {"month_13", "2026-13-01", false, 0, false, "month is out of range"},
    {"hour_24", "2026-11-24T24:00:00Z", false, 0, false, "time is out of range"},
    {"second_60", "2026-11-24T23:59:60Z", false, 0, false, "time is out of range"},
    {"offset_19", "2026-11-24T07:00:00+19:00", false, 0, false, "offset is out of range"},
    {"offset_bad", "2026-11-24T07:00:00+5", false, 0, false, "offset is not"},
    {"trailing", "2026-11-24T07:00:00Zx", false, 0, false, "unexpected text"},
    {"short_year", "26-11-24", false, 0, false, "ISO-8601"},
    {"slashes", "2026/11/24", false, 0, false, "ISO-8601"},
    {"empty", "", false, 0, false, "ISO-8601"},
    {"hour_only", "2026-11-24T07", false, 0, false, "ISO-8601"},
};

static void test_parse_row(void **state)
{
    const struct parse_row *row = *state;
    int64_t ms = 0;
    bool date_only = false;
    const char *why = NULL;
    bool ok = etl_datetime_parse_iso8601(cur_from_str(row->text), &ms, &date_only, &why);
    assert_int_equal(ok, row->ok);
    if (ok) {
        assert_true(ms == row->ms);
        assert_int_equal(date_only, row->date_only);
    } else if (strstr(why, row->why) == NULL) {
        fail_msg("reason \"%s\" lacks \"%s\"", why, row->why);
    }
}

struct render_row {
    const char *name;
    int64_t ms;
    const char *timestamp;
    const char *date;
};

static const struct render_row render_rows[] = {
    {"epoch", 0, "1970-01-01T00:00:00.000Z", "1970-01-01"},
    {"before_epoch", -1, "1969-12-31T23:59:59.999Z", "1969-12-31"},
    {"lake", 1795503600123, "2026-11-24T07:00:00.123Z", "2026-11-24"},
    {"leap", 1456704000000, "2016-02-29T00:00:00.000Z", "2016-02-29"},
    {"year_1", -62135596800000, "0001-01-01T00:00:00.000Z", "0001-01-01"},
    {"year_10000", 253402300800000, "10000-01-01T00:00:00.000Z", "10000-01-01"},
    {"year_minus_1", -62198755200000, "-0001-01-01T00:00:00.000Z", "-0001-01-01"},
};

static void test_render_row(void **state)
{
    const struct render_row *row = *state;
    char text[ETL_DATETIME_TEXT_MAX];
    size_t n = etl_datetime_format_timestamp(row->ms, text);
    assert_string_equal(text, row->timestamp);
    assert_int_equal(n, strlen(row->timestamp));
    n = etl_datetime_format_date(etl_datetime_day_of(row->ms), text);
    assert_string_equal(text, row->date);
    assert_int_equal(n, strlen(row->date));
}

static void test_extremes(void **state)
{
    (void)state;
    /* Every int64 instant renders, and back-and-forth is exact in a wide range. */
    char text[ETL_DATETIME_TEXT_MAX];
    assert_true(etl_datetime_format_timestamp(INT64_MAX, text) < ETL_DATETIME_TEXT_MAX);
    assert_true(etl_datetime_format_timestamp(INT64_MIN, text) < ETL_DATETIME_TEXT_MAX);
    for (int64_t days = -800000; days <= 800000; days += 997) {
        struct etl_datetime_fields f;
        etl_datetime_split(days * ETL_DATETIME_MS_PER_DAY + 3723004, &f);
        assert_true(etl_datetime_days_from_civil(f.year, f.month, f.day) == days);
        assert_int_equal(f.hour * 3600 + f.minute * 60 + f.second, 3723);
        assert_int_equal(f.ms, 4);
    }
}

struct mysql_row {
    const char *name;
    int64_t ms;
    const char *format;
    const char *expected;
};

/* 2026-11-24T07:05:09.123Z is a Tuesday, day 328 of the year, ISO week 48. */
#define TUE 1795503909123LL
/* 2026-11-24T19:00:00Z, for the afternoon forms. */
#define EVE 1795546800000LL

static const struct mysql_row mysql_rows[] = {
    {"trino_example", TUE, "%m-%d-%Y %H", "11-24-2026 07"},
    {"abbrev_names", TUE, "%a %b", "Tue Nov"},
    {"full_names", TUE, "%W %M", "Tuesday November"},
    {"unpadded", TUE, "%c/%e %k:%l", "11/24 7:7"},
    {"padded", TUE, "%d %H %h %I %i %S %s", "24 07 07 07 05 09 09"},
    {"fraction", TUE, "%f", "123000"},
    {"day_of_year", TUE, "%j", "328"},
    {"am", TUE, "%p %r", "AM 07:05:09 AM"},
    {"pm", EVE, "%p %r %l %h", "PM 07:00:00 PM 7 07"},
    {"time", TUE, "%T", "07:05:09"},
    {"year_2", TUE, "%y", "26"},
    {"iso_week", TUE, "%x-W%v", "2026-W48"},
    /* 2021-01-03 belongs to ISO week 53 of 2020. */
    {"iso_week_prev_year", 1609632000000, "%x-%v", "2020-53"},
    /* 2019-12-30 belongs to week 1 of 2020. */
    {"iso_week_next_year", 1577664000000, "%x-%v", "2020-01"},
    /* 2026-12-31 is in week 53 of 2026 (2026 starts on a Thursday). */
    {"iso_week_53", 1798675200000, "%x-%v", "2026-53"},
    {"midnight_12", 1795478400000, "%h %l %p", "12 12 AM"},
    {"percent", TUE, "100%% %Q", "100% Q"},
    {"lone_percent", TUE, "at %", "at %"},
    {"plain", TUE, "no specifiers", "no specifiers"},
    {"empty", TUE, "", ""},
    {"day_jan_1", 1767225600000, "%j %a", "001 Thu"},
};

/* Month lengths: the Gregorian leap rule (every 4th year, not centuries, but every 400th), and
 * 0 for a month that does not exist. */
static void test_days_in_month(void **state)
{
    (void)state;
    static const struct {
        int64_t year;
        int month;
        int days;
    } rows[] = {
        {2024, 2, 29}, {2023, 2, 28},  {1900, 2, 28}, {2000, 2, 29}, {-4, 2, 29},   {2023, 1, 31},
        {2023, 4, 30}, {2023, 12, 31}, {2023, 0, 0},  {2023, 13, 0}, {2023, -1, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(etl_datetime_days_in_month(rows[i].year, rows[i].month), rows[i].days);
    }
}

static void test_mysql_row(void **state)
{
    const struct mysql_row *row = *state;
    struct cur fmt = cur_from_str(row->format);
    struct err err = ERR_INIT;
    assert_int_equal(etl_datetime_mysql_check(fmt, &err), ERR_OK);
    char out[256];
    size_t bound = etl_datetime_mysql_bound(fmt.len);
    assert_true(bound <= sizeof(out));
    size_t n = etl_datetime_mysql_format(row->ms, fmt, out, bound);
    assert_string_equal(out, row->expected);
    assert_int_equal(n, strlen(row->expected));
}

static void test_mysql_unsupported(void **state)
{
    (void)state;
    const char *refused[] = {"%D", "%U", "%u", "%V", "%w", "%X", "x %Y %X"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct err err = ERR_INIT;
        assert_int_equal(etl_datetime_mysql_check(cur_from_str(refused[i]), &err),
                         ERR_INVALID_INPUT);
        assert_non_null(strstr(err.msg, "is not supported"));
    }
    /* The bound holds for the widest specifiers and the widest years. */
    const char *fmt = "%r%r%Y%W%M";
    char out[128];
    size_t bound = etl_datetime_mysql_bound(strlen(fmt));
    assert_true(bound <= sizeof(out));
    size_t n = etl_datetime_mysql_format(INT64_MIN, cur_from_str(fmt), out, bound);
    assert_true(n < bound);
    assert_int_equal(n, strlen(out));
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[128];
    size_t n = 0;
    ADD_ROWS(parse_rows, test_parse_row);
    ADD_ROWS(render_rows, test_render_row);
    ADD_ROWS(mysql_rows, test_mysql_row);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_extremes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_days_in_month);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mysql_unsupported);
    return _cmocka_run_group_tests("datetime", tests, n, NULL, NULL);
}
