/* A main() for the fuzz drivers where libFuzzer's runtime is not installed
 * (clang without compiler-rt): built with gcc -fsanitize=address,undefined.
 * Runs every file given (or every file in a given directory), then, with
 * -max_total_time=S, mutates them at random for S seconds (bit flips, byte
 * sets, interesting values, truncation, duplication, splicing). A sanitizer
 * report aborts the process, so a crash fails the run; the input being
 * tried is written first to ./crash-standalone-input so it can be kept.
 * Flags it takes, as libFuzzer does: -max_total_time=S -seed=N -runs=N. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct { uint8_t *b; size_t n; } blob_t;

static blob_t *corpus;
static size_t ncorpus, capcorpus;
static const char *crash_path = "crash-standalone-input";

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (1 << 22)) { fclose(f); return; }
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n) {
        if (ncorpus == capcorpus) {
            capcorpus = capcorpus ? capcorpus * 2 : 64;
            corpus = realloc(corpus, capcorpus * sizeof *corpus);
        }
        corpus[ncorpus].b = b;
        corpus[ncorpus++].n = (size_t)n;
    } else {
        free(b);
    }
    fclose(f);
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st)) return;
    if (!S_ISDIR(st.st_mode)) { add_file(path); return; }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        add_file(p);
    }
    if (d) closedir(d);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static void run_one(const uint8_t *b, size_t n)
{
    FILE *f = fopen(crash_path, "wb");
    if (f) { fwrite(b, 1, n, f); fclose(f); }
    uint8_t *copy = malloc(n ? n : 1); /* exact-size buffer so ASan sees over-reads */
    memcpy(copy, b, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

static size_t mutate(uint8_t *b, size_t n, size_t cap)
{
    int rounds = 1 + (int)(next() % 4);
    for (int r = 0; r < rounds; r++) {
        switch (next() % 8) {
        case 0: if (n) b[next() % n] ^= (uint8_t)(1u << (next() % 8)); break;
        case 1: if (n) b[next() % n] = (uint8_t)next(); break;
        case 2: if (n) { static const uint8_t v[] = {0, 1, 0x7f, 0x80, 0xff, '"', '[', '{', ':', ',', '-', '9'}; b[next() % n] = v[next() % sizeof v]; } break;
        case 3: if (n) n = next() % n; break;
        case 4: if (n && n < cap) { size_t at = next() % n, len = 1 + next() % (n - at); if (n + len > cap) len = cap - n; memmove(b + at + len, b + at, n - at); n += len; } break;
        case 5: if (n > 1) { size_t at = next() % n, len = 1 + next() % (n - at); memmove(b + at, b + at + len, n - at - len); n -= len; } break;
        case 6: if (ncorpus) { blob_t *o = &corpus[next() % ncorpus]; if (o->n) { size_t from = next() % o->n, at = n ? next() % n : 0, len = 1 + next() % (o->n - from); if (at + len > cap) len = cap - at; memcpy(b + at, o->b + from, len); if (at + len > n) n = at + len; } } break;
        case 7: if (n >= 4) { size_t at = next() % (n - 3); uint32_t v = (uint32_t)(next() % 5 == 0 ? 0xffffffffu : next() % 300); memcpy(b + at, &v, 4); } break;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    double max_time = 0;
    long runs = -1;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-max_total_time=", 16)) max_time = atof(argv[i] + 16);
        else if (!strncmp(argv[i], "-seed=", 6)) rng = strtoull(argv[i] + 6, NULL, 10) | 1;
        else if (!strncmp(argv[i], "-runs=", 6)) runs = atol(argv[i] + 6);
        else if (argv[i][0] != '-') add_path(argv[i]);
    }
    for (size_t i = 0; i < ncorpus; i++) run_one(corpus[i].b, corpus[i].n);
    long execs = (long)ncorpus;
    if ((max_time > 0 || runs > 0) && ncorpus) {
        size_t cap = 1 << 16;
        uint8_t *buf = malloc(cap);
        time_t start = time(NULL);
        while ((runs < 0 || execs < runs) && (max_time <= 0 || difftime(time(NULL), start) < max_time)) {
            blob_t *s = &corpus[next() % ncorpus];
            size_t n = s->n < cap ? s->n : cap;
            memcpy(buf, s->b, n);
            n = mutate(buf, n, cap);
            run_one(buf, n);
            execs++;
        }
        free(buf);
    }
    remove(crash_path);
    printf("standalone fuzz: %ld executions, %zu corpus files, no crash\n", execs, ncorpus);
    return 0;
}
