/* lifetime.c: how long a connection and its streams may live, and who gets a slot.
 *
 * Deadlines (one ev_timer per connection, set to the earliest of them):
 *   - the connection is idle once no stream data has moved either way for idle_timeout, whether
 *     or not streams are open: a silent stream no longer keeps a slot forever. yamux pings and
 *     window updates are not activity either;
 *   - a new stream must finish multistream-select within stream_negotiate_timeout;
 *   - a negotiated stream is reset after stream_idle_timeout without data either way.
 * Admission (inbound): the per-source limits of addr_limit.c first (connections, handshake rate),
 * then room: past max_handshakes a connection still in its handshake is evicted (the oldest of the
 * heaviest source); at max_connections the same, else the least recently active connection of
 * the heaviest source (one holding more than the newcomer's), else the newcomer is refused. So
 * while one source (or a few) floods, a well-behaved peer from elsewhere still gets in. */
#include "p2p/host_internal.h"

#include "util/err.h"

void rdv_lifetime_host_init(struct rdv_host *h)
{
    rdv_list_init(&h->handshaking);
    rdv_addr_table_init(&h->sources, &h->limits.per_address);
}

void rdv_lifetime_host_free(struct rdv_host *h)
{
    rdv_addr_table_free(&h->sources);
}

void rdv_lifetime_conn_init(struct rdv_conn *c)
{
    rdv_list_init(&c->hs_link);
    rdv_list_init(&c->streams);
}

static unsigned handshake_cap(const struct rdv_host *h)
{
    unsigned cap = h->limits.max_handshakes ? h->limits.max_handshakes : h->limits.max_connections;
    return cap < h->limits.max_connections ? cap : h->limits.max_connections;
}

/* The oldest connection in its handshake of the source holding the most connections, if that is the
 * newcomer's own source or one holding more than it: a source that floods half-open connections
 * evicts its own, never the connection of a source no heavier than itself (a lone honest peer
 * midway through its handshake). The list is oldest first, at most max-handshakes long. */
static struct rdv_conn *oldest_handshaking(const struct rdv_host *h, const struct rdv_addr_entry *src)
{
    const struct rdv_addr_entry *heavy = NULL;
    for (struct rdv_list_node *it = rdv_list_first(&h->handshaking); it; it = rdv_list_next(&h->handshaking, it)) {
        const struct rdv_conn *c = rdv_list_entry(it, struct rdv_conn, hs_link);
        if (c->source && (!heavy || c->source->conns > heavy->conns))
            heavy = c->source;
    }
    if (!heavy || (heavy != src && heavy->conns <= src->conns))
        return NULL;
    for (struct rdv_list_node *it = rdv_list_first(&h->handshaking); it; it = rdv_list_next(&h->handshaking, it)) {
        struct rdv_conn *c = rdv_list_entry(it, struct rdv_conn, hs_link);
        if (c->source == heavy)
            return c;
    }
    return NULL;
}

/* The least recently active open connection of the source holding the most connections, if that
 * source holds more than `than`. Two passes over the connections: only at the global cap. */
static struct rdv_conn *heaviest_source_victim(const struct rdv_host *h, unsigned than)
{
    const struct rdv_addr_entry *heavy = NULL;
    for (struct rdv_list_node *it = rdv_list_first(&h->conns); it; it = rdv_list_next(&h->conns, it)) {
        const struct rdv_conn *c = rdv_list_entry(it, struct rdv_conn, link);
        if (c->source && c->state == CONN_OPEN && (!heavy || c->source->conns > heavy->conns))
            heavy = c->source;
    }
    if (!heavy || heavy->conns <= than)
        return NULL;
    struct rdv_conn *victim = NULL;
    for (struct rdv_list_node *it = rdv_list_first(&h->conns); it; it = rdv_list_next(&h->conns, it)) {
        struct rdv_conn *c = rdv_list_entry(it, struct rdv_conn, link);
        if (c->source == heavy && c->state == CONN_OPEN && (!victim || c->last_activity < victim->last_activity))
            victim = c;
    }
    return victim;
}

static void evict(struct rdv_conn *victim, uint64_t *counter, const char *why)
{
    struct rdv_host *h = victim->host;
    (*counter)++;
    rdv_host_log_limited(h, &h->evicted_log, "evicted", why);
    rdv_conn_fail(victim, RDV_ERR_LIMIT, why);
}

/* Frees a slot for a newcomer from src (src->conns counts it already); false if none may be taken,
 * with *why. Victims come from the newcomer's own source or a heavier one (in their handshake), or
 * a heavier one (open): a flood evicts its own, a lone peer is not evicted for a flooder. */
static bool make_room(struct rdv_host *h, const struct rdv_addr_entry *src, const char **why)
{
    struct rdv_conn *victim;
    if (h->stats.handshaking >= handshake_cap(h)) {
        if (!(victim = oldest_handshaking(h, src))) {
            h->stats.rejected_max_handshakes++;
            *why = "max-handshakes reached by lighter sources";
            return false;
        }
        evict(victim, &h->stats.evicted_handshaking, "max-handshakes reached, the oldest one in its handshake");
    }
    if (h->stats.connections < h->limits.max_connections)
        return true;
    if ((victim = oldest_handshaking(h, src))) {
        evict(victim, &h->stats.evicted_handshaking, "max-connections reached, the oldest one in its handshake");
        return true;
    }
    if ((victim = heaviest_source_victim(h, src->conns))) {
        evict(victim, &h->stats.evicted_heaviest_source,
              "max-connections reached, the least active one of the source holding the most");
        return true;
    }
    h->stats.rejected_max_connections++;
    *why = "max-connections reached, no heavier source to evict from";
    return false;
}

struct rdv_addr_entry *rdv_lifetime_admit(struct rdv_host *h, const struct sockaddr_storage *ss, const char **why_text)
{
    enum rdv_addr_verdict why;
    struct rdv_addr_entry *src = rdv_addr_admit(&h->sources, ss, ev_now(h->loop), &why);
    h->stats.sources = rdv_addr_count(&h->sources);
    if (!src) {
        if (why == RDV_ADDR_CONNECTIONS) {
            h->stats.rejected_per_address_connections++;
            *why_text = "per-address-connections reached";
        } else if (why == RDV_ADDR_RATE) {
            h->stats.rejected_per_address_rate++;
            *why_text = "per-address-handshake-rate exceeded";
        } else {
            h->stats.rejected_address_table_full++;
            *why_text = "per-address-table full";
        }
        return NULL;
    }
    if (!make_room(h, src, why_text)) {
        rdv_addr_release(&h->sources, src);
        return NULL;
    }
    return src;
}

void rdv_lifetime_refused(struct rdv_host *h, struct rdv_addr_entry *src)
{
    rdv_addr_release(&h->sources, src);
}

void rdv_lifetime_accepted(struct rdv_conn *c, struct rdv_addr_entry *src)
{
    struct rdv_host *h = c->host;
    c->source = src;
    rdv_list_push_back(&h->handshaking, &c->hs_link);
    h->stats.handshaking++;
}

static void leave_handshaking(struct rdv_conn *c)
{
    if (rdv_list_unlinked(&c->hs_link))
        return;
    rdv_list_remove(&c->hs_link);
    c->host->stats.handshaking--;
}

void rdv_lifetime_conn_gone(struct rdv_conn *c)
{
    leave_handshaking(c);
    if (c->source) {
        rdv_addr_release(&c->host->sources, c->source);
        c->source = NULL;
    }
}

void rdv_lifetime_aborted(struct rdv_conn *c)
{
    if (c->state < CONN_OPEN)
        c->host->stats.handshakes_aborted++;
}

/* (Re)arms the connection timer `in` seconds from now. */
static void arm(struct rdv_conn *c, double in)
{
    struct ev_loop *loop = c->host->loop;
    ev_timer_stop(loop, &c->timer);
    ev_timer_set(&c->timer, in > 0.001 ? in : 0.001, 0);
    ev_timer_start(loop, &c->timer);
}

void rdv_lifetime_conn_open(struct rdv_conn *c)
{
    leave_handshaking(c);
    c->last_activity = ev_now(c->host->loop);
    rdv_lifetime_check(c);
}

/* Resets the streams past their deadline; returns the seconds until the next one, or `next`. */
static double expire_streams(struct rdv_conn *c, ev_tstamp now, double next, bool *reset)
{
    const struct rdv_host_limits *l = &c->host->limits;
    struct rdv_stream *st;
    rdv_list_foreach_safe(st, tmp, &c->streams, struct rdv_stream, conn_link) {
        double left = st->negotiated ? st->last_activity + l->stream_idle_timeout - now
                                     : st->opened + l->stream_negotiate_timeout - now;
        if (left > 0) {
            next = left < next ? left : next;
            continue;
        }
        if (st->negotiated)
            c->host->stats.timeouts_stream_idle++;
        else
            c->host->stats.timeouts_stream_negotiation++;
        rdv_debug(c->host->log, "conn %s: stream %s: %s, reset", c->addr_text, rdv_stream_protocol(st),
                  st->negotiated ? "idle" : "negotiation timeout");
        if (rdv_yamux_stream_reset(st->ys) != RDV_OK) /* on success it unlinks st (stream_gone) */
            rdv_list_remove(&st->conn_link);
        *reset = true;
    }
    return next;
}

void rdv_lifetime_check(struct rdv_conn *c)
{
    ev_tstamp now = ev_now(c->host->loop);
    double next = c->last_activity + c->host->limits.idle_timeout - now;
    if (next <= 0) {
        c->host->stats.timeouts_idle++;
        rdv_conn_fail(c, RDV_ERR_TIMEOUT, "idle");
        return;
    }
    const char *why = NULL;
    double out_left = rdv_output_deadline(c, now, &why);
    if (out_left <= 0) {
        c->host->stats.timeouts_output_stall++;
        rdv_host_log_limited(c->host, &c->host->stalled_log, "closed", why);
        rdv_conn_fail(c, RDV_ERR_TIMEOUT, why);
        return;
    }
    next = out_left < next ? out_left : next;
    bool reset = false;
    next = expire_streams(c, now, next, &reset);
    if (reset && !c->in_process)
        rdv_conn_flush(c); /* the resets go out now */
    if (c->state != CONN_DEAD && c->state != CONN_DRAINING)
        arm(c, next);
}

void rdv_lifetime_due(struct rdv_conn *c, double in)
{
    bool open = c->state == CONN_OPEN || c->state == CONN_CLOSING;
    if (open && c->linger_quiet <= 0 && (!ev_is_active(&c->timer) || ev_timer_remaining(c->host->loop, &c->timer) > in))
        arm(c, in);
}

void rdv_lifetime_stream_added(struct rdv_stream *st)
{
    struct rdv_conn *c = st->conn;
    st->opened = st->last_activity = ev_now(c->host->loop);
    rdv_list_push_back(&c->streams, &st->conn_link);
    /* the timer may be set further out than this stream's negotiation deadline */
    if (c->state == CONN_OPEN)
        rdv_lifetime_due(c, c->host->limits.stream_negotiate_timeout);
}

void rdv_lifetime_stream_gone(struct rdv_stream *st)
{
    rdv_list_remove(&st->conn_link);
}

void rdv_lifetime_stream_touch(struct rdv_stream *st)
{
    st->last_activity = st->conn->last_activity = ev_now(st->conn->host->loop);
}

bool rdv_stream_admit_request(struct rdv_stream *st)
{
    struct rdv_conn *c = st->conn;
    if (!c->source || rdv_addr_take_request(&c->host->sources, c->source, ev_now(c->host->loop)))
        return true;
    c->host->stats.requests_rate_limited++;
    return false;
}
