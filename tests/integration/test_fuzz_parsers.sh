#!/usr/bin/env bash
# Fuzzes every other parser of outside input for a bounded time each, from
# the committed seed corpora in tests/fuzz/corpus/DRIVER, after replaying
# the kept reproducers tests/fuzz/crashes/DRIVER-* (issue 11, item 6):
#   msg             the bus message decoders (src/core/msg.c)
#   checkpoint      the analytics checkpoint loader (vigil_analyzer_load)
#   rules_json      the analytics rules JSON parser (vigil_rules_from_json)
#   params          the HTTP API's query parameters and cursors (src/api/params.c)
#   config          the YAML configuration loader (vigil_config_load_string)
#   model_registry  the model registry YAML parser (src/infer/model_registry.c)
#   jpeg            the JPEG decode path of the stages, hostile headers, pixel cap
#   webauthn        passkey ceremonies: clientDataJSON, attestation objects,
#                   authenticator data, COSE keys (src/auth/webauthn*.c)
#   api_bodies:40000      the API's JSON request bodies, through the real server
#   push_sub        push subscription bodies and endpoint rules
#                   (vigil_push_sub_parse: src/push/subscription.c, dest.c)
#   grpc            the gRPC server's framing, grpc-timeout, reflection walk
#   forwarded       X-Forwarded-For / -Proto and http.trusted_proxies
#                   (src/api/forwarded.c, vigil__edge_parse_nets)
# Fails on any crash, leak or sanitizer report, and on a driver's broken
# promise (a round trip that does not hold). tests/fuzz/run_fuzzers.sh builds
# and runs the drivers in the fuzz tree test_fuzz_loaders.sh also uses.
# VIGIL_FUZZ_PARSER_SECONDS per driver (default 10: about 105 s for the
# ten; else VIGIL_FUZZ_SECONDS when set); VIGIL_FUZZ_BUILD, VIGIL_FUZZ_SEED
# as for test_fuzz_loaders.sh.
set -euo pipefail
SRC=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec bash "$SRC/tests/fuzz/run_fuzzers.sh" test_fuzz_parsers \
    "${VIGIL_FUZZ_PARSER_SECONDS:-${VIGIL_FUZZ_SECONDS:-10}}" \
    msg checkpoint rules_json params config model_registry jpeg webauthn api_bodies:40000 push_sub grpc forwarded
