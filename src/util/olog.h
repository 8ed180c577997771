/* olog.h: an ordered log — items appended under strictly increasing 64-bit keys, removed from
 * anywhere, and read back in key order from "the first key after K".
 *
 * What it is for: discover cookies. Every registration takes the next value of a counter when it is
 * stored or refreshed, so "the records after cookie K" is a seek plus a forward walk. Entries live in
 * one array sorted by key (appends keep it sorted), a removal leaves a hole (item NULL) so the keys
 * stay sorted for the binary search, and the array is compacted once holes outnumber live entries:
 * amortised O(1) per removal, O(log n) per seek, memory at most about twice the live entries.
 *
 * Intrusive: each item holds its own position (a uint32_t at byte offset pos_off inside the item:
 * 4 bytes, not 8, because an index holds two per registration and 10 M of them), which the log
 * rewrites when compaction moves the item, so removal needs no search. A log holds at most
 * UINT32_MAX entries (reserve fails beyond). */
#ifndef RDV_OLOG_H
#define RDV_OLOG_H

#include <stddef.h>
#include <stdint.h>

struct rdv_olog_ent {
    uint64_t key;
    void *item; /* NULL: removed */
};

struct rdv_olog {
    struct rdv_olog_ent *ents;
    size_t n;       /* entries used, holes included */
    size_t cap;
    size_t live;
    size_t pos_off; /* offset of the item's uint32_t position field */
};

void rdv_olog_init(struct rdv_olog *l, size_t pos_off);
void rdv_olog_free(struct rdv_olog *l);
/* Makes room for one append, so that rdv_olog_append cannot fail. 0, or -1 without memory. */
int rdv_olog_reserve(struct rdv_olog *l);
/* Appends item under key, which must exceed every key appended before; room was reserved. */
void rdv_olog_append(struct rdv_olog *l, uint64_t key, void *item);
/* Removes item (which is in l). May compact, moving other items. */
void rdv_olog_remove(struct rdv_olog *l, void *item);
/* Position of the first entry with a key > after (== l->n when none). */
size_t rdv_olog_seek(const struct rdv_olog *l, uint64_t after);
/* The live item at or after *pos, advancing *pos past it; NULL at the end. */
void *rdv_olog_next(const struct rdv_olog *l, size_t *pos);

#endif
