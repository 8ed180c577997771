/* advert.c: keeping a namespace registration alive at every rendezvous point.
 *
 * Each (advert, point) pair is a slot with three states (enum slot_state): WAITING for the point's
 * connection, INFLIGHT with a REGISTER out, SCHEDULED with a timer for the next attempt. A granted
 * registration is refreshed at about 3/4 of its TTL (rdv_backoff_refresh); a refusal is retried
 * after an exponential backoff; a request without an answer closes the point's connection, and
 * every slot of a lost connection goes back to WAITING, so it registers again as soon as the
 * point is back (which covers a point that restarted with an empty store). In the dialects that
 * have UNREGISTER (std, waku1), stopping an advert sends one to every connected point, so the
 * record leaves discovery at once rather than within its TTL. */
#include <stdlib.h>
#include <string.h>

#include "client/backoff.h"
#include "client/internal.h"
#include "p2p/envelope.h"
#include "p2p/multiaddr.h"
#include "util/err.h"

static void notify(struct advert_slot *s, int err, int status, const char *text, int64_t ttl, double next_in)
{
    struct rendezvous_advert *ad = s->ad;
    struct rendezvous_client *c = ad->client;
    if (!ad->cb || ad->stopped || c->closing)
        return;
    struct rendezvous_advert_event ev = {.ns = ad->ns, .point = s->pt->text, .err = err, .status = status,
                                         .status_text = text ? text : "", .ttl = ttl, .next_in = next_in};
    c->depth++;
    ad->cb(ad->arg, &ev);
    c->depth--;
}

static void slot_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct advert_slot *s = w->data;
    s->state = SLOT_WAITING;
    rdv_client_pump(s->pt);
}

static void slot_schedule(struct advert_slot *s, double delay)
{
    struct ev_loop *loop = s->ad->client->loop;
    s->state = SLOT_SCHEDULED;
    ev_timer_stop(loop, &s->timer);
    ev_timer_set(&s->timer, delay, 0);
    ev_timer_start(loop, &s->timer);
}

/* Our record for this point: the configured addresses, or else our end of the connection. */
static int record_for(struct point *pt, struct rdv_buf *own, const uint8_t **env, size_t *len)
{
    struct rendezvous_client *c = pt->client;
    if (c->naddrs) {
        *env = rdv_buf_head(&c->envelope);
        *len = c->envelope.len;
        return RDV_OK;
    }
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    int err = rdv_ma_from_text(rdv_conn_local_addr(pt->conn), &ma);
    if (!err) {
        struct rdv_record_addr a = {rdv_buf_head(&ma), ma.len};
        err = rdv_client_seal(c, &a, 1, own);
    }
    rdv_buf_free(&ma);
    *env = rdv_buf_head(own);
    *len = own->len;
    return err;
}

static void on_registered(void *arg, const struct rdv_rpc_answer *a)
{
    int err = a->err;
    enum rdv_status status = a->status;
    const char *text = a->text;
    int64_t ttl = a->ttl > RDV_CLIENT_MAX_RECORD_TTL ? RDV_CLIENT_MAX_RECORD_TTL : a->ttl;
    struct op *op = arg;
    struct advert_slot *s = op->slot;
    struct point *pt = op->pt;
    struct rendezvous_advert *ad = s->ad;
    struct rendezvous_client *c = ad->client;
    rdv_client_op_free(op);
    pt->inflight--;
    ad->inflight--;
    s->state = SLOT_WAITING;
    s->registered = false;
    bool live = !c->closing && !ad->stopped && pt->active;
    double next_in = 0;
    if (!live) {
        /* stopped (or the point removed) while this REGISTER was out: take back what it may just
         * have made */
        if (!c->closing && !err && status == RDV_STATUS_OK)
            rdv_advert_unregister(pt, ad->ns);
    } else if (err) {
        rdv_client_point_fail(pt, err, "no answer to REGISTER");
    } else if (status != RDV_STATUS_OK) {
        pt->answered = true;
        s->failures++;
        next_in = rdv_backoff_delay(c->backoff_min, c->backoff_max, s->failures, rdv_backoff_random());
        rdv_warn(c->log, "rendezvous point %s refused to register '%s': status %d (%s); retry in %.1f s", pt->text,
                 ad->ns, (int)status, text ? text : "", next_in);
        slot_schedule(s, next_in);
    } else {
        pt->answered = true;
        s->failures = 0;
        s->registered = true;
        s->granted = ttl > 0 ? ttl : ad->ttl > 0 ? ad->ttl : RDV_CLIENT_ASSUMED_TTL;
        next_in = s->dirty ? 0 : rdv_backoff_refresh((double)s->granted, rdv_backoff_random());
        rdv_debug(c->log, "registered '%s' at %s for %lld s; refresh in %.2f s", ad->ns, pt->text,
                  (long long)s->granted, next_in);
        slot_schedule(s, next_in);
    }
    s->dirty = false;
    rdv_client_stream_closed(pt);
    rdv_client_pump(pt);
    /* without an answer the point goes down, and advert_point_down tells the slot */
    if (live && !err)
        notify(s, status != RDV_STATUS_OK ? RENDEZVOUS_ERR_REFUSED : RDV_OK, (int)status, text,
               status != RDV_STATUS_OK ? 0 : s->granted, next_in);
}

static void advert_register(struct advert_slot *s)
{
    struct point *pt = s->pt;
    struct rendezvous_advert *ad = s->ad;
    struct rendezvous_client *c = ad->client;
    struct rdv_buf own;
    rdv_buf_init(&own, RDV_ENVELOPE_MAX);
    const uint8_t *env;
    size_t len;
    int err = record_for(pt, &own, &env, &len);
    struct op *op = err ? NULL : rdv_client_op_new(pt);
    if (!err && !op)
        err = RDV_ERR_NOMEM;
    if (!err) {
        op->slot = s;
        struct rdv_rpc_request q = {.type = RDV_REQ_REGISTER, .ns = ad->ns, .envelope = env, .envelope_len = len,
                                    .ttl = ad->ttl};
        err = rdv_rpc_send(pt->conn, c->dialect, &q, on_registered, op);
        if (err)
            rdv_client_op_free(op);
    }
    rdv_buf_free(&own);
    if (err) {
        /* the connection is unusable (or memory is short): start over with a fresh one */
        s->state = SLOT_WAITING;
        rdv_client_point_fail(pt, err, "cannot send REGISTER");
        return;
    }
    s->state = SLOT_INFLIGHT;
    pt->inflight++;
    pt->nstreams++;
    ad->inflight++;
}

static void advert_point_down(struct point *pt, int err, double retry_in)
{
    for (struct rendezvous_advert *ad = pt->client->adverts; ad; ad = ad->next)
        if (!ad->stopped && ad->slots[pt->idx].state == SLOT_WAITING)
            notify(&ad->slots[pt->idx], err, 0, NULL, 0, retry_in);
}

static void advert_point_lost(struct point *pt)
{
    struct rendezvous_client *c = pt->client;
    for (struct rendezvous_advert *ad = c->adverts; ad; ad = ad->next) {
        struct advert_slot *s = &ad->slots[pt->idx];
        if (s->state == SLOT_SCHEDULED)
            ev_timer_stop(c->loop, &s->timer);
        s->state = SLOT_WAITING;
        s->registered = false;
    }
}

static void advert_point_removed(struct point *pt)
{
    struct rendezvous_client *c = pt->client;
    for (struct rendezvous_advert *ad = c->adverts; ad; ad = ad->next) {
        struct advert_slot *s = &ad->slots[pt->idx];
        ev_timer_stop(c->loop, &s->timer);
        if (s->registered && !ad->stopped)
            rdv_advert_unregister(pt, ad->ns); /* a REGISTER still out: on_registered takes it back */
        if (s->state != SLOT_INFLIGHT)
            s->state = SLOT_WAITING;
        s->registered = false;
        s->granted = 0;
        s->failures = 0;
    }
}

/* The slot of every advert for a point that was just added (or whose slot is reused). */
static void advert_point_added(struct point *pt)
{
    for (struct rendezvous_advert *ad = pt->client->adverts; ad; ad = ad->next) {
        struct advert_slot *s = &ad->slots[pt->idx];
        s->state = SLOT_WAITING;
        s->failures = 0;
        s->granted = 0;
        s->dirty = s->registered = false;
    }
}

static void advert_next_timer(const struct rendezvous_client *c, double *next)
{
    for (const struct rendezvous_advert *ad = c->adverts; ad; ad = ad->next)
        for (size_t i = 0; i < c->npoints; i++)
            if (ev_is_active(&ad->slots[i].timer)) {
                double left = ev_timer_remaining(c->loop, (ev_timer *)&ad->slots[i].timer);
                if (left < *next)
                    *next = left;
            }
}

static void advert_free(struct rendezvous_advert *ad);

static void advert_on_point(struct point *pt, enum rdv_point_event ev)
{
    if (ev == RDV_POINT_ADDED)
        advert_point_added(pt);
    else if (ev == RDV_POINT_LOST)
        advert_point_lost(pt);
    else if (ev == RDV_POINT_REMOVED)
        advert_point_removed(pt);
}

/* pt is open and healthy: REGISTER every advert that waits for it, while it takes more */
static void advert_pump(struct point *pt)
{
    for (struct rendezvous_advert *ad = pt->client->adverts; ad && pt->healthy && pt->inflight < RDV_CLIENT_MAX_INFLIGHT;
         ad = ad->next)
        if (!ad->stopped && ad->slots[pt->idx].state == SLOT_WAITING)
            advert_register(&ad->slots[pt->idx]);
}

static void advert_reap(struct rendezvous_client *c)
{
    for (struct rendezvous_advert **pp = &c->adverts; *pp;) {
        struct rendezvous_advert *ad = *pp;
        if (ad->stopped && ad->inflight == 0) {
            *pp = ad->next;
            advert_free(ad);
        } else {
            pp = &ad->next;
        }
    }
}

static void advert_free_all(struct rendezvous_client *c)
{
    while (c->adverts) {
        struct rendezvous_advert *ad = c->adverts;
        c->adverts = ad->next;
        advert_free(ad);
    }
}

static const struct rdv_client_part advert_part = {
    .on_point = advert_on_point,
    .point_down = advert_point_down,
    .pump = advert_pump,
    .reap = advert_reap,
    .free_all = advert_free_all,
    .next_timer = advert_next_timer,
};

int rendezvous_advertise(struct rendezvous_client *c, const char *ns, int64_t ttl, rendezvous_advert_cb cb, void *arg,
                         struct rendezvous_advert **out)
{
    if (!c || !ns || !out || ttl < 0 || !*ns || strlen(ns) > RENDEZVOUS_NS_MAX)
        return RDV_ERR_INVALID;
    if (c->closing)
        return RDV_ERR_CLOSED;
    struct rendezvous_advert *ad = calloc(1, sizeof(*ad));
    if (!ad || !(ad->ns = strdup(ns))) {
        free(ad);
        return RDV_ERR_NOMEM;
    }
    ad->client = c;
    ad->ttl = ttl;
    ad->cb = cb;
    ad->arg = arg;
    for (size_t i = 0; i < RENDEZVOUS_MAX_POINTS; i++) { /* every slot: points may be added later */
        struct advert_slot *s = &ad->slots[i];
        s->ad = ad;
        s->pt = &c->points[i];
        s->state = SLOT_WAITING;
        ev_timer_init(&s->timer, slot_timer, 0, 0);
        s->timer.data = s;
    }
    ad->next = c->adverts;
    c->adverts = ad;
    rdv_client_attach(c, &advert_part);
    rdv_client_pump_all(c);
    *out = ad;
    return RDV_OK;
}

void rendezvous_advert_stop(struct rendezvous_advert *ad)
{
    if (!ad || ad->stopped)
        return;
    ad->stopped = true;
    ad->cb = NULL;
    for (size_t i = 0; i < ad->client->npoints; i++) {
        if (!ad->client->points[i].active)
            continue;
        ev_timer_stop(ad->client->loop, &ad->slots[i].timer);
        /* a REGISTER still out is unregistered once answered (on_registered): sent now, the
         * UNREGISTER could overtake it on its own stream */
        if (ad->slots[i].state != SLOT_INFLIGHT && !ad->client->closing)
            rdv_advert_unregister(ad->slots[i].pt, ad->ns);
    }
    /* the client's reaper frees it once no REGISTER refers to it */
}

int64_t rendezvous_advert_ttl(const struct rendezvous_advert *ad)
{
    int64_t min = 0;
    for (size_t i = 0; i < ad->client->npoints; i++) {
        int64_t g = ad->slots[i].granted;
        if (g > 0 && (min == 0 || g < min))
            min = g;
    }
    return min;
}

static void on_unregistered(void *arg, const struct rdv_rpc_answer *a)
{
    struct op *op = arg;
    struct point *pt = op->pt;
    rdv_client_op_free(op);
    pt->inflight--;
    if (a->err && !pt->client->closing)
        rdv_debug(pt->client->log, "rendezvous point %s: UNREGISTER not delivered: %s", pt->text, rdv_strerror(a->err));
    rdv_client_stream_closed(pt);
    rdv_client_pump(pt);
}

void rdv_advert_unregister(struct point *pt, const char *ns)
{
    struct rendezvous_client *c = pt->client;
    if (!c->dialect->unregister || pt->state != POINT_OPEN || !pt->healthy)
        return; /* not connected: the registration, if any, lapses by its TTL */
    struct op *op = rdv_client_op_new(pt);
    struct rdv_rpc_request q = {.type = RDV_REQ_UNREGISTER, .ns = ns};
    if (!op || rdv_rpc_send(pt->conn, c->dialect, &q, on_unregistered, op) != RDV_OK) {
        if (op)
            rdv_client_op_free(op);
        rdv_debug(c->log, "rendezvous point %s: cannot send UNREGISTER for '%s'", pt->text, ns);
        return;
    }
    pt->inflight++;
    pt->nstreams++;
}

static void advert_free(struct rendezvous_advert *ad)
{
    for (size_t i = 0; i < RENDEZVOUS_MAX_POINTS; i++)
        ev_timer_stop(ad->client->loop, &ad->slots[i].timer);
    free(ad->ns);
    free(ad);
}
