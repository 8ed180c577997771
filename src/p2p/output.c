/* output.c: the output budget, what the host holds for peers that do not read.
 *
 * A connection's queued output is what yamux holds for it (every stream's queue and the frames not
 * yet encrypted, rdv_yamux_queued) plus the encrypted bytes the socket has not taken (wbuf). It is
 * re-counted after each flush (rdv_output_account); the host keeps the sum. Three rules:
 *   - backpressure: while a connection holds max_conn_output or more, or all of them together
 *     max_output or more, rdv_stream_output_wait tells a handler not to start another request. The
 *     stream is parked on its connection, and its handler's on_data runs again, from a check watcher
 *     (after the poll, outside every other callback; an idle watcher keeps the poll from blocking
 *     meanwhile: an idle watcher alone would never run under full load), once both are under;
 *   - a hard cap at twice each budget: a write past it is refused (RDV_ERR_LIMIT, the handler resets
 *     its stream), so answers already being computed when a budget filled (an asynchronous store)
 *     cannot pile up without bound;
 *   - stall: a connection that has had output waiting and sent none of it for output_stall_timeout
 *     (its socket full, or its streams' windows shut: a peer that grants no window reads nothing
 *     either), or that has held max_conn_output or more that long, is closed (lifetime.c's timer).
 * Reading the socket goes on all the while: the peer's window updates are what drains the queues,
 * and stopping to read could leave both sides waiting on each other. */
#include "p2p/host_internal.h"

#include <math.h>

static void wake_cb(struct ev_loop *loop, ev_check *w, int revents);

static void nudge_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* only there so that the poll does not block while a wake is due */
}

void rdv_output_host_init(struct rdv_host *h)
{
    rdv_list_init(&h->held_conns);
    ev_check_init(&h->output_waker, wake_cb);
    h->output_waker.data = h;
    ev_idle_init(&h->output_nudge, nudge_cb);
}

void rdv_output_host_free(struct rdv_host *h)
{
    ev_check_stop(h->loop, &h->output_waker);
    ev_idle_stop(h->loop, &h->output_nudge);
}

void rdv_output_conn_init(struct rdv_conn *c)
{
    rdv_list_init(&c->held);
    rdv_list_init(&c->held_link);
}

static size_t conn_queued(const struct rdv_conn *c)
{
    return (c->mux ? rdv_yamux_queued(c->mux) : 0) + c->wbuf.len;
}

/* The host's total with c's own share counted as it is now, not as at its last flush. */
static size_t host_queued_with(const struct rdv_conn *c, size_t conn_now)
{
    return c->host->out_total - c->out_queued + conn_now;
}

/* c holds its budget, or all connections theirs, with c's share at q bytes. */
static bool over_budget(const struct rdv_conn *c, size_t q)
{
    const struct rdv_host_limits *l = &c->host->limits;
    return q >= l->max_conn_output || host_queued_with(c, q) >= l->max_output;
}

static void want_wake(struct rdv_host *h)
{
    if (!ev_is_active(&h->output_waker)) {
        ev_check_start(h->loop, &h->output_waker);
        ev_idle_start(h->loop, &h->output_nudge);
    }
}

void rdv_output_limits_changed(struct rdv_host *h)
{
    if (!rdv_list_empty(&h->held_conns))
        want_wake(h);
}

void rdv_output_account(struct rdv_conn *c)
{
    struct rdv_host *h = c->host;
    const struct rdv_host_limits *l = &h->limits;
    size_t now_q = c->state == CONN_DEAD ? 0 : conn_queued(c);
    bool host_was_over = h->out_total >= l->max_output;
    h->out_total = host_queued_with(c, now_q);
    c->out_queued = now_q;
    h->stats.output_queued = h->out_total;
    if (now_q == 0) {
        c->waiting_since = 0;
    } else if (c->waiting_since == 0) {
        c->waiting_since = ev_now(h->loop);
        rdv_lifetime_due(c, l->output_stall_timeout);
    }
    bool over = now_q >= l->max_conn_output, host_over = h->out_total >= l->max_output;
    if (over && c->over_since == 0) {
        c->over_since = ev_now(h->loop);
        rdv_lifetime_due(c, l->output_stall_timeout);
    } else if (!over) {
        c->over_since = 0;
    }
    if (host_over)
        return;
    if ((!over && !rdv_list_empty(&c->held)) || (host_was_over && !rdv_list_empty(&h->held_conns)))
        want_wake(h);
}

/* Both budgets have room for n bytes more. */
bool rdv_output_may_write(struct rdv_conn *c, size_t n)
{
    const struct rdv_host_limits *l = &c->host->limits;
    size_t q = conn_queued(c);
    if (q + n <= 2 * l->max_conn_output && host_queued_with(c, q) + n <= 2 * l->max_output)
        return true;
    c->host->stats.output_refused++;
    return false;
}

bool rdv_stream_output_wait(struct rdv_stream *st)
{
    struct rdv_conn *c = st->conn;
    struct rdv_host *h = c->host;
    if (c->state == CONN_DEAD || !over_budget(c, conn_queued(c)))
        return false;
    if (rdv_list_unlinked(&st->held_link)) {
        rdv_list_push_back(&c->held, &st->held_link);
        h->stats.output_waits++;
    }
    if (rdv_list_unlinked(&c->held_link))
        rdv_list_push_back(&h->held_conns, &c->held_link);
    return true;
}

void rdv_output_stream_gone(struct rdv_stream *st)
{
    rdv_list_remove(&st->held_link);
}

void rdv_output_conn_gone(struct rdv_conn *c)
{
    rdv_output_account(c); /* state is CONN_DEAD: its share goes to 0 */
    rdv_list_remove(&c->held_link);
    struct rdv_list_node *n;
    while ((n = rdv_list_first(&c->held)))
        rdv_list_remove(n);
}

/* Moves every node of from onto the (empty) list to, so that callbacks may relink nodes freely. */
static void take_all(rdv_list *to, rdv_list *from)
{
    rdv_list_init(to);
    struct rdv_list_node *n;
    while ((n = rdv_list_first(from))) {
        rdv_list_remove(n);
        rdv_list_push_back(to, n);
    }
}

/* Runs the handlers of c's parked streams again; one that still may not answer parks itself anew. */
static void wake_conn(struct rdv_conn *c)
{
    rdv_list parked;
    take_all(&parked, &c->held);
    struct rdv_list_node *n;
    while ((n = rdv_list_first(&parked))) {
        rdv_list_remove(n);
        struct rdv_stream *st = rdv_list_entry(n, struct rdv_stream, held_link);
        if (c->state == CONN_DEAD)
            continue;
        if (st->ys && st->negotiated && st->handler->on_data)
            st->handler->on_data(st);
    }
}

static void wake_cb(struct ev_loop *loop, ev_check *w, int revents)
{
    (void)revents;
    struct rdv_host *h = w->data;
    ev_check_stop(loop, w);
    ev_idle_stop(loop, &h->output_nudge);
    if (h->out_total >= h->limits.max_output)
        return;
    rdv_list conns;
    take_all(&conns, &h->held_conns);
    struct rdv_list_node *n;
    while ((n = rdv_list_first(&conns))) {
        rdv_list_remove(n);
        struct rdv_conn *c = rdv_list_entry(n, struct rdv_conn, held_link);
        if (over_budget(c, conn_queued(c))) {
            rdv_list_push_back(&h->held_conns, n); /* its own flush wakes it when it drains */
            continue;
        }
        wake_conn(c);
        if (!rdv_list_empty(&c->held) && rdv_list_unlinked(&c->held_link))
            rdv_list_push_back(&h->held_conns, &c->held_link);
    }
}

void rdv_output_sent(struct rdv_conn *c)
{
    c->last_sent = ev_now(c->host->loop);
}

double rdv_output_deadline(const struct rdv_conn *c, ev_tstamp now, const char **why)
{
    double t = c->host->limits.output_stall_timeout, left = INFINITY;
    if (c->waiting_since > 0) { /* the stall clock runs from the later of: output waiting, a byte sent */
        double from = c->last_sent > c->waiting_since ? c->last_sent : c->waiting_since;
        left = from + t - now;
        *why = "output stalled: the peer took nothing";
    }
    if (c->over_since > 0 && c->over_since + t - now < left) {
        left = c->over_since + t - now;
        *why = "output stalled: over max-conn-output";
    }
    return left;
}
