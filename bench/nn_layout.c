/* bench/nn_layout.c: NCHW vs NCHWc8 on PP-OCRv4 det's hottest conv
 * (24 output x 96 input channels, 3x3, stride 1, pad 1, 160x160; 1.06
 * GFLOP), single-threaded, so the layout question in docs/nn.md rests on a
 * measurement. Prints the median of RUNS (argv[1], default 20) for:
 *   nchw-im2col-gemm  explicit im2col buffer + vigil-nn's packed SGEMM
 *   nchw-winograd     vigil-nn's Winograd F(2x2,3x3) (what the engine runs)
 *   nchwc8-direct     a direct conv in the blocked layout (8 channels per
 *                     vector, 8 output columns x 8 output channels in
 *                     registers, every tap an FMA; input padded), the
 *                     kernel style of ONNX Runtime's MLAS NCHWc convs
 * and the largest difference of the last two against the first. Prints
 * numbers, asserts nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/cpu/kernels.h"

#define C 96
#define M 24
#define H 160
#define W 160
/* floats per channel block of the padded blocked input, plus 64 so that the
 * 12 blocks do not all alias the same L1 sets (a multiple of 4 KiB) */
#define XB_BLOCK ((H + 2) * (W + 2) * 8 + 64)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#if defined(__x86_64__)
#include <immintrin.h>
/* x [C/8][XB_BLOCK: (H+2)(W+2) x 8, zero border], w [M/8][C/8][3][3][8 in][8 out], y [M/8][H][W][8] */
__attribute__((target("avx2,fma"))) static void conv_c8(const float *x, const float *w, float *y)
{
    const int wp = W + 2;
    for (int mb = 0; mb < M / 8; mb++)
        for (int oh = 0; oh < H; oh++)
            for (int ow = 0; ow < W; ow += 8) {
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                for (int cb = 0; cb < C / 8; cb++)
                    for (int ki = 0; ki < 3; ki++)
                        for (int kj = 0; kj < 3; kj++) {
                            const float *xp = x + (size_t)cb * XB_BLOCK + ((oh + ki) * wp + ow + kj) * 8;
                            const float *wk = w + (((mb * (C / 8) + cb) * 3 + ki) * 3 + kj) * 64;
                            for (int ci = 0; ci < 8; ci++) {
                                __m256 wv = _mm256_loadu_ps(wk + ci * 8);
                                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 0 * 8 + ci), wv, a0);
                                a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 1 * 8 + ci), wv, a1);
                                a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 2 * 8 + ci), wv, a2);
                                a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 3 * 8 + ci), wv, a3);
                                a4 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 4 * 8 + ci), wv, a4);
                                a5 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 5 * 8 + ci), wv, a5);
                                a6 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 6 * 8 + ci), wv, a6);
                                a7 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 7 * 8 + ci), wv, a7);
                            }
                        }
                float *yp = y + ((mb * H + oh) * W + ow) * 8;
                _mm256_storeu_ps(yp, a0);
                _mm256_storeu_ps(yp + 8, a1);
                _mm256_storeu_ps(yp + 16, a2);
                _mm256_storeu_ps(yp + 24, a3);
                _mm256_storeu_ps(yp + 32, a4);
                _mm256_storeu_ps(yp + 40, a5);
                _mm256_storeu_ps(yp + 48, a6);
                _mm256_storeu_ps(yp + 56, a7);
            }
}
#endif

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 20;
    if (runs < 1) runs = 1;
    float *x = malloc(sizeof(float) * C * H * W), *w = malloc(sizeof(float) * M * C * 9);
    float *col = malloc(sizeof(float) * (size_t)C * 9 * H * W), *y0 = malloc(sizeof(float) * M * H * W);
    float *y1 = malloc(sizeof(float) * M * H * W), *y2 = malloc(sizeof(float) * M * H * W);
    float *xb = calloc((size_t)(C / 8) * XB_BLOCK, sizeof(float)), *wb = malloc(sizeof(float) * M * C * 9);
    double *t = malloc(sizeof(double) * (size_t)runs);
    if (!x || !w || !col || !y0 || !y1 || !y2 || !xb || !wb || !t) return 1;
    for (int i = 0; i < C * H * W; i++) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    for (int i = 0; i < M * C * 9; i++) w[i] = (float)((i * 53) % 97) / 97.0f - 0.5f;
    /* blocked copies */
    for (int c = 0; c < C; c++)
        for (int h = 0; h < H; h++)
            for (int ww = 0; ww < W; ww++)
                xb[(size_t)(c / 8) * XB_BLOCK + ((h + 1) * (W + 2) + ww + 1) * 8 + c % 8] = x[(c * H + h) * W + ww];
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < 9; k++)
                wb[(((m / 8 * (C / 8) + c / 8) * 9 + k) * 8 + c % 8) * 8 + m % 8] = w[(m * C + c) * 9 + k];
    nn_epi_t epi = {0};
    const char *names[3] = {"nchw-im2col-gemm", "nchw-winograd", "nchwc8-direct"};
    double med[3] = {0};
    for (int v = 0; v < 3; v++) {
        for (int r = 0; r < runs + 1; r++) {
            double t0 = now_ms();
            if (v == 0) {
                for (int c = 0; c < C; c++)
                    for (int k = 0; k < 9; k++) {
                        int ki = k / 3, kj = k % 3;
                        float *d = col + (size_t)(c * 9 + k) * H * W;
                        for (int oh = 0; oh < H; oh++)
                            for (int ow = 0; ow < W; ow++) {
                                int ih = oh + ki - 1, iw = ow + kj - 1;
                                d[oh * W + ow] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[(c * H + ih) * W + iw] : 0;
                            }
                    }
                vigil__nn_sgemm(0, 0, M, H * W, C * 9, w, C * 9, col, H * W, y0, H * W, 0, NULL);
            } else if (v == 1) {
                nn_wino_args_t a = {x, w, NULL, y1, C, H, W, M, H, W, 1, 1, &epi};
                if (!vigil__nn_have_avx2() || vigil__nn_wino_conv(&a, NULL)) break;
            } else {
#if defined(__x86_64__)
                if (!vigil__nn_have_avx2()) break;
                conv_c8(xb, wb, y2);
#else
                break;
#endif
            }
            if (r) t[r - 1] = now_ms() - t0;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp);
        med[v] = t[runs / 2];
    }
    double d1 = 0, d2 = 0;
    for (int m = 0; m < M; m++)
        for (int i = 0; i < H * W; i++) {
            double ref = y0[m * H * W + i];
            d1 = fmax(d1, fabs(y1[m * H * W + i] - ref));
            d2 = fmax(d2, fabs(y2[((m / 8) * H * W + i) * 8 + m % 8] - ref));
        }
    double gflop = 2.0 * M * C * 9 * H * W / 1e9;
    for (int v = 0; v < 3; v++)
        printf("%-18s median %7.2f ms  %6.1f GFLOP/s (direct-conv FLOPs)\n", names[v], med[v], gflop / med[v] * 1e3);
    printf("max |diff| vs nchw-im2col-gemm: winograd %.3g, nchwc8 %.3g\n", d1, d2);
    free(x), free(w), free(col), free(y0), free(y1), free(y2), free(xb), free(wb), free(t);
    return 0;
}
