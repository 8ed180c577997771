/* cache.c: see cache.h. A namespace is a small array searched linearly: it holds at most
 * max_per_ns entries (1000 by default, the most one DISCOVER returns), and a merge of one answer
 * costs far less than the signature checks that preceded it. */
#include "client/cache.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/multiaddr.h"
#include "util/err.h"

struct rdv_cache_ns {
    struct rdv_cache_ns *next;
    char *ns;
    struct rdv_cache_entry *e;
    size_t n, cap;
};

void rdv_cache_init(struct rdv_cache *c, size_t max_per_ns)
{
    c->head = NULL;
    c->max_per_ns = max_per_ns ? max_per_ns : 1000;
}

static void entry_clear_addrs(struct rdv_cache_entry *e)
{
    for (size_t i = 0; i < e->naddrs; i++)
        free(e->addrs[i]);
    free(e->addrs);
    e->addrs = NULL;
    e->naddrs = 0;
}

static void ns_free(struct rdv_cache_ns *n)
{
    for (size_t i = 0; i < n->n; i++)
        entry_clear_addrs(&n->e[i]);
    free(n->e);
    free(n->ns);
    free(n);
}

void rdv_cache_free(struct rdv_cache *c)
{
    while (c->head) {
        struct rdv_cache_ns *n = c->head;
        c->head = n->next;
        ns_free(n);
    }
}

static struct rdv_cache_ns *ns_find(struct rdv_cache *c, const char *ns, struct rdv_cache_ns ***link)
{
    struct rdv_cache_ns **pp = &c->head;
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->ns, ns) == 0)
            break;
    }
    if (link)
        *link = pp;
    return *pp;
}

static struct rdv_cache_ns *ns_get(struct rdv_cache *c, const char *ns)
{
    struct rdv_cache_ns *n = ns_find(c, ns, NULL);
    if (n)
        return n;
    n = calloc(1, sizeof(*n));
    if (!n || !(n->ns = strdup(ns))) {
        free(n);
        return NULL;
    }
    n->next = c->head;
    c->head = n;
    return n;
}

/* Text addresses of rec, all or nothing. */
/* An address of a protocol we do not know (kept in the record, see rdv_ma_validate_known) has no
 * text form: it is left out, the others are kept. *n: how many were. */
static int addrs_to_text(const struct rdv_record_summary *rec, char ***out, size_t *n)
{
    char **a = calloc(rec->naddrs ? rec->naddrs : 1, sizeof(*a));
    if (!a)
        return RDV_ERR_NOMEM;
    int err = RDV_OK;
    *n = 0;
    for (size_t i = 0; i < rec->naddrs && !err; i++) {
        char text[RDV_MA_MAX_TEXT];
        if (rdv_ma_to_text(rec->addrs[i].bytes, rec->addrs[i].len, text, sizeof(text)) < 0)
            continue;
        if (!(a[*n] = strdup(text)))
            err = RDV_ERR_NOMEM;
        else
            (*n)++;
    }
    if (err) {
        for (size_t i = 0; i < rec->naddrs; i++)
            free(a[i]);
        free(a);
        return err;
    }
    *out = a;
    return RDV_OK;
}

static int entry_set(struct rdv_cache_entry *e, const struct rdv_record_summary *rec, double expires)
{
    char **addrs;
    size_t naddrs;
    int err = addrs_to_text(rec, &addrs, &naddrs);
    if (err)
        return err;
    entry_clear_addrs(e);
    e->addrs = addrs;
    e->naddrs = naddrs;
    e->seq = rec->seq;
    e->expires = expires;
    return RDV_OK;
}

/* The slot for a new peer: a free one, or the soonest-expiring if the newcomer outlives it. */
static int ns_slot(struct rdv_cache_ns *n, size_t max, double expires, struct rdv_cache_entry **out)
{
    if (n->n < max) {
        if (n->n == n->cap) {
            size_t cap = n->cap ? n->cap * 2 : 8;
            struct rdv_cache_entry *e = realloc(n->e, cap * sizeof(*e));
            if (!e)
                return RDV_ERR_NOMEM;
            n->e = e;
            n->cap = cap;
        }
        *out = &n->e[n->n++];
        memset(*out, 0, sizeof(**out));
        return RDV_OK;
    }
    size_t victim = 0;
    for (size_t i = 1; i < n->n; i++)
        if (n->e[i].expires < n->e[victim].expires)
            victim = i;
    if (n->n == 0 || n->e[victim].expires >= expires)
        return RDV_ERR_LIMIT;
    entry_clear_addrs(&n->e[victim]);
    *out = &n->e[victim];
    return RDV_OK;
}

int rdv_cache_put(struct rdv_cache *c, const char *ns, const struct rdv_record_summary *rec, double expires)
{
    struct rdv_cache_ns *n = ns_get(c, ns);
    if (!n)
        return RDV_ERR_NOMEM;
    for (size_t i = 0; i < n->n; i++) {
        struct rdv_cache_entry *e = &n->e[i];
        if (!rdv_peerid_equal(&e->id, &rec->peer))
            continue;
        if (rec->seq < e->seq)
            return RDV_ERR_STALE;
        if (rec->seq == e->seq) {
            if (expires > e->expires)
                e->expires = expires;
            return RDV_OK;
        }
        return entry_set(e, rec, expires);
    }
    char id_text[RDV_PEERID_TEXT_MAX];
    if (rdv_peerid_to_text(&rec->peer, id_text, sizeof(id_text)) < 0)
        return RDV_ERR_INVALID;
    struct rdv_cache_entry *e = NULL;
    int err = ns_slot(n, c->max_per_ns, expires, &e);
    if (err)
        return err;
    if ((err = entry_set(e, rec, expires))) {
        /* e was emptied for the newcomer: drop the slot rather than keep a half entry */
        *e = n->e[--n->n];
        return err;
    }
    e->id = rec->peer;
    memcpy(e->id_text, id_text, sizeof(id_text));
    return RDV_OK;
}

size_t rdv_cache_live(struct rdv_cache *c, const char *ns, double now)
{
    struct rdv_cache_ns **link;
    struct rdv_cache_ns *n = ns_find(c, ns, &link);
    if (!n)
        return 0;
    for (size_t i = 0; i < n->n;) {
        if (n->e[i].expires > now) {
            i++;
            continue;
        }
        entry_clear_addrs(&n->e[i]);
        n->e[i] = n->e[--n->n];
    }
    if (n->n == 0) {
        *link = n->next;
        ns_free(n);
        return 0;
    }
    return n->n;
}

static int by_time_left(const void *a, const void *b)
{
    const struct rdv_cache_entry *x = a, *y = b;
    if (x->expires != y->expires)
        return x->expires > y->expires ? -1 : 1;
    return strcmp(x->id_text, y->id_text);
}

size_t rdv_cache_list(struct rdv_cache *c, const char *ns, double now, const struct rdv_cache_entry **out, size_t max)
{
    size_t live = rdv_cache_live(c, ns, now);
    if (live == 0 || max == 0)
        return 0;
    struct rdv_cache_ns *n = ns_find(c, ns, NULL);
    qsort(n->e, n->n, sizeof(*n->e), by_time_left); /* entry order means nothing elsewhere */
    size_t k = live < max ? live : max;
    for (size_t i = 0; i < k; i++)
        out[i] = &n->e[i];
    return k;
}
