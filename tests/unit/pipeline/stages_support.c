/* The stage test helpers of tests/unit/preprocess, reused. */
#include "unit/preprocess/stages_support.c"
