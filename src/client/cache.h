/* cache.h: the client's discovery cache: per namespace, the newest verified record of each peer
 * and when it stops being valid. Pure (no I/O, no clock: callers pass `now`), so it is unit tested
 * on its own.
 *
 * Rules: a higher seq replaces a peer's record; the same seq only extends its life (another point
 * answering with more TTL left); a lower seq is stale and ignored. A namespace holds at most
 * max_per_ns peers: when full, the entry that expires first makes room, unless the newcomer
 * expires even sooner. Expired entries are dropped when a namespace is looked at. */
#ifndef RDV_CLIENT_CACHE_H
#define RDV_CLIENT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/record_kind.h"
#include "p2p/peerid.h"

struct rdv_cache_entry {
    struct rdv_peerid id;
    char id_text[RDV_PEERID_TEXT_MAX];
    uint64_t seq;
    double expires;   /* absolute time, the caller's clock */
    char **addrs;     /* text multiaddrs */
    size_t naddrs;
};

struct rdv_cache_ns;

struct rdv_cache {
    struct rdv_cache_ns *head;
    size_t max_per_ns;
};

void rdv_cache_init(struct rdv_cache *c, size_t max_per_ns);
void rdv_cache_free(struct rdv_cache *c);

/* Merges one verified record, valid until `expires`. Returns RDV_OK (stored or extended),
 * RDV_ERR_STALE (a newer record is held), RDV_ERR_LIMIT (full of longer-lived entries),
 * RDV_ERR_INVALID (an address that does not print), RDV_ERR_NOMEM. */
int rdv_cache_put(struct rdv_cache *c, const char *ns, const struct rdv_record_summary *rec, double expires);
/* Drops ns's expired entries; returns how many live ones remain. */
size_t rdv_cache_live(struct rdv_cache *c, const char *ns, double now);
/* Points out[] at up to max live entries of ns, most time left first (ties: by peer id text);
 * returns the count. The pointers are valid until the next put/live/list/free. */
size_t rdv_cache_list(struct rdv_cache *c, const char *ns, double now, const struct rdv_cache_entry **out, size_t max);

#endif
