/* service.h: the /vac/waku/rendezvous/0.0.1 request handler, free of I/O.
 *
 * A request is handled in two pure steps around one store call:
 *   rdv_service_begin(): decode + validate the request bytes for the authenticated remote peer.
 *     Either the response is final already (a validation error: out->response holds it), or it
 *     says which store operation to run (out->op == RDV_OP_PUT / RDV_OP_DISCOVER, params filled).
 *   rdv_service_finish_put() / rdv_service_finish_discover(): map the store's outcome to response
 *     bytes.
 * rdv_service_handle() glues the two around a struct rdv_store for callers that do not care.
 * Message framing (the uvarint length prefix) is the caller's job: request/response are the bare
 * protobuf Message bytes. */
#ifndef RDV_SERVICE_H
#define RDV_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/peerid.h"
#include "store/store.h"
#include "util/buf.h"

#define RDV_PROTOCOL_WAKU_V001 "/vac/waku/rendezvous/0.0.1"

/* Defaults match the Go reference (go-waku-rendezvous) unless noted in docs/protocol.md. */
#define RDV_DEFAULT_TTL_S 20
#define RDV_DEFAULT_MIN_TTL_S 1
#define RDV_DEFAULT_MAX_TTL_S 20
#define RDV_DEFAULT_DISCOVER_LIMIT 1000
#define RDV_DEFAULT_MAX_DISCOVER_LIMIT 1000
#define RDV_DEFAULT_MAX_PER_PEER 1000
#define RDV_MAX_ADDRS_BYTES 2048
#define RDV_MAX_MESSAGE 65536 /* largest request we decode */
/* Largest DISCOVER response we build: go-libp2p's delimited readers (network.MessageSizeMax) refuse
 * bigger messages, so a sample that would not fit is cut short rather than made unreadable. */
#define RDV_MAX_RESPONSE (4 * 1024 * 1024)

/* Mirrors rendezvous.pb.Message.ResponseStatus. */
enum rdv_status {
    RDV_STATUS_OK = 0,
    RDV_STATUS_E_INVALID_NAMESPACE = 100,
    RDV_STATUS_E_INVALID_PEER_INFO = 101,
    RDV_STATUS_E_INVALID_TTL = 102,
    RDV_STATUS_E_NOT_AUTHORIZED = 200,
    RDV_STATUS_E_INTERNAL_ERROR = 300,
    RDV_STATUS_E_UNAVAILABLE = 400,
};
const char *rdv_status_name(enum rdv_status st);

/* Optional policy hook: return 0 to allow, non-zero to refuse with E_NOT_AUTHORIZED. */
typedef int (*rdv_policy_fn)(void *ctx, const struct rdv_peerid *remote, const char *ns, size_t ns_len);

struct rdv_service_config {
    uint32_t default_ttl_s;        /* TTL 0 in a request means this (0 here: RDV_DEFAULT_TTL_S) */
    uint32_t min_ttl_s;            /* non-zero TTL below this: E_INVALID_TTL */
    uint32_t max_ttl_s;            /* TTL above this: E_INVALID_TTL */
    uint32_t default_discover_limit; /* limit <= 0 means this (0 here: max_discover_limit) */
    uint32_t max_discover_limit;   /* larger limits are capped to this (0 here: the default 1000) */
    uint32_t max_per_peer;         /* registrations one peer may hold at once (0 = no cap) */
    rdv_policy_fn policy;          /* REGISTER only, after validation; NULL = allow all */
    void *policy_ctx;
};
void rdv_service_config_defaults(struct rdv_service_config *c);

enum rdv_op { RDV_OP_NONE = 0, RDV_OP_PUT, RDV_OP_DISCOVER };
enum rdv_msg_type { RDV_MSG_REGISTER = 0, RDV_MSG_REGISTER_RESPONSE = 1, RDV_MSG_DISCOVER = 2, RDV_MSG_DISCOVER_RESPONSE = 3 };

/* The outcome of rdv_service_begin. Owns its memory: free with rdv_service_request_free.
 * put.ns/peer/envelope point into this struct: do not copy or move it between begin and finish. */
struct rdv_service_request {
    enum rdv_msg_type type;     /* REGISTER or DISCOVER */
    enum rdv_op op;             /* RDV_OP_NONE: response is final */
    enum rdv_status status;     /* when op == NONE: the status sent */
    const char *detail;         /* when op == NONE and status != OK: why, for the log (static) */
    struct rdv_buf response;    /* when op == NONE: the response Message bytes */
    /* RDV_OP_PUT */
    struct rdv_store_put put;   /* points into the fields below */
    /* RDV_OP_DISCOVER */
    uint32_t limit;
    /* storage */
    char *ns;
    size_t ns_len;
    struct rdv_peerid peer;
    uint8_t *envelope;
    size_t envelope_len;
    uint64_t seq;
    uint32_t ttl_s;
};

/* cfg may be NULL for the defaults. Returns RDV_OK (see out->op), or RDV_ERR_INVALID when the
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
/* Builds the DISCOVER response for a finished discover: at most r->limit live records (a store
 * returning more is trimmed), each with its remaining TTL rounded up to whole seconds. If the
 * response cannot be built (memory) it falls back to E_INTERNAL_ERROR, then to empty. */
int rdv_service_finish_discover(struct rdv_service_request *r, enum rdv_store_status st,
                                const struct rdv_store_record *recs, size_t n);
void rdv_service_request_free(struct rdv_service_request *r);


/* Called once with the final request (status, detail, response bytes); r is freed after it returns.
 * An empty r->response means no answer could be built: reset the stream. */
typedef void (*rdv_service_done_cb)(void *arg, struct rdv_service_request *r);
/* begin + store + finish. Returns what begin returned; on RDV_OK, done is called exactly once
 * (synchronously with the memory store, later with an asynchronous one). store may be NULL:
 * requests that need it are answered E_UNAVAILABLE. */
int rdv_service_handle(const struct rdv_service_config *cfg, struct rdv_store *store,
                       const struct rdv_peerid *remote, const uint8_t *req, size_t n,
                       rdv_service_done_cb done, void *arg);

#endif
