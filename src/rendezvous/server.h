/* server.h: serves the rendezvous dialects on host streams: one stream handler per enabled dialect,
 * all over one store. Each stream is split into length-prefixed requests, run one at a time
 * through service.c and the store; each response is written before the next request is read
 * (responses keep request order). What happened is pushed to an observer (the metrics). */
#ifndef RDV_RENDEZVOUS_SERVER_H
#define RDV_RENDEZVOUS_SERVER_H

#include <stdbool.h>

#include "p2p/host.h"
#include "rendezvous/dialect.h"
#include "rendezvous/service.h"
#include "store/store.h"
#include "util/log.h"
#include "util/ratelog.h"

/* Told of every request the server answers (or, for UNREGISTER, handles), and of every request
 * that was not a request at all (undecodable or oversize: the stream is reset). */
/* What may happen to an answer on its way out. */
enum rdv_answer_problem {
    RDV_ANSWER_TRUNCATED, /* a DISCOVER sample cut to fit RDV_MAX_RESPONSE (still a whole answer) */
    RDV_ANSWER_DROPPED,   /* the answer could not be queued (output budget): the stream was reset */
    RDV_ANSWER_PROBLEM_COUNT
};

struct rdv_rendezvous_observer {
    void (*request)(void *ctx, const struct rdv_dialect *d, enum rdv_req_type type, enum rdv_status st,
                    double seconds);
    void (*malformed)(void *ctx, const struct rdv_dialect *d);
    void (*answer_problem)(void *ctx, const struct rdv_dialect *d, enum rdv_answer_problem p);
    void *ctx;
};

struct rdv_rendezvous_server;
/* One dialect as served: its settings and the server it belongs to (the stream handler's context). */
struct rdv_rendezvous_dialect {
    struct rdv_rendezvous_server *srv;
    struct rdv_service_config cfg; /* cfg.dialect NULL: not served */
};

struct rdv_rendezvous_server {
    struct rdv_rendezvous_dialect dialects[RDV_DIALECT_COUNT];
    struct rdv_store *store;
    const struct rdv_log *log;
    size_t max_message;
    struct rdv_rendezvous_observer observer;
    struct rdv_ratelog answer_log; /* one line per RDV_HOST_LOG_EVERY seconds about answer problems */
    /* the store's secret for cookies, fetched at registration (and again while it is missing) */
    uint8_t cookie_key[RDV_COOKIE_KEY_LEN];
    bool have_key, fetching_key;
};

/* Sets srv up to serve dialect d with settings cfg (copied; cfg->dialect is set to d). */
void rdv_rendezvous_server_enable(struct rdv_rendezvous_server *srv, const struct rdv_dialect *d,
                                  const struct rdv_service_config *cfg);
/* Registers a stream handler for every enabled dialect and asks the store for its secret. */
int rdv_rendezvous_server_register(struct rdv_host *h, struct rdv_rendezvous_server *srv);

#endif
