/* The health registry (include/vigil/health.h).
 *
 * A fixed array of problems under one mutex: problems are few (one per
 * failing component and camera) and change only when something starts or
 * stops failing, so a linear search is all it needs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"

typedef struct problem {
    char component[32];
    char camera[64];
    vigil_health_level_t level;
    char error[384];
    int64_t since_us, last_us;
    uint64_t count;
} problem_t;

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static problem_t problems[VIGIL_HEALTH_MAX];
static size_t nproblems;
static uint64_t not_kept; /* problems set while the table was full */

static problem_t *find(const char *component, const char *camera)
{
    for (size_t i = 0; i < nproblems; i++)
        if (strcmp(problems[i].component, component) == 0 &&
            strcmp(problems[i].camera, camera ? camera : "") == 0)
            return &problems[i];
    return NULL;
}

void vigil_health_set(const char *component, const char *camera, vigil_health_level_t level,
                      const char *error)
{
    if (!component || level == VIGIL_HEALTH_OK) return;
    int64_t now = vigil_now_us();
    pthread_mutex_lock(&health_lock);
    problem_t *p = find(component, camera);
    if (!p) {
        if (nproblems == VIGIL_HEALTH_MAX) {
            not_kept++;
            pthread_mutex_unlock(&health_lock);
            return;
        }
        p = &problems[nproblems++];
        memset(p, 0, sizeof *p);
        snprintf(p->component, sizeof p->component, "%s", component);
        snprintf(p->camera, sizeof p->camera, "%s", camera ? camera : "");
        p->since_us = now;
    }
    /* a failed problem keeps the error that failed it */
    if (level >= p->level) snprintf(p->error, sizeof p->error, "%s", error ? error : "");
    if (level > p->level) p->level = level;
    p->last_us = now;
    p->count++;
    pthread_mutex_unlock(&health_lock);
}

void vigil_health_clear(const char *component, const char *camera)
{
    if (!component) return;
    pthread_mutex_lock(&health_lock);
    problem_t *p = find(component, camera);
    if (p) *p = problems[--nproblems];
    pthread_mutex_unlock(&health_lock);
}

const char *vigil_health_level_name(vigil_health_level_t level)
{
    switch (level) {
    case VIGIL_HEALTH_OK: return "ok";
    case VIGIL_HEALTH_DEGRADED: return "degraded";
    case VIGIL_HEALTH_FAILED: return "failed";
    }
    return "?";
}

vigil_health_level_t vigil_health_level(char *error, size_t error_size)
{
    vigil_health_level_t worst = VIGIL_HEALTH_OK;
    if (error && error_size) error[0] = '\0';
    pthread_mutex_lock(&health_lock);
    for (size_t i = 0; i < nproblems; i++) {
        const problem_t *p = &problems[i];
        if (p->level <= worst) continue;
        worst = p->level;
        if (!error || !error_size) continue;
        if (p->camera[0])
            snprintf(error, error_size, "%s: camera \"%s\": %s", p->component, p->camera,
                     p->error);
        else
            snprintf(error, error_size, "%s: %s", p->component, p->error);
    }
    pthread_mutex_unlock(&health_lock);
    return worst;
}

/* Appends to a growing buffer; returns -1 when out of memory. */
static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap * 2 : 512;
        while (c < *len + n + 1) c *= 2;
        char *grown = realloc(*buf, c);
        if (!grown) return -1;
        *buf = grown;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* One problem as a JSON object, into out (cap >= 1024: the component and
 * camera are short, the error is cut to fit; a cut field stays valid JSON,
 * since vigil__json_escape stops before a partial escape). */
static size_t problem_json(const problem_t *p, char *out, size_t cap)
{
    char since[40], last[40];
    size_t n = 0;
    vigil_format_time(p->since_us, since, sizeof since);
    vigil_format_time(p->last_us, last, sizeof last);
    n += (size_t)snprintf(out + n, cap - n, "{\"component\":\"");
    n = vigil__json_escape(out, n, cap - 128, p->component);
    n += (size_t)snprintf(out + n, cap - n, "\",\"camera\":");
    if (p->camera[0]) {
        out[n++] = '"';
        n = vigil__json_escape(out, n, cap - 128, p->camera);
        out[n++] = '"';
    } else {
        n += (size_t)snprintf(out + n, cap - n, "null");
    }
    n += (size_t)snprintf(out + n, cap - n, ",\"level\":\"%s\",\"error\":\"",
                          vigil_health_level_name(p->level));
    n = vigil__json_escape(out, n, cap - 160, p->error); /* the rest fits in 160 */
    n += (size_t)snprintf(out + n, cap - n, "\",\"since\":\"%s\",\"last\":\"%s\",\"count\":%llu}",
                          since, last, (unsigned long long)p->count);
    return n < cap ? n : cap - 1;
}

char *vigil_health_json(size_t *len_out)
{
    char *buf = NULL, item[1536];
    size_t len = 0, cap = 0;
    vigil_health_level_t worst = VIGIL_HEALTH_OK;
    int ok = 0;
    pthread_mutex_lock(&health_lock);
    for (size_t i = 0; i < nproblems; i++)
        if (problems[i].level > worst) worst = problems[i].level;
    int n = snprintf(item, sizeof item, "{\"status\":\"%s\"", vigil_health_level_name(worst));
    if (put(&buf, &len, &cap, item, (size_t)n)) goto out;
    if (nproblems) {
        if (put(&buf, &len, &cap, ",\"problems\":[", 13)) goto out;
        for (size_t i = 0; i < nproblems; i++) {
            if (i && put(&buf, &len, &cap, ",", 1)) goto out;
            size_t m = problem_json(&problems[i], item, sizeof item);
            if (put(&buf, &len, &cap, item, m)) goto out;
        }
        if (put(&buf, &len, &cap, "]", 1)) goto out;
    }
    if (not_kept) {
        n = snprintf(item, sizeof item, ",\"more\":%llu", (unsigned long long)not_kept);
        if (put(&buf, &len, &cap, item, (size_t)n)) goto out;
    }
    if (put(&buf, &len, &cap, "}\n", 2)) goto out;
    ok = 1;
out:
    pthread_mutex_unlock(&health_lock);
    if (!ok) {
        free(buf);
        return NULL;
    }
    if (len_out) *len_out = len;
    return buf;
}

void vigil_health_reset(void)
{
    pthread_mutex_lock(&health_lock);
    nproblems = 0;
    not_kept = 0;
    pthread_mutex_unlock(&health_lock);
}
