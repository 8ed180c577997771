/* olog.c: see olog.h. */
#include "util/olog.h"

#include <stdlib.h>
#include <string.h>

#define OLOG_MIN_CAP 8

static uint32_t *item_pos(const struct rdv_olog *l, void *item)
{
    return (uint32_t *)(void *)((char *)item + l->pos_off);
}

void rdv_olog_init(struct rdv_olog *l, size_t pos_off)
{
    memset(l, 0, sizeof(*l));
    l->pos_off = pos_off;
}

void rdv_olog_free(struct rdv_olog *l)
{
    free(l->ents);
    l->ents = NULL;
    l->n = l->cap = l->live = 0;
}

/* Squeezes the holes out, telling every moved item its new position. */
static void olog_compact(struct rdv_olog *l)
{
    size_t w = 0;
    for (size_t r = 0; r < l->n; r++) {
        if (!l->ents[r].item)
            continue;
        l->ents[w] = l->ents[r];
        *item_pos(l, l->ents[w].item) = (uint32_t)w;
        w++;
    }
    l->n = w;
    /* Give memory back after a burst; a failed shrink keeps the bigger array. */
    if (l->cap > OLOG_MIN_CAP && l->n < l->cap / 4) {
        size_t ncap = l->cap / 2;
        struct rdv_olog_ent *p = realloc(l->ents, ncap * sizeof(*p));
        if (p) {
            l->ents = p;
            l->cap = ncap;
        }
    }
}

int rdv_olog_reserve(struct rdv_olog *l)
{
    if (l->n < l->cap)
        return 0;
    if (l->n - l->live >= l->n / 2 && l->n > l->live) {
        olog_compact(l); /* half holes: reclaim them rather than grow */
        return 0;
    }
    size_t ncap = l->cap ? l->cap * 2 : OLOG_MIN_CAP;
    if (ncap > (size_t)UINT32_MAX + 1)
        ncap = (size_t)UINT32_MAX + 1; /* positions are 32-bit: entries 0 .. UINT32_MAX */
    struct rdv_olog_ent *p = ncap > l->cap && ncap <= SIZE_MAX / sizeof(*l->ents) ? realloc(l->ents, ncap * sizeof(*p)) : NULL;
    if (!p) {
        if (l->n == l->live)
            return -1;
        olog_compact(l); /* no memory, but a hole to reuse: never fails after a removal */
        return 0;
    }
    l->ents = p;
    l->cap = ncap;
    return 0;
}

void rdv_olog_append(struct rdv_olog *l, uint64_t key, void *item)
{
    l->ents[l->n] = (struct rdv_olog_ent){key, item};
    *item_pos(l, item) = (uint32_t)l->n;
    l->n++;
    l->live++;
}

void rdv_olog_remove(struct rdv_olog *l, void *item)
{
    size_t pos = *item_pos(l, item);
    if (pos >= l->n || l->ents[pos].item != item)
        return; /* not ours: a caller bug, but never corrupt the log for it */
    l->ents[pos].item = NULL;
    l->live--;
    while (l->n > 0 && !l->ents[l->n - 1].item)
        l->n--; /* a hole at the end is just free room */
    if (l->n > 2 * l->live + OLOG_MIN_CAP)
        olog_compact(l);
}

size_t rdv_olog_seek(const struct rdv_olog *l, uint64_t after)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->ents[mid].key <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void *rdv_olog_next(const struct rdv_olog *l, size_t *pos)
{
    while (*pos < l->n) {
        void *item = l->ents[(*pos)++].item;
        if (item)
            return item;
    }
    return NULL;
}
