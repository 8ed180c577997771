/* fuzz_identify.c: identify answers from a peer we dialed. */
#include "fuzz.h"
#include "p2p/identify.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdv_identify_peer peer;
    if (rdv_identify_decode(data, size, &peer) == RDV_OK)
        rdv_identify_peer_free(&peer);
    return 0;
}
