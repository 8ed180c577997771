/* blocking.c: rendezvous/blocking.h: the asynchronous calls, with the loop run until they answer.
 *
 * Each wait runs the loop one iteration at a time until its callback has fired, a deadline
 * passes (a safety net: the request timeouts end every request well before it), or the
 * application freed the client from a callback, in which case the client is freed here, once
 * ev_run has returned and nothing uses it any more. */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "util/err.h"

struct waiter {
    struct rendezvous_client *c;
    bool done;
    bool (*until)(const struct rendezvous_client *c); /* NULL: until done */
    bool expired;
    ev_timer deadline;
};

static void waiter_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct waiter *wt = w->data;
    wt->expired = true;
}

/* Runs c's loop until wt->done, the deadline, or a free. Returns RDV_ERR_CLOSED if the client is
 * gone (freed here). */
static int wait_for(struct waiter *wt, double seconds)
{
    struct rendezvous_client *c = wt->c;
    ev_timer_init(&wt->deadline, waiter_expired, seconds, 0);
    wt->deadline.data = wt;
    ev_timer_start(c->loop, &wt->deadline);
    c->blocking++;
    while (!wt->done && !(wt->until && wt->until(c)) && !wt->expired && !c->free_requested)
        ev_run(c->loop, EVRUN_ONCE);
    c->blocking--;
    ev_timer_stop(c->loop, &wt->deadline);
    if (c->free_requested && c->blocking == 0) {
        rdv_client_teardown(c);
        return RDV_ERR_CLOSED;
    }
    return c->free_requested ? RDV_ERR_CLOSED : RDV_OK;
}

static double wait_limit(const struct rendezvous_client *c)
{
    return 2 * c->request_timeout + 1; /* a dial, then a request */
}

/* ---- advertise ------------------------------------------------------------------------------------ */

struct advert_wait {
    struct waiter w;
    bool heard[RENDEZVOUS_MAX_POINTS];
    size_t nheard;
    bool ok;
    int64_t ttl;
    int err;
};

/* Every point answered or failed once; a point already in backoff is not waited for (its retry may
 * be a minute away) once another point has answered. */
static bool advert_settled(const struct advert_wait *aw)
{
    const struct rendezvous_client *c = aw->w.c;
    for (size_t i = 0; i < c->npoints; i++)
        if (c->points[i].active && !aw->heard[i] && !(aw->ok && c->points[i].state == POINT_BACKOFF))
            return false;
    return true;
}

static void advert_heard(void *arg, const struct rendezvous_advert_event *ev)
{
    struct advert_wait *aw = arg;
    struct rendezvous_client *c = aw->w.c;
    for (size_t i = 0; i < c->npoints; i++) {
        if (c->points[i].text != ev->point || aw->heard[i])
            continue;
        aw->heard[i] = true;
        aw->nheard++;
    }
    if (ev->err == 0) {
        aw->ok = true;
        if (aw->ttl == 0 || ev->ttl < aw->ttl)
            aw->ttl = ev->ttl;
    } else {
        aw->err = ev->err;
    }
    aw->w.done = advert_settled(aw);
}

int rendezvous_advertise_wait(struct rendezvous_client *c, const char *ns, int64_t ttl, struct rendezvous_advert **out,
                              int64_t *granted_ttl)
{
    if (!c || !out)
        return RDV_ERR_INVALID;
    if (granted_ttl)
        *granted_ttl = 0;
    struct advert_wait aw;
    memset(&aw, 0, sizeof(aw));
    aw.w.c = c;
    aw.err = RDV_ERR_TIMEOUT;
    struct rendezvous_advert *ad;
    int err = rendezvous_advertise(c, ns, ttl, advert_heard, &aw, &ad);
    if (err)
        return err;
    bool all_down = true;
    for (size_t i = 0; i < c->npoints; i++)
        all_down = all_down && (!c->points[i].active || c->points[i].state == POINT_BACKOFF);
    if (all_down) {
        ad->cb = NULL; /* it retries in the background all the same */
        *out = ad;
        return RDV_ERR_UNAVAILABLE;
    }
    if ((err = wait_for(&aw.w, wait_limit(c))) != RDV_OK)
        return err;
    ad->cb = NULL; /* aw dies with this frame */
    ad->arg = NULL;
    *out = ad;
    if (granted_ttl)
        *granted_ttl = aw.ok ? aw.ttl : 0;
    return aw.ok ? RDV_OK : aw.err;
}

/* ---- find ------------------------------------------------------------------------------------------ */

struct find_wait {
    struct waiter w;
    int err;
    struct rendezvous_peer_list *list;
};

static void find_heard(void *arg, int err, const struct rendezvous_peer *peers, size_t n)
{
    struct find_wait *fw = arg;
    fw->w.done = true;
    fw->err = err;
    if (!err && !(fw->list = rdv_find_list_copy(peers, n)))
        fw->err = RDV_ERR_NOMEM;
}

int rendezvous_find_peers_wait(struct rendezvous_client *c, const char *ns, int64_t limit,
                               struct rendezvous_peer_list **out)
{
    if (!c || !out)
        return RDV_ERR_INVALID;
    *out = NULL;
    struct find_wait fw;
    memset(&fw, 0, sizeof(fw));
    fw.w.c = c;
    struct rendezvous_find *f;
    int err = rendezvous_find_peers(c, ns, limit, find_heard, &fw, &f);
    if (err)
        return err;
    if ((err = wait_for(&fw.w, wait_limit(c))) != RDV_OK) {
        rendezvous_peer_list_free(fw.list);
        return err;
    }
    if (!fw.w.done) {
        rendezvous_find_cancel(f);
        return RDV_ERR_TIMEOUT;
    }
    *out = fw.list;
    return fw.err;
}

/* ---- run ------------------------------------------------------------------------------------------- */

int rendezvous_client_run(struct rendezvous_client *c, double seconds)
{
    if (!c)
        return RDV_ERR_INVALID;
    struct waiter w = {.c = c};
    if (seconds > 0)
        return wait_for(&w, seconds);
    c->blocking++;
    ev_run(c->loop, 0);
    c->blocking--;
    if (c->free_requested && c->blocking == 0) {
        rdv_client_teardown(c);
        return RDV_ERR_CLOSED;
    }
    return RDV_OK;
}

static bool nothing_in_flight(const struct rendezvous_client *c)
{
    for (size_t i = 0; i < c->npoints; i++)
        if (c->points[i].inflight > 0)
            return false;
    return true;
}

int rendezvous_client_flush(struct rendezvous_client *c, double seconds)
{
    if (!c)
        return RDV_ERR_INVALID;
    struct waiter w = {.c = c, .until = nothing_in_flight};
    int err = wait_for(&w, seconds > 0 ? seconds : wait_limit(c));
    if (err)
        return err;
    return nothing_in_flight(c) ? RDV_OK : RDV_ERR_TIMEOUT;
}
