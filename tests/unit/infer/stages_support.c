/* The stage test helpers, shared with tests/unit/preprocess (no store here:
 * the infer module does not link it). */
#define VT_NO_STORE
#include "unit/preprocess/stages_support.c"
