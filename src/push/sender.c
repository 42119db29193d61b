/* The push sender: one thread that takes due alerts from the queue,
 * encrypts each for its subscription, signs a VAPID token for the endpoint's
 * origin and POSTs it with libcurl (RFC 8030 section 5).
 *
 * Outcomes: 2xx sent; 404/410 the subscription is gone: deleted from the
 * warehouse; 429, 5xx and network errors retried after base * 2^attempt
 * (capped at retry_max_ms; a longer Retry-After is honoured up to that cap)
 * until push.retries further attempts were made; any other status is a
 * refusal, not retried. Logs name the endpoint's origin only.
 *
 * One POST at a time, with conf.timeout_ms as its deadline; a retry waits
 * in the queue, not in the thread, so other alerts go first meanwhile.
 * Redirects are not followed; only http and https are spoken; at most
 * REPLY_MAX bytes of a reply body are read.
 *
 * Destinations (dest.c): every address libcurl is about to connect to goes
 * through open_socket(), which refuses the classes push.allow_* do not
 * allow (loopback, private, link-local such as cloud metadata, ...). The
 * check is on the resolved address, after DNS, so a name that resolves to
 * an internal address now (DNS rebinding) is refused whatever it resolved
 * to at subscribe time. A send whose every address was refused is given up
 * at once (vigil_push_refused_total, vigil_push_failed_total), not retried.
 * Proxies from the environment are not used: the check must see the
 * address the POST really goes to. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "push/push_int.h"
#include "vigil/clock.h"
#include "vigil/workers.h"

#define VAPID_TTL_S (12 * 3600) /* the JWT's lifetime: RFC 8292 allows up to 24 h */
#define REPLY_MAX 4096           /* bytes of a reply body read (and ignored) */

typedef struct reply {
    size_t body;
    int64_t retry_after_s;
} reply_t;

/* What open_socket saw during one POST. */
typedef struct dest {
    int allow;   /* VIGIL_PUSH_ALLOW_* */
    int opened;  /* sockets opened to allowed addresses */
    int refused; /* addresses refused */
    vigil_push_addr_class_t cls; /* the last refused one's class and text */
    char addr[INET6_ADDRSTRLEN];
} dest_t;

/* CURLOPT_OPENSOCKETFUNCTION: libcurl calls it for each address it tries
 * (after DNS; happy eyeballs tries several). A refused address returns
 * CURL_SOCKET_BAD, so libcurl moves on to the next one or fails with
 * CURLE_COULDNT_CONNECT. Thread: the sender's. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    dest_t *d = ud;
    const void *ip = NULL;
    curl_socket_t fd;

    if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET &&
        a->addrlen >= sizeof(struct sockaddr_in))
        ip = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
    else if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET6 &&
             a->addrlen >= sizeof(struct sockaddr_in6))
        ip = &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr;
    vigil_push_addr_class_t cls =
        ip ? vigil_push_addr_classify(a->family, ip) : VIGIL_PUSH_ADDR_RESERVED;
    if (!vigil_push_addr_allowed(cls, d->allow)) {
        d->refused++;
        d->cls = cls;
        if (!ip || !inet_ntop(a->family, ip, d->addr, sizeof(d->addr)))
            snprintf(d->addr, sizeof(d->addr), "(family %d)", a->family);
        return CURL_SOCKET_BAD;
    }
#ifdef SOCK_CLOEXEC
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else /* macOS: close-on-exec set right after */
    fd = socket(a->family, a->socktype, a->protocol);
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        close(fd);
        fd = -1;
    }
#endif
    if (fd >= 0) d->opened++;
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    reply_t *r = ud;
    (void)ptr;
    r->body += size * nmemb;
    return r->body > REPLY_MAX ? 0 : size * nmemb; /* 0 ends a runaway body */
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    reply_t *r = ud;
    size_t n = size * nitems;
    if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
        long long v = strtoll(buf + 12, NULL, 10);
        if (v > 0 && v < 86400) r->retry_after_s = v;
    }
    return n;
}

/* Takes the due job with the earliest due time, waiting for one; NULL when
 * stopping. */
static vigil__push_job_t *take_due(vigil_push_t *push)
{
    size_t qmax = (size_t)push->conf.queue_max;
    vigil__push_job_t *job = NULL;

    pthread_mutex_lock(&push->lock);
    while (!push->stopping) {
        size_t best = SIZE_MAX;
        int64_t now = vigil_mono_us();
        for (size_t i = 0; i < push->count; i++) {
            size_t at = (push->head + i) % qmax;
            if (best == SIZE_MAX || push->queue[at]->due_us < push->queue[best]->due_us)
                best = at;
        }
        if (best != SIZE_MAX && push->queue[best]->due_us <= now) {
            job = push->queue[best];
            /* close the gap: move the jobs before it one step on */
            for (size_t at = best; at != push->head;) {
                size_t prev = (at + qmax - 1) % qmax;
                push->queue[at] = push->queue[prev];
                at = prev;
            }
            push->queue[push->head] = NULL;
            push->head = (push->head + 1) % qmax;
            push->count--;
            vigil_gauge_set(push->m_queue, (int64_t)push->count);
            break;
        }
        if (best == SIZE_MAX) {
            pthread_cond_wait(&push->wake, &push->lock);
        } else {
            int64_t due = push->queue[best]->due_us;
            struct timespec ts = {.tv_sec = due / 1000000, .tv_nsec = (due % 1000000) * 1000};
            pthread_cond_timedwait(&push->wake, &push->lock, &ts);
        }
    }
    pthread_mutex_unlock(&push->lock);
    return job;
}

/* Puts job back to be tried again at due_us (the same bounded queue). */
static void requeue(vigil_push_t *push, vigil__push_job_t *job)
{
    size_t qmax = (size_t)push->conf.queue_max;
    vigil__push_job_t *old = NULL;

    pthread_mutex_lock(&push->lock);
    if (push->stopping) {
        pthread_mutex_unlock(&push->lock);
        vigil_counter_inc(push->m_dropped);
        free(job->payload);
        free(job);
        return;
    }
    if (push->count == qmax) {
        old = push->queue[push->head];
        push->queue[push->head] = NULL;
        push->head = (push->head + 1) % qmax;
        push->count--;
    }
    push->queue[(push->head + push->count) % qmax] = job;
    push->count++;
    vigil_gauge_set(push->m_queue, (int64_t)push->count);
    pthread_mutex_unlock(&push->lock);
    if (old) {
        vigil_counter_inc(push->m_dropped);
        vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                          "push queue full: dropped the oldest alert, to %s", old->origin);
        free(old->payload);
        free(old);
    }
}

#define POST_NETWORK (-1) /* a network error: retried */
#define POST_UNSIGNED (-2) /* the VAPID token cannot be made */
#define POST_REFUSED (-3)  /* every address of the endpoint was of a forbidden class */

/* One POST. Returns the HTTP status, or POST_* with errbuf. */
static long post(vigil_push_t *push, CURL *curl, const vigil__push_job_t *job,
                 const uint8_t *body, size_t len, reply_t *reply, dest_t *dest, char *errbuf)
{
    char auth[1024], hdr[1100], ttl[48], err[256];
    struct curl_slist *headers = NULL;
    long status = -1;
    CURLcode rc;

    if (vigil_push_vapid_header(push->key, job->origin, push->subject,
                                (int64_t)time(NULL) + VAPID_TTL_S, auth, sizeof(auth), err,
                                sizeof(err))) {
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", err);
        return POST_UNSIGNED;
    }
    snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
    snprintf(ttl, sizeof(ttl), "TTL: %d", push->conf.ttl_s);
    headers = curl_slist_append(headers, hdr);
    headers = curl_slist_append(headers, ttl);
    headers = curl_slist_append(headers, "Content-Encoding: aes128gcm");
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    headers = curl_slist_append(headers, "Urgency: high");
    headers = curl_slist_append(headers, "Expect:");
    if (!headers) {
        snprintf(errbuf, CURL_ERROR_SIZE, "out of memory");
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, job->endpoint);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, reply);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    memset(dest, 0, sizeof(*dest));
    dest->allow = vigil_push_dest_allow(push);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, dest);
    errbuf[0] = '\0';
    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && reply->body > REPLY_MAX))
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else if (dest->refused && !dest->opened)
        status = POST_REFUSED;
    else if (!errbuf[0])
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    OPENSSL_cleanse(auth, sizeof(auth));
    OPENSSL_cleanse(hdr, sizeof(hdr));
    return status > 0 || status == POST_REFUSED ? status : POST_NETWORK;
}

static CURL *curl_new(vigil_push_t *push)
{
    CURL *curl = curl_easy_init();
    if (!curl) return NULL;
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* not $https_proxy: see open_socket */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)push->conf.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)push->conf.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "vigil-push");
    return curl;
}

/* The subscription of job's endpoint is gone (404/410): delete it. */
static void remove_sub(vigil_push_t *push, vigil_store_t **store, const vigil__push_job_t *job,
                       long status)
{
    char errstr[256];
    vigil_err_t err;

    if (!*store) *store = vigil__push_store_open(push, errstr, sizeof(errstr));
    err = *store ? vigil_store_push_sub_delete_endpoint(*store, job->endpoint, errstr,
                                                        sizeof(errstr))
                 : VIGIL_ERR_STORE;
    if (err == VIGIL_OK) {
        vigil_counter_inc(push->m_removed);
        vigil_info("push", NULL, "push subscription at %s removed: the push service answered %ld",
                   job->origin, status);
    } else if (err != VIGIL_ERR_NOT_FOUND) {
        vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                          "push subscription at %s answered %ld but cannot be removed: %s",
                          job->origin, status, errstr);
    }
}

static void *sender_main(void *arg)
{
    vigil_push_t *push = arg;
    vigil_store_t *store = NULL;
    CURL *curl = curl_new(push);
    vigil__push_job_t *job;
    char errbuf[CURL_ERROR_SIZE], errstr[256];

    vigil_thread_name("push-sender");
    while ((job = take_due(push))) {
        uint8_t *body = NULL;
        size_t len = 0;
        reply_t reply = {0, 0};
        dest_t dest = {0};
        long status;

        if (vigil_push_encrypt(job->p256dh, job->auth, NULL, NULL, job->payload, job->len, &body,
                               &len, errstr, sizeof(errstr))) {
            vigil_counter_inc(push->m_failed);
            vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                              "push alert to %s not sent: %s", job->origin, errstr);
            goto done;
        }
        if (!curl && !(curl = curl_new(push))) {
            status = POST_NETWORK;
            snprintf(errbuf, sizeof(errbuf), "cannot make a libcurl handle");
        } else {
            status = post(push, curl, job, body, len, &reply, &dest, errbuf);
        }
        free(body);
        job->attempt++;
        if (status >= 200 && status < 300) {
            vigil_counter_inc(push->m_sent);
            vigil_debug("push", NULL, "push alert sent to %s (%ld)", job->origin, status);
            goto done;
        }
        if (status == 404 || status == 410) {
            remove_sub(push, &store, job, status);
            goto done;
        }
        if (status == POST_REFUSED) { /* retrying would meet the same rule */
            vigil_counter_inc(push->m_refused);
            vigil_counter_inc(push->m_failed);
            vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                              "push alert to %s not sent: it resolves to %s, a %s address (%s)",
                              job->origin, dest.addr, vigil_push_addr_class_str(dest.cls),
                              vigil__push_refusal_hint(dest.cls));
            goto done;
        }
        if (status == POST_UNSIGNED) { /* cannot sign: nothing to retry */
            vigil_counter_inc(push->m_failed);
            vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                              "push alert to %s not sent: %s", job->origin, errbuf);
            goto done;
        }
        if ((status == POST_NETWORK || status == 429 || status >= 500) &&
            job->attempt <= push->conf.retries) {
            int64_t wait_ms = push->conf.retry_base_ms;
            for (int i = 1; i < job->attempt && wait_ms < push->conf.retry_max_ms; i++)
                wait_ms *= 2;
            if (reply.retry_after_s * 1000 > wait_ms) wait_ms = reply.retry_after_s * 1000;
            if (wait_ms > push->conf.retry_max_ms) wait_ms = push->conf.retry_max_ms;
            job->due_us = vigil_mono_us() + wait_ms * 1000;
            vigil_counter_inc(push->m_retries);
            if (status < 0)
                vigil_log_limited(&push->sender_limit, VIGIL_LOG_INFO, "push", NULL, NULL,
                                  "push alert to %s: %s; try %d in %lld ms", job->origin,
                                  errbuf, job->attempt + 1, (long long)wait_ms);
            else
                vigil_log_limited(&push->sender_limit, VIGIL_LOG_INFO, "push", NULL, NULL,
                                  "push alert to %s: answered %ld; try %d in %lld ms",
                                  job->origin, status, job->attempt + 1, (long long)wait_ms);
            requeue(push, job);
            continue;
        }
        vigil_counter_inc(push->m_failed);
        if (status < 0)
            vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                              "push alert to %s given up after %d tries: %s", job->origin,
                              job->attempt, errbuf);
        else
            vigil_log_limited(&push->sender_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                              "push alert to %s given up after %d tries: answered %ld",
                              job->origin, job->attempt, status);
    done:
        OPENSSL_cleanse(job->endpoint, sizeof(job->endpoint));
        free(job->payload);
        free(job);
    }
    if (curl) curl_easy_cleanup(curl);
    vigil_store_close(store);
    vigil_log_limit_flush(&push->sender_limit);
    return NULL;
}

vigil_err_t vigil__push_sender_start(vigil_push_t *push, char *errstr, size_t errstr_size)
{
    if (push->sender_started) return VIGIL_OK;
    if (pthread_create(&push->sender, NULL, sender_main, push) != 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "push: cannot start a thread");
    push->sender_started = 1;
    return VIGIL_OK;
}

void vigil__push_sender_stop(vigil_push_t *push)
{
    pthread_mutex_lock(&push->lock);
    push->stopping = 1;
    pthread_cond_broadcast(&push->wake);
    pthread_mutex_unlock(&push->lock);
    if (push->sender_started) {
        pthread_join(push->sender, NULL);
        push->sender_started = 0;
    }
}
