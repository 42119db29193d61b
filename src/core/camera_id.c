/* Camera ids appear in topic keys, file paths and URLs: keep them to a
 * portable set of characters. */
#include <string.h>

#include "vigil/config.h"

int vigil_camera_id_valid(const char *id)
{
    if (!id || !*id) return 0;
    size_t n = strlen(id);
    if (n >= VIGIL_CAMERA_ID_MAX) return 0;
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}
