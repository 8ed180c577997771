/* dialect.h: the rendezvous dialects as data.
 *
 * A dialect is one protocol id on the wire: its message layout (wire.h), the kind of signed record
 * it carries (p2p/record_kind.h), its default limits, and how DISCOVER answers (a random sample,
 * or pages in registration order with cookies). The core (service.c) is the same for all; the
 * server registers one stream handler per enabled dialect over one store. Dialects that carry the
 * same record kind share their registrations (the store keys by kind); see docs/protocol.md.
 *
 * Adding a dialect: one table entry in dialect.c (and, for a new message layout, one
 * rdv_wire_layout in wire.c; for a new record kind, one rdv_record_kind in record_kind.c). */
#ifndef RDV_DIALECT_H
#define RDV_DIALECT_H

#include <stdbool.h>
#include <stdint.h>

#include "p2p/record_kind.h"
#include "rendezvous/wire.h"

enum rdv_dialect_id {
    RDV_DIALECT_WAKU0 = 0, /* /vac/waku/rendezvous/0.0.1: go-waku-rendezvous, the seed */
    RDV_DIALECT_STD = 1,   /* /rendezvous/1.0.0: libp2p standard (go-waku, nim-libp2p, js) */
    RDV_DIALECT_WAKU1 = 2, /* /vac/waku/rendezvous/1.0.0: nwaku since 2025-11, WakuPeerRecord */
    RDV_DIALECT_COUNT
};

struct rdv_dialect_limits {
    uint32_t default_ttl_s;    /* TTL absent or 0 in a REGISTER */
    uint32_t min_ttl_s;        /* a non-zero TTL below: E_INVALID_TTL */
    uint32_t max_ttl_s;        /* above: E_INVALID_TTL (never clamped) */
    uint32_t default_limit;    /* DISCOVER limit absent or 0 */
    uint32_t max_limit;        /* larger limits are capped to this */
    uint32_t max_per_peer;     /* registrations one peer may hold (0: no cap) */
    uint32_t ns_max;           /* namespace bytes */
};

struct rdv_dialect {
    enum rdv_dialect_id id;
    const char *name;          /* "waku0", "std", "waku1": config prefixes, logs */
    const char *protocol;      /* the multistream protocol id */
    const struct rdv_wire_layout *wire;
    const struct rdv_record_kind *record;
    struct rdv_dialect_limits defaults;
    bool cookies;              /* DISCOVER pages in registration order with cookies; else a random sample */
    bool unregister;           /* UNREGISTER exists */
    bool empty_ns_is_all;      /* DISCOVER with an absent or empty namespace means every namespace */
};

/* By id (NULL when out of range), by name or protocol id (NULL when unknown). */
const struct rdv_dialect *rdv_dialect_get(unsigned id);
const struct rdv_dialect *rdv_dialect_find(const char *name_or_protocol);

#endif
