/* list.h: an intrusive doubly linked list (a circular list around a sentinel head).
 *
 * The node lives inside the object (struct rdv_list_node link), so linking allocates nothing and
 * unlinking is O(1) from the object alone; rdv_list_entry goes back from the node to its object.
 * A node that is on no list points to itself (rdv_list_unlinked), so unlinking twice is harmless.
 * Shared by the connection list (p2p/host), yamux streams, the PostgreSQL pool's queues and the
 * admin endpoint's suspended requests. */
#ifndef RDV_LIST_H
#define RDV_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct rdv_list_node {
    struct rdv_list_node *prev, *next;
};

/* A list head is a node; an empty list points to itself. */
typedef struct rdv_list_node rdv_list;

static inline void rdv_list_init(struct rdv_list_node *n) { n->prev = n->next = n; }
static inline bool rdv_list_empty(const rdv_list *l) { return l->next == l; }
static inline bool rdv_list_unlinked(const struct rdv_list_node *n) { return n->next == n; }

static inline void rdv_list_insert_after(struct rdv_list_node *pos, struct rdv_list_node *n)
{
    n->prev = pos;
    n->next = pos->next;
    pos->next->prev = n;
    pos->next = n;
}
static inline void rdv_list_push_back(rdv_list *l, struct rdv_list_node *n) { rdv_list_insert_after(l->prev, n); }
static inline void rdv_list_push_front(rdv_list *l, struct rdv_list_node *n) { rdv_list_insert_after(l, n); }

static inline void rdv_list_remove(struct rdv_list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    rdv_list_init(n);
}

/* The first node, or NULL when empty. */
static inline struct rdv_list_node *rdv_list_first(const rdv_list *l)
{
    return rdv_list_empty(l) ? NULL : l->next;
}
/* The node after n on l, or NULL at the end. */
static inline struct rdv_list_node *rdv_list_next(const rdv_list *l, const struct rdv_list_node *n)
{
    return n->next == l ? NULL : n->next;
}

#define rdv_list_entry(node, type, member) ((type *)(void *)((char *)(node) - offsetof(type, member)))

/* Iterates l with it pointing at each object; safe against removing the current one. */
#define rdv_list_foreach_safe(it, tmp, l, type, member)                                                           \
    for (struct rdv_list_node *tmp##_n = (l)->next, *tmp = tmp##_n->next;                                      \
         tmp##_n != (l) && ((it) = rdv_list_entry(tmp##_n, type, member), 1); tmp##_n = tmp, tmp = tmp##_n->next)

#endif
