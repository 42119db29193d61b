/* MaxPool's interior with AVX2: eight output columns at a time, stride 1
 * or 2, every tap inside the input (ops_pool.c splits border from
 * interior). vmaxps(v, acc) is `v > acc ? v : acc`, the scalar loop's
 * compare, and the taps run in the same order (rows, then columns), so the
 * results are bit-identical to it (NaN skipped, the first of -0/+0 kept). */
#include <immintrin.h>
#include <math.h>

#include "nn/cpu/kernels.h"

int64_t vigil__nn_maxpool_row_avx2(const nn_maxrow_t *r, float *y)
{
    int64_t j = 0, reach = (r->kw - 1) * r->dw + (r->sw == 2 ? 16 : 8);
    for (; j + 8 <= r->n && j * r->sw + reach <= r->avail; j += 8) {
        __m256 acc = _mm256_set1_ps(-INFINITY);
        for (int64_t ki = 0; ki < r->nrows; ki++) {
            const float *xr = r->rows[ki] + j * r->sw;
            for (int64_t kj = 0; kj < r->kw; kj++) {
                const float *xs = xr + kj * r->dw;
                __m256 v;
                if (r->sw == 1) {
                    v = _mm256_loadu_ps(xs);
                } else { /* the even elements of 16 */
                    __m256 a = _mm256_loadu_ps(xs), b = _mm256_loadu_ps(xs + 8);
                    v = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
                    v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
                }
                acc = _mm256_max_ps(v, acc);
            }
        }
        _mm256_storeu_ps(y + j, acc);
    }
    return j;
}
