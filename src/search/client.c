/* The HTTP client of src/search: one libcurl easy handle per connection to
 * the node, kept alive between requests, answers read into a bounded buffer.
 *
 * search.url is opensearch:// or elasticsearch:// (http) or opensearchs:// or
 * elasticsearchs:// (https), HOST:PORT, optionally USER:PASSWORD@ (sent as
 * basic auth, never shown: messages name vigil_url_redact's form).
 *
 * Thread: a vigil__os_t is used by one thread at a time. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"
#include "vigil/redact.h"

static const struct {
    const char *scheme, *http;
} schemes[] = {
    {"opensearch://", "http://"},
    {"elasticsearch://", "http://"},
    {"opensearchs://", "https://"},
    {"elasticsearchs://", "https://"},
};

vigil_err_t vigil__os_open(vigil__os_t *os, const char *url, int timeout_ms, char *errstr,
                           size_t errstr_size)
{
    memset(os, 0, sizeof *os);
    vigil_url_redact(url ? url : "", os->shown, sizeof os->shown);
    const char *rest = NULL, *http = NULL;
    for (size_t i = 0; url && i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].scheme);
        if (strncmp(url, schemes[i].scheme, n) == 0) {
            rest = url + n;
            http = schemes[i].http;
        }
    }
    if (!rest || !*rest || *rest == '/')
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "search.url \"%s\": not opensearch://HOST:PORT or "
                            "elasticsearch://HOST:PORT",
                            os->shown);
    const char *at = strchr(rest, '@'), *slash = strchr(rest, '/');
    if (at && (!slash || at < slash)) {
        size_t n = (size_t)(at - rest);
        if (n >= sizeof os->userpwd)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                "search.url \"%s\": credentials too long", os->shown);
        memcpy(os->userpwd, rest, n);
        os->userpwd[n] = '\0';
        rest = at + 1;
    }
    size_t hostlen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (hostlen == 0 || strlen(http) + hostlen >= sizeof os->base)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "search.url \"%s\": no host", os->shown);
    snprintf(os->base, sizeof os->base, "%s%.*s", http, (int)hostlen, rest);
    os->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    if (!(os->curl = curl_easy_init()))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: curl_easy_init failed");
    return VIGIL_OK;
}

void vigil__os_close(vigil__os_t *os)
{
    if (os && os->curl) curl_easy_cleanup(os->curl);
    if (os) os->curl = NULL;
}

void vigil__os_reply_release(vigil__os_reply_t *reply)
{
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    vigil__os_reply_t *r = opaque;
    size_t n = size * nmemb;
    if (r->len + n + 1 > VIGIL__OS_REPLY_MAX) return 0; /* curl fails the transfer */
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1) cap *= 2;
        char *grown = realloc(r->body, cap);
        if (!grown) return 0;
        r->body = grown;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

vigil_err_t vigil__os_request(vigil__os_t *os, const char *method, const char *path,
                              const char *body, size_t len, int ndjson, vigil__os_reply_t *reply,
                              char *errstr, size_t errstr_size)
{
    char url[2048], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    CURL *c = os->curl;

    free(reply->body);
    memset(reply, 0, sizeof *reply);
    snprintf(url, sizeof url, "%s%s", os->base, path);
    curl_easy_reset(c);
    headers = curl_slist_append(headers, ndjson ? "Content-Type: application/x-ndjson"
                                                : "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (os->userpwd[0]) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, os->userpwd);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)os->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)os->timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-search");
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (rc != CURLE_OK) {
        reply->status = 0;
        return vigil_seterr(errstr, errstr_size,
                            rc == CURLE_OPERATION_TIMEDOUT ? VIGIL_ERR_TIMED_OUT : VIGIL_ERR_IO,
                            "search node %s: %s %s: %s", os->shown, method, path,
                            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
    return VIGIL_OK;
}

void vigil__os_reply_error(const vigil__os_reply_t *reply, char *out, size_t size)
{
    json_error_t jerr;
    json_t *root = reply->body ? json_loads(reply->body, 0, &jerr) : NULL;
    json_t *error = json_object_get(root, "error");
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *reason = json_string_value(json_object_get(error, "reason"));
    if (type)
        snprintf(out, size, "HTTP %ld %s: %s", reply->status, type, reason ? reason : "");
    else if (json_is_string(error))
        snprintf(out, size, "HTTP %ld: %s", reply->status, json_string_value(error));
    else
        snprintf(out, size, "HTTP %ld: %.200s", reply->status, reply->body ? reply->body : "");
    json_decref(root);
}
