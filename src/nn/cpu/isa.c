/* vigil-nn CPU kernel tiers: detection, VIGIL_NN_ISA, the one dispatch point.
 *
 * The tier is resolved once per process (pthread_once): the CPU's features
 * from __builtin_cpu_supports, the kernels this build has, and VIGIL_NN_ISA.
 * An unknown or unsupported VIGIL_NN_ISA is remembered as an error (which
 * vigil_nn_isa_check reports) and the best tier runs meanwhile, so nothing
 * can ever execute an instruction the CPU lacks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "nn/cpu/isa.h"

/* kernels built per tier: generic always; avx2 and avx512 where the
 * compiler targets x86 (the *_avx2.c files get -mavx2 -mfma, the
 * *_avx512.c files -mavx512f/bw/vl/dq/vnni as well) */
#if defined(__x86_64__) || defined(__i386__)
#define BUILT_AVX2 1
#define BUILT_AVX512 1
#else
#define BUILT_AVX2 0
#define BUILT_AVX512 0
#endif

int vigil__nn_isa_cur = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned features;
static vigil_nn_isa_t best;
static char env_err[160];   /* why VIGIL_NN_ISA is not obeyed ("" when it is) */
static char env_val[32];    /* VIGIL_NN_ISA as read (cut), "" when unset */
static const char *how = "best";

static const char *names[VIGIL_NN_ISA_COUNT] = {"generic", "avx2", "avx512"};

const char *vigil_nn_isa_name(vigil_nn_isa_t isa)
{
    return (unsigned)isa < VIGIL_NN_ISA_COUNT ? names[isa] : "?";
}

static unsigned detect(void)
{
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= NN_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= NN_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= NN_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= NN_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) f |= NN_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512dq")) f |= NN_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vnni")) f |= NN_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avx512bf16")) f |= NN_CPU_AVX512BF16;
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) >= 7 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)))
        f |= NN_CPU_AVXVNNI; /* CPUID.(7,1):EAX[4]; GCC 12 has no name for it */
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29))) f |= NN_CPU_F16C;
#endif
    return f;
}

static int cpu_has(vigil_nn_isa_t isa)
{
    switch (isa) {
    case VIGIL_NN_ISA_GENERIC: return 1;
    case VIGIL_NN_ISA_AVX2: return (features & (NN_CPU_AVX2 | NN_CPU_FMA)) == (NN_CPU_AVX2 | NN_CPU_FMA);
    case VIGIL_NN_ISA_AVX512: {
        unsigned need = NN_CPU_AVX512F | NN_CPU_AVX512BW | NN_CPU_AVX512VL | NN_CPU_AVX512DQ;
        return cpu_has(VIGIL_NN_ISA_AVX2) && (features & need) == need;
    }
    }
    return 0;
}

static int built(vigil_nn_isa_t isa)
{
    return isa == VIGIL_NN_ISA_GENERIC || (isa == VIGIL_NN_ISA_AVX2 && BUILT_AVX2) ||
           (isa == VIGIL_NN_ISA_AVX512 && BUILT_AVX512);
}

int vigil_nn_isa_supported(vigil_nn_isa_t isa)
{
    vigil__nn_isa();
    return (unsigned)isa < VIGIL_NN_ISA_COUNT && cpu_has(isa) && built(isa);
}

static void resolve(void)
{
    features = detect();
    best = VIGIL_NN_ISA_GENERIC;
    for (int t = VIGIL_NN_ISA_COUNT - 1; t > 0; t--)
        if (cpu_has((vigil_nn_isa_t)t) && built((vigil_nn_isa_t)t)) {
            best = (vigil_nn_isa_t)t;
            break;
        }
    vigil_nn_isa_t use = best;
    const char *v = getenv("VIGIL_NN_ISA");
    if (v && *v) {
        snprintf(env_val, sizeof env_val, "%.*s", (int)strnlen(v, 24), v);
        int t = -1;
        for (int i = 0; i < VIGIL_NN_ISA_COUNT; i++)
            if (!strcmp(v, names[i])) t = i;
        if (t < 0)
            snprintf(env_err, sizeof env_err, "VIGIL_NN_ISA=%s: unknown tier (generic, avx2, avx512)", env_val);
        else if (!cpu_has((vigil_nn_isa_t)t))
            snprintf(env_err, sizeof env_err, "VIGIL_NN_ISA=%s: this CPU lacks %s (best tier here: %s)",
                     env_val, t == VIGIL_NN_ISA_AVX2 ? "AVX2/FMA" : "AVX-512 F/BW/VL/DQ", names[best]);
        else if (!built((vigil_nn_isa_t)t))
            snprintf(env_err, sizeof env_err,
                     "VIGIL_NN_ISA=%s: this build has no %s kernels (best tier here: %s)", env_val,
                     vigil_nn_isa_name((vigil_nn_isa_t)t), names[best]);
        else {
            use = (vigil_nn_isa_t)t;
            how = "VIGIL_NN_ISA";
        }
    }
    __atomic_store_n(&vigil__nn_isa_cur, (int)use, __ATOMIC_RELEASE);
}

void vigil__nn_isa_resolve(void)
{
    pthread_once(&once, resolve);
}

unsigned vigil__nn_cpu_features(void)
{
    vigil__nn_isa();
    return features;
}

vigil_nn_isa_t vigil_nn_isa(void)
{
    return vigil__nn_isa();
}

vigil_nn_isa_t vigil_nn_isa_best(void)
{
    vigil__nn_isa();
    return best;
}

int vigil__nn_isa_force(vigil_nn_isa_t isa)
{
    if (!vigil_nn_isa_supported(isa)) return -1;
    __atomic_store_n(&vigil__nn_isa_cur, (int)isa, __ATOMIC_RELEASE);
    return 0;
}

vigil_err_t vigil_nn_isa_check(char *errstr, size_t errstr_size)
{
    vigil__nn_isa();
    if (!env_err[0]) return VIGIL_OK;
    int unknown = strstr(env_err, "unknown tier") != NULL;
    return vigil_seterr(errstr, errstr_size, unknown ? VIGIL_ERR_INVALID : VIGIL_ERR_UNSUPPORTED, "%s",
                        env_err);
}

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
#if defined(__x86_64__) || defined(__i386__)
    unsigned r[12];
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000004u) return;
    for (unsigned i = 0; i < 3; i++)
        __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = 0;
    char *p = s;
    while (*p == ' ') p++;
    size_t n = strlen(p);
    while (n && p[n - 1] == ' ') p[--n] = 0;
    snprintf(buf, size, "%s", p);
#endif
}

void vigil_nn_isa_describe(char *buf, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } fl[] = {{NN_CPU_AVX2, "avx2"},         {NN_CPU_FMA, "fma"},           {NN_CPU_F16C, "f16c"},
              {NN_CPU_AVX512F, "avx512f"},   {NN_CPU_AVX512BW, "avx512bw"}, {NN_CPU_AVX512VL, "avx512vl"},
              {NN_CPU_AVX512DQ, "avx512dq"}, {NN_CPU_AVX512VNNI, "avx512vnni"},
              {NN_CPU_AVX512BF16, "avx512bf16"}, {NN_CPU_AVXVNNI, "avxvnni"}};
    vigil_nn_isa_t cur = vigil__nn_isa();
    char model[64], flags[160] = "";
    cpu_model(model, sizeof model);
    size_t o = 0;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
        if ((features & fl[i].bit) && o < sizeof flags)
            o += (size_t)snprintf(flags + o, sizeof flags - o, "%s%s", o ? " " : "", fl[i].name);
    char why[96];
    if (env_err[0]) snprintf(why, sizeof why, "best; VIGIL_NN_ISA=%s refused", env_val);
    else if (!strcmp(how, "VIGIL_NN_ISA")) snprintf(why, sizeof why, "VIGIL_NN_ISA; best %s", names[best]);
    else if (cur != best) snprintf(why, sizeof why, "forced; best %s", names[best]);
    else snprintf(why, sizeof why, "best");
    snprintf(buf, size, "isa %s (%s) cpu \"%s\" flags %s", names[cur], why, model, flags[0] ? flags : "-");
}
