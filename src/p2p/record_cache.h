/* record_cache.h: a verified-envelope cache in front of a record opener (record_kind.h).
 *
 * js-libp2p and nwaku peers re-register every ~10 s with the very same envelope bytes; verifying
 * its signature again is most of what such a REGISTER costs. The cache maps a keyed hash of
 * (record kind, exact envelope bytes) to what opening them said: the peer id, seq, and the
 * addresses and mix key as offsets into the bytes. A hit rebuilds the summary with pointers into
 * the caller's buffer (same bytes, same offsets) without the signature check; a miss opens through
 * the inner opener and remembers a success. Failures are never cached.
 *
 * Safety: the hash is BLAKE2b-256 (crypto_generichash) under a random key drawn per cache, so
 * a hit means the bytes are the ones verified, short of a 256-bit collision an outsider cannot
 * even aim at. The cache does not check the peer against the connection: the caller (service.c
 * check_record) does that on every request, hit or miss, so someone replaying another peer's
 * cached envelope is refused as before.
 *
 * Bounded in entries and bytes (the bytes of the entries themselves; the envelope is not kept),
 * evicting the least recently used. Not thread-safe: one per event loop. */
#ifndef RDV_RECORD_CACHE_H
#define RDV_RECORD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/record_kind.h"

/* Sized for ~1 M peers each re-sending one envelope: an entry is ~110 B plus 4 B per address. */
#define RDV_RECORD_CACHE_DEFAULT_ENTRIES (1024u * 1024u)
#define RDV_RECORD_CACHE_DEFAULT_BYTES (256u * 1024u * 1024u)

struct rdv_record_cache_stats {
    uint64_t hits, misses, evictions;
    size_t entries, bytes;
};

struct rdv_record_cache;

/* max_entries or max_bytes 0: the default. inner may be NULL (rdv_record_open); it is copied. */
struct rdv_record_cache *rdv_record_cache_new(size_t max_entries, size_t max_bytes,
                                              const struct rdv_record_opener *inner);
void rdv_record_cache_free(struct rdv_record_cache *c);
/* The opener to hand to rdv_service_config.opener: valid while c lives. */
struct rdv_record_opener rdv_record_cache_opener(struct rdv_record_cache *c);
void rdv_record_cache_stats(const struct rdv_record_cache *c, struct rdv_record_cache_stats *out);

#endif
