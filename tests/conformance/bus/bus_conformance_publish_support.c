/* The bus conformance suite, part 3: vigil_consumer_publish, "publish as the
 * output of the message being processed" (consume-transform-publish), in both
 * delivery modes. Every backend must deliver such an output downstream, and
 * must not lose it when the worker dies before acknowledging its input (the
 * input is processed again). A backend that reports VIGIL_BUS_CAP_EXACTLY_ONCE
 * (Kafka with conf.delivery = exactly-once) must moreover show the output of
 * the dead worker's attempt zero times: downstream sees exactly one output. */
#include <stdio.h>
#include <string.h>

#include "bus_conformance_int.h"

static vigil_bus_t *open_mode(int delivery)
{
    vigil_bus_conf_t conf;
    char err[256] = "";
    vigil_bus_t *bus;

    vigil_bus_conf_init(&conf);
    conf.partitions = BC_PARTITIONS;
    conf.capacity = 16;
    conf.client_id = "conformance";
    conf.delivery = delivery;
    bus = vigil_bus_new(vigil_bus_conformance_url_int(), &conf, err, sizeof(err));
    if (!bus)
        fail_msg("cannot open bus %s (delivery %d): %s", vigil_bus_conformance_url_int(),
                 delivery, err);
    return bus;
}

/* Counts the messages of out with value v that a fresh group sees within a
 * quiet period of wait_ms. */
static int count_outputs(vigil_bus_t *bus, const char *out, const char *v, int wait_ms)
{
    char group[96];
    vigil_consumer_t *d;
    vigil_bus_msg_t *msg;
    int n = 0;

    bc_name(group, sizeof(group), "down");
    d = bc_subscribe(bus, group, out);
    while (vigil_consumer_poll(d, &msg, wait_ms) == VIGIL_OK) {
        if (bc_value_is(msg, v))
            n++;
        assert_int_equal(vigil_consumer_ack(d, msg), VIGIL_OK);
    }
    vigil_consumer_close(d);
    return n;
}

/* One input, processed by a worker that publishes its output and acks. */
static void round_trip_case(int delivery)
{
    char in[96], out[96], group[96];
    vigil_bus_t *bus = open_mode(delivery);
    vigil_consumer_t *w;
    vigil_bus_msg_t *msg;

    bc_name(in, sizeof(in), "ctp-in");
    bc_name(out, sizeof(out), "ctp-out");
    bc_name(group, sizeof(group), "worker");
    w = bc_subscribe(bus, group, in);
    bc_publish(bus, in, "cam", "input");
    msg = bc_poll(w);
    assert_true(bc_value_is(msg, "input"));
    assert_int_equal(vigil_consumer_publish(w, out, "cam", 3, "output", 6, -1), VIGIL_OK);
    assert_int_equal(vigil_consumer_publish(w, "", "cam", 3, "output", 6, -1), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_consumer_ack(w, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_commit(w), VIGIL_OK);
    assert_int_equal(count_outputs(bus, out, "output", bc_wait_ms(1500)), 1);
    /* the input is committed with its output: drained */
    assert_int_equal(vigil_bus_drain(bus, in, bc_wait_ms(5000)), VIGIL_OK);
    /* the output topic too, though (exactly-once) a transaction marker
     * follows the output: the downstream group read past it */
    assert_int_equal(vigil_bus_drain(bus, out, bc_wait_ms(10000)), VIGIL_OK);
    vigil_consumer_close(w);
    vigil_bus_free(bus);
}

static void test_bus_consumer_publish_reaches_downstream_at_least_once(void **state)
{
    round_trip_case(VIGIL_BUS_AT_LEAST_ONCE);
}

static void test_bus_consumer_publish_reaches_downstream_exactly_once(void **state)
{
    round_trip_case(VIGIL_BUS_EXACTLY_ONCE);
}

/* Worker 1 publishes the output of the input and dies before acking it;
 * worker 2 takes the input over and processes it again. */
static void dead_worker_case(int delivery)
{
    char in[96], out[96], group[96];
    vigil_bus_t *bus = open_mode(delivery);
    vigil_consumer_t *w1, *w2;
    vigil_bus_msg_t *msg;
    int n;

    bc_name(in, sizeof(in), "ctp-in");
    bc_name(out, sizeof(out), "ctp-out");
    bc_name(group, sizeof(group), "worker");
    w1 = bc_subscribe(bus, group, in);
    bc_publish(bus, in, "cam", "input");
    msg = bc_poll(w1);
    assert_int_equal(vigil_consumer_publish(w1, out, "cam", 3, "output", 6, -1), VIGIL_OK);
    assert_int_equal(vigil_bus_flush(bus, bc_wait_ms(5000)), VIGIL_OK);
    w2 = bc_subscribe(bus, group, in);
    vigil_consumer_abandon(w1); /* dies between publishing and acking */
    msg = bc_poll(w2);
    assert_true(bc_value_is(msg, "input"));
    assert_int_equal(vigil_consumer_publish(w2, out, "cam", 3, "output", 6, -1), VIGIL_OK);
    assert_int_equal(vigil_consumer_ack(w2, msg), VIGIL_OK);
    assert_int_equal(vigil_consumer_commit(w2), VIGIL_OK);
    n = count_outputs(bus, out, "output", bc_wait_ms(1500));
    if (vigil_bus_caps(bus) & VIGIL_BUS_CAP_EXACTLY_ONCE)
        assert_int_equal(n, 1);
    else
        assert_true(n >= 1 && n <= 2);
    vigil_consumer_close(w2);
    vigil_bus_free(bus);
}

static void test_bus_consumer_publish_dead_worker_loses_nothing(void **state)
{
    dead_worker_case(VIGIL_BUS_AT_LEAST_ONCE);
}

static void test_bus_consumer_publish_dead_worker_exactly_once_where_supported(void **state)
{
    dead_worker_case(VIGIL_BUS_EXACTLY_ONCE);
}

const struct CMUnitTest bc_publish_tests[] = {
    cmocka_unit_test(test_bus_consumer_publish_reaches_downstream_at_least_once),
    cmocka_unit_test(test_bus_consumer_publish_reaches_downstream_exactly_once),
    cmocka_unit_test(test_bus_consumer_publish_dead_worker_loses_nothing),
    cmocka_unit_test(test_bus_consumer_publish_dead_worker_exactly_once_where_supported),
};
const size_t bc_publish_ntests = sizeof(bc_publish_tests) / sizeof(bc_publish_tests[0]);
