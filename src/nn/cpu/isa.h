/* vigil-nn CPU kernel tiers: the one dispatch point (isa.c).
 *
 * A tier is a set of kernels: generic (portable C, any CPU), avx2 (AVX2 +
 * FMA) and avx512 (AVX-512 F/BW/VL/DQ; *_avx512.c, VNNI kernels in it
 * also ask vigil__nn_cpu_features for NN_CPU_AVX512VNNI). The tier in use is the best one this CPU and
 * build support, or the one VIGIL_NN_ISA names; it is decided once per
 * process, before the first kernel runs. Kernels ask vigil__nn_isa() and
 * take the path of the highest tier they have at or below it, so a tier
 * without its own kernel for something runs the next lower one (and every
 * family has a generic path). A VIGIL_NN_ISA this CPU cannot run is never
 * obeyed (no SIGILL): the best tier runs, and vigil_nn_isa_check, called by
 * model load, session_new and the commands at start, fails naming it. */
#ifndef VIGIL_NN_ISA_INTERNAL_H
#define VIGIL_NN_ISA_INTERNAL_H

#include "vigil/nn.h"

/* CPU features (vigil__nn_cpu_features), detected once */
#define NN_CPU_AVX2 (1u << 0)
#define NN_CPU_FMA (1u << 1)
#define NN_CPU_F16C (1u << 2)
#define NN_CPU_AVX512F (1u << 3)
#define NN_CPU_AVX512BW (1u << 4)
#define NN_CPU_AVX512VL (1u << 5)
#define NN_CPU_AVX512DQ (1u << 6)
#define NN_CPU_AVX512VNNI (1u << 7) /* vpdpbusd on zmm */
#define NN_CPU_AVXVNNI (1u << 8)    /* vpdpbusd on ymm (VEX) */
#define NN_CPU_AVX512BF16 (1u << 9)

unsigned vigil__nn_cpu_features(void);

extern int vigil__nn_isa_cur; /* -1 until resolved; atomic */
void vigil__nn_isa_resolve(void);

/* The tier kernels use now (thread-safe, one atomic load after the first call). */
static inline vigil_nn_isa_t vigil__nn_isa(void)
{
    int t = __atomic_load_n(&vigil__nn_isa_cur, __ATOMIC_ACQUIRE);
    if (__builtin_expect(t < 0, 0)) {
        vigil__nn_isa_resolve();
        t = __atomic_load_n(&vigil__nn_isa_cur, __ATOMIC_ACQUIRE);
    }
    return (vigil_nn_isa_t)t;
}

/* Tests and benchmarks: run tier isa from now on (must be supported:
 * returns -1 and changes nothing otherwise). Not while kernels run. */
int vigil__nn_isa_force(vigil_nn_isa_t isa);

#endif
