/* The stage test helpers, shared with tests/unit/preprocess (no JPEG coding
 * here: the analytics module does not link the media library). */
#define VT_NO_MEDIA
#include "unit/preprocess/stages_support.c"
