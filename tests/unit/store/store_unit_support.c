/* Temp directories for the store unit tests (see store_unit_support.h). */
#include "store_unit_support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int su_tmpdir(char *out, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, size, "%s/vigil-store-unit-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

static int su_rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void su_rmrf(const char *dir)
{
    nftw(dir, su_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int su_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
