/* internal.h: what http.c (libmicrohttpd, routing, auth) and api.c (the endpoints) share:
 * the admin object, one request's state, and the ways a handler answers.
 *
 * A request's life: http.c creates it on the first call for a connection's request and runs the
 * route's handler. The handler answers at once (rdv_admin_reply_*) or starts a store call
 * (rdv_admin_store_begin) whose callback answers later; http.c suspends the connection until then.
 * If the connection ends while a store call is in flight, the request is orphaned: the store
 * callback frees it (rdv_admin_store_end returns true) and touches nothing else. */
#ifndef RDV_ADMIN_INTERNAL_H
#define RDV_ADMIN_INTERNAL_H

#include "util/list.h"
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "admin/admin.h"

struct rdv_admin {
    struct ev_loop *loop;
    struct MHD_Daemon *mhd;
    ev_io io;                     /* libmicrohttpd's epoll fd */
    ev_timer timer;               /* its next timeout, or 0 to run again at once */
    struct rdv_admin_sources src;
    const struct rdv_log *log;
    char *token;                  /* NULL: no auth */
    char address[64];
    rdv_list suspended;               /* requests waiting for the store, to resume at stop */
    /* guard.c: every open connection, its deadline, the per-address cap and eviction */
    rdv_list conns;                   /* struct rdv_admin_conn not yet cut, by deadline */
    unsigned nconns;                  /* on conns */
    ev_timer deadline_timer;          /* the first deadline */
    unsigned request_timeout_s, max_per_ip, max_connections;
};

struct rdv_admin_req {
    struct rdv_admin *a;
    struct MHD_Connection *conn;  /* NULL once orphaned */
    struct rdv_list_node link;    /* on a->suspended while suspended */
    bool dispatched, suspended, in_store, orphaned;
    unsigned status;              /* the answer, once resp is set */
    struct MHD_Response *resp;
    /* endpoint state, kept across a store call */
    struct rdv_store_stats stats;
    enum rdv_store_status health;
    char ns[RDV_NS_MAX];
    size_t ns_len;
    uint8_t kind;               /* registrations: the record kind listed */
};

/* guard.c (see there). init before MHD starts, stop after MHD_stop_daemon. accept is MHD's accept
 * policy callback and notify its NOTIFY_CONNECTION callback (cls: the admin); busy marks a request
 * being answered (true from its headers to its completion). */
void rdv_admin_guard_init(struct rdv_admin *a, const struct rdv_admin_config *cfg);
void rdv_admin_guard_stop(struct rdv_admin *a);
enum MHD_Result rdv_admin_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void rdv_admin_guard_notify(void *cls, struct MHD_Connection *conn, void **ctx, enum MHD_ConnectionNotificationCode toe);
void rdv_admin_guard_busy(struct rdv_admin *a, struct MHD_Connection *conn, bool busy);
/* Runs MHD again from the loop soon (not from inside a callback of MHD_run). */
/* Resumed (or cut) connections are processed by the next MHD_run; schedule it from the loop rather
 * than call it at once, which may be inside a store callback inside MHD_run itself. Inline, and
 * here, because http.c and guard.c both need it and neither should depend on the other. */
static inline void rdv_admin_kick(struct rdv_admin *a)
{
    ev_timer_stop(a->loop, &a->timer);
    ev_timer_set(&a->timer, 0., 0.);
    ev_timer_start(a->loop, &a->timer);
}

typedef void (*rdv_admin_handler)(struct rdv_admin_req *r, const char *rest, size_t rest_len);

/* Answers: body is stolen (json_decref'd). */
void rdv_admin_reply_json(struct rdv_admin_req *r, unsigned status, json_t *body);
__attribute__((format(printf, 3, 4)))
void rdv_admin_reply_error(struct rdv_admin_req *r, unsigned status, const char *fmt, ...);
void rdv_admin_reply_bytes(struct rdv_admin_req *r, unsigned status, const char *content_type, const void *data, size_t len);

/* Around every store call: begin before it, end first thing in its callback. end returns true
 * when the request was orphaned (and is now freed): return at once. */
void rdv_admin_store_begin(struct rdv_admin_req *r);
bool rdv_admin_store_end(struct rdv_admin_req *r);

/* Query parameters of the request (decoded, may hold NUL bytes). present = whether given.
 * Returns RDV_OK, or an error after answering 400 itself. */
int rdv_admin_query(struct rdv_admin_req *r, const char *key, char *out, size_t cap, size_t *len, bool *present);
/* Answers 400 and returns an error if the query holds a key not in allowed (NULL-terminated) or
 * a key twice. */
int rdv_admin_query_check(struct rdv_admin_req *r, const char *const *allowed);

/* The endpoints (api.c). rest: the path after the route's prefix, still percent-encoded. */
void rdv_admin_api_healthz(struct rdv_admin_req *r, const char *rest, size_t rest_len);
void rdv_admin_api_readyz(struct rdv_admin_req *r, const char *rest, size_t rest_len);
void rdv_admin_api_metrics(struct rdv_admin_req *r, const char *rest, size_t rest_len);
void rdv_admin_api_stats(struct rdv_admin_req *r, const char *rest, size_t rest_len);
void rdv_admin_api_namespaces(struct rdv_admin_req *r, const char *rest, size_t rest_len);
void rdv_admin_api_registrations(struct rdv_admin_req *r, const char *rest, size_t rest_len);
void rdv_admin_api_peer(struct rdv_admin_req *r, const char *rest, size_t rest_len);

#endif
