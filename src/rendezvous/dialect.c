/* dialect.c: the three dialect tables (see dialect.h). Sources of the defaults:
 * - waku0: go-waku-rendezvous svc.go (TTL default = max = 20 s, namespace 256 bytes, limit 1000);
 * - std: libp2p/specs rendezvous/README.md (TTL default 2 h, max 72 h, namespace 255 bytes,
 *   1000 registrations per peer, 1000 records per DISCOVER) and go-libp2p-rendezvous;
 * - waku1: nwaku waku/waku_rendezvous (nim-libp2p GenericRendezVous with a 60 s minimum and a 72 h
 *   maximum; a TTL left out means the minimum, as nim-libp2p does). */
#include "rendezvous/dialect.h"

#include <string.h>

#define HOURS(h) ((uint32_t)(h) * 3600u)

static const struct rdv_dialect dialects[RDV_DIALECT_COUNT] = {
    [RDV_DIALECT_WAKU0] = {
        .id = RDV_DIALECT_WAKU0, .name = "waku0", .protocol = "/vac/waku/rendezvous/0.0.1",
        .wire = &rdv_wire_layout_waku0, .record = &rdv_record_kind_peer,
        .defaults = {.default_ttl_s = 20, .min_ttl_s = 1, .max_ttl_s = 20, .default_limit = 1000,
                     .max_limit = 1000, .max_per_peer = 1000, .ns_max = 256},
        .cookies = false, .unregister = false, .empty_ns_is_all = false,
    },
    [RDV_DIALECT_STD] = {
        .id = RDV_DIALECT_STD, .name = "std", .protocol = "/rendezvous/1.0.0",
        .wire = &rdv_wire_layout_std, .record = &rdv_record_kind_peer,
        .defaults = {.default_ttl_s = HOURS(2), .min_ttl_s = 1, .max_ttl_s = HOURS(72), .default_limit = 1000,
                     .max_limit = 1000, .max_per_peer = 1000, .ns_max = 255},
        .cookies = true, .unregister = true, .empty_ns_is_all = true,
    },
    [RDV_DIALECT_WAKU1] = {
        .id = RDV_DIALECT_WAKU1, .name = "waku1", .protocol = "/vac/waku/rendezvous/1.0.0",
        .wire = &rdv_wire_layout_std, .record = &rdv_record_kind_waku,
        .defaults = {.default_ttl_s = 60, .min_ttl_s = 60, .max_ttl_s = HOURS(72), .default_limit = 1000,
                     .max_limit = 1000, .max_per_peer = 1000, .ns_max = 255},
        .cookies = true, .unregister = true, .empty_ns_is_all = true,
    },
};

const struct rdv_dialect *rdv_dialect_get(unsigned id)
{
    return id < RDV_DIALECT_COUNT ? &dialects[id] : NULL;
}

const struct rdv_dialect *rdv_dialect_find(const char *s)
{
    for (unsigned i = 0; s && i < RDV_DIALECT_COUNT; i++)
        if (strcmp(s, dialects[i].name) == 0 || strcmp(s, dialects[i].protocol) == 0)
            return &dialects[i];
    return NULL;
}
