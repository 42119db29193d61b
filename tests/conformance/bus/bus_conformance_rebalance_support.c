/* The bus conformance suite, part 4: the rebalance callback
 * (vigil_consumer_set_rebalance_cb). A member learns which partitions it
 * owns before it gets their messages; when a second member joins, the first
 * is told of exactly the partitions the second is given; when the second
 * leaves, the first is given them back; close does not call the callback.
 * Written against bus.h only. */
#include <stdio.h>
#include <string.h>

#include "bus_conformance_int.h"

typedef struct owned {
    const char *topic;
    int owns[BC_PARTITIONS];
    int assigned[BC_PARTITIONS], revoked[BC_PARTITIONS]; /* calls per partition */
    int calls;
    vigil_consumer_t *consumer;
} owned_t;

static void on_change(void *opaque, vigil_consumer_t *consumer, vigil_bus_rebalance_t change,
                      const char *topic, int32_t partition)
{
    owned_t *o = opaque;

    assert_ptr_equal(consumer, o->consumer);
    assert_string_equal(topic, o->topic);
    assert_true(partition >= 0 && partition < BC_PARTITIONS);
    o->calls++;
    if (change == VIGIL_BUS_ASSIGNED) {
        assert_int_equal(o->owns[partition], 0); /* never told twice */
        o->owns[partition] = 1;
        o->assigned[partition]++;
    } else {
        assert_int_equal(change, VIGIL_BUS_REVOKED);
        assert_int_equal(o->owns[partition], 1); /* revoked only what was assigned */
        o->owns[partition] = 0;
        o->revoked[partition]++;
    }
}

static int count(const int *v)
{
    int n = 0;
    for (int p = 0; p < BC_PARTITIONS; p++)
        n += v[p];
    return n;
}

/* Polls the members (acking anything) until pred holds, bounded. */
static int poll_until(owned_t **o, int n, int (*pred)(owned_t **o))
{
    for (int round = 0; round < bc_wait_ms(20000) / 50; round++) {
        if (pred(o))
            return 1;
        for (int m = 0; m < n; m++) {
            vigil_bus_msg_t *msg;
            if (vigil_consumer_poll(o[m]->consumer, &msg, 25) == VIGIL_OK)
                assert_int_equal(vigil_consumer_ack(o[m]->consumer, msg), VIGIL_OK);
        }
    }
    return pred(o);
}

static int split_between_two(owned_t **o)
{
    int a = count(o[0]->owns), b = count(o[1]->owns);

    for (int p = 0; p < BC_PARTITIONS; p++)
        if (o[0]->owns[p] && o[1]->owns[p])
            return 0;
    return a > 0 && b > 0 && a + b == BC_PARTITIONS;
}

static int first_owns_all(owned_t **o)
{
    return count(o[0]->owns) == BC_PARTITIONS;
}

static void test_bus_rebalance_cb_reports_owned_partitions_before_their_messages(void **state)
{
    char topic[96], group[96], key[32];
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 64);
    owned_t o = {0};
    vigil_bus_msg_t *msg;

    bc_name(topic, sizeof(topic), "rebal-first");
    bc_name(group, sizeof(group), "g");
    o.topic = topic;
    o.consumer = bc_subscribe(bus, group, topic);
    bc_key_for_partition(key, sizeof(key), 2, BC_PARTITIONS);
    bc_publish(bus, topic, key, "hello");
    vigil_consumer_set_rebalance_cb(o.consumer, on_change, &o);
    msg = bc_poll(o.consumer);
    /* the only member owns every partition, and was told so first */
    assert_int_equal(count(o.owns), BC_PARTITIONS);
    assert_int_equal(o.calls, BC_PARTITIONS);
    assert_int_equal(msg->partition, 2);
    assert_true(bc_value_is(msg, "hello"));
    assert_int_equal(vigil_consumer_ack(o.consumer, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_poll(o.consumer, &msg, 20), VIGIL_ERR_TIMED_OUT);
    assert_int_equal(o.calls, BC_PARTITIONS); /* nothing changed: no more calls */
    vigil_consumer_close(o.consumer);
    assert_int_equal(o.calls, BC_PARTITIONS); /* close does not report */
    vigil_bus_free(bus);
}

static void test_bus_rebalance_cb_join_revokes_what_the_new_member_gets(void **state)
{
    char topic[96], group[96];
    vigil_bus_t *bus = bc_open(BC_PARTITIONS, 64);
    owned_t a = {0}, b = {0}, *both[2] = {&a, &b};
    int b_calls;

    bc_name(topic, sizeof(topic), "rebal-join");
    bc_name(group, sizeof(group), "g");
    a.topic = b.topic = topic;
    a.consumer = bc_subscribe(bus, group, topic);
    vigil_consumer_set_rebalance_cb(a.consumer, on_change, &a);
    assert_true(poll_until(both, 1, first_owns_all));

    b.consumer = bc_subscribe(bus, group, topic);
    vigil_consumer_set_rebalance_cb(b.consumer, on_change, &b);
    assert_true(poll_until(both, 2, split_between_two));
    for (int p = 0; p < BC_PARTITIONS; p++) {
        /* a gave up exactly what b got, once */
        assert_int_equal(a.revoked[p], b.assigned[p]);
        assert_int_equal(a.assigned[p], 1);
        assert_true(b.assigned[p] <= 1);
    }

    b_calls = b.calls;
    vigil_consumer_close(b.consumer);
    assert_int_equal(b.calls, b_calls); /* close does not report */
    assert_true(poll_until(both, 1, first_owns_all));
    for (int p = 0; p < BC_PARTITIONS; p++)
        assert_int_equal(a.assigned[p], 1 + a.revoked[p]); /* given back what it lost */
    vigil_consumer_close(a.consumer);
    vigil_bus_free(bus);
}

const struct CMUnitTest bc_rebalance_tests[] = {
    cmocka_unit_test(test_bus_rebalance_cb_reports_owned_partitions_before_their_messages),
    cmocka_unit_test(test_bus_rebalance_cb_join_revokes_what_the_new_member_gets),
};
const size_t bc_rebalance_ntests = sizeof(bc_rebalance_tests) / sizeof(bc_rebalance_tests[0]);
