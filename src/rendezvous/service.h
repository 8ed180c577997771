/* service.h: the rendezvous request handler for every dialect, free of I/O.
 *
 * One core serves all dialects (rendezvous/dialect.h): the config names the dialect, whose table
 * gives the message layout, the record kind and the default limits. A request is handled in two
 * pure steps around one store call:
 *   rdv_service_begin(): decode + validate the request bytes for the authenticated remote peer.
 *     Either the response is final already (a validation error: out->response holds it; or
 *     out->silent for a request that is never answered, UNREGISTER), or it says which store
 *     operation to run (out->op: PUT, UNREGISTER or DISCOVER, with out->put / out->query filled).
 *   rdv_service_finish_put() / _unregister() / _discover(): map the store's outcome to response bytes.
 * rdv_service_handle() glues the two around a struct rdv_store for callers that do not care.
 * Message framing (the uvarint length prefix) is the caller's job: request/response are the bare
 * protobuf Message bytes. */
#ifndef RDV_SERVICE_H
#define RDV_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/peerid.h"
#include "p2p/record_kind.h"
#include "rendezvous/cookie.h"
#include "rendezvous/dialect.h"
#include "store/store.h"
#include "util/buf.h"

#define RDV_PROTOCOL_WAKU_V001 "/vac/waku/rendezvous/0.0.1"
#define RDV_PROTOCOL_STD "/rendezvous/1.0.0"
#define RDV_PROTOCOL_WAKU_V100 "/vac/waku/rendezvous/1.0.0"

/* The waku 0.0.1 defaults (go-waku-rendezvous); other dialects' are in their tables. */
#define RDV_DEFAULT_TTL_S 20
#define RDV_DEFAULT_MIN_TTL_S 1
#define RDV_DEFAULT_MAX_TTL_S 20
#define RDV_DEFAULT_DISCOVER_LIMIT 1000
#define RDV_DEFAULT_MAX_DISCOVER_LIMIT 1000
#define RDV_DEFAULT_MAX_PER_PEER 1000
/* Global budgets (store.h struct rdv_store_budget), shared by every dialect; sized for the memory
 * store on a machine with a few GiB to spare: ~10 M registrations of ~200-byte envelopes fit the
 * 4 GiB of counted bytes (docs/limits.md). */
#define RDV_DEFAULT_MAX_REGISTRATIONS 10000000u
#define RDV_DEFAULT_MAX_NAMESPACES 1000000u
#define RDV_DEFAULT_MAX_STORE_MB 4096u
#define RDV_MAX_ADDRS_BYTES 2048
#define RDV_MAX_MESSAGE 65536 /* largest request we decode */
/* Largest DISCOVER response we build: go-libp2p's delimited readers (network.MessageSizeMax) and
 * nim-libp2p's MaximumMessageLen refuse bigger messages, so a sample that would not fit is cut
 * short rather than made unreadable. */
#define RDV_MAX_RESPONSE (4 * 1024 * 1024)

/* Mirrors the ResponseStatus enums (103 exists in the cookie dialects only). */
enum rdv_status {
    RDV_STATUS_OK = 0,
    RDV_STATUS_E_INVALID_NAMESPACE = 100,
    RDV_STATUS_E_INVALID_PEER_INFO = 101, /* E_INVALID_SIGNED_PEER_RECORD in /rendezvous/1.0.0 */
    RDV_STATUS_E_INVALID_TTL = 102,
    RDV_STATUS_E_INVALID_COOKIE = 103,
    RDV_STATUS_E_NOT_AUTHORIZED = 200,
    RDV_STATUS_E_INTERNAL_ERROR = 300,
    RDV_STATUS_E_UNAVAILABLE = 400,
};
#define RDV_STATUS_COUNT 8 /* the values above, indexed by rdv_status_index */
const char *rdv_status_name(enum rdv_status st);
/* 0..RDV_STATUS_COUNT-1 in the order of the enum (-1 for any other value), and back. */
int rdv_status_index(enum rdv_status st);
enum rdv_status rdv_status_at(int index);

/* Optional policy hook: return 0 to allow, non-zero to refuse with E_NOT_AUTHORIZED. */
typedef int (*rdv_policy_fn)(void *ctx, const struct rdv_peerid *remote, const char *ns, size_t ns_len);

struct rdv_service_config {
    const struct rdv_dialect *dialect; /* NULL: /vac/waku/rendezvous/0.0.1 */
    uint32_t default_ttl_s;        /* TTL 0 in a request means this (0 here: RDV_DEFAULT_TTL_S) */
    uint32_t min_ttl_s;            /* non-zero TTL below this: E_INVALID_TTL */
    uint32_t max_ttl_s;            /* TTL above this: E_INVALID_TTL */
    uint32_t default_discover_limit; /* limit <= 0 means this (0 here: max_discover_limit) */
    uint32_t max_discover_limit;   /* larger limits are capped to this (0 here: the default 1000) */
    uint32_t max_per_peer;         /* registrations one peer may hold at once (0 = no cap) */
    struct rdv_store_budget budget; /* global: a new registration beyond it is E_UNAVAILABLE (0s: none) */
    uint32_t ns_max;               /* namespace bytes (0 here: the dialect's) */
    uint32_t max_envelope;         /* signed envelope bytes a REGISTER may carry (0 or more than
                                      RDV_RECORD_ENVELOPE_MAX, 8 KiB: that); larger: E_INVALID_PEER_INFO */
    rdv_policy_fn policy;          /* REGISTER only, after validation; NULL = allow all */
    void *policy_ctx;
    const struct rdv_record_opener *opener; /* how records are verified; NULL: rdv_record_open */
    /* The store's secret (rdv_store_secret), RDV_COOKIE_KEY_LEN bytes, for cookies; NULL while not
     * known: DISCOVERs of cookie dialects are then answered E_UNAVAILABLE. */
    const uint8_t *cookie_key;
};
/* The waku 0.0.1 defaults; rdv_service_config_for: the defaults of dialect d. */
void rdv_service_config_defaults(struct rdv_service_config *c);
void rdv_service_config_for(struct rdv_service_config *c, const struct rdv_dialect *d);

enum rdv_op { RDV_OP_NONE = 0, RDV_OP_PUT, RDV_OP_UNREGISTER, RDV_OP_DISCOVER };

/* The outcome of rdv_service_begin. Owns its memory: free with rdv_service_request_free.
 * put.ns/peer/envelope point into this struct: do not copy or move it between begin and finish. */
struct rdv_service_request {
    const struct rdv_dialect *dialect;
    enum rdv_req_type type;     /* REGISTER, UNREGISTER or DISCOVER */
    enum rdv_op op;             /* RDV_OP_NONE: response is final */
    enum rdv_status status;     /* when op == NONE: the status sent (or counted, when silent) */
    const char *detail;         /* when op == NONE and status != OK: why, for the log (static) */
    struct rdv_buf response;    /* when op == NONE: the response Message bytes */
    bool silent;                /* no response by design (UNREGISTER): response stays empty */
    bool truncated;             /* DISCOVER: the sample was cut to fit RDV_MAX_RESPONSE */
    /* RDV_OP_PUT */
    struct rdv_store_put put;   /* points into the fields below */
    /* RDV_OP_DISCOVER */
    struct rdv_store_query query; /* points into ns */
    uint32_t limit;
    bool cookies;               /* answer with a cookie (made with cookie_key) */
    uint8_t cookie_key[RDV_COOKIE_KEY_LEN];
    /* storage */
    char *ns;
    size_t ns_len;
    struct rdv_peerid peer;
    uint8_t *envelope;
    size_t envelope_len;
    uint64_t seq;
    uint32_t ttl_s;
};

/* cfg may be NULL for the waku 0.0.1 defaults. Returns RDV_OK (see out->op), or RDV_ERR_INVALID when the
 * bytes are not a request Message we can answer at all (undecodable, a response or unknown type),
 * RDV_ERR_TOO_LARGE beyond RDV_MAX_MESSAGE: the caller should reset the stream, as the Go
 * reference does. RDV_ERR_NOMEM on allocation failure. On error, out holds nothing to free
 * (rdv_service_request_free on it is harmless). */
int rdv_service_begin(const struct rdv_service_config *cfg, const struct rdv_peerid *remote,
                      const uint8_t *req, size_t n, struct rdv_service_request *out);
/* Builds the REGISTER response for a finished put. Sets r->status/detail too. After a finish
 * call the response is final. Should building it fail (RDV_ERR_NOMEM), the response is left
 * empty: the caller then resets the stream. */
int rdv_service_finish_put(struct rdv_service_request *r, enum rdv_store_status st);
/* UNREGISTER is never answered: records the outcome (status) only. */
void rdv_service_finish_unregister(struct rdv_service_request *r, enum rdv_store_status st);
/* Builds the DISCOVER response for a finished discover: at most r->limit live records (a store
 * returning more is trimmed; a sample too big for RDV_MAX_RESPONSE is cut), each with its
 * remaining TTL rounded up to whole seconds, and for cookie dialects a cookie after the last record
 * sent. If the response cannot be built (memory) it falls back to E_INTERNAL_ERROR, then to empty. */
int rdv_service_finish_discover(struct rdv_service_request *r, enum rdv_store_status st,
                                const struct rdv_store_record *recs, size_t n);
void rdv_service_request_free(struct rdv_service_request *r);


/* Called once with the final request (status, detail, response bytes); r is freed after it returns.
 * An empty r->response means no answer could be built (reset the stream) unless r->silent. */
typedef void (*rdv_service_done_cb)(void *arg, struct rdv_service_request *r);
/* begin + store + finish. Returns what begin returned; on RDV_OK, done is called exactly once
 * (synchronously with the memory store, later with an asynchronous one). store may be NULL:
 * requests that need it are answered E_UNAVAILABLE. *type (may be NULL) gets the request's type
 * on RDV_OK, before done runs. */
int rdv_service_handle(const struct rdv_service_config *cfg, struct rdv_store *store,
                       const struct rdv_peerid *remote, const uint8_t *req, size_t n,
                       rdv_service_done_cb done, void *arg, enum rdv_req_type *type);
/* The bare answer E_UNAVAILABLE "shutting down" to a request of this type in cfg's dialect, into out
 * (emptied first); UNREGISTER has none (out stays empty). For requests the store has not answered
 * when the server must go. */
int rdv_service_unavailable(const struct rdv_service_config *cfg, enum rdv_req_type type, struct rdv_buf *out);

#endif
