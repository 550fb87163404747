/*
 * etl_format.c - the format table, built from etl_formats.def.
 */
#include "etl_format.h"

#include <string.h>

#define ETL_FORMAT(x) extern const struct etl_format etl_fmt_##x;
#include "etl_formats.def"
#undef ETL_FORMAT

static const struct etl_format *const formats[] = {
#define ETL_FORMAT(x) &etl_fmt_##x,
#include "etl_formats.def"
#undef ETL_FORMAT
};

#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

const struct etl_format *etl_format_find(const char *name)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (strcmp(formats[i]->name, name) == 0) {
            return formats[i];
        }
    }
    return NULL;
}

size_t etl_format_stream_names(const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < N_FORMATS && n < cap; i++) {
        if (formats[i]->stream_format) {
            names[n++] = formats[i]->name;
        }
    }
    return n;
}

static const char *const openx_properties[] = {"ignore.malformed.json", "false", NULL};

const struct etl_serde etl_serde_openx_json = {
    .library = "org.openx.data.jsonserde.JsonSerDe",
    .input_format = "org.apache.hadoop.mapred.TextInputFormat",
    .output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    .properties = openx_properties,
    .name_mapping = true,
    .text_times = true,
    .classification = "json",
};
