/* guard.c: what keeps slow or greedy HTTP clients from starving the admin endpoint's probes.
 *
 * libmicrohttpd's own timeout is an idle timeout: a client sending one header byte every few
 * seconds keeps its slot for ever, and 64 such clients (its slots) shut /healthz out. So every
 * connection is tracked here (MHD's socket context), and three rules apply:
 *   - a deadline: a connection has request_timeout_s from its accept, or from the end of its
 *     previous answer, to deliver a whole request and take the answer; then its socket is shut
 *     down (shutdown(2), not close: MHD still owns the descriptor and closes it when it sees EOF);
 *   - a per-address cap, in MHD's accept policy callback: the max_per_ip-th connection from one
 *     address is refused (MHD_OPTION_PER_IP_CONNECTION_LIMIT backs it up, but it refuses silently,
 *     so we count here first);
 *   - headroom with eviction: MHD admits RDV_ADMIN_RESERVE connections beyond max_connections, and
 *     a connection that pushes the count over max_connections evicts the oldest one that is not
 *     being answered (still reading headers, or idle between requests). A probe's request arrives
 *     in one packet and is answered at once, so however many slow clients hold the slots, a new
 *     client always gets one, and /healthz and /readyz are answered.
 * Connections are kept in one list in deadline order (every deadline is "now + the same timeout",
 * so appending keeps it sorted); one ev_timer watches the first. At most max_connections +
 * RDV_ADMIN_RESERVE entries exist, so the per-address count is a scan of that list. */
#include "admin/internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rdv_admin_conn {
    struct rdv_list_node link;   /* on a->conns while not cut, by deadline */
    struct MHD_Connection *conn;
    ev_tstamp deadline;
    bool busy;                   /* a request is being answered: not evicted (the deadline still holds) */
    sa_family_t family;
    uint8_t addr[16];            /* the client's IP address (no port) */
};

/* The IP address of sa, for comparisons; false for other families. */
static bool addr_of(const struct sockaddr *sa, sa_family_t *family, uint8_t out[16])
{
    memset(out, 0, 16);
    if (!sa)
        return false;
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    else
        return false;
    return true;
}

static void guard_arm(struct rdv_admin *a)
{
    ev_timer_stop(a->loop, &a->deadline_timer);
    struct rdv_list_node *n = rdv_list_first(&a->conns);
    if (!n)
        return;
    struct rdv_admin_conn *c = rdv_list_entry(n, struct rdv_admin_conn, link);
    double in = c->deadline - ev_now(a->loop);
    ev_timer_set(&a->deadline_timer, in > 0 ? in : 0., 0.);
    ev_timer_start(a->loop, &a->deadline_timer);
}

/* Ends a connection: MHD reads EOF on its next run and closes it (NOTIFY_CLOSED frees c). */
static void guard_cut(struct rdv_admin *a, struct rdv_admin_conn *c, struct rdv_metric *why)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    rdv_list_remove(&c->link);
    a->nconns--; /* counts the connections on the list: a cut one no longer holds a slot */
    if (info)
        (void)shutdown(info->connect_fd, SHUT_RDWR);
    rdv_metric_add(why, 1);
    rdv_admin_kick(a);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct rdv_admin *a = w->data;
    struct rdv_list_node *n;
    while ((n = rdv_list_first(&a->conns))) {
        struct rdv_admin_conn *c = rdv_list_entry(n, struct rdv_admin_conn, link);
        if (c->deadline > ev_now(loop))
            break;
        rdv_debug(a->log, "admin http: a connection missed its %u s deadline: closed", a->request_timeout_s);
        guard_cut(a, c, a->src.telemetry->admin_cut_deadline);
    }
    guard_arm(a);
}

static void guard_evict(struct rdv_admin *a)
{
    for (struct rdv_list_node *n = rdv_list_first(&a->conns); n; n = rdv_list_next(&a->conns, n)) {
        struct rdv_admin_conn *c = rdv_list_entry(n, struct rdv_admin_conn, link);
        if (!c->busy) {
            guard_cut(a, c, a->src.telemetry->admin_cut_evicted);
            return;
        }
    }
}

enum MHD_Result rdv_admin_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    struct rdv_admin *a = cls;
    sa_family_t family = 0;
    uint8_t ip[16];
    if (!addr_of(addr, &family, ip))
        return MHD_YES;
    unsigned same = 0;
    for (struct rdv_list_node *n = rdv_list_first(&a->conns); n; n = rdv_list_next(&a->conns, n)) {
        const struct rdv_admin_conn *c = rdv_list_entry(n, struct rdv_admin_conn, link);
        same += c->family == family && memcmp(c->addr, ip, 16) == 0;
    }
    if (same < a->max_per_ip)
        return MHD_YES;
    rdv_metric_add(a->src.telemetry->admin_refused_per_ip, 1);
    return MHD_NO;
}

static void guard_started(struct rdv_admin *a, struct MHD_Connection *conn, void **ctx)
{
    struct rdv_admin_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return; /* untracked: MHD's idle timeout still applies */
    c->conn = conn;
    c->deadline = ev_now(a->loop) + a->request_timeout_s;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    (void)addr_of(info ? info->client_addr : NULL, &c->family, c->addr);
    *ctx = c;
    a->nconns++;
    rdv_list_push_back(&a->conns, &c->link);
    if (a->nconns > a->max_connections)
        guard_evict(a);
    guard_arm(a);
}

void rdv_admin_guard_notify(void *cls, struct MHD_Connection *conn, void **ctx, enum MHD_ConnectionNotificationCode toe)
{
    struct rdv_admin *a = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        guard_started(a, conn, ctx);
        return;
    }
    struct rdv_admin_conn *c = *ctx;
    *ctx = NULL;
    if (!c)
        return;
    if (!rdv_list_unlinked(&c->link)) { /* else cut, and counted off then */
        rdv_list_remove(&c->link);
        a->nconns--;
    }
    free(c);
    guard_arm(a);
}

static struct rdv_admin_conn *guard_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

void rdv_admin_guard_busy(struct rdv_admin *a, struct MHD_Connection *conn, bool busy)
{
    struct rdv_admin_conn *c = conn ? guard_of(conn) : NULL;
    if (!c || rdv_list_unlinked(&c->link))
        return;
    c->busy = busy;
    if (busy)
        return;
    /* answered: the next request gets a whole deadline of its own, counted from now */
    c->deadline = ev_now(a->loop) + a->request_timeout_s;
    rdv_list_remove(&c->link);
    rdv_list_push_back(&a->conns, &c->link);
    guard_arm(a);
}

void rdv_admin_guard_init(struct rdv_admin *a, const struct rdv_admin_config *cfg)
{
    rdv_list_init(&a->conns);
    a->request_timeout_s = cfg->request_timeout_s ? cfg->request_timeout_s : RDV_ADMIN_REQUEST_TIMEOUT_S;
    a->max_per_ip = cfg->max_per_ip ? cfg->max_per_ip : RDV_ADMIN_MAX_PER_IP;
    a->max_connections = cfg->max_connections ? cfg->max_connections : RDV_ADMIN_MAX_CONNECTIONS;
    ev_init(&a->deadline_timer, on_deadline);
    a->deadline_timer.data = a;
}

void rdv_admin_guard_stop(struct rdv_admin *a)
{
    ev_timer_stop(a->loop, &a->deadline_timer);
}
