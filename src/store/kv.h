/* kv.h: a complete store on an application's synchronous ordered key-value store (the seed's
 * storage shape: put, delete, iterate from a prefix; rendezvous/server.h struct rendezvous_kv).
 *
 * Like the LevelDB store, the index of index.h mirrors every record (here with its envelope, so
 * reads never touch the KV) and every change is written through to the KV before it is answered;
 * a failed write is undone in the index. The KV is read once, at open.
 *
 * Layout, all keys the library's:
 *   0x00 "secret"            the 32-byte cookie secret
 *   0x00 "counter"           the registration counter's high-water mark (8 bytes, big endian)
 *   0x02 kind ns 0x00 peer   one registration: version 1, expires_ms, registered_ms, seq, counter
 *                            (8 bytes each, big endian), dialect (1 byte), then the envelope */
#ifndef RDV_STORE_KV_H
#define RDV_STORE_KV_H

#include "rendezvous/point.h"
#include "store/store.h"
#include "util/log.h"

/* clock NULL: the system clock. Returns RDV_OK, RDV_ERR_INVALID (kv incomplete), RDV_ERR_IO (the KV
 * failed while loading) or RDV_ERR_NOMEM; kv->close is called by the store's close only. */
int rdv_store_kv_open(const struct rendezvous_kv *kv, const struct rdv_clock *clock, const struct rdv_log *log,
                      struct rdv_store **out);

#endif
