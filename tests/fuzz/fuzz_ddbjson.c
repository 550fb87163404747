/*
 * fuzz_ddbjson.c - the DynamoDB JSON converter (function/core/etl_ddbjson.c) and the record
 * builder on top of it (etl_record.c). The input is an item ({"name": {"S": ...}}) or a stream
 * record's "dynamodb" object (then its NewImage, or OldImage, is the item and Keys its keys).
 * What comes out must be JSON of the kind the column's type says; a failed row leaves the store as
 * it was; a number that converts converts to a JSON number, and converting that changes nothing.
 * Converted as a checking walk reaches the NewImage (the stream's one walk, on any text, valid or
 * not), the walk fails exactly when json_validate does, with its message, and the row or the
 * error is etl_record_build's, byte for byte.
 */
#include <string.h>

#include "etl_ddbjson.h"
#include "etl_record.h"
#include "fuzz_util.h"

static void check_kind(enum etl_type t, const struct json_val *v)
{
    switch (etl_type_json_kind(t)) {
    case ETL_JSON_STRING:
        FUZZ_CHECK(v->type == JSON_STRING);
        break;
    case ETL_JSON_NUMBER:
        FUZZ_CHECK(v->type == JSON_NUMBER);
        break;
    case ETL_JSON_BOOL:
        FUZZ_CHECK(v->type == JSON_TRUE || v->type == JSON_FALSE);
        break;
    case ETL_JSON_NULL:
        FUZZ_CHECK(v->type == JSON_NULL);
        break;
    case ETL_JSON_NESTED:
        FUZZ_CHECK(v->type == JSON_OBJECT || v->type == JSON_ARRAY);
        break;
    }
}

static void check_row(const struct buf *store, size_t offset, size_t min_cols)
{
    struct etl_row_iter it;
    uint32_t n_cols = 0;
    struct etl_col col;
    struct err err = ERR_INIT;
    etl_row_iter_init(&it, store, offset);
    FUZZ_CHECK(etl_row_next(&it, &n_cols));
    FUZZ_CHECK(n_cols >= min_cols);
    uint32_t seen = 0;
    while (etl_row_col(&it, &col)) {
        struct json_val name, value;
        FUZZ_CHECK(json_validate(col.name, 2, &name, &err) == ERR_OK);
        FUZZ_CHECK(name.type == JSON_STRING);
        FUZZ_CHECK(json_validate(col.value, ETL_DDB_MAX_DEPTH * 2 + 2, &value, &err) == ERR_OK);
        if (value.type != JSON_NULL) {
            check_kind(col.type, &value);
        }
        seen++;
    }
    FUZZ_CHECK(seen == n_cols);
    FUZZ_CHECK(!etl_row_next(&it, &n_cols));
}

/* Every attribute on its own: the plain JSON it converts to is valid JSON of its type's kind. */
static void check_values(const struct json_val *item)
{
    struct json_iter it;
    struct json_val k, v;
    json_iter_init(&it, item);
    while (json_object_next(&it, &k, &v)) {
        struct buf out = BUF_INIT(0);
        struct err err = ERR_INIT;
        struct etl_path path;
        enum etl_type type = ETL_T_COUNT;
        etl_path_init(&path);
        enum err_code rc = etl_ddbjson_value(&v, &out, &type, 1, &path, &err);
        FUZZ_CHECK(path.n == 0); /* every step taken was undone */
        if (rc == ERR_OK) {
            struct json_val plain;
            FUZZ_CHECK(type < ETL_T_DDB_COUNT);
            FUZZ_CHECK(json_validate(buf_cur(&out), ETL_DDB_MAX_DEPTH * 2 + 2, &plain, &err) ==
                       ERR_OK);
            check_kind(type, &plain);
        } else {
            fuzz_check_failure(rc, &err);
        }
        buf_cleanup(&out);
    }
}

static void check_number(struct cur text)
{
    struct buf out = BUF_INIT(0), again = BUF_INIT(0);
    struct err err = ERR_INIT;
    enum err_code rc = etl_ddbjson_number(text, &out, &err);
    if (rc == ERR_OK) {
        FUZZ_CHECK(json_is_number((const char *)out.data, out.len));
        FUZZ_CHECK(etl_ddbjson_number(buf_cur(&out), &again, &err) == ERR_OK);
        FUZZ_CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    } else {
        fuzz_check_failure(rc, &err);
    }
    buf_cleanup(&out);
    buf_cleanup(&again);
}

/* The item of root (its NewImage or OldImage, else Keys, else root itself); its keys or NULL.
 * (json_object_get_type writes its out value even when it answers false: a found member of
 * another type, or the last one looked at; so each look-up has its own.) */
static const struct json_val *
pick_item(const struct json_val *root, struct json_val *item, struct json_val *keys)
{
    struct json_val image;
    bool has_keys = json_object_get_type(root, "Keys", JSON_OBJECT, keys);
    if (json_object_get_type(root, "NewImage", JSON_OBJECT, &image) ||
        json_object_get_type(root, "OldImage", JSON_OBJECT, &image)) {
        *item = image;
        return has_keys ? keys : NULL;
    }
    *item = has_keys ? *keys : *root;
    return NULL;
}

static const struct etl_record_meta META = {
    .op = "MODIFY",
    .seq = "111",
    .ts = "2026-11-24T07:00:00.000Z",
    .table = "T",
    .event_id = {(const uint8_t *)"\"e1\"", 4},
    .has_ttl_delete = true,
    .ttl_delete = false,
};

/* Walks an object's members with checking iterators, converting its first NewImage that is an
 * object as the walk reaches it (with the first Keys object before it, if any); the image read
 * whole again when that fails, as the stream does. */
struct walked {
    bool converted;
    enum err_code rc;
    struct err err;
    size_t offset;
    struct json_val image;
    struct json_val keys; /* JSON_NULL: none */
    bool keyed;           /* the image was converted with keys (they came before it) */
};

static void walk_convert(struct json_iter *m, struct buf *store, struct walked *w)
{
    struct json_val k, v;
    enum json_type t;
    while (json_object_next_key(m, &k)) {
        if (!w->converted && json_string_eq(&k, "NewImage") && json_iter_peek(m, &t) &&
            t == JSON_OBJECT) {
            struct json_iter before = *m;
            const uint8_t *start = m->p;
            const struct json_val *keys = w->keys.type == JSON_OBJECT ? &w->keys : NULL;
            struct etl_row_builder rb;
            bool walked = false;
            w->converted = true;
            w->keyed = keys != NULL;
            w->rc = etl_record_begin(&rb, store, &w->offset, &w->err);
            if (w->rc == ERR_OK) {
                w->rc = etl_ddbjson_item_columns_at(&rb, m, keys, etl_meta_names, &w->err);
                walked = w->rc == ERR_OK;
                if (!walked) {
                    etl_row_abandon(&rb);
                }
            }
            if (walked) {
                w->image = (struct json_val){JSON_OBJECT, cur_make(start, (size_t)(m->p - start))};
                w->rc = etl_record_finish(&rb, &META, &w->err);
            } else {
                *m = before;
                (void)json_array_next(m, &w->image);
            }
            continue;
        }
        if (!json_array_next(m, &v)) {
            break;
        }
        if (w->keys.type == JSON_NULL && json_string_eq(&k, "Keys") && v.type == JSON_OBJECT) {
            w->keys = v;
        }
    }
}

static void check_walked(struct cur text, bool valid, const struct err *verr)
{
    struct json_check chk;
    struct json_iter root, m;
    struct json_val v;
    struct walked w = {false, ERR_OK, ERR_INIT, 0, {JSON_NULL, {NULL, 0}}, {JSON_NULL, {NULL, 0}},
                       false};
    struct buf store = BUF_INIT(0), ref = BUF_INIT(0);
    json_check_begin(&chk, text, 128, &root);
    if (json_iter_enter(&root, JSON_OBJECT, &m)) {
        walk_convert(&m, &store, &w);
        json_iter_leave(&root, &m);
    } else {
        (void)json_array_next(&root, &v);
    }
    bool ok = json_check_end(&chk, &root);
    FUZZ_CHECK(ok == valid);
    if (!ok) {
        FUZZ_CHECK(strcmp(chk.err.msg, verr->msg) == 0);
    } else if (w.converted) {
        struct err rerr = ERR_INIT;
        size_t roff = 0;
        enum err_code want =
            etl_record_build(&ref, &w.image, w.keyed ? &w.keys : NULL, &META, &roff, &rerr);
        FUZZ_CHECK(want == w.rc);
        if (want == ERR_OK) {
            FUZZ_CHECK(store.len - w.offset == ref.len - roff &&
                       memcmp(store.data + w.offset, ref.data + roff, ref.len - roff) == 0);
        } else {
            FUZZ_CHECK(strcmp(w.err.msg, rerr.msg) == 0);
        }
    }
    buf_cleanup(&store);
    buf_cleanup(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur text = cur_make(data, size);
    struct json_val root, item, keys;
    struct err err = ERR_INIT;
    if (size <= 64) {
        check_number(text);
    }
    bool valid = json_validate(text, 128, &root, &err) == ERR_OK;
    check_walked(text, valid, &err);
    if (!valid || root.type != JSON_OBJECT) {
        return 0;
    }
    const struct json_val *keys_p = pick_item(&root, &item, &keys);
    check_values(&item);

    static const char prefix[] = "earlier row";
    struct buf store = BUF_INIT(0);
    FUZZ_CHECK(buf_append_str(&store, prefix, &err) == ERR_OK);
    size_t offset = 0;
    enum err_code rc = etl_record_build(&store, &item, keys_p, &META, &offset, &err);
    FUZZ_CHECK(offset == sizeof(prefix) - 1);
    if (rc == ERR_OK) {
        check_row(&store, offset, json_count(&item) + ETL_META_COUNT);
    } else {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(store.len == sizeof(prefix) - 1);
    }
    buf_cleanup(&store);
    return 0;
}
