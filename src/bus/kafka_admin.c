/* Kafka admin requests for the bus: topic creation, partition counts,
 * committed offsets of a group; and vigil_kafka_create_topics() (kafka.h),
 * which `vigil kafka init` uses to create the pipeline's topics.
 *
 * Main idea: every admin call runs on an existing handle (the bus's producer,
 * or a short-lived producer for vigil_kafka_create_topics) with a private
 * result queue, waits for its one result event up to a timeout, and turns
 * the per-item results into one vigil_err_t with a message naming the topic
 * or group. "Already exists" is success: creation is idempotent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/kafka_int.h"
#include "vigil/kafka.h"
#include "vigil/log.h"

vigil_err_t kafka__err(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return VIGIL_OK;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return VIGIL_ERR_TIMED_OUT;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return VIGIL_ERR_FULL;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return VIGIL_ERR_INVALID;
    default:
        return VIGIL_ERR_BUS;
    }
}

/* Waits for the result event of one admin request on q. */
static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q, int timeout_ms)
{
    return rd_kafka_queue_poll(q, timeout_ms + 1000);
}

vigil_err_t kafka__create_topic(rd_kafka_t *rk, const char *name, int partitions, int rf,
                                int min_isr, int64_t retention_ms, int64_t segment_ms,
                                const char *cleanup_policy, int timeout_ms, char *errstr,
                                size_t errstr_size)
{
    char buf[512], num[32];
    rd_kafka_NewTopic_t *nt = NULL;
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_topic_result_t **res;
    size_t nres = 0;
    vigil_err_t ret = VIGIL_ERR_BUS;

    nt = rd_kafka_NewTopic_new(name, partitions, rf, buf, sizeof(buf));
    if (!nt) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "topic \"%s\": %s", name, buf);
        return VIGIL_ERR_CONFIG;
    }
    snprintf(num, sizeof(num), "%d", KAFKA_MAX_MESSAGE_BYTES);
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", num);
    if (min_isr > 0) {
        snprintf(num, sizeof(num), "%d", min_isr);
        rd_kafka_NewTopic_set_config(nt, "min.insync.replicas", num);
    }
    if (retention_ms != 0) {
        snprintf(num, sizeof(num), "%lld", (long long)retention_ms);
        rd_kafka_NewTopic_set_config(nt, "retention.ms", num);
    }
    if (segment_ms > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)segment_ms);
        rd_kafka_NewTopic_set_config(nt, "segment.ms", num);
    }
    if (cleanup_policy && cleanup_policy[0])
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", cleanup_policy);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, buf, sizeof(buf));
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, buf, sizeof(buf));
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    ev = wait_result(q, timeout_ms);
    if (!ev) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TIMED_OUT,
                           "topic \"%s\": no answer to create within %d ms", name, timeout_ms);
        goto done;
    }
    if (rd_kafka_event_error(ev)) {
        ret = vigil_seterr(errstr, errstr_size, kafka__err(rd_kafka_event_error(ev)),
                           "topic \"%s\": cannot create: %s", name,
                           rd_kafka_event_error_string(ev));
        goto done;
    }
    res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
    if (nres != 1) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "topic \"%s\": no create result",
                           name);
        goto done;
    }
    switch (rd_kafka_topic_result_error(res[0])) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        ret = VIGIL_OK;
        break;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
        ret = VIGIL_ERR_EXISTS;
        break;
    default:
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "topic \"%s\": cannot create: %s",
                           name, rd_kafka_topic_result_error_string(res[0]));
    }
done:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
    return ret;
}

int kafka__partition_count(rd_kafka_t *rk, const char *name, int timeout_ms, char *errstr,
                           size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    rd_kafka_resp_err_t err;
    int n = -1;

    if (!rkt) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "topic \"%s\": %s", name,
                     rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (err) {
        vigil_seterr(errstr, errstr_size, kafka__err(err), "topic \"%s\": metadata: %s", name,
                     rd_kafka_err2str(err));
    } else if (md->topic_cnt != 1) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "topic \"%s\": no metadata", name);
    } else if (md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
               (md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topics[0].partition_cnt == 0)) {
        n = 0;
    } else if (md->topics[0].err) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "topic \"%s\": %s", name,
                     rd_kafka_err2str(md->topics[0].err));
    } else {
        n = md->topics[0].partition_cnt;
        /* a partition without a leader yet (just created) is not usable */
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            if (md->topics[0].partitions[i].leader < 0 || md->topics[0].partitions[i].err)
                n = 0;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

vigil_err_t kafka__committed(rd_kafka_t *rk, const char *group, const char *topic, int nparts,
                             int64_t *committed, int timeout_ms, char *errstr, size_t errstr_size)
{
    char buf[256];
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
    rd_kafka_ListConsumerGroupOffsets_t *req;
    rd_kafka_AdminOptions_t *opts;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev;
    const rd_kafka_group_result_t **groups;
    size_t ngroups = 0;
    vigil_err_t ret = VIGIL_ERR_BUS;

    for (int p = 0; p < nparts; p++) {
        rd_kafka_topic_partition_list_add(parts, topic, p);
        committed[p] = -1;
    }
    req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, buf, sizeof(buf));
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, opts, q);
    ev = wait_result(q, timeout_ms);
    if (!ev) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TIMED_OUT,
                           "group \"%s\": no committed offsets within %d ms", group, timeout_ms);
        goto done;
    }
    if (rd_kafka_event_error(ev)) {
        ret = vigil_seterr(errstr, errstr_size, kafka__err(rd_kafka_event_error(ev)),
                           "group \"%s\": committed offsets: %s", group,
                           rd_kafka_event_error_string(ev));
        goto done;
    }
    groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &ngroups);
    if (ngroups != 1 || rd_kafka_group_result_error(groups[0])) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS,
                           "group \"%s\": committed offsets: %s", group,
                           ngroups == 1 ? rd_kafka_error_string(rd_kafka_group_result_error(groups[0]))
                                        : "no result");
        goto done;
    }
    {
        const rd_kafka_topic_partition_list_t *got =
            rd_kafka_group_result_partitions(groups[0]);
        for (int i = 0; got && i < got->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &got->elems[i];
            if (strcmp(tp->topic, topic) == 0 && tp->partition >= 0 && tp->partition < nparts &&
                !tp->err)
                committed[tp->partition] = tp->offset >= 0 ? tp->offset : -1;
        }
    }
    ret = VIGIL_OK;
done:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_topic_partition_list_destroy(parts);
    return ret;
}

vigil_err_t vigil_kafka_create_topics(const char *bootstrap, const vigil_kafka_topic_spec_t *specs,
                                      size_t nspecs, int timeout_ms, size_t *existed, char *errstr,
                                      size_t errstr_size)
{
    char buf[512];
    kafka_url_t url = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr;
    vigil_err_t ret;
    const char *rest = bootstrap;

    if (existed)
        *existed = 0;
    if (!bootstrap || (!specs && nspecs))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "kafka: no bootstrap or specs");
    if (strncmp(rest, "kafka://", 8) == 0)
        rest += 8;
    ret = kafka__url_parse(rest, &url, errstr, errstr_size);
    if (ret != VIGIL_OK)
        return ret;
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", url.brokers, buf, sizeof(buf)) ||
        rd_kafka_conf_set(conf, "client.id", "vigil-admin", buf, sizeof(buf))) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "kafka \"%s\": %s", bootstrap,
                           buf);
        goto done;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof(buf));
    if (!rk) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "kafka \"%s\": %s", bootstrap, buf);
        goto done;
    }
    conf = NULL; /* owned by rk */
    rerr = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (rerr) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TIMED_OUT,
                           "kafka \"%s\": no broker reachable within %d ms: %s", bootstrap,
                           timeout_ms, rd_kafka_err2str(rerr));
        goto done;
    }
    for (size_t i = 0; i < nspecs; i++) {
        const vigil_kafka_topic_spec_t *s = &specs[i];
        int rf = s->replication_factor > 0 ? s->replication_factor
                                           : (md->broker_cnt < 3 ? md->broker_cnt : 3);
        if (!s->name || !s->name[0] || s->partitions < 1) {
            ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                               "topic \"%s\": needs a name and >= 1 partitions",
                               s->name ? s->name : "");
            goto done;
        }
        ret = kafka__create_topic(rk, s->name, s->partitions, rf, s->min_insync_replicas,
                                  s->retention_ms, s->segment_ms, s->cleanup_policy, timeout_ms,
                                  errstr, errstr_size);
        if (ret == VIGIL_ERR_EXISTS) {
            if (existed)
                (*existed)++;
            ret = VIGIL_OK;
        }
        if (ret != VIGIL_OK)
            goto done;
    }
    ret = VIGIL_OK;
done:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    kafka__url_release(&url);
    return ret;
}

/* A short-lived client handle on bootstrap ("kafka://..." or "HOST:PORT,...")
 * that has answered one metadata request (*md, caller destroys). */
static rd_kafka_t *admin_handle(const char *bootstrap, int timeout_ms,
                                const struct rd_kafka_metadata **md, char *errstr,
                                size_t errstr_size, vigil_err_t *ret)
{
    char buf[512];
    kafka_url_t url = {0};
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_resp_err_t rerr;
    const char *rest = bootstrap;

    if (strncmp(rest, "kafka://", 8) == 0)
        rest += 8;
    if ((*ret = kafka__url_parse(rest, &url, errstr, errstr_size)) != VIGIL_OK)
        return NULL;
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", url.brokers, buf, sizeof(buf)) ||
        rd_kafka_conf_set(conf, "client.id", "vigil-admin", buf, sizeof(buf))) {
        *ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "kafka \"%s\": %s", bootstrap,
                            buf);
        rd_kafka_conf_destroy(conf);
        kafka__url_release(&url);
        return NULL;
    }
    if (url.connect_timeout_ms < timeout_ms) /* ?connect_timeout_ms= bounds the wait */
        timeout_ms = url.connect_timeout_ms;
    kafka__url_release(&url);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof(buf));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        *ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "kafka \"%s\": %s", bootstrap, buf);
        return NULL;
    }
    rerr = rd_kafka_metadata(rk, 0, NULL, md, timeout_ms);
    if (rerr) {
        *ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TIMED_OUT,
                            "kafka \"%s\": no broker reachable within %d ms: %s", bootstrap,
                            timeout_ms, rd_kafka_err2str(rerr));
        rd_kafka_destroy(rk);
        return NULL;
    }
    *ret = VIGIL_OK;
    return rk;
}

vigil_err_t vigil_kafka_describe_topic(const char *bootstrap, const char *topic,
                                       vigil_kafka_partition_info_t *out, size_t max, size_t *n,
                                       int timeout_ms, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    const struct rd_kafka_metadata_topic *t = NULL;
    vigil_err_t ret;
    rd_kafka_t *rk;

    *n = 0;
    if (!bootstrap || !topic || !topic[0])
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "kafka: no bootstrap or topic");
    rk = admin_handle(bootstrap, timeout_ms, &md, errstr, errstr_size, &ret);
    if (!rk)
        return ret;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err)
            t = &md->topics[i];
    if (!t || t->partition_cnt == 0) {
        ret = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "topic \"%s\" not found",
                           topic);
        goto done;
    }
    *n = (size_t)t->partition_cnt;
    for (int i = 0; i < t->partition_cnt && (size_t)i < max; i++) {
        const struct rd_kafka_metadata_partition *mp = &t->partitions[i];
        vigil_kafka_partition_info_t *pi = &out[i];
        memset(pi, 0, sizeof(*pi));
        pi->partition = mp->id;
        pi->leader = mp->err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ? -1 : mp->leader;
        pi->replicas = mp->replica_cnt;
        pi->isrs = mp->isr_cnt;
        for (int b = 0; b < md->broker_cnt && pi->leader >= 0; b++)
            if (md->brokers[b].id == mp->leader) {
                snprintf(pi->leader_host, sizeof(pi->leader_host), "%s", md->brokers[b].host);
                pi->leader_port = md->brokers[b].port;
            }
        if (!pi->leader_host[0])
            pi->leader = -1;
        if (rd_kafka_query_watermark_offsets(rk, topic, mp->id, &pi->low, &pi->high, timeout_ms))
            pi->low = pi->high = -1;
    }
    ret = VIGIL_OK;
done:
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return ret;
}
