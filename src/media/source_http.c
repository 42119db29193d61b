/* Why an http(s) camera failed to open, for the cases FFmpeg reports only as
 * "input/output error" (see source_int.h). One GET through libcurl with
 * FFmpeg's redirect limit; the body is never read: the transfer ends at its
 * first byte. Only http and https, also for redirects, and no proxy from the
 * environment, as FFmpeg's own request.
 *
 * Thread: any; nothing shared but libcurl's global init (once). */
#include <pthread.h>
#include <stdio.h>

#include <curl/curl.h>

#include "source_int.h"
#include "vigil/redact.h"

#define FFMPEG_MAX_REDIRECTS 8 /* libavformat/http.c MAX_REDIRECTS */

typedef struct {
    int (*cancel)(void *opaque);
    void *opaque;
} probe_t;

static size_t stop_at_body(char *data, size_t size, size_t n, void *opaque)
{
    (void)data, (void)size, (void)n, (void)opaque;
    return 0; /* a body: the redirects ended; CURLE_WRITE_ERROR */
}

static int progress(void *opaque, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    probe_t *p = opaque;
    return p->cancel && p->cancel(p->opaque) ? 1 : 0;
}

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int vigil__source_http_why(const char *url, int timeout_ms, int (*cancel)(void *opaque),
                           void *opaque, char *why, size_t why_size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    probe_t p = {cancel, opaque};
    char *last = NULL, shown[512];
    int found = 0;

    pthread_once(&once, curl_init);
    CURL *c = curl_easy_init();
    if (!c) return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)FFMPEG_MAX_REDIRECTS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stop_at_body);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &p);
    if (curl_easy_perform(c) == CURLE_TOO_MANY_REDIRECTS) {
        /* the URL the last redirect pointed to */
        if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &last) != CURLE_OK || !last)
            curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &last);
        vigil_url_redact(last ? last : "", shown, sizeof(shown));
        snprintf(why, why_size, "redirected more than %d times (a redirect loop?), last to %s",
                 FFMPEG_MAX_REDIRECTS, shown);
        found = 1;
    }
    curl_easy_cleanup(c);
    return found;
}
