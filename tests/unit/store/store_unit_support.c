/* Temp directories for the store unit tests (see store_unit_support.h). */
#include "store_unit_support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
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

int su_setup(void **state)
{
    static su_fixture_t fx;
    memset(&fx, 0, sizeof(fx));
    if (su_tmpdir(fx.dir, sizeof(fx.dir)) != 0) return -1;
    snprintf(fx.db, sizeof(fx.db), "%s/vigil.db", fx.dir);
    if (vigil_test_store_init(&fx.backend) != 0) {
        su_rmrf(fx.dir);
        return -1;
    }
    *state = &fx;
    return 0;
}

int su_teardown(void **state)
{
    su_fixture_t *fx = *state;
    vigil_test_store_release(&fx->backend);
    su_rmrf(fx->dir);
    return 0;
}

vigil_store_t *su_open_store(const su_fixture_t *fx, int migrate, char *err, size_t err_size)
{
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = fx->backend.url;
    conf.data_dir = fx->dir;
    conf.migrate = migrate;
    conf.busy_timeout_ms = 30000;
    return vigil_store_open(&conf, err, err_size);
}
