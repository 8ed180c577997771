/* fuzz_multistream.c: multistream-select negotiation input, for a listener and a dialer. */
#include "fuzz.h"
#include "p2p/multistream.h"
#include "util/err.h"

static const char *const protos[] = {"/noise", "/yamux/1.0.0", "/vac/waku/rendezvous/0.0.1"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdv_mss m;
    struct rdv_buf out;
    rdv_buf_init(&out, 1 << 16);
    rdv_mss_listener_init(&m, protos, 3);
    size_t used = 0, pos = 0;
    while (pos < size && !rdv_mss_done(&m)) {
        if (rdv_mss_recv(&m, data + pos, size - pos, &used, &out) != RDV_OK || used == 0)
            break;
        pos += used;
    }
    FUZZ_ASSERT(pos <= size);
    rdv_buf_reset(&out);
    if (rdv_mss_dialer_init(&m, "/noise", &out) == RDV_OK)
        (void)rdv_mss_recv(&m, data, size, &used, &out);
    rdv_buf_free(&out);
    return 0;
}
