/*
 * fuzz_xml.c - the XML reader for S3's answers (runtime/xml.c): error documents (s3_parse_error,
 * CompleteMultipartUpload's <Error> in a 200), ListObjectsV2 pages (<Contents> with <Key>, <Size>,
 * <ETag>; IsTruncated, NextContinuationToken) and InitiateMultipartUpload's UploadId, read the way
 * s3.c and s3_upload.c read them. Every element found lies inside the document and after the
 * previous one; decoded text without '&' is the raw text; copies are NUL-terminated in their
 * arrays.
 */
#include <string.h>

#include "fuzz_util.h"
#include "http.h"
#include "s3.h"
#include "xml.h"

static bool within(struct cur inner, struct cur outer)
{
    return inner.ptr >= outer.ptr && inner.ptr + inner.len <= outer.ptr + outer.len;
}

static void check_decode(struct cur raw)
{
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    enum err_code rc = xml_decode(raw, &out, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
    } else if (raw.len == 0 || memchr(raw.ptr, '&', raw.len) == NULL) {
        FUZZ_CHECK(out.len == raw.len && (raw.len == 0 || memcmp(out.data, raw.ptr, raw.len) == 0));
    } else {
        FUZZ_CHECK(out.len <= raw.len); /* an entity is never shorter than what it stands for */
    }
    buf_cleanup(&out);
}

static void check_copy(struct cur doc, const char *tag, size_t cap)
{
    char dst[1100];
    memset(dst, 'x', sizeof(dst));
    bool ok = xml_text_copy(doc, tag, dst, cap);
    FUZZ_CHECK(memchr(dst, '\0', cap) != NULL);
    FUZZ_CHECK(dst[cap] == 'x'); /* nothing written past cap */
    if (!ok) {
        FUZZ_CHECK(dst[0] == '\0');
    }
}

/* Every <tag> in doc, in order, as list_page walks <Contents>. */
static size_t check_all(struct cur doc, const char *tag)
{
    size_t pos = 0, n = 0;
    struct cur inner;
    while (xml_next(doc, tag, &pos, &inner)) {
        FUZZ_CHECK(within(inner, doc));
        FUZZ_CHECK(pos <= doc.len);
        FUZZ_CHECK((const uint8_t *)inner.ptr + inner.len <= doc.ptr + pos);
        check_decode(inner);
        size_t kpos = 0;
        struct cur key;
        if (xml_next(inner, "Key", &kpos, &key)) {
            FUZZ_CHECK(within(key, inner));
            check_decode(key);
        }
        check_copy(inner, "Size", 32);
        check_copy(inner, "ETag", 80);
        check_copy(inner, "Code", 64);
        check_copy(inner, "Message", 256);
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur doc = cur_make(data, size);
    (void)check_all(doc, "Contents");
    (void)check_all(doc, "Error");
    check_copy(doc, "IsTruncated", 8);
    check_copy(doc, "NextContinuationToken", 1025);
    check_copy(doc, "UploadId", 1024);
    check_copy(doc, "ETag", 1);
    check_decode(doc);

    struct http_response resp;
    char code[64], message[256];
    http_response_init(&resp, size + 1);
    resp.status = 503;
    if (size > 0) {
        struct err err = ERR_INIT;
        FUZZ_CHECK(buf_append(&resp.body, data, size, &err) == ERR_OK);
    }
    s3_parse_error(&resp, code, sizeof(code), message, sizeof(message));
    FUZZ_CHECK(memchr(code, '\0', sizeof(code)) != NULL);
    FUZZ_CHECK(memchr(message, '\0', sizeof(message)) != NULL);
    FUZZ_CHECK(code[0] != '\0'); /* the status names it when the body does not */
    http_response_cleanup(&resp);
    return 0;
}
