/* Unit tests of what the in-process bus (src/bus/inproc*.c) promises beyond
 * the conformance suite: retention of topics nobody subscribes to, late
 * groups starting at the earliest offset, no duplicate of acked or held
 * messages, messages staying valid after their log entry is trimmed, and
 * its metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/bus.h"
#include "vigil/metrics.h"

static vigil_bus_t *open_bus(int partitions, int capacity)
{
    vigil_bus_conf_t conf;
    char err[256] = "";
    vigil_bus_t *bus;

    vigil_bus_conf_init(&conf);
    conf.partitions = partitions;
    conf.capacity = capacity;
    bus = vigil_bus_new("inproc://unit", &conf, err, sizeof(err));
    if (!bus)
        fail_msg("inproc bus: %s", err);
    return bus;
}

static vigil_consumer_t *subscribe(vigil_bus_t *bus, const char *group, const char *topic)
{
    char err[256] = "";
    const char *topics[] = {topic};
    vigil_consumer_t *c = vigil_bus_subscribe(bus, group, topics, 1, err, sizeof(err));

    if (!c)
        fail_msg("subscribe %s/%s: %s", group, topic, err);
    return c;
}

static vigil_bus_msg_t *poll_one(vigil_consumer_t *c)
{
    vigil_bus_msg_t *msg = NULL;
    assert_int_equal(vigil_consumer_poll(c, &msg, 0), VIGIL_OK);
    return msg;
}

static void publish(vigil_bus_t *bus, const char *topic, const char *key, int n)
{
    char value[16];
    snprintf(value, sizeof(value), "%d", n);
    assert_int_equal(vigil_bus_publish(bus, topic, key, strlen(key), value, strlen(value), 0),
                     VIGIL_OK);
}

/* A key vigil_bus_partition_for puts on partition p of `partitions`. */
static void key_for(char *buf, size_t size, int p, int partitions)
{
    for (int i = 0;; i++) {
        snprintf(buf, size, "k%d", i);
        if (vigil_bus_partition_for(buf, strlen(buf), partitions) == p)
            return;
    }
}

static void test_bus_inproc_unsubscribed_topic_keeps_newest_and_counts_dropped(void **state)
{
    vigil_bus_t *bus = open_bus(2, 4);
    uint64_t dropped0 = vigil_metrics_sum("vigil_bus_dropped_total", "topic", "nobody", NULL,
                                          NULL);
    vigil_consumer_t *late;

    for (int i = 0; i < 10; i++)
        publish(bus, "nobody", "cam", i); /* never FULL: nobody holds messages back */
    assert_int_equal(vigil_metrics_sum("vigil_bus_dropped_total", "topic", "nobody", NULL, NULL) -
                         dropped0,
                     6);
    late = subscribe(bus, "late", "nobody");
    for (int i = 6; i < 10; i++) { /* a new group starts at the earliest retained */
        vigil_bus_msg_t *msg = poll_one(late);
        assert_int_equal(msg->offset, i);
        assert_int_equal(vigil_consumer_ack(late, msg), VIGIL_OK);
    }
    vigil_consumer_close(late);
    vigil_bus_free(bus);
}

static void test_bus_inproc_subscribed_topic_never_drops(void **state)
{
    vigil_bus_t *bus = open_bus(1, 2);
    vigil_consumer_t *c = subscribe(bus, "g", "kept");

    vigil_consumer_close(c); /* the group stays: its committed offset still holds */
    publish(bus, "kept", "cam", 0);
    publish(bus, "kept", "cam", 1);
    assert_int_equal(vigil_bus_publish(bus, "kept", "cam", 3, "x", 1, 0), VIGIL_ERR_FULL);
    c = subscribe(bus, "g", "kept");
    assert_int_equal(poll_one(c)->offset, 0);
    vigil_consumer_close(c); /* frees the held message */
    vigil_bus_free(bus);
}

static void test_bus_inproc_only_unacked_messages_redelivered_after_abandon(void **state)
{
    vigil_bus_t *bus = open_bus(1, 16);
    vigil_consumer_t *c1 = subscribe(bus, "g", "t"), *c2;
    vigil_bus_msg_t *m[5], *msg;

    for (int i = 0; i < 5; i++)
        publish(bus, "t", "cam", i);
    for (int i = 0; i < 5; i++)
        m[i] = poll_one(c1);
    assert_int_equal(vigil_consumer_ack(c1, m[1]), VIGIL_OK);
    assert_int_equal(vigil_consumer_ack(c1, m[3]), VIGIL_OK);
    assert_int_equal(vigil_consumer_ack(c1, m[4]), VIGIL_OK);
    c2 = subscribe(bus, "g", "t");
    vigil_consumer_abandon(c1);
    msg = poll_one(c2);
    assert_int_equal(msg->offset, 0);
    assert_int_equal(vigil_consumer_ack(c2, msg), VIGIL_OK);
    msg = poll_one(c2);
    assert_int_equal(msg->offset, 2);
    assert_int_equal(vigil_consumer_ack(c2, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_poll(c2, &msg, 0), VIGIL_ERR_TIMED_OUT);
    assert_int_equal(vigil_bus_drain(bus, "t", 0), VIGIL_OK);
    vigil_consumer_close(c2);
    vigil_bus_free(bus);
}

static void test_bus_inproc_release_of_one_does_not_duplicate_held_ones(void **state)
{
    vigil_bus_t *bus = open_bus(1, 16);
    vigil_consumer_t *c = subscribe(bus, "g", "t");
    vigil_bus_msg_t *m[3], *msg;

    for (int i = 0; i < 4; i++)
        publish(bus, "t", "cam", i);
    for (int i = 0; i < 3; i++)
        m[i] = poll_one(c);
    vigil_consumer_release(c, m[1]);
    msg = poll_one(c);
    assert_int_equal(msg->offset, 1);
    assert_int_equal(vigil_consumer_ack(c, msg), VIGIL_OK);
    msg = poll_one(c); /* 0 and 2 are still held: next is 3 */
    assert_int_equal(msg->offset, 3);
    assert_int_equal(vigil_consumer_ack(c, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_poll(c, &msg, 0), VIGIL_ERR_TIMED_OUT);
    assert_int_equal(vigil_consumer_ack(c, m[0]), VIGIL_OK);
    assert_int_equal(vigil_consumer_ack(c, m[2]), VIGIL_OK);
    assert_int_equal(vigil_bus_drain(bus, "t", 0), VIGIL_OK);
    vigil_consumer_close(c);
    vigil_bus_free(bus);
}

/* c1 holds offset 0 when the partition moves to c2, which acks it: the log
 * entry is trimmed, but c1's message must stay readable; c1's late release
 * must not disturb c2, and its late ack is harmless. */
static void test_bus_inproc_held_message_survives_trim_after_rebalance(void **state)
{
    char key[16];
    vigil_bus_t *bus = open_bus(2, 4);
    vigil_consumer_t *c1, *c2;
    vigil_bus_msg_t *held, *again, *msg;

    key_for(key, sizeof(key), 1, 2); /* partition 1 goes to the second member */
    c1 = subscribe(bus, "g", "t");
    publish(bus, "t", key, 42);
    publish(bus, "t", key, 43);
    held = poll_one(c1);
    c2 = subscribe(bus, "g", "t");
    again = poll_one(c2);
    assert_int_equal(again->offset, 0);
    assert_int_equal(vigil_consumer_ack(c2, again), VIGIL_OK); /* trims offset 0 */
    assert_int_equal(held->value_len, 2);
    assert_memory_equal(held->value, "42", 2);
    assert_memory_equal(held->key, key, held->key_len);
    vigil_consumer_release(c1, held); /* stale: c2 goes on at 1 */
    msg = poll_one(c2);
    assert_int_equal(msg->offset, 1);
    assert_int_equal(vigil_consumer_ack(c2, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_poll(c2, &msg, 0), VIGIL_ERR_TIMED_OUT);
    assert_int_equal(vigil_consumer_poll(c1, &msg, 0), VIGIL_ERR_TIMED_OUT);
    vigil_consumer_close(c1);
    vigil_consumer_close(c2);
    vigil_bus_free(bus);
}

static void test_bus_inproc_ack_of_other_consumers_message_is_invalid(void **state)
{
    vigil_bus_t *bus = open_bus(1, 4);
    vigil_consumer_t *a = subscribe(bus, "ga", "t"), *b = subscribe(bus, "gb", "t");
    vigil_bus_msg_t *msg;

    publish(bus, "t", "cam", 1);
    msg = poll_one(a);
    assert_int_equal(vigil_consumer_ack(b, msg), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_consumer_ack(a, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_ack(b, poll_one(b)), VIGIL_OK);
    vigil_consumer_close(a);
    vigil_consumer_close(b);
    vigil_bus_free(bus);
}

static void test_bus_inproc_metrics_count_published_delivered_and_depth(void **state)
{
    vigil_bus_t *bus = open_bus(2, 8);
    vigil_consumer_t *c = subscribe(bus, "g", "metered");
    vigil_gauge_t *depth = vigil_metrics_gauge("vigil_bus_queue_depth", "", "topic", "metered",
                                               NULL, NULL);
    uint64_t pub0 = vigil_metrics_sum("vigil_bus_published_total", "topic", "metered", NULL, NULL);
    uint64_t del0 = vigil_metrics_sum("vigil_bus_delivered_total", "topic", "metered", NULL, NULL);
    int64_t depth0 = vigil_gauge_value(depth);
    vigil_bus_msg_t *msg;

    for (int i = 0; i < 3; i++)
        publish(bus, "metered", "cam", i);
    assert_int_equal(vigil_metrics_sum("vigil_bus_published_total", "topic", "metered", NULL,
                                       NULL) - pub0, 3);
    assert_int_equal(vigil_gauge_value(depth) - depth0, 3);
    msg = poll_one(c);
    vigil_consumer_release(c, msg); /* a redelivery is a delivery too */
    for (int i = 0; i < 3; i++)
        assert_int_equal(vigil_consumer_ack(c, poll_one(c)), VIGIL_OK);
    assert_int_equal(vigil_metrics_sum("vigil_bus_delivered_total", "topic", "metered", NULL,
                                       NULL) - del0, 4);
    assert_int_equal(vigil_gauge_value(depth), depth0);
    vigil_consumer_close(c);
    vigil_bus_free(bus);
}

static void test_bus_inproc_subscribe_after_close_fails(void **state)
{
    char err[256] = "";
    const char *topics[] = {"t"};
    vigil_bus_t *bus = open_bus(1, 4);

    vigil_bus_close(bus);
    assert_null(vigil_bus_subscribe(bus, "g", topics, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "closed"));
    assert_int_equal(vigil_bus_flush(bus, 0), VIGIL_OK);
    vigil_bus_free(bus);
}

static void test_bus_inproc_members_of_different_topics_share_a_group(void **state)
{
    vigil_bus_t *bus = open_bus(2, 8);
    vigil_consumer_t *a = subscribe(bus, "g", "ta"), *b = subscribe(bus, "g", "tb");
    vigil_bus_msg_t *msg;

    publish(bus, "ta", "x", 1);
    publish(bus, "tb", "y", 2);
    msg = poll_one(a); /* each member owns all partitions of its own topic */
    assert_string_equal(msg->topic, "ta");
    assert_int_equal(vigil_consumer_ack(a, msg), VIGIL_OK);
    msg = poll_one(b);
    assert_string_equal(msg->topic, "tb");
    assert_int_equal(vigil_consumer_ack(b, msg), VIGIL_OK);
    vigil_consumer_close(a);
    vigil_consumer_close(b);
    vigil_bus_free(bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_inproc_unsubscribed_topic_keeps_newest_and_counts_dropped),
        cmocka_unit_test(test_bus_inproc_subscribed_topic_never_drops),
        cmocka_unit_test(test_bus_inproc_only_unacked_messages_redelivered_after_abandon),
        cmocka_unit_test(test_bus_inproc_release_of_one_does_not_duplicate_held_ones),
        cmocka_unit_test(test_bus_inproc_held_message_survives_trim_after_rebalance),
        cmocka_unit_test(test_bus_inproc_ack_of_other_consumers_message_is_invalid),
        cmocka_unit_test(test_bus_inproc_metrics_count_published_delivered_and_depth),
        cmocka_unit_test(test_bus_inproc_subscribe_after_close_fails),
        cmocka_unit_test(test_bus_inproc_members_of_different_topics_share_a_group),
    };
    return cmocka_run_group_tests_name("inproc bus", tests, NULL, NULL);
}
