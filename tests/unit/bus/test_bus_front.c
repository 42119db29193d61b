/* Unit tests of the bus front end (src/bus/bus.c): URL dispatch, conf
 * defaults and validation, and the shared FNV-1a partitioner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/bus.h"

static void test_bus_conf_init_sets_documented_defaults(void **state)
{
    vigil_bus_conf_t conf;

    memset(&conf, 0x5a, sizeof(conf));
    vigil_bus_conf_init(&conf);
    assert_int_equal(conf.partitions, 4);
    assert_int_equal(conf.capacity, 256);
    assert_null(conf.client_id);
}

static void test_bus_partition_for_is_fnv1a_modulo_partitions(void **state)
{
    /* reference values computed independently (FNV-1a 32-bit) */
    assert_int_equal(vigil_bus_partition_for("", 0, 4), 0x811c9dc5u % 4);
    assert_int_equal(vigil_bus_partition_for("a", 1, 7), 0xe40c292cu % 7);
    assert_int_equal(vigil_bus_partition_for("lobby", 5, 4), 0x1c5a0ed3u % 4);
    assert_int_equal(vigil_bus_partition_for("camera-1", 8, 7), 0xe291c638u % 7);
    assert_int_equal(vigil_bus_partition_for("lobby", 5, 1), 0);
    assert_int_equal(vigil_bus_partition_for("lobby", 5, 0), 0);
}

static void test_bus_inproc_urls_open_with_or_without_name(void **state)
{
    char err[256] = "";
    vigil_bus_t *a = vigil_bus_new("inproc://", NULL, err, sizeof(err));
    vigil_bus_t *b = vigil_bus_new("inproc://pipeline", NULL, err, sizeof(err));

    assert_non_null(a);
    assert_non_null(b);
    vigil_bus_free(a);
    vigil_bus_free(b);
}

static void test_bus_kafka_url_reports_backend_not_built(void **state)
{
    char err[256] = "";

#ifdef VIGIL_BUS_HAVE_KAFKA
    /* built in: the kafka backend answers (here: no broker on port 1) instead */
    assert_null(vigil_bus_new("kafka://127.0.0.1:1?connect_timeout_ms=500", NULL, err,
                              sizeof(err)));
    assert_null(strstr(err, "not built"));
    assert_non_null(strstr(err, "no broker reachable"));
#else
    assert_null(vigil_bus_new("kafka://localhost:9092", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "kafka bus not built into this binary"));
#endif
}

static void test_bus_unknown_scheme_lists_accepted_schemes(void **state)
{
    char err[256] = "";

    assert_null(vigil_bus_new("nats://x:4222", NULL, err, sizeof(err)));
    assert_string_equal(err,
                        "unknown bus scheme \"nats://x:4222\" (accepted: inproc://, kafka://)");
    err[0] = '\0';
    assert_null(vigil_bus_new("inproc", NULL, err, sizeof(err))); /* no "://" */
    assert_non_null(strstr(err, "unknown bus scheme \"inproc\""));
    assert_null(vigil_bus_new(NULL, NULL, NULL, 0)); /* no errstr: still fails cleanly */
}

static void test_bus_conf_out_of_range_is_rejected_naming_value(void **state)
{
    char err[256] = "";
    vigil_bus_conf_t conf;

    vigil_bus_conf_init(&conf);
    conf.partitions = 0;
    assert_null(vigil_bus_new("inproc://", &conf, err, sizeof(err)));
    assert_non_null(strstr(err, "partitions 0"));
    vigil_bus_conf_init(&conf);
    conf.capacity = -3;
    assert_null(vigil_bus_new("inproc://", &conf, err, sizeof(err)));
    assert_non_null(strstr(err, "capacity -3"));
}

static void test_bus_null_handles_are_invalid_not_crashes(void **state)
{
    vigil_bus_msg_t *msg;

    assert_int_equal(vigil_bus_publish(NULL, "t", "k", 1, "v", 1, 0), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_consumer_poll(NULL, &msg, 0), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_consumer_ack(NULL, NULL), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_consumer_lag(NULL), -1);
    vigil_consumer_close(NULL);
    vigil_bus_close(NULL);
    vigil_bus_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_conf_init_sets_documented_defaults),
        cmocka_unit_test(test_bus_partition_for_is_fnv1a_modulo_partitions),
        cmocka_unit_test(test_bus_inproc_urls_open_with_or_without_name),
        cmocka_unit_test(test_bus_kafka_url_reports_backend_not_built),
        cmocka_unit_test(test_bus_unknown_scheme_lists_accepted_schemes),
        cmocka_unit_test(test_bus_conf_out_of_range_is_rejected_naming_value),
        cmocka_unit_test(test_bus_null_handles_are_invalid_not_crashes),
    };
    return cmocka_run_group_tests_name("bus front end", tests, NULL, NULL);
}
