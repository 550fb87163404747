/*
 * test_digest.c - MD5 (RFC 1321 vectors, streaming), CRC32C (RFC 3720 B.4 vectors, against a
 * bit-by-bit reference at every length and alignment), base64 (RFC 4648), hex, and the base64
 * check used on DynamoDB's B values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "test_util.h"

/* ---- MD5 ------------------------------------------------------------------------------------ */

struct md5_row {
    const char *name;
    const char *input;
    const char *hex;
    const char *b64;
};

static const struct md5_row md5_rows[] = {
    {"md5_empty", "", "d41d8cd98f00b204e9800998ecf8427e", "1B2M2Y8AsgTpgAmY7PhCfg=="},
    {"md5_a", "a", "0cc175b9c0f1b6a831c399e269772661", "DMF1ucDxtqgxw5niaXcmYQ=="},
    {"md5_abc", "abc", "900150983cd24fb0d6963f7d28e17f72", "kAFQmDzST7DWlj99KOF/cg=="},
    {"md5_message_digest", "message digest", "f96b697d7cb7938d525a2f31aaf161d0",
     "+WtpfXy3k41SWi8xqvFh0A=="},
    {"md5_alphabet", "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b",
     "w/zT12GS5AB9+0lsymfhOw=="},
    {"md5_alnum", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "d174ab98d277d9f5a5611c2c9f419d9f", "0XSrmNJ32fWlYRwsn0Gdnw=="},
    {"md5_digits_80",
     "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a", "V+30oivjyVWsSdouIQe2eg=="},
};

static void test_md5_row(void **state)
{
    const struct md5_row *row = *state;
    size_t n = strlen(row->input);
    uint8_t sum[DIGEST_MD5_BYTES];
    char hex[DIGEST_MD5_HEX], b64[DIGEST_MD5_B64];
    digest_md5(row->input, n, sum);
    digest_hex(sum, sizeof(sum), hex, sizeof(hex));
    assert_string_equal(hex, row->hex);
    digest_base64(sum, sizeof(sum), b64, sizeof(b64));
    assert_string_equal(b64, row->b64); /* a Content-MD5 value */

    /* Streaming, one byte at a time, gives the same digest. */
    struct digest_md5 d;
    struct err err = ERR_INIT;
    assert_int_equal(digest_md5_init(&d, &err), ERR_OK);
    for (size_t i = 0; i < n; i++) {
        digest_md5_update(&d, row->input + i, 1);
    }
    uint8_t streamed[DIGEST_MD5_BYTES];
    digest_md5_final(&d, streamed);
    assert_memory_equal(streamed, sum, sizeof(sum));
    /* final resets the context: it can be used again at once. */
    digest_md5_update(&d, row->input, n);
    digest_md5_final(&d, streamed);
    assert_memory_equal(streamed, sum, sizeof(sum));
    digest_md5_cleanup(&d);
    digest_md5_cleanup(&d); /* idempotent */
}

static void test_md5_streaming_splits(void **state)
{
    (void)state;
    size_t n = 3 * 64 + 17; /* crosses MD5's 64-byte blocks */
    uint8_t *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++) {
        data[i] = (uint8_t)(i * 37 + 11);
    }
    uint8_t whole[DIGEST_MD5_BYTES];
    digest_md5(data, n, whole);
    struct digest_md5 d;
    struct err err = ERR_INIT;
    assert_int_equal(digest_md5_init(&d, &err), ERR_OK);
    for (size_t split = 0; split <= n; split += 7) {
        uint8_t got[DIGEST_MD5_BYTES];
        digest_md5_update(&d, data, split);
        digest_md5_update(&d, NULL, 0); /* an empty update changes nothing */
        digest_md5_update(&d, data + split, n - split);
        digest_md5_final(&d, got);
        assert_memory_equal(got, whole, sizeof(whole));
    }
    digest_md5_cleanup(&d);
    free(data);
}

static void test_md5_cleanup_zeroed(void **state)
{
    (void)state;
    struct digest_md5 d = {NULL};
    digest_md5_cleanup(&d);
    digest_md5_cleanup(NULL);
}

/* ---- CRC32C -------------------------------------------------------------------------------- */

struct crc_row {
    const char *name;
    uint8_t fill; /* 32 bytes of it, unless pattern */
    int pattern;  /* 0: fill, 1: 0x00..0x1F, 2: 0x1F..0x00, 3: "123456789" */
    uint32_t crc;
};

static const struct crc_row crc_rows[] = {
    {"crc32c_32_zeros", 0x00, 0, 0x8A9136AAu},        /* RFC 3720 B.4 */
    {"crc32c_32_ones", 0xFF, 0, 0x62A8AB43u},         /* RFC 3720 B.4 */
    {"crc32c_incrementing", 0x00, 1, 0x46DD794Eu},    /* RFC 3720 B.4 */
    {"crc32c_decrementing", 0x00, 2, 0x113FDB5Cu},    /* RFC 3720 B.4 */
    {"crc32c_check_123456789", 0x00, 3, 0xE3069283u}, /* the CRC catalogue's check value */
};

static size_t crc_row_input(const struct crc_row *row, uint8_t buf[32])
{
    switch (row->pattern) {
    case 1:
        for (int i = 0; i < 32; i++) {
            buf[i] = (uint8_t)i;
        }
        return 32;
    case 2:
        for (int i = 0; i < 32; i++) {
            buf[i] = (uint8_t)(31 - i);
        }
        return 32;
    case 3:
        memcpy(buf, "123456789", 9);
        return 9;
    default:
        memset(buf, row->fill, 32);
        return 32;
    }
}

static void test_crc_row(void **state)
{
    const struct crc_row *row = *state;
    uint8_t in[32];
    size_t n = crc_row_input(row, in);
    assert_int_equal(digest_crc32c(0, in, n), row->crc);
    /* Continuing from a previous value is the same as one pass, at every split. */
    for (size_t split = 0; split <= n; split++) {
        uint32_t c = digest_crc32c(0, in, split);
        assert_int_equal(digest_crc32c(c, in + split, n - split), row->crc);
    }
}

/* Bit by bit, straight from the reflected polynomial 0x82F63B78. */
static uint32_t crc32c_reference(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return ~c;
}

static void test_crc32c_lengths_and_alignment(void **state)
{
    (void)state;
    /* The 8-byte slicing loop and the byte tail must agree with the reference at every length
     * and start offset. */
    uint8_t data[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(data); i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; off + n <= 270; n++) {
            assert_int_equal(digest_crc32c(0, data + off, n), crc32c_reference(data + off, n));
        }
    }
    assert_int_equal(digest_crc32c(0, NULL, 0), 0);
}

struct crc_b64_row {
    const char *name;
    uint32_t crc;
    const char *b64;
};

static const struct crc_b64_row crc_b64_rows[] = {
    {"crc_b64_check", 0xE3069283u, "4waSgw=="},
    {"crc_b64_zero", 0, "AAAAAA=="},
    {"crc_b64_ones", 0xFFFFFFFFu, "/////w=="},
    {"crc_b64_byte_order", 0x01020304u, "AQIDBA=="},
};

static void test_crc_b64_row(void **state)
{
    const struct crc_b64_row *row = *state;
    char out[DIGEST_CRC32C_B64];
    digest_crc32c_base64(row->crc, out);
    assert_string_equal(out, row->b64);
}

/* ---- base64 and hex ------------------------------------------------------------------------ */

struct b64_row {
    const char *name;
    const char *input;
    const char *b64;
};

static const struct b64_row b64_rows[] = {
    {"b64_empty", "", ""},
    {"b64_f", "f", "Zg=="}, /* RFC 4648 section 10 */
    {"b64_fo", "fo", "Zm8="},
    {"b64_foo", "foo", "Zm9v"}, /* RFC 4648 section 10 */
    {"b64_foob", "foob", "Zm9vYg=="},
    {"b64_fooba", "fooba", "Zm9vYmE="}, /* RFC 4648 */
    {"b64_foobar", "foobar", "Zm9vYmFy"},
    {"b64_high_bits", "\xfb\xff\xbf", "+/+/"},
};

static void test_b64_row(void **state)
{
    const struct b64_row *row = *state;
    size_t n = strlen(row->input);
    char out[32];
    memset(out, '#', sizeof(out));
    digest_base64((const uint8_t *)row->input, n, out, strlen(row->b64) + 1);
    assert_string_equal(out, row->b64);
    assert_true(digest_is_base64(out, strlen(out)));
    /* One byte short of room: nothing is written past cap, and the output is empty. */
    if (row->b64[0] != '\0') {
        memset(out, '#', sizeof(out));
        digest_base64((const uint8_t *)row->input, n, out, strlen(row->b64));
        assert_string_equal(out, "");
        assert_int_equal(out[1], '#');
    }
}

static void test_hex(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[16];
    digest_hex(bytes, sizeof(bytes), out, sizeof(out));
    assert_string_equal(out, "00017f80abff");
    digest_hex(bytes, 0, out, 1);
    assert_string_equal(out, "");
    memset(out, '#', sizeof(out));
    digest_hex(bytes, sizeof(bytes), out, 12); /* needs 13 */
    assert_string_equal(out, "");
    assert_int_equal(out[1], '#');
}

struct is_b64_row {
    const char *name;
    const char *s;
    bool valid;
    size_t len; /* 0: strlen(s) */
};

static const struct is_b64_row is_b64_rows[] = {
    {"is_b64_empty", "", true},
    {"is_b64_no_pad", "Zm9v", true},
    {"is_b64_one_pad", "Zm8=", true},
    {"is_b64_two_pad", "Zg==", true},
    {"is_b64_all_symbols", "+/09AZaz", true},
    {"is_b64_missing_pad", "Zg", false},
    {"is_b64_short", "Zm9", false},
    {"is_b64_three_pad", "Z===", false},
    {"is_b64_all_pad", "====", false},
    {"is_b64_pad_in_middle", "Zg==Zg==", false},
    {"is_b64_pad_then_char", "Zm=v", false},
    {"is_b64_url_safe", "Zm-_", false},
    {"is_b64_space", "Zm9 ", false},
    {"is_b64_newline", "Zm9v\nZm9v", false},
    {"is_b64_nul", "Zm\0v", false, 4},
};

static void test_is_b64_row(void **state)
{
    const struct is_b64_row *row = *state;
    size_t n = row->len != 0 ? row->len : strlen(row->s);
    assert_int_equal(digest_is_base64(row->s, n), row->valid);
}

int main(void)
{
    enum {
        N_MD5 = sizeof(md5_rows) / sizeof(md5_rows[0]),
        N_CRC = sizeof(crc_rows) / sizeof(crc_rows[0]),
        N_CRC_B64 = sizeof(crc_b64_rows) / sizeof(crc_b64_rows[0]),
        N_B64 = sizeof(b64_rows) / sizeof(b64_rows[0]),
        N_IS = sizeof(is_b64_rows) / sizeof(is_b64_rows[0]),
    };
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_md5_streaming_splits),
        cmocka_unit_test(test_md5_cleanup_zeroed),
        cmocka_unit_test(test_crc32c_lengths_and_alignment),
        cmocka_unit_test(test_hex),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    static struct CMUnitTest tests[N_MD5 + N_CRC + N_CRC_B64 + N_B64 + N_IS + N_PLAIN];
    size_t n = 0;
    for (size_t i = 0; i < N_MD5; i++) {
        tests[n++] =
            (struct CMUnitTest){md5_rows[i].name, test_md5_row, NULL, NULL, (void *)&md5_rows[i]};
    }
    for (size_t i = 0; i < N_CRC; i++) {
        tests[n++] =
            (struct CMUnitTest){crc_rows[i].name, test_crc_row, NULL, NULL, (void *)&crc_rows[i]};
    }
    for (size_t i = 0; i < N_CRC_B64; i++) {
        tests[n++] = (struct CMUnitTest){crc_b64_rows[i].name, test_crc_b64_row, NULL, NULL,
                                         (void *)&crc_b64_rows[i]};
    }
    for (size_t i = 0; i < N_B64; i++) {
        tests[n++] =
            (struct CMUnitTest){b64_rows[i].name, test_b64_row, NULL, NULL, (void *)&b64_rows[i]};
    }
    for (size_t i = 0; i < N_IS; i++) {
        tests[n++] = (struct CMUnitTest){is_b64_rows[i].name, test_is_b64_row, NULL, NULL,
                                         (void *)&is_b64_rows[i]};
    }
    for (size_t i = 0; i < N_PLAIN; i++) {
        tests[n++] = plain[i];
    }
    return _cmocka_run_group_tests("digest", tests, n, NULL, NULL);
}
