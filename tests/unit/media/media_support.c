/* Sample media lookup for tests: $VIGIL_MEDIA, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/vigil/media (installed by
 * `scripts/setup.sh media`). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "media_support.h"

int media_path(const char *name, char *buf, size_t size)
{
    const char *m = getenv("VIGIL_MEDIA"), *xdg = getenv("XDG_CACHE_HOME");
    struct stat st;
    if (m && *m)
        snprintf(buf, size, "%s/%s", m, name);
    else if (xdg && *xdg)
        snprintf(buf, size, "%s/vigil/media/%s", xdg, name);
    else
        snprintf(buf, size, "%s/.cache/vigil/media/%s", getenv("HOME") ? getenv("HOME") : ".",
                 name);
    if (stat(buf, &st) != 0) {
        fprintf(stderr, "skipped: sample media %s missing (run `scripts/setup.sh media`)\n", buf);
        return -1;
    }
    return 0;
}

uint8_t *media_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) goto done;
    if (!(buf = malloc((size_t)n + 1))) goto done;
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto done;
    }
    *len = (size_t)n;
done:
    fclose(f);
    return buf;
}
