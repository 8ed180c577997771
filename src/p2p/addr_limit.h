/* addr_limit.h: per remote address limits for the accept path: how many connections one source
 * holds, how fast it may start handshakes and how fast it may send rendezvous requests.
 *
 * A source is the remote IP cut to a prefix (IPv4 /32 and IPv6 /64 by default: one host, one
 * customer's IPv6 network), so an attacker cannot escape the limit by walking the low bits of an
 * IPv6 address. Rates are token buckets (rate per second, burst). The table is bounded: an entry
 * lives while a connection holds it or while its buckets are still refilling; the others are
 * swept a few slots per admission, and all of them when the table is full. Pure: no I/O, no
 * clock (the caller passes `now`), so the policy is testable on its own. Loopback is not exempt. */
#ifndef RDV_ADDR_LIMIT_H
#define RDV_ADDR_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/htab.h"

struct rdv_addr_limits {
    unsigned prefix4, prefix6;     /* bits of the address that name a source (1..32, 1..128) */
    unsigned max_connections;      /* per source */
    double handshake_rate;         /* new connections per second per source; burst = 2 s of it */
    double request_rate;           /* rendezvous requests per second per source; burst = 2 s of it */
    size_t max_entries;            /* sources tracked at once */
};
void rdv_addr_limits_defaults(struct rdv_addr_limits *l);

enum rdv_addr_verdict {
    RDV_ADDR_OK,
    RDV_ADDR_CONNECTIONS,   /* the source holds max_connections already */
    RDV_ADDR_RATE,          /* the source starts handshakes faster than handshake_rate */
    RDV_ADDR_TABLE_FULL,    /* max_entries sources are live: no room to track one more */
};

struct rdv_addr_bucket {
    double tokens, at;      /* tokens left at time `at` */
};

struct rdv_addr_entry {
    uint8_t key[17];        /* family byte + the address's prefix bits (rest zero) */
    unsigned conns;         /* connections holding this entry */
    struct rdv_addr_bucket handshakes, requests;
};

struct rdv_addr_table {
    struct rdv_addr_limits limits;
    struct rdv_htab tab;
    uint8_t hkey[16];       /* SipHash key, random per table: sources cannot aim at one bucket */
    size_t cursor;          /* where the incremental sweep goes on */
    double full_swept;      /* `now` of the last whole-table sweep (at most one a second) */
};

void rdv_addr_table_init(struct rdv_addr_table *t, const struct rdv_addr_limits *l);
void rdv_addr_table_free(struct rdv_addr_table *t);
/* New limits (SIGHUP); entries keep their counts and buckets. */
void rdv_addr_table_set_limits(struct rdv_addr_table *t, const struct rdv_addr_limits *l);
/* The source key of an address (IPv4-mapped IPv6 counts as IPv4). false for other families. */
bool rdv_addr_key(const struct rdv_addr_table *t, const struct sockaddr_storage *ss, uint8_t key[17]);
/* Admits one new connection from ss: its entry (now held by the connection: release it once),
 * or NULL and why not. A connection refused for its rate still spends nothing. */
struct rdv_addr_entry *rdv_addr_admit(struct rdv_addr_table *t, const struct sockaddr_storage *ss, double now,
                                      enum rdv_addr_verdict *why);
/* The connection holding e is gone. */
void rdv_addr_release(struct rdv_addr_table *t, struct rdv_addr_entry *e);
/* Spends one request token of e's source; false when the source is over request_rate. */
bool rdv_addr_take_request(struct rdv_addr_table *t, struct rdv_addr_entry *e, double now);
/* Removes every entry no connection holds whose buckets are full again. */
void rdv_addr_sweep(struct rdv_addr_table *t, double now);
static inline size_t rdv_addr_count(const struct rdv_addr_table *t) { return t->tab.n; }

#endif
