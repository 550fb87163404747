/*
 * codec_bench.c - the compression figures of scripts/bench.py, on the uncompressed objects of a
 * batch (one file per object, each compressed as its own gzip member, as the pipeline does).
 *   codec_bench gzip CODEC LEVEL FILE...  gzip every file once (CODEC zlib or libdeflate) in
 *       compress_all(), for callgrind (--toggle-collect=compress_all); zlib 6 is the reference
 *       of the instruction ratio. A libdeflate compressor is made outside it, as the pipeline
 *       keeps one across invocations. Prints {"files","raw_bytes","gzip_bytes"}.
 *   codec_bench levels FILE...  per codec and level: total compressed bytes and the best time of
 *       several passes (CPU time), as JSON lines {"codec","level","bytes","ms"}
 * Exit 0 on success, 1 on error (message on stderr).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libdeflate.h>
#include <zlib.h>

/* Passes per level in `levels`; the fastest is kept (the machine is shared). */
#define LEVEL_PASSES 7

struct file {
    uint8_t *data;
    size_t len;
};

static int read_file(const char *path, struct file *f)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "codec_bench: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16;
    f->data = malloc(cap);
    f->len = 0;
    size_t n;
    while (f->data != NULL && (n = fread(f->data + f->len, 1, cap - f->len, fp)) > 0) {
        f->len += n;
        if (f->len == cap) {
            cap *= 2;
            uint8_t *p = realloc(f->data, cap);
            if (p == NULL) {
                free(f->data);
            }
            f->data = p;
        }
    }
    fclose(fp);
    if (f->data == NULL) {
        fprintf(stderr, "codec_bench: out of memory reading %s\n", path);
        return -1;
    }
    return 0;
}

/* gzip at a zlib level, as etl_codec.c's streaming codec sets it up; returns compressed bytes. */
static size_t zlib_gzip(const struct file *f, int level, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return 0;
    }
    z.next_in = f->data;
    z.avail_in = (uInt)f->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return zr == Z_STREAM_END ? n : 0;
}

/* What callgrind counts: every file through one codec and level, nothing else (c NULL: zlib). */
__attribute__((noinline)) size_t compress_all(struct libdeflate_compressor *c,
                                              int level,
                                              const struct file *files,
                                              size_t n,
                                              uint8_t *out,
                                              size_t cap);
__attribute__((noinline)) size_t compress_all(struct libdeflate_compressor *c,
                                              int level,
                                              const struct file *files,
                                              size_t n,
                                              uint8_t *out,
                                              size_t cap)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += c != NULL ? libdeflate_gzip_compress(c, files[i].data, files[i].len, out, cap)
                           : zlib_gzip(&files[i], level, out, cap);
    }
    return total;
}

static double now_ms(void)
{
    struct timespec ts;
    /* CPU time of this process: on a shared machine, wall time mostly measures the others. */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One pass over every file; returns the compressed total (0 on failure). */
static size_t
pass(const char *codec, int level, const struct file *files, size_t n, uint8_t *out, size_t cap)
{
    size_t total = 0;
    if (strcmp(codec, "zlib") == 0) {
        for (size_t i = 0; i < n; i++) {
            size_t k = zlib_gzip(&files[i], level, out, cap);
            if (k == 0) {
                return 0;
            }
            total += k;
        }
        return total;
    }
    /* libdeflate: one compressor per level, kept across objects as the pipeline keeps it. */
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (c == NULL) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = libdeflate_gzip_compress(c, files[i].data, files[i].len, out, cap);
        if (k == 0) {
            total = 0;
            break;
        }
        total += k;
    }
    libdeflate_free_compressor(c);
    return total;
}

static int levels(const struct file *files, size_t n, uint8_t *out, size_t cap)
{
    static const struct {
        const char *codec;
        int lo, hi;
    } runs[] = {{"zlib", 1, 9}, {"libdeflate", 1, 12}};
    for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
        for (int level = runs[r].lo; level <= runs[r].hi; level++) {
            double best = 0;
            size_t bytes = 0;
            for (int p = 0; p < LEVEL_PASSES; p++) {
                double t0 = now_ms();
                bytes = pass(runs[r].codec, level, files, n, out, cap);
                double t = now_ms() - t0;
                if (bytes == 0) {
                    fprintf(stderr, "codec_bench: %s level %d failed\n", runs[r].codec, level);
                    return -1;
                }
                if (p == 0 || t < best) {
                    best = t;
                }
            }
            printf("{\"codec\": \"%s\", \"level\": %d, \"bytes\": %zu, \"ms\": %.3f}\n",
                   runs[r].codec, level, bytes, best);
        }
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: codec_bench gzip zlib|libdeflate LEVEL FILE... | levels FILE...\n");
    return 1;
}

int main(int argc, char **argv)
{
    bool once = argc >= 5 && strcmp(argv[1], "gzip") == 0;
    if (!once && (argc < 3 || strcmp(argv[1], "levels") != 0)) {
        return usage();
    }
    bool deflate = once && strcmp(argv[2], "libdeflate") == 0;
    char *end = NULL;
    long level = once ? strtol(argv[3], &end, 10) : 0;
    if (once && ((!deflate && strcmp(argv[2], "zlib") != 0) || *end != '\0' || level < 1 ||
                 level > (deflate ? 12 : 9))) {
        return usage();
    }
    int first = once ? 4 : 2;
    argv += first - 2;
    argc -= first - 2;
    size_t n = (size_t)argc - 2, raw = 0, biggest = 0;
    struct file *files = calloc(n, sizeof(*files));
    int rc = files == NULL ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = read_file(argv[i + 2], &files[i]);
        if (rc == 0) {
            raw += files[i].len;
            biggest = files[i].len > biggest ? files[i].len : biggest;
        }
    }
    /* Above both libraries' worst-case bounds for one file. */
    size_t cap = biggest + biggest / 8 + 4096;
    uint8_t *out = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && out == NULL) {
        rc = -1;
    }
    if (rc == 0 && once) {
        struct libdeflate_compressor *c = deflate ? libdeflate_alloc_compressor((int)level) : NULL;
        size_t gz = deflate && c == NULL ? 0 : compress_all(c, (int)level, files, n, out, cap);
        libdeflate_free_compressor(c);
        printf("{\"files\": %zu, \"raw_bytes\": %zu, \"gzip_bytes\": %zu}\n", n, raw, gz);
        rc = gz > 0 ? 0 : -1;
    } else if (rc == 0) {
        rc = levels(files, n, out, cap);
    }
    for (size_t i = 0; files != NULL && i < n; i++) {
        free(files[i].data);
    }
    free(files);
    free(out);
    return rc == 0 ? 0 : 1;
}
