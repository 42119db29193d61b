/* libFuzzer driver: the gRPC server's parsers of client bytes (src/grpc/frame.c).
 * The first byte picks what the rest is:
 *   0  a request body: length-prefixed messages deframed one after another
 *      with a max of 64 KiB, as take_messages does
 *   1  a grpc-timeout header value
 *   2  a grpc-message to percent-encode
 *   3  a FileDescriptorSet walked for its services, a file name and a symbol
 *      (the reflection code's walk over the embedded descriptors)
 * Besides "no crash, no leak", it checks the promises: a deframed message
 * lies inside the input and is no larger than the max; a parsed timeout is
 * positive; an encoded message is printable ASCII without a raw '%' escape
 * cut short; a found descriptor lies inside the set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/grpc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_grpc: broken promise: %s\n", what);
    abort();
}

static char *text(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void count(void *cls, const char *name)
{
    if (!name[0]) broken("a service with an empty name");
    ++*(int *)cls;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    switch (data[0] % 4) {
    case 0: {
        size_t off = 0, used;
        const uint8_t *msg;
        uint32_t mlen;
        int comp, r;
        while ((r = vigil__grpc_deframe(p + off, n - off, 65536, &comp, &msg, &mlen, &used)) == 1) {
            if (mlen > 65536) broken("a message over the max");
            if (msg != p + off + 5 || used != 5 + (size_t)mlen || off + used > n)
                broken("a message outside the input");
            off += used;
        }
        if (r < 0 && mlen <= 65536) broken("refused a message within the max");
        break;
    }
    case 1: {
        char *s = text(p, n);
        int64_t us = 0;
        if (vigil__grpc_timeout_parse(s, &us) == 0 && us < 1) broken("a timeout below 1 us");
        free(s);
        break;
    }
    case 2: {
        char *s = text(p, n), out[64];
        vigil__grpc_percent_encode(s, out, sizeof(out));
        for (size_t i = 0; out[i]; i++) {
            if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
                broken("an unprintable byte in grpc-message");
            if (out[i] == '%' && (!out[i + 1] || !out[i + 2])) broken("an escape cut short");
        }
        free(s);
        break;
    }
    case 3: {
        const uint8_t *fd;
        size_t fdl;
        int services = 0;
        vigil__grpc_descriptor_services(p, n, count, &services);
        if (vigil__grpc_descriptor_find(p, n, "vigil/v1/api.proto", NULL, &fd, &fdl) == 0 &&
            (fd < p || fd + fdl > p + n))
            broken("a file outside the set");
        if (vigil__grpc_descriptor_find(p, n, NULL, "vigil.v1.DetectionService.ListDetections",
                                        &fd, &fdl) == 0 &&
            (fd < p || fd + fdl > p + n))
            broken("a symbol's file outside the set");
        break;
    }
    }
    return 0;
}
