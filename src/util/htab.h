/* htab.h: an open-addressing hash table of item pointers, keyed by bytes the item holds.
 *
 * Linear probing at load <= 1/2 with backward-shift deletion, so lookups never meet tombstones and
 * a table that shrank gives its memory back. The caller hashes (the memory index uses keyed
 * SipHash so peers cannot aim names at one bucket; yamux a multiplicative hash of stream ids it
 * bounds in number) and supplies a key function; the table stores the hash with each item.
 * Inserting never fails once rdv_htab_reserve said there is room, which is how callers make
 * multi-table updates all-or-nothing. */
#ifndef RDV_HTAB_H
#define RDV_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct rdv_htab_slot {
    uint64_t hash;
    void *item; /* NULL: empty slot */
};

struct rdv_htab {
    struct rdv_htab_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t n;
    void (*key)(const void *item, const uint8_t **key, size_t *len);
};

static inline void rdv_htab_init(struct rdv_htab *t, void (*key)(const void *, const uint8_t **, size_t *))
{
    t->slots = NULL;
    t->cap = t->n = 0;
    t->key = key;
}
void rdv_htab_free(struct rdv_htab *t);
/* Slot index of the item with key k, or SIZE_MAX. */
size_t rdv_htab_find(const struct rdv_htab *t, uint64_t h, const void *k, size_t n);
void *rdv_htab_get(const struct rdv_htab *t, uint64_t h, const void *k, size_t n);
/* Makes room for `total` items so that inserting up to that many cannot fail. 0 or -1. */
int rdv_htab_reserve(struct rdv_htab *t, size_t total);
/* Inserts an item whose key is absent; the caller reserved room first. */
void rdv_htab_insert(struct rdv_htab *t, uint64_t h, void *item);
void rdv_htab_delete_at(struct rdv_htab *t, size_t slot);
void rdv_htab_delete(struct rdv_htab *t, uint64_t h, const void *k, size_t n);
/* Iteration: the item in slot i (i < t->cap), or NULL. */
static inline void *rdv_htab_at(const struct rdv_htab *t, size_t i) { return t->slots[i].item; }

#endif
