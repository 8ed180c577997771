/* index.h: the in-memory registration index shared by the memory and LevelDB stores.
 *
 * It holds, for every registration, its namespace, peer id, seq, registration and expiry times,
 * plus optional bytes owned by the backend (the memory store keeps the envelope there; the
 * LevelDB store keeps envelopes on disk and leaves them NULL). Backends decide what a put means
 * with rdv_index_admit(), then insert or update; they purge by looking at rdv_index_soonest().
 *
 * Costs: find/insert/update/remove O(log n) (hash tables + one expiry min-heap); sampling k
 * records of a namespace O(k); listing a page of `limit` namespaces or registrations
 * O(m log limit) where m is the number of namespaces (or the namespace's records), plus the
 * records of the namespaces listed (their soonest/latest expiry is computed by a scan). Nothing is
 * kept sorted, so the listing cost is paid per call: about 10 ms per page at 10^5 namespaces. */
#ifndef RDV_STORE_INDEX_H
#define RDV_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct rdv_index;


#include "util/htab.h"
#include "util/list.h"
#include "util/olog.h"

/* A (record kind, namespace) with at least one record. Read-only outside index.c. */
struct rdv_index_ns {
    const uint8_t *name;    /* points into key */
    size_t len;
    uint8_t kind;
    size_t n;               /* records */
    uint64_t by_dialect[RDV_STORE_DIALECTS];
    /* private */
    uint8_t *key;           /* kind byte + name: the hash key */
    struct rdv_olog log;    /* records by counter */
    uint64_t hash;
    struct rdv_index_rec **recs; /* dense, in no particular order */
    size_t cap;
    struct rdv_htab by_peer; /* rdv_index_rec by peer id */
};

/* A peer with at least one record: its id held once, however many namespaces it registers in
 * (a struct rdv_peerid is 72 bytes; at 1 000 namespaces per peer a copy per record was the largest
 * cost of a registration). Read-only outside index.c. */
struct rdv_index_peer {
    struct rdv_peerid id;
    uint64_t hash;          /* private: of id, under the index's key */
    uint32_t count;         /* private: records of this peer across namespaces and kinds */
    rdv_list recs;          /* private: those records (rdv_index_rec.peer_link) */
};

/* One registration. Backends read every field and may set data/data_len (freed with the record);
 * they change seq and times only through rdv_index_update(). Laid out to fit 88 bytes (a 96-byte
 * malloc chunk): 32-bit positions, as an index holds at most UINT32_MAX records. */
struct rdv_index_rec {
    struct rdv_index_ns *ns;
    const struct rdv_index_peer *peer; /* peer->id: the peer id */
    uint64_t seq;
    uint64_t counter;       /* the store's registration counter at the last put */
    int64_t registered_ms;
    int64_t expires_ms;     /* live while now < expires_ms */
    uint8_t *data;          /* backend bytes or NULL; free()d with the record */
    uint32_t data_len;      /* envelopes are at most RDV_STORE_ENVELOPE_MAX */
    uint8_t dialect;
    /* private */
    uint16_t env_len;       /* the envelope's length, for the byte budget (<= RDV_STORE_ENVELOPE_MAX) */
    uint32_t heap_idx;
    uint32_t ns_idx;
    uint32_t ns_log_pos, kind_log_pos;
    struct rdv_list_node peer_link; /* on its peer's list: the admin's search by peer id */
};

/* Where a record lives, and what it holds besides its bytes. */
struct rdv_index_key {
    uint8_t kind;
    const void *ns;
    size_t ns_len;
    const struct rdv_peerid *peer;
};
struct rdv_index_meta {
    uint32_t envelope_len;  /* what the record is charged in the byte budget (store.h) */
    uint64_t seq;
    uint64_t counter;
    uint8_t dialect;
    int64_t registered_ms;
    int64_t expires_ms;
};

/* Returns NULL on allocation failure (or when libsodium cannot start). */
struct rdv_index *rdv_index_new(void);
/* Reseeds the sampling PRNG with a fixed seed (32 bytes): tests only, for a reproducible sample. */
void rdv_index_seed_sampling(struct rdv_index *ix, const uint8_t *seed);
void rdv_index_free(struct rdv_index *ix);

struct rdv_index_rec *rdv_index_find(struct rdv_index *ix, uint8_t kind, const void *ns, size_t ns_len,
                                     const struct rdv_peerid *peer);
/* The registration counter: next_counter hands out the next value (for a put); counter is the
 * highest handed out or seen in an inserted record. */
uint64_t rdv_index_next_counter(struct rdv_index *ix);
uint64_t rdv_index_counter(const struct rdv_index *ix);
/* Raises the counter to at least c (never lowers it): a reopened LevelDB store resumes after every
 * counter it ever handed out, those of records since removed included, so old cookies stay valid. */
void rdv_index_raise_counter(struct rdv_index *ix, uint64_t c);
/* What a put of p means for the index: OK (new record, or *existing for a refresh), STALE (lower
 * seq than the record held), LIMIT (a new record beyond p->max_per_peer) or FULL (beyond
 * p->budget: rdv_store_budget_admit over the index's usage). Changes nothing. */
enum rdv_store_status rdv_index_admit(struct rdv_index *ix, const struct rdv_store_put *p,
                                      struct rdv_index_rec **existing);
/* Adds a record that is not yet held. Returns 0, RDV_ERR_INVALID (kind, dialect or name out of
 * range), or RDV_ERR_NOMEM leaving the index unchanged. m->counter must exceed every counter in the
 * index (rdv_index_next_counter), or records must be inserted in counter order (a reload). */
int rdv_index_insert(struct rdv_index *ix, const struct rdv_index_key *key, const struct rdv_index_meta *m,
                     struct rdv_index_rec **out);
/* Changes a held record's seq, counter, dialect and times (a refresh, or undoing one). A new
 * counter moves it to the end of the ordered logs. Returns 0 or RDV_ERR_INVALID (dialect). */
int rdv_index_update(struct rdv_index *ix, struct rdv_index_rec *r, const struct rdv_index_meta *m);
/* Unlinks and frees r (and its data); its namespace goes with its last record. */
void rdv_index_remove(struct rdv_index *ix, struct rdv_index_rec *r);
/* The record that expires first, or NULL when empty. */
struct rdv_index_rec *rdv_index_soonest(const struct rdv_index *ix);

size_t rdv_index_records(const struct rdv_index *ix);
/* Live registrations, names and bytes as struct rdv_store_budget counts them. */
struct rdv_store_usage rdv_index_usage(const struct rdv_index *ix);
size_t rdv_index_namespaces(const struct rdv_index *ix);

/* Records of ns with the first *k of them a uniformly random k-subset, k = min(limit, n) (limit 0:
 * all). *recs is NULL (k = 0) when ns is unknown. Valid until the index changes. */
void rdv_index_sample(struct rdv_index *ix, uint8_t kind, const void *ns, size_t ns_len, uint32_t limit,
                      struct rdv_index_rec *const **recs, size_t *k);
/* An ordered query (store.h): *recs is malloc'd (free it; NULL when *n is 0), the records with
 * counter > q->after of (kind, ns) or of the kind (ns_len 0), in counter order, at most q->limit.
 * O(log n + limit). Returns 0, RDV_ERR_INVALID or RDV_ERR_NOMEM. */
int rdv_index_page(struct rdv_index *ix, const struct rdv_store_query *q, struct rdv_index_rec ***recs, size_t *n);
/* A whole discover query (sampled or ordered, checked with rdv_store_query_valid): *recs is
 * malloc'd as for rdv_index_page. Returns 0, RDV_ERR_INVALID or RDV_ERR_NOMEM. */
int rdv_index_query(struct rdv_index *ix, const struct rdv_store_query *q, struct rdv_index_rec ***recs, size_t *n);

/* A page of namespaces starting with prefix and ordered after cursor by bytes (see store.h).
 * *items is malloc'd (free it; NULL when *n is 0) and points into the index: valid until it
 * changes. Returns 0 or RDV_ERR_NOMEM. */
int rdv_index_list_namespaces(struct rdv_index *ix, const void *prefix, size_t prefix_len,
                              const void *cursor, size_t cursor_len, uint32_t limit,
                              struct rdv_store_ns_info **items, size_t *n, int *more);
/* list_namespaces answered from the index: the whole operation of the stores that keep one
 * (memory, LevelDB), with its argument checks; calls cb before returning. */
/* stats answered from the index (memory, LevelDB); calls cb before returning. */
void rdv_index_answer_stats(struct rdv_index *ix, rdv_store_stats_cb cb, void *arg);
void rdv_index_answer_namespaces(struct rdv_index *ix, const char *prefix, size_t prefix_len, const char *cursor,
                                 size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg);
/* A page of the records of ns ordered by peer id bytes after cursor (NULL: from the start).
 * *recs is malloc'd (free it; NULL when *n is 0). Returns 0, RDV_ERR_INVALID (a NULL name with a
 * length, or a name over RDV_NS_MAX) or RDV_ERR_NOMEM. */
int rdv_index_list_registrations(struct rdv_index *ix, uint8_t kind, const void *ns, size_t ns_len,
                                 const struct rdv_peerid *cursor, uint32_t limit,
                                 struct rdv_index_rec ***recs, size_t *n, int *more);

/* The records of peer in every kind and namespace, ordered by (name, kind), the first limit of them
 * (0: all); *more when there are others. O(k log k) for the peer's k records (a per-peer list:
 * no scan of the index). *recs as above. Returns 0 or RDV_ERR_NOMEM. */
int rdv_index_list_peer(struct rdv_index *ix, const struct rdv_peerid *peer, uint32_t limit,
                        struct rdv_index_rec ***recs, size_t *n, int *more);

/* For the stores that keep each envelope as its record's data (memory, kv): the store record of r
 * at now, and the answers of a discover or a list call from the index's result (rc, recs, n, more
 * as the index functions return them; recs is freed). The callback is called before they return. */
struct rdv_store_record rdv_index_record(const struct rdv_index_rec *r, int64_t now);
void rdv_index_answer_discover(int rc, struct rdv_index_rec **recs, size_t n, int64_t now, rdv_store_discover_cb cb,
                               void *arg);
void rdv_index_answer_list(int rc, struct rdv_index_rec **recs, size_t n, int more, int64_t now,
                           rdv_store_reg_list_cb cb, void *arg);

/* Byte order of store.h: memcmp over the common length, then the shorter first. */
int rdv_index_bytes_cmp(const void *a, size_t an, const void *b, size_t bn);

#endif
