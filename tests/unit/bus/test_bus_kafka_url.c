/* Unit tests of the Kafka bus that need no cluster: URL parsing, the
 * partitioner both backends share, and a bounded failure when no broker is
 * reachable. Without librdkafka they check that "kafka://" says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/bus.h"
#include "vigil/kafka.h"

#ifdef VIGIL_BUS_HAVE_KAFKA
#include "bus/kafka_int.h"

static void test_bus_kafka_url_parses_brokers_and_options(void **state)
{
    char err[256] = "";
    kafka_url_t url;

    assert_int_equal(kafka__url_parse("a:9092,b.example:19093,[::1]:9094", &url, err, sizeof(err)),
                     VIGIL_OK);
    assert_string_equal(url.brokers, "a:9092,b.example:19093,[::1]:9094");
    assert_int_equal(url.connect_timeout_ms, 10000);
    assert_string_equal(url.compression, "zstd");
    kafka__url_release(&url);

    assert_int_equal(kafka__url_parse("h:1?connect_timeout_ms=2500&compression=lz4&join_wait_ms=0",
                                      &url, err, sizeof(err)),
                     VIGIL_OK);
    assert_string_equal(url.brokers, "h:1");
    assert_int_equal(url.connect_timeout_ms, 2500);
    assert_int_equal(url.join_wait_ms, 0);
    assert_string_equal(url.compression, "lz4");
    kafka__url_release(&url);
}

static void expect_bad(const char *rest, const char *needle)
{
    char err[256] = "";
    kafka_url_t url;

    assert_int_equal(kafka__url_parse(rest, &url, err, sizeof(err)), VIGIL_ERR_CONFIG);
    if (!strstr(err, needle))
        fail_msg("url \"%s\": error \"%s\" lacks \"%s\"", rest, err, needle);
}

static void test_bus_kafka_url_rejects_bad_brokers_and_options_by_name(void **state)
{
    expect_bad("", "names no broker");
    expect_bad("host", "\"host\" is not HOST:PORT");
    expect_bad("host:0", "\"host:0\" is not HOST:PORT");
    expect_bad("host:70000", "\"host:70000\"");
    expect_bad("a:1,,b:2", "empty broker");
    expect_bad(":9092", "\":9092\"");
    expect_bad("h:1?compression=gzip", "compression=\"gzip\"");
    expect_bad("h:1?connect_timeout_ms=soon", "connect_timeout_ms=\"soon\"");
    expect_bad("h:1?colour=blue", "option \"colour\" unknown");
    expect_bad("h:1?novalue", "\"novalue\" is not NAME=VALUE");
}

static void test_bus_kafka_unreachable_bootstrap_fails_with_clear_error(void **state)
{
    char err[256] = "";
    /* port 1 on loopback: connection refused; the wait is bounded by the option */
    vigil_bus_t *bus = vigil_bus_new("kafka://127.0.0.1:1?connect_timeout_ms=1500", NULL, err,
                                     sizeof(err));
    assert_null(bus);
    assert_non_null(strstr(err, "no broker reachable within 1500 ms"));
    assert_non_null(strstr(err, "127.0.0.1:1"));
}

static void test_bus_kafka_bad_url_fails_before_connecting(void **state)
{
    char err[256] = "";

    assert_null(vigil_bus_new("kafka://nohostport", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "\"nohostport\" is not HOST:PORT"));
}

static void test_bus_kafka_create_topics_unreachable_times_out(void **state)
{
    char err[256] = "";
    vigil_kafka_topic_spec_t spec = {.name = "frames", .partitions = 6};

    assert_int_equal(vigil_kafka_create_topics("kafka://127.0.0.1:1", &spec, 1, 1000, NULL, err,
                                               sizeof(err)),
                     VIGIL_ERR_TIMED_OUT);
    assert_non_null(strstr(err, "no broker reachable"));
}
#else
static void test_bus_kafka_not_built_says_so(void **state)
{
    char err[256] = "";

    assert_null(vigil_bus_new("kafka://127.0.0.1:9092", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "kafka bus not built into this binary"));
}
#endif

/* FNV-1a 32-bit reference values (the published test vectors) modulo n:
 * the partition a key gets on every backend. */
static void test_bus_kafka_partitioner_is_fnv1a_modulo_partitions(void **state)
{
    assert_int_equal(vigil_bus_partition_for("", 0, 1000), 0x811c9dc5u % 1000);
    assert_int_equal(vigil_bus_partition_for(NULL, 0, 7), 0x811c9dc5u % 7);
    assert_int_equal(vigil_bus_partition_for("a", 1, 1000), 0xe40c292cu % 1000);
    assert_int_equal(vigil_bus_partition_for("foobar", 6, 6), 0xbf9cf968u % 6);
    assert_int_equal(vigil_bus_partition_for("foobar", 6, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef VIGIL_BUS_HAVE_KAFKA
        cmocka_unit_test(test_bus_kafka_url_parses_brokers_and_options),
        cmocka_unit_test(test_bus_kafka_url_rejects_bad_brokers_and_options_by_name),
        cmocka_unit_test(test_bus_kafka_unreachable_bootstrap_fails_with_clear_error),
        cmocka_unit_test(test_bus_kafka_bad_url_fails_before_connecting),
        cmocka_unit_test(test_bus_kafka_create_topics_unreachable_times_out),
#else
        cmocka_unit_test(test_bus_kafka_not_built_says_so),
#endif
        cmocka_unit_test(test_bus_kafka_partitioner_is_fnv1a_modulo_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
