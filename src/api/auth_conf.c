/* The API's accounts settings: auth.* read once, the relying party and
 * origins passkeys and cookie writes are checked against, the one-time
 * setup token of a warehouse with no users, and the audit helper.
 *
 * Main idea: defaults follow http.listen, so `vigil run` on 127.0.0.1:8080
 * works at http://localhost:8080 and http://127.0.0.1:8080 with no auth
 * settings; a deployment behind a name sets auth.rp_id and auth.origins. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/log.h"

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcmp(host, "localhost") == 0;
}

vigil_err_t vigil__api_auth_init(vigil_api_t *api, const vigil_config_t *cfg, char *errstr,
                                 size_t errstr_size)
{
    vigil__api_auth_t *a = &api->auth;

    pthread_mutex_init(&a->lock, NULL);
    a->enabled = cfg->auth_enabled;
    a->ttl_s = (int64_t)cfg->auth_session_hours * 3600;
    a->idle_s = (int64_t)cfg->auth_session_idle_hours * 3600;
    if (a->ttl_s <= 0) a->ttl_s = 168 * 3600;
    if (a->idle_s <= 0) a->idle_s = 24 * 3600;
    if (!a->enabled && !is_loopback(api->host))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "auth.enabled: false is accepted only when http.listen is a loopback "
                            "address (it is \"%s\"): anyone who reaches the port would be admin",
                            api->listen);
    if (cfg->auth_rp_id && cfg->auth_rp_id[0])
        snprintf(a->rp_id, sizeof(a->rp_id), "%s", cfg->auth_rp_id);
    else
        snprintf(a->rp_id, sizeof(a->rp_id), "%s", is_loopback(api->host) ? "localhost" : api->host);
    if (cfg->auth_origins && strlen(cfg->auth_origins) >= sizeof(a->origins))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "auth.origins: longer than %zu bytes", sizeof(a->origins) - 1);
    snprintf(a->origins, sizeof(a->origins), "%s", cfg->auth_origins ? cfg->auth_origins : "");
    return VIGIL_OK;
}

void vigil__api_auth_free(vigil_api_t *api)
{
    pthread_mutex_destroy(&api->auth.lock);
}

void vigil__api_auth_origins(vigil_api_t *api, char *out, size_t size)
{
    if (api->auth.origins[0]) {
        snprintf(out, size, "%s", api->auth.origins);
        return;
    }
    snprintf(out, size, "%s://localhost:%d,%s://127.0.0.1:%d,%s://[::1]:%d",
             api->tls ? "https" : "http", api->port, api->tls ? "https" : "http", api->port,
             api->tls ? "https" : "http", api->port);
    if (!is_loopback(api->host) && strcmp(api->host, "0.0.0.0") && strcmp(api->host, "::")) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, ",%s://%s:%d", api->tls ? "https" : "http", api->host,
                 api->port);
    }
}

const char *vigil__api_auth_rp_id(vigil_api_t *api)
{
    return api->auth.rp_id;
}

void vigil__api_auth_start(vigil_api_t *api)
{
    char errstr[256];
    uint8_t raw[24];
    vigil_store_t *store;
    int64_t users;

    if (!api->auth.enabled) {
        vigil_warn("api", NULL,
                   "auth.enabled is false: every caller on %s is admin (loopback only)",
                   api->listen);
        return;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    users = store ? vigil_user_count(store) : -1;
    vigil__api_store_release(api, store);
    if (users != 0) return;
    vigil_random_bytes(raw, sizeof(raw));
    pthread_mutex_lock(&api->auth.lock);
    vigil_b64url_encode(raw, sizeof(raw), api->auth.setup_token, sizeof(api->auth.setup_token));
    pthread_mutex_unlock(&api->auth.lock);
    /* The one secret vigil ever logs, on purpose: whoever reads the log of a
     * fresh install makes the first admin with it, once. */
    vigil_info("api", NULL,
               "no users yet: use setup token %s once to create the first admin (POST "
               "/api/v1/auth/setup {\"token\",\"name\",\"password\"}), or run `vigil user "
               "add NAME --role admin`",
               api->auth.setup_token);
}

void vigil__api_audit(vigil_api_t *api, vigil__req_t *req, const char *action, const char *target,
                      const char *detail)
{
    char errstr[256];
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));

    if (!store || vigil_audit_add(store, vigil_now_us(), &req->who, req->client_ip, action,
                                  target ? target : "", detail, errstr,
                                  sizeof(errstr)) != VIGIL_OK)
        vigil_warn("api", NULL, "audit log: cannot record %s on \"%s\" by \"%s\": %s", action,
                   target ? target : "", req->who.user, store ? errstr : "no warehouse");
    vigil__api_store_release(api, store);
}
