/* fuzz_service.c: a rendezvous request from an authenticated peer, through the handler and the
 * memory store, exactly as a stream delivers it. Every answered request must have a response. */
#include <string.h>

#include "fuzz.h"
#include "rendezvous/service.h"
#include "store/memory.h"
#include "util/err.h"

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1700000000000;
}

static void done(void *arg, struct rdv_service_request *r)
{
    (void)arg;
    FUZZ_ASSERT(r->response.len > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct rdv_clock clock = {fixed_now, NULL};
    struct rdv_store *store = rdv_store_memory_new(&clock);
    struct rdv_service_config cfg;
    rdv_service_config_defaults(&cfg);
    /* the peer of the shared vector valid-ed25519-0, so its records can register */
    struct rdv_peerid remote;
    FUZZ_ASSERT(rdv_peerid_parse("12D3KooWLTLEA2FGERx3XnmWByAR3XwEmo2U2eRV8tkWXRuoQu5S", &remote) == RDV_OK);
    /* the input twice: a register then a discover of what it stored */
    (void)rdv_service_handle(&cfg, store, &remote, data, size, done, NULL, NULL);
    (void)rdv_service_handle(&cfg, store, &remote, data, size, done, NULL, NULL);
    rdv_store_close(store);
    return 0;
}
