/* find.c: find_peers: ask the reachable rendezvous points, verify, merge, cache, answer.
 *
 * Every point that is not in backoff is asked at once and the answers are merged, rather than
 * only the first reachable point: adverts register with all points, so any one of them should
 * know everybody, but asking all of them costs one round trip either way and covers a point that
 * restarted a moment ago or that a peer could not reach. Each record is checked before it is
 * believed: the envelope signature under the domain of the dialect's record kind, the payload
 * type, the record's peer id against the signing key (rdv_record_open), the namespace against the
 * one asked, and the TTL is capped; what fails is logged and dropped, the rest is used. The answer
 * is always given from the loop, never from inside rendezvous_find_peers.
 *
 * Cookie dialects (std, waku1): each point's last cookie for a namespace is kept and sent with the
 * next DISCOVER there, so the point answers only what was registered since; the cache holds the
 * rest. A point that no longer takes the cookie (E_INVALID_COOKIE: it was restarted with another
 * store, or the cookie is from another front-end's store) is asked once more without.
 *
 * Deadline: a find answers from the cache once every point asked has replied, once `replies` of
 * them have, or when its deadline timer fires, whichever comes first; a point that never speaks
 * (a TCP port that accepts, then nothing until the handshake timeout) costs at most the deadline.
 * DISCOVERs still out then keep going and merge into the cache when they come, for the next find. */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "util/err.h"

/* ---- answers ------------------------------------------------------------------------------------ */

void rendezvous_peer_list_free(struct rendezvous_peer_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        struct rendezvous_peer *p = &l->peers[i];
        for (size_t j = 0; j < p->naddrs; j++)
            free((char *)p->addrs[j]);
        free((void *)p->addrs);
        free((char *)p->peer_id);
    }
    free(l->peers);
    free(l);
}

static int peer_copy(struct rendezvous_peer *dst, const struct rendezvous_peer *src)
{
    *dst = *src;
    dst->addrs = NULL;
    dst->naddrs = 0;
    char **addrs = calloc(src->naddrs ? src->naddrs : 1, sizeof(*addrs));
    if (!(dst->peer_id = strdup(src->peer_id)) || !addrs) {
        free(addrs);
        return RDV_ERR_NOMEM;
    }
    dst->addrs = (const char *const *)addrs;
    for (; dst->naddrs < src->naddrs; dst->naddrs++)
        if (!(addrs[dst->naddrs] = strdup(src->addrs[dst->naddrs])))
            return RDV_ERR_NOMEM;
    return RDV_OK;
}

struct rendezvous_peer_list *rdv_find_list_copy(const struct rendezvous_peer *peers, size_t n)
{
    struct rendezvous_peer_list *l = calloc(1, sizeof(*l));
    if (!l || !(l->peers = calloc(n ? n : 1, sizeof(*l->peers)))) {
        free(l);
        return NULL;
    }
    for (; l->n < n; l->n++) {
        if (peer_copy(&l->peers[l->n], &peers[l->n]) != RDV_OK) {
            l->n++; /* the partial copy is freed with the rest */
            rendezvous_peer_list_free(l);
            return NULL;
        }
    }
    return l;
}

/* The cached live peers of f's namespace, as the application sees them (pointers into the cache:
 * copied before any application code can change the cache). */
static struct rendezvous_peer_list *answer_from_cache(struct rendezvous_find *f)
{
    struct rendezvous_client *c = f->client;
    double now = ev_now(c->loop);
    struct rdv_cache *cache = rdv_client_cache(c, f->dialect);
    size_t live = rdv_cache_live(cache, f->ns, now);
    size_t max = f->limit > 0 && (uint64_t)f->limit < live ? (size_t)f->limit : live;
    const struct rdv_cache_entry **ents = calloc(max ? max : 1, sizeof(*ents));
    struct rendezvous_peer *peers = calloc(max ? max : 1, sizeof(*peers));
    struct rendezvous_peer_list *l = NULL;
    if (ents && peers) {
        size_t k = rdv_cache_list(cache, f->ns, now, ents, max);
        for (size_t i = 0; i < k; i++)
            peers[i] = (struct rendezvous_peer){.peer_id = ents[i]->id_text, .addrs = (const char *const *)ents[i]->addrs,
                                                .naddrs = ents[i]->naddrs, .seq = ents[i]->seq,
                                                .ttl = ents[i]->expires - now};
        l = rdv_find_list_copy(peers, k);
    }
    free(ents);
    free(peers);
    return l;
}

static int find_result(const struct rendezvous_find *f)
{
    if (f->from_cache)
        return RDV_OK;
    int err = RDV_ERR_UNAVAILABLE;
    for (size_t i = 0; i < f->client->npoints; i++) {
        if (f->slots[i] == FSLOT_OK)
            return RDV_OK;
        if (f->slots[i] == FSLOT_REFUSED)
            err = RENDEZVOUS_ERR_REFUSED;
    }
    return f->timed_out && err == RDV_ERR_UNAVAILABLE ? RDV_ERR_TIMEOUT : err;
}

static void find_answer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rendezvous_find *f = w->data;
    struct rendezvous_client *c = f->client;
    f->done = true;
    ev_timer_stop(loop, &f->deadline);
    if (f->cancelled || c->closing)
        return;
    struct rendezvous_peer_list *l = answer_from_cache(f);
    int err = l ? find_result(f) : RDV_ERR_NOMEM;
    c->depth++;
    f->cb(f->arg, err, l ? l->peers : NULL, l ? l->n : 0);
    c->depth--;
    rendezvous_peer_list_free(l);
}

/* Answers once no point is still to be heard from, or enough have replied. */
static void find_check(struct rendezvous_find *f)
{
    size_t replied = 0, pending = 0;
    for (size_t i = 0; i < f->client->npoints; i++) {
        replied += f->slots[i] == FSLOT_OK || f->slots[i] == FSLOT_REFUSED;
        pending += f->slots[i] == FSLOT_WAIT || f->slots[i] == FSLOT_INFLIGHT;
    }
    if (pending && !(f->replies && replied >= f->replies))
        return;
    if (!ev_is_active(&f->defer) && !f->done)
        ev_timer_start(f->client->loop, &f->defer);
}

static void find_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rendezvous_find *f = w->data;
    if (f->done || f->cancelled)
        return;
    f->timed_out = true;
    rdv_debug(f->client->log, "find '%s': deadline passed; answering with what is in", f->ns);
    ev_timer_start(f->client->loop, &f->defer);
}

/* ---- asking ------------------------------------------------------------------------------------- */

/* Why a record from a point was not believed. */
enum verdict { KEPT, DROP_NAMESPACE, DROP_SIGNATURE, DROP_PEER_ID, DROP_MALFORMED, VERDICTS };

/* Verifies one registration and merges it into the cache. */
static enum verdict merge_one(struct rendezvous_find *f, const struct rdv_rpc_registration *g, double now)
{
    struct rendezvous_client *c = f->client;
    if (!g->ns || g->ns_len != strlen(f->ns) || memcmp(g->ns, f->ns, g->ns_len) != 0)
        return DROP_NAMESPACE; /* an answer for another namespace */
    struct rdv_record_summary rec;
    int err = rdv_record_open(f->dialect->record, g->envelope, g->envelope_len, &rec);
    if (err == RDV_ERR_SIGNATURE || err == RDV_ERR_DOMAIN)
        return DROP_SIGNATURE;
    if (err == RDV_ERR_PEER_ID_MISMATCH)
        return DROP_PEER_ID;
    if (err)
        return DROP_MALFORMED;
    int64_t ttl = g->ttl <= 0 ? RDV_CLIENT_ASSUMED_TTL : g->ttl > RDV_CLIENT_MAX_RECORD_TTL ? RDV_CLIENT_MAX_RECORD_TTL : g->ttl;
    if (!rdv_peerid_equal(&rec.peer, &c->self) && rec.naddrs > 0) {
        int perr = rdv_cache_put(rdv_client_cache(c, f->dialect), f->ns, &rec, now + (double)ttl);
        if (perr && perr != RDV_ERR_STALE)
            rdv_debug(c->log, "cache: a record of '%s' not kept: %s", f->ns, rdv_strerror(perr));
    }
    return KEPT;
}

static void merge(struct rendezvous_find *f, struct point *pt, const struct rdv_rpc_registration *regs, size_t n)
{
    double now = ev_now(f->client->loop);
    size_t count[VERDICTS] = {0};
    for (size_t i = 0; i < n; i++)
        count[merge_one(f, &regs[i], now)]++;
    if (count[KEPT] < n)
        rdv_warn(f->client->log,
                 "rendezvous point %s: dropped %zu of %zu records for '%s' that do not verify: %zu bad signature, "
                 "%zu peer id not the signer's, %zu other namespace, %zu malformed",
                 pt->text, n - count[KEPT], n, f->ns, count[DROP_SIGNATURE], count[DROP_PEER_ID],
                 count[DROP_NAMESPACE], count[DROP_MALFORMED]);
}

/* ---- cookies ------------------------------------------------------------------------------------ */

static struct point_cookie **cookie_slot(struct point *pt, const struct rdv_dialect *d, const char *ns)
{
    struct point_cookie **pp = &pt->cookies;
    while (*pp && ((*pp)->dialect != d || strcmp((*pp)->ns, ns) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void cookie_drop(struct point *pt, const struct rdv_dialect *d, const char *ns)
{
    struct point_cookie **pp = cookie_slot(pt, d, ns), *k = *pp;
    if (!k)
        return;
    *pp = k->next;
    free(k->ns);
    free(k);
}

/* Keeps the cookie of pt's answer for ns; one that cannot be kept means the next find asks for
 * everything again, which is only slower. */
static void cookie_keep(struct point *pt, const struct rdv_dialect *d, const char *ns, const uint8_t *p, size_t n)
{
    cookie_drop(pt, d, ns);
    if (!p || n == 0 || n > RDV_CLIENT_COOKIE_MAX)
        return;
    struct point_cookie *k = malloc(sizeof(*k) + n);
    if (!k || !(k->ns = strdup(ns))) {
        free(k);
        return;
    }
    memcpy(k->bytes, p, n);
    k->len = n;
    k->dialect = d;
    k->next = pt->cookies;
    pt->cookies = k;
}

static void find_cookies_free(struct point *pt)
{
    while (pt->cookies) {
        struct point_cookie *k = pt->cookies;
        pt->cookies = k->next;
        free(k->ns);
        free(k);
    }
}

/* ---- answers from a point ------------------------------------------------------------------------- */

static void on_refused(struct rendezvous_find *f, struct point *pt, const struct rdv_rpc_answer *a, bool with_cookie)
{
    if (a->status == RDV_STATUS_E_INVALID_COOKIE && with_cookie && !f->retried[pt->idx]) {
        rdv_info(f->client->log, "rendezvous point %s refused our cookie for '%s': asking again without", pt->text,
                 f->ns);
        cookie_drop(pt, f->dialect, f->ns);
        f->retried[pt->idx] = true;
        f->slots[pt->idx] = FSLOT_WAIT; /* the pump below sends it */
        return;
    }
    f->slots[pt->idx] = FSLOT_REFUSED;
    rdv_warn(f->client->log, "rendezvous point %s refused to discover '%s': status %d (%s)", pt->text, f->ns,
             (int)a->status, a->text);
}

static void on_discovered(void *arg, const struct rdv_rpc_answer *a)
{
    struct op *op = arg;
    struct rendezvous_find *f = op->find;
    struct point *pt = op->pt;
    struct rendezvous_client *c = f->client;
    bool with_cookie = op->with_cookie;
    rdv_client_op_free(op);
    pt->inflight--;
    f->inflight--;
    bool live = !c->closing && !f->cancelled;
    if (!live) {
        f->slots[pt->idx] = FSLOT_FAILED;
    } else if (a->err) {
        f->slots[pt->idx] = FSLOT_FAILED;
        rdv_client_point_fail(pt, a->err, "no answer to DISCOVER");
    } else if (a->status != RDV_STATUS_OK) {
        pt->answered = true;
        on_refused(f, pt, a, with_cookie);
    } else {
        pt->answered = true;
        f->slots[pt->idx] = FSLOT_OK;
        rdv_debug(c->log, "rendezvous point %s: %zu records for '%s'%s", pt->text, a->nregs, f->ns,
                  with_cookie ? " (since our cookie)" : "");
        if (f->dialect->cookies)
            cookie_keep(pt, f->dialect, f->ns, a->cookie, a->cookie_len);
        merge(f, pt, a->regs, a->nregs);
    }
    rdv_client_stream_closed(pt);
    rdv_client_pump(pt);
    if (live)
        find_check(f);
}

static void find_send(struct rendezvous_find *f, struct point *pt)
{
    struct op *op = rdv_client_op_new(pt);
    int err = op ? RDV_OK : RDV_ERR_NOMEM;
    if (!err) {
        op->find = f;
        struct rdv_rpc_request q = {.type = RDV_REQ_DISCOVER, .ns = f->ns, .limit = f->limit > 0 ? f->limit : 0};
        const struct point_cookie *k = f->dialect->cookies ? *cookie_slot(pt, f->dialect, f->ns) : NULL;
        if (k) {
            q.cookie = k->bytes;
            q.cookie_len = k->len;
            op->with_cookie = true;
        }
        err = rdv_rpc_send(pt->conn, f->dialect, &q, on_discovered, op);
        if (err)
            rdv_client_op_free(op);
    }
    if (err) {
        f->slots[pt->idx] = FSLOT_FAILED;
        rdv_client_point_fail(pt, err, "cannot send DISCOVER");
        find_check(f);
        return;
    }
    f->slots[pt->idx] = FSLOT_INFLIGHT;
    pt->inflight++;
    pt->nstreams++;
    f->inflight++;
}

static void find_point_down(struct point *pt, int err, double retry_in)
{
    (void)err;
    (void)retry_in; /* a find does not wait for the retry: the point has no answer for it */
    for (struct rendezvous_find *f = pt->client->finds; f; f = f->next) {
        if (!f->done && !f->cancelled && f->slots[pt->idx] == FSLOT_WAIT) {
            f->slots[pt->idx] = FSLOT_FAILED;
            find_check(f);
        }
    }
}

void rendezvous_find_options_init(struct rendezvous_find_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
}

/* o's fields as this library knows them: those beyond o->size are zero. */
static int options_read(const struct rendezvous_find_options *o, struct rendezvous_find_options *out)
{
    rendezvous_find_options_init(out);
    if (!o)
        return RDV_OK;
    if (o->size < sizeof(o->size))
        return RDV_ERR_INVALID;
    memcpy(out, o, o->size < sizeof(*out) ? o->size : sizeof(*out));
    return out->deadline < 0 ? RDV_ERR_INVALID : RDV_OK;
}

static struct rendezvous_find *find_new(struct rendezvous_client *c, const char *ns,
                                        const struct rendezvous_find_options *o, const struct rdv_dialect *d)
{
    struct rendezvous_find *f = calloc(1, sizeof(*f));
    if (!f || !(f->ns = strdup(ns))) {
        free(f);
        return NULL;
    }
    f->client = c;
    f->limit = o->limit;
    f->dialect = d;
    f->replies = o->replies;
    ev_timer_init(&f->defer, find_answer, 0, 0);
    f->defer.data = f;
    ev_timer_init(&f->deadline, find_deadline, o->deadline > 0 ? o->deadline : c->find_deadline, 0);
    f->deadline.data = f;
    return f;
}

static const struct rdv_client_part find_part;

int rendezvous_find_peers_with(struct rendezvous_client *c, const char *ns, const struct rendezvous_find_options *opt,
                               rendezvous_find_cb cb, void *arg, struct rendezvous_find **out)
{
    struct rendezvous_find_options o;
    if (!c || !ns || !cb || !*ns || strlen(ns) > RENDEZVOUS_NS_MAX || options_read(opt, &o))
        return RDV_ERR_INVALID;
    if (c->closing)
        return RDV_ERR_CLOSED;
    const struct rdv_dialect *d = o.protocol ? rdv_dialect_find(o.protocol) : c->dialect;
    if (!d)
        return RDV_ERR_UNSUPPORTED;
    struct rendezvous_find *f = find_new(c, ns, &o, d);
    if (!f)
        return RDV_ERR_NOMEM;
    f->cb = cb;
    f->arg = arg;
    f->from_cache = o.limit > 0 && rdv_cache_live(rdv_client_cache(c, d), ns, ev_now(c->loop)) >= (uint64_t)o.limit;
    for (size_t i = 0; i < c->npoints; i++) {
        const struct point *pt = &c->points[i];
        f->slots[i] = f->from_cache || !pt->active || pt->state == POINT_BACKOFF ? FSLOT_SKIP : FSLOT_WAIT;
    }
    f->next = c->finds;
    c->finds = f;
    rdv_client_attach(c, &find_part);
    if (!f->from_cache) {
        ev_timer_start(c->loop, &f->deadline);
        rdv_client_pump_all(c);
    }
    find_check(f);
    if (out)
        *out = f;
    return RDV_OK;
}

int rendezvous_find_peers(struct rendezvous_client *c, const char *ns, int64_t limit, rendezvous_find_cb cb, void *arg,
                          struct rendezvous_find **out)
{
    struct rendezvous_find_options o;
    rendezvous_find_options_init(&o);
    o.limit = limit;
    return rendezvous_find_peers_with(c, ns, &o, cb, arg, out);
}

static void find_point_removed(struct point *pt)
{
    for (struct rendezvous_find *f = pt->client->finds; f; f = f->next) {
        if (f->slots[pt->idx] == FSLOT_WAIT || f->slots[pt->idx] == FSLOT_INFLIGHT) {
            f->slots[pt->idx] = FSLOT_SKIP; /* a DISCOVER still out only feeds the cache */
            if (!f->done && !f->cancelled)
                find_check(f);
        }
    }
}

static void find_next_timer(const struct rendezvous_client *c, double *next)
{
    for (const struct rendezvous_find *f = c->finds; f; f = f->next) {
        if (ev_is_active(&f->defer))
            *next = 0;
        else if (ev_is_active(&f->deadline)) {
            double left = ev_timer_remaining(c->loop, (ev_timer *)&f->deadline);
            if (left < *next)
                *next = left;
        }
    }
}

void rendezvous_find_cancel(struct rendezvous_find *f)
{
    if (!f || f->done || f->cancelled)
        return;
    f->cancelled = true;
    ev_timer_stop(f->client->loop, &f->defer);
    ev_timer_stop(f->client->loop, &f->deadline);
    /* the client's reaper frees it once no DISCOVER refers to it */
}

static void find_free(struct rendezvous_find *f)
{
    ev_timer_stop(f->client->loop, &f->defer);
    ev_timer_stop(f->client->loop, &f->deadline);
    free(f->ns);
    free(f);
}

static void find_on_point(struct point *pt, enum rdv_point_event ev)
{
    if (ev == RDV_POINT_REMOVED)
        find_point_removed(pt);
    else if (ev == RDV_POINT_RESET)
        find_cookies_free(pt);
}

/* pt is open and healthy: DISCOVER for every find that waits for it, while it takes more */
static void find_pump(struct point *pt)
{
    for (struct rendezvous_find *f = pt->client->finds; f && pt->healthy && pt->inflight < RDV_CLIENT_MAX_INFLIGHT;
         f = f->next)
        if (!f->done && !f->cancelled && f->slots[pt->idx] == FSLOT_WAIT)
            find_send(f, pt);
}

static void find_reap(struct rendezvous_client *c)
{
    for (struct rendezvous_find **pp = &c->finds; *pp;) {
        struct rendezvous_find *f = *pp;
        if ((f->done || f->cancelled) && f->inflight == 0) {
            *pp = f->next;
            find_free(f);
        } else {
            pp = &f->next;
        }
    }
}

static void find_free_all(struct rendezvous_client *c)
{
    while (c->finds) {
        struct rendezvous_find *f = c->finds;
        c->finds = f->next;
        find_free(f);
    }
}

static const struct rdv_client_part find_part = {
    .on_point = find_on_point,
    .point_down = find_point_down,
    .pump = find_pump,
    .reap = find_reap,
    .free_all = find_free_all,
    .next_timer = find_next_timer,
};
