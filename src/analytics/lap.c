/* Optimal assignment with a threshold (lap.h).
 *
 * Main idea: the matrix is split into connected components of its allowed
 * pairs (cost <= thr); they are independent, and in a tracker almost all of
 * them have one row or one column (objects far apart), which are solved by a
 * scan. A larger component of r rows and c columns is solved exactly by the
 * shortest augmenting path Hungarian algorithm (Jonker-Volgenant's
 * formulation without the initialisation heuristics, O(r^2 (c + r))) on an
 * r x (c + r) matrix whose extra column c+i is "row i stays unmatched" at
 * cost thr, and forbidden pairs cost more than any all-unmatched solution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/lap.h"

void vigil__lap_init(vigil__lap_t *lap)
{
    memset(lap, 0, sizeof *lap);
}

void vigil__lap_release(vigil__lap_t *lap)
{
    free(lap->d);
    free(lap->iv);
    vigil__lap_init(lap);
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int allowed(float c, float thr)
{
    return c <= thr; /* false for NaN */
}

static int uf_find(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* Hungarian on a: r rows x mc columns (1-indexed inside), r <= mc. Writes
 * the column of each row into assign[r]. Scratch: u[r+1], v,p,way,minv,used
 * of mc+1. */
static void hungarian(const double *a, int r, int mc, int *assign, double *u, double *v,
                      double *minv, int *p, int *way, int *used)
{
    for (int i = 0; i <= r; i++) u[i] = 0;
    for (int j = 0; j <= mc; j++) {
        v[j] = 0;
        p[j] = 0;
        way[j] = 0;
    }
    for (int i = 1; i <= r; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= mc; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            int i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (int j = 1; j <= mc; j++) {
                if (used[j]) continue;
                double cur = a[(size_t)(i0 - 1) * mc + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (int j = 0; j <= mc; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (int j = 1; j <= mc; j++)
        if (p[j]) assign[p[j] - 1] = j - 1;
}

int vigil__lap_solve(vigil__lap_t *lap, const float *cost, int n, int m, float thr, int *row_col,
                     int *col_row)
{
    for (int i = 0; i < n; i++) row_col[i] = -1;
    for (int j = 0; j < m; j++) col_row[j] = -1;
    if (n <= 0 || m <= 0) return 0;

    /* int scratch: parent, start, members (n+m, n+m+1, n+m), then the
     * Hungarian's p, way, used (mc+1 each, mc <= n+m) and assign[n] */
    size_t nm = (size_t)n + (size_t)m;
    if (reserve((void **)&lap->iv, &lap->capiv, nm * 7 + 8, sizeof(int))) return -1;
    int *parent = lap->iv, *start = parent + nm, *member = start + nm + 1, *hp = member + nm;
    for (size_t i = 0; i < nm; i++) parent[i] = (int)i;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            if (allowed(cost[(size_t)i * m + j], thr)) {
                int a = uf_find(parent, i), b = uf_find(parent, n + j);
                if (a != b) parent[a > b ? a : b] = a < b ? a : b; /* root = smallest member */
            }
    /* members grouped by root, each group in index order (rows before columns) */
    for (size_t i = 0; i <= nm; i++) start[i] = 0;
    for (size_t i = 0; i < nm; i++) {
        parent[i] = uf_find(parent, (int)i);
        start[parent[i] + 1]++;
    }
    for (size_t i = 0; i < nm; i++) start[i + 1] += start[i];
    for (size_t i = 0; i < nm; i++) member[start[parent[i]]++] = (int)i;
    for (size_t i = nm; i > 0; i--) start[i] = start[i - 1];
    start[0] = 0;

    int matched = 0;
    for (int root = 0; root < n; root++) {
        if (parent[root] != root) continue;
        int *crow = member + start[root];
        int size = start[root + 1] - start[root], r = 0;
        while (r < size && crow[r] < n) r++;
        int c = size - r, *ccol = crow + r;
        for (int y = 0; y < c; y++) ccol[y] -= n; /* node -> column index */
        if (c == 0) continue; /* a row with no allowed pair */
        if (r == 1 || c == 1) {
            /* one row or one column: the cheapest allowed pair (lowest index on ties) */
            int bi = -1, bj = -1;
            float best = 0;
            for (int x = 0; x < r; x++)
                for (int y = 0; y < c; y++) {
                    float cv = cost[(size_t)crow[x] * m + ccol[y]];
                    if (allowed(cv, thr) && (bi < 0 || cv < best)) {
                        best = cv;
                        bi = crow[x];
                        bj = ccol[y];
                    }
                }
            row_col[bi] = bj;
            col_row[bj] = bi;
            matched++;
            continue;
        }
        int mc = c + r;
        double maxabs = fabs((double)thr);
        for (int x = 0; x < r; x++)
            for (int y = 0; y < c; y++) {
                float cv = cost[(size_t)crow[x] * m + ccol[y]];
                if (allowed(cv, thr) && fabs((double)cv) > maxabs) maxabs = fabs((double)cv);
            }
        /* a forbidden pair costs more than leaving every row unmatched could save */
        double big = (double)(r + 1) * (2 * maxabs + 1);
        size_t need = (size_t)r * mc + (size_t)(r + 1) + 3 * (size_t)(mc + 1);
        if (reserve((void **)&lap->d, &lap->capd, need, sizeof(double))) return -1;
        double *a = lap->d, *u = a + (size_t)r * mc, *v = u + r + 1, *minv = v + mc + 1;
        for (int x = 0; x < r; x++) {
            double *row = a + (size_t)x * mc;
            for (int y = 0; y < c; y++) {
                float cv = cost[(size_t)crow[x] * m + ccol[y]];
                row[y] = allowed(cv, thr) ? (double)cv : big;
            }
            for (int y = 0; y < r; y++) row[c + y] = y == x ? (double)thr : big;
        }
        int *way = hp + (mc + 1), *used = way + (mc + 1), *assign = used + (mc + 1);
        hungarian(a, r, mc, assign, u, v, minv, hp, way, used);
        for (int x = 0; x < r; x++) {
            int y = assign[x];
            if (y < c && allowed(cost[(size_t)crow[x] * m + ccol[y]], thr)) {
                row_col[crow[x]] = ccol[y];
                col_row[ccol[y]] = crow[x];
                matched++;
            }
        }
    }
    return matched;
}
