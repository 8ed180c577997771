/* leveldb.h: the persistent embedded store on LevelDB ("leveldb:/path"; optional at build time).
 *
 * Layout, format 2. One LevelDB key per registration, `0x02 kind ns 0x00 peer_id` (namespaces
 * holding NUL are refused), so keys sort by record kind, then namespace bytes, then peer id bytes.
 * The value is a version byte (2), then the expiry, registration time (unix ms), seq and
 * registration counter as big-endian 64-bit numbers, the dialect byte, then the signed envelope
 * verbatim. Reserved keys start with 0x00, which no record key does:
 *   "\0rdv-format"  "rendezvousd-leveldb-2": names the layout, so a directory of another layout or
 *                   program is refused at open, and so is a newer format (3 and up);
 *   "\0rdv-secret"  the 32-byte store secret for cookie MACs, drawn at the first open;
 *   "\0rdv-counter" the counter's high-water mark (8 bytes, big-endian), written with every
 *                   deletion: records carry their own counters, so only deleting the newest could
 *                   lose the highest; at open the counter resumes at the larger of the two.
 * Format 1 (`ns 0x00 peer_id`, a 25-byte header without counter or dialect) is migrated in place at
 * open, in one write batch: live records get kind 0, dialect 0 and counters 1..n in key order.
 *
 * At open every record is scanned into the in-memory index of index.h (metadata only, no
 * envelopes: about 200 bytes per registration), which then answers the per-peer cap, sampling,
 * browsing and the expiry heap; records found expired are deleted. Envelopes are read from LevelDB
 * by key, and a record whose stored expiry has passed is never returned.
 *
 * Writes use sync = false: each put reaches the OS before the callback, so a crash of the process
 * loses nothing; a power failure or kernel crash may lose the last writes. Registrations are
 * refreshed by their peers every TTL anyway (see docs/storage.md for the measured cost of sync).
 * LevelDB's C API is synchronous: every callback completes before the operation returns. */
#ifndef RDV_STORE_LEVELDB_H
#define RDV_STORE_LEVELDB_H

#include <stddef.h>

#include "store/store.h"

struct rdv_log;

/* Opens (creating if missing) the store in directory path. clock NULL: the system clock; log may
 * be NULL. Returns RDV_OK, or an error with a message in err (RDV_ERR_IO when LevelDB refuses the
 * directory, e.g. another process holds it; RDV_ERR_INVALID when it holds another layout). */
int rdv_store_leveldb_open(const char *path, const struct rdv_clock *clock, const struct rdv_log *log,
                           struct rdv_store **out, char *err, size_t errlen);

#endif
