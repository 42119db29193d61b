/* The stage test helpers, shared with tests/unit/preprocess. */
#include "unit/preprocess/stages_support.c"
