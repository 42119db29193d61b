/* The bus conformance suite, part 2: consumer groups. Independent groups,
 * members splitting partitions, at-least-once redelivery when a member
 * leaves or dies, release, commit of the acknowledged prefix, and many
 * threads producing and consuming at once. Written against bus.h only. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_conformance_int.h"

/* Polls c until it has nothing for `quiet_ms`; ack each, record offsets. */
static int drain_offsets(vigil_consumer_t *c, int64_t *offsets, int max, int quiet_ms)
{
    int n = 0;
    vigil_bus_msg_t *msg;

    while (vigil_consumer_poll(c, &msg, quiet_ms) == VIGIL_OK) {
        assert_true(n < max);
        offsets[n++] = msg->offset;
        assert_int_equal(vigil_consumer_ack(c, msg), VIGIL_OK);
    }
    return n;
}

static void test_bus_two_groups_each_receive_every_message(void **state)
{
    char topic[96], g1[96], g2[96], key[32];
    int seen[2][30] = {{0}};
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 64);
    vigil_consumer_t *c[2];

    bc_name(topic, sizeof(topic), "twogroups");
    bc_name(g1, sizeof(g1), "g1");
    bc_name(g2, sizeof(g2), "g2");
    c[0] = bc_subscribe(bus, g1, topic);
    c[1] = bc_subscribe(bus, g2, topic);
    for (int i = 0; i < 30; i++) {
        char value[16];
        snprintf(key, sizeof(key), "cam-%d", i % 7);
        snprintf(value, sizeof(value), "%d", i);
        bc_publish(bus, topic, key, value);
    }
    for (int g = 0; g < 2; g++) {
        vigil_bus_msg_t *msg;
        for (int i = 0; i < 30; i++) {
            char value[16];
            msg = bc_poll(c[g]);
            snprintf(value, sizeof(value), "%.*s", (int)msg->value_len, (const char *)msg->value);
            seen[g][atoi(value)]++;
            assert_int_equal(vigil_consumer_ack(c[g], msg), VIGIL_OK);
        }
        assert_int_equal(vigil_consumer_poll(c[g], &msg, 20), VIGIL_ERR_TIMED_OUT);
        for (int i = 0; i < 30; i++)
            assert_int_equal(seen[g][i], 1);
    }
    vigil_consumer_close(c[0]);
    vigil_consumer_close(c[1]);
    vigil_bus_free(bus);
}

static void test_bus_group_members_split_partitions_each_message_once(void **state)
{
    enum { N = 40 };
    char topic[96], group[96], key[32];
    int seen[N] = {0}, got[2] = {0}, owner_of[BC_PARTITIONS], total = 0;
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 64);
    vigil_consumer_t *c[2];

    bc_name(topic, sizeof(topic), "split");
    bc_name(group, sizeof(group), "g");
    c[0] = bc_subscribe(bus, group, topic);
    c[1] = bc_subscribe(bus, group, topic);
    for (int p = 0; p < BC_PARTITIONS; p++)
        owner_of[p] = -1;
    for (int i = 0; i < N; i++) {
        char value[16];
        bc_key_for_partition(key, sizeof(key), i % BC_PARTITIONS, BC_PARTITIONS);
        snprintf(value, sizeof(value), "%d", i);
        bc_publish(bus, topic, key, value);
    }
    /* take turns until all N arrived (bounded), then both must be quiet */
    for (int round = 0; total < N && round < bc_wait_ms(5000) / 25; round++) {
        for (int m = 0; m < 2; m++) {
            vigil_bus_msg_t *msg;
            char value[16];
            if (vigil_consumer_poll(c[m], &msg, 25) != VIGIL_OK)
                continue;
            snprintf(value, sizeof(value), "%.*s", (int)msg->value_len, (const char *)msg->value);
            seen[atoi(value)]++;
            got[m]++;
            total++;
            if (owner_of[msg->partition] < 0)
                owner_of[msg->partition] = m;
            assert_int_equal(owner_of[msg->partition], m); /* a partition has one owner */
            assert_int_equal(vigil_consumer_ack(c[m], msg), VIGIL_OK);
        }
    }
    assert_int_equal(total, N);
    for (int m = 0; m < 2; m++) {
        vigil_bus_msg_t *msg;
        assert_int_equal(vigil_consumer_poll(c[m], &msg, 20), VIGIL_ERR_TIMED_OUT);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_true(got[0] > 0 && got[1] > 0);
    vigil_consumer_close(c[0]);
    vigil_consumer_close(c[1]);
    vigil_bus_free(bus);
}

/* c1 gets offsets 0,1,2 of one key, acks 0 and leaves (close or abandon);
 * c2 must get 1 and 2, in order. */
static void redelivery_case(int abandon)
{
    char topic[96], group[96];
    int64_t offsets[8];
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 16);
    vigil_consumer_t *c1, *c2;
    vigil_bus_msg_t *m[3];
    int n;

    bc_name(topic, sizeof(topic), abandon ? "abandon" : "leave");
    bc_name(group, sizeof(group), "g");
    c1 = bc_subscribe(bus, group, topic);
    for (int i = 0; i < 3; i++)
        bc_publish(bus, topic, "cam", "v");
    for (int i = 0; i < 3; i++) {
        m[i] = bc_poll(c1);
        assert_int_equal(m[i]->offset, i);
    }
    assert_int_equal(vigil_consumer_ack(c1, m[0]), VIGIL_OK);
    c2 = bc_subscribe(bus, group, topic);
    if (abandon) {
        assert_int_equal(vigil_consumer_commit(c1), VIGIL_OK);
        vigil_consumer_abandon(c1); /* dies holding offsets 1 and 2 */
    } else {
        vigil_consumer_close(c1);
    }
    n = drain_offsets(c2, offsets, 8, bc_wait_ms(500));
    assert_int_equal(n, 2);
    assert_int_equal(offsets[0], 1);
    assert_int_equal(offsets[1], 2);
    assert_int_equal(vigil_bus_drain(bus, topic, bc_wait_ms(5000)), VIGIL_OK);
    vigil_consumer_close(c2);
    vigil_bus_free(bus);
}

static void test_bus_unacked_redelivered_to_other_member_after_close(void **state)
{
    redelivery_case(0);
}

static void test_bus_unacked_redelivered_to_other_member_after_abandon(void **state)
{
    redelivery_case(1);
}

static void test_bus_release_redelivers_in_offset_order(void **state)
{
    char topic[96], group[96];
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 16);
    vigil_consumer_t *c;
    vigil_bus_msg_t *m[3];

    bc_name(topic, sizeof(topic), "release");
    bc_name(group, sizeof(group), "g");
    c = bc_subscribe(bus, group, topic);
    for (int i = 0; i < 3; i++)
        bc_publish(bus, topic, "cam", i == 0 ? "a" : i == 1 ? "b" : "c");
    for (int i = 0; i < 3; i++)
        m[i] = bc_poll(c);
    vigil_consumer_release(c, m[2]);
    vigil_consumer_release(c, m[0]);
    vigil_consumer_release(c, m[1]);
    for (int i = 0; i < 3; i++) {
        vigil_bus_msg_t *msg = bc_poll(c);
        assert_int_equal(msg->offset, i);
        assert_true(bc_value_is(msg, i == 0 ? "a" : i == 1 ? "b" : "c"));
        assert_int_equal(vigil_consumer_ack(c, msg), VIGIL_OK);
    }
    assert_int_equal(vigil_bus_drain(bus, topic, bc_wait_ms(5000)), VIGIL_OK);
    vigil_consumer_close(c);
    vigil_bus_free(bus);
}

/* Acks 1 and 3 of 0..3: only offset 0 may be committed-past by nothing, so
 * the topic is not drained, and after the member dies the next owner gets
 * (at least) 0 and 2, starting at 0. */
static void test_bus_out_of_order_ack_commits_only_contiguous_prefix(void **state)
{
    char topic[96], group[96];
    int64_t offsets[8];
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 16);
    vigil_consumer_t *c1, *c2;
    vigil_bus_msg_t *m[4];
    int n, has0 = 0, has2 = 0;

    bc_name(topic, sizeof(topic), "prefix");
    bc_name(group, sizeof(group), "g");
    c1 = bc_subscribe(bus, group, topic);
    for (int i = 0; i < 4; i++)
        bc_publish(bus, topic, "cam", "v");
    for (int i = 0; i < 4; i++)
        m[i] = bc_poll(c1);
    assert_int_equal(vigil_consumer_ack(c1, m[1]), VIGIL_OK);
    assert_int_equal(vigil_consumer_ack(c1, m[3]), VIGIL_OK);
    assert_int_equal(vigil_consumer_commit(c1), VIGIL_OK);
    assert_int_equal(vigil_bus_drain(bus, topic, 0), VIGIL_ERR_TIMED_OUT);
    c2 = bc_subscribe(bus, group, topic);
    vigil_consumer_abandon(c1);
    n = drain_offsets(c2, offsets, 8, bc_wait_ms(500));
    assert_true(n >= 2);
    assert_int_equal(offsets[0], 0);
    for (int i = 0; i < n; i++) {
        has0 += offsets[i] == 0;
        has2 += offsets[i] == 2;
        if (i)
            assert_true(offsets[i] > offsets[i - 1]);
    }
    assert_int_equal(has0, 1);
    assert_int_equal(has2, 1);
    assert_int_equal(vigil_bus_drain(bus, topic, bc_wait_ms(5000)), VIGIL_OK);
    vigil_consumer_close(c2);
    vigil_bus_free(bus);
}

/* --- many threads ----------------------------------------------------------- */

enum { PRODUCERS = 4, PER_PRODUCER = 500, KEYS_PER_PRODUCER = 8 };

typedef struct mt {
    vigil_bus_t *bus;
    const char *topic, *group;
    vigil_consumer_t *consumer[2];
    atomic_int seen[PRODUCERS][PER_PRODUCER];
    atomic_int last[PRODUCERS][KEYS_PER_PRODUCER]; /* last seq seen per key, -1 none */
    atomic_int received, out_of_order, publish_failed;
    int timeout_ms;
} mt_t;

typedef struct mt_producer {
    mt_t *mt;
    int id;
} mt_producer_t;

static void *mt_produce(void *arg)
{
    mt_producer_t *pr = arg;
    mt_t *mt = pr->mt;
    const int *id = &pr->id;
    char key[32], value[32];

    for (int i = 0; i < PER_PRODUCER; i++) {
        snprintf(key, sizeof(key), "p%d-cam%d", *id, i % KEYS_PER_PRODUCER);
        snprintf(value, sizeof(value), "%d %d", *id, i);
        /* bounded, so that a bus that never frees space fails instead of hanging */
        if (vigil_bus_publish(mt->bus, mt->topic, key, strlen(key), value, strlen(value),
                              mt->timeout_ms) != VIGIL_OK)
            atomic_fetch_add(&mt->publish_failed, 1);
    }
    return NULL;
}

typedef struct mt_member {
    mt_t *mt;
    vigil_consumer_t *consumer;
} mt_member_t;

static void *mt_consume(void *arg)
{
    mt_member_t *mm = arg;
    mt_t *mt = mm->mt;
    int quiet = 0;

    while (atomic_load(&mt->received) < PRODUCERS * PER_PRODUCER && quiet < mt->timeout_ms / 50) {
        vigil_bus_msg_t *msg;
        char value[32];
        int p = -1, i = -1;

        if (vigil_consumer_poll(mm->consumer, &msg, 50) != VIGIL_OK) {
            quiet++;
            continue;
        }
        quiet = 0;
        snprintf(value, sizeof(value), "%.*s", (int)msg->value_len, (const char *)msg->value);
        if (sscanf(value, "%d %d", &p, &i) == 2 && p >= 0 && p < PRODUCERS && i >= 0 &&
            i < PER_PRODUCER) {
            int k = i % KEYS_PER_PRODUCER;
            if (atomic_exchange(&mt->last[p][k], i) >= i)
                atomic_fetch_add(&mt->out_of_order, 1);
            atomic_fetch_add(&mt->seen[p][i], 1);
        }
        vigil_consumer_ack(mm->consumer, msg);
        atomic_fetch_add(&mt->received, 1);
    }
    return NULL;
}

static void test_bus_concurrent_producers_and_consumers_get_each_message_once(void **state)
{
    char topic[96], group[96];
    mt_t *mt = calloc(1, sizeof(*mt));
    mt_member_t mm[2];
    mt_producer_t pr[PRODUCERS];
    pthread_t prod[PRODUCERS], cons[2];
    vigil_bus_msg_t *msg;

    assert_non_null(mt);
    bc_name(topic, sizeof(topic), "threads");
    bc_name(group, sizeof(group), "g");
    mt->bus = bc_open(BC_PARTITIONS, 32); /* small: producers hit backpressure */
    mt->topic = topic;
    mt->timeout_ms = bc_wait_ms(20000);
    for (int p = 0; p < PRODUCERS; p++)
        for (int k = 0; k < KEYS_PER_PRODUCER; k++)
            atomic_init(&mt->last[p][k], -1);
    for (int m = 0; m < 2; m++) {
        mm[m].mt = mt;
        mm[m].consumer = bc_subscribe(mt->bus, group, topic);
    }
    for (int m = 0; m < 2; m++)
        assert_int_equal(pthread_create(&cons[m], NULL, mt_consume, &mm[m]), 0);
    for (int p = 0; p < PRODUCERS; p++) {
        pr[p].mt = mt;
        pr[p].id = p;
        assert_int_equal(pthread_create(&prod[p], NULL, mt_produce, &pr[p]), 0);
    }
    for (int p = 0; p < PRODUCERS; p++)
        pthread_join(prod[p], NULL);
    for (int m = 0; m < 2; m++)
        pthread_join(cons[m], NULL);

    assert_int_equal(atomic_load(&mt->publish_failed), 0);
    assert_int_equal(atomic_load(&mt->out_of_order), 0);
    assert_int_equal(atomic_load(&mt->received), PRODUCERS * PER_PRODUCER);
    for (int p = 0; p < PRODUCERS; p++)
        for (int i = 0; i < PER_PRODUCER; i++)
            assert_int_equal(atomic_load(&mt->seen[p][i]), 1);
    for (int m = 0; m < 2; m++) {
        assert_int_equal(vigil_consumer_poll(mm[m].consumer, &msg, 20), VIGIL_ERR_TIMED_OUT);
        vigil_consumer_close(mm[m].consumer);
    }
    assert_int_equal(vigil_bus_drain(mt->bus, topic, 0), VIGIL_OK);
    vigil_bus_free(mt->bus);
    free(mt);
}

const struct CMUnitTest bc_group_tests[] = {
    cmocka_unit_test(test_bus_two_groups_each_receive_every_message),
    cmocka_unit_test(test_bus_group_members_split_partitions_each_message_once),
    cmocka_unit_test(test_bus_unacked_redelivered_to_other_member_after_close),
    cmocka_unit_test(test_bus_unacked_redelivered_to_other_member_after_abandon),
    cmocka_unit_test(test_bus_release_redelivers_in_offset_order),
    cmocka_unit_test(test_bus_out_of_order_ack_commits_only_contiguous_prefix),
    cmocka_unit_test(test_bus_concurrent_producers_and_consumers_get_each_message_once),
};
const size_t bc_group_ntests = sizeof(bc_group_tests) / sizeof(bc_group_tests[0]);
