/* htab.c: see htab.h. */
#include "util/htab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct rdv_htab htab;

#define HTAB_MIN_CAP 8

static bool htab_match(const htab *t, const struct rdv_htab_slot *sl, uint64_t h, const void *k, size_t n)
{
    if (sl->hash != h)
        return false;
    const uint8_t *ik;
    size_t in;
    t->key(sl->item, &ik, &in);
    return in == n && memcmp(ik, k, n) == 0;
}

/* Slot index of the item with key k, or SIZE_MAX. Terminates: the load factor keeps a free slot. */
size_t rdv_htab_find(const htab *t, uint64_t h, const void *k, size_t n)
{
    if (t->cap == 0)
        return SIZE_MAX;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (!t->slots[i].item)
            return SIZE_MAX;
        if (htab_match(t, &t->slots[i], h, k, n))
            return i;
    }
}

void *rdv_htab_get(const htab *t, uint64_t h, const void *k, size_t n)
{
    size_t i = rdv_htab_find(t, h, k, n);
    return i == SIZE_MAX ? NULL : t->slots[i].item;
}

static void htab_place(struct rdv_htab_slot *slots, size_t cap, uint64_t h, void *item)
{
    size_t mask = cap - 1, i = h & mask;
    while (slots[i].item)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].item = item;
}

static int htab_resize(htab *t, size_t ncap)
{
    struct rdv_htab_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].item)
            htab_place(ns, ncap, t->slots[i].hash, t->slots[i].item);
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

/* Makes room for `total` items so that inserting up to that many cannot fail. */
int rdv_htab_reserve(htab *t, size_t total)
{
    if (total <= t->cap / 2)
        return 0;
    if (total > SIZE_MAX / 4 / sizeof(struct rdv_htab_slot))
        return -1;
    size_t ncap = t->cap ? t->cap : HTAB_MIN_CAP;
    while (ncap / 2 < total)
        ncap *= 2;
    return htab_resize(t, ncap);
}

/* Inserts an item whose key is absent; the caller reserved room first. */
void rdv_htab_insert(htab *t, uint64_t h, void *item)
{
    htab_place(t->slots, t->cap, h, item);
    t->n++;
}

/* Backward-shift deletion: pull later members of the probe run into the hole when their home
 * slot is not cyclically inside (hole, j], so lookups never need tombstones. */
void rdv_htab_delete_at(htab *t, size_t i)
{
    size_t mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].item; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].item = NULL;
    t->slots[i].hash = 0;
    t->n--;
    /* Give memory back after a burst; a failed shrink just keeps the bigger table. */
    if (t->cap > HTAB_MIN_CAP && t->n < t->cap / 8)
        (void)htab_resize(t, t->cap / 2);
}

void rdv_htab_delete(htab *t, uint64_t h, const void *k, size_t n)
{
    size_t i = rdv_htab_find(t, h, k, n);
    if (i != SIZE_MAX)
        rdv_htab_delete_at(t, i);
}


void rdv_htab_free(htab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}
