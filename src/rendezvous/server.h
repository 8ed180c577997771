/* server.h: serves /vac/waku/rendezvous/0.0.1 on host streams: splits each stream into
 * length-prefixed requests, runs them one at a time through service.c and the store, and writes
 * each response before reading the next request (responses keep request order). */
#ifndef RDV_RENDEZVOUS_SERVER_H
#define RDV_RENDEZVOUS_SERVER_H

#include "p2p/host.h"
#include "rendezvous/service.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"

struct rdv_rendezvous_counters {
    uint64_t requests[2][8]; /* [register=0|discover=1][status index, see rdv_rendezvous_status_index] */
    uint64_t bad_messages;   /* undecodable or oversize: stream reset */
};

struct rdv_rendezvous_server {
    const struct rdv_service_config *cfg;
    struct rdv_store *store;
    const struct rdv_log *log;
    size_t max_message;
    struct rdv_rendezvous_counters counters;
    struct rdv_metric *request_seconds[2]; /* optional histograms [register|discover]: request to response */
};

int rdv_rendezvous_server_register(struct rdv_host *h, struct rdv_rendezvous_server *srv);
/* 0..6 for OK, 100, 101, 102, 200, 300, 400; 7 for anything else. */
int rdv_rendezvous_status_index(enum rdv_status st);

#endif
