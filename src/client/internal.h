/* internal.h: what the client library's files share (not installed).
 *
 * Objects and who frees them:
 *   client   owns the libp2p host, the points, the adverts, the finds and the cache.
 *   point    one rendezvous point: its connection state machine (enum point_state), the connection
 *            while we hold a stream on it, a keepalive ping stream, the backoff timer.
 *   advert   one namespace being advertised: a slot per point (registration state, refresh timer).
 *   find     one find_peers query: a state per point, the deferred answer.
 *   op       one REGISTER, DISCOVER or UNREGISTER in flight on a point's connection; freed when
 *            rpc.c reports.
 *   cookie   the last DISCOVER cookie a point gave for a namespace (cookie dialects): owned by the
 *            point, kept across connections (a point's cookies survive our reconnecting).
 * A struct rdv_conn may be freed by the host once it dies; we only ever touch point->conn while we
 * hold a stream on it (point->nstreams > 0): the host closes every stream, with a callback, before
 * it frees a connection, so that count tells us exactly when the pointer goes stale.
 * Adverts and finds are freed in two steps (flagged, then freed by the client's prepare watcher
 * once no op refers to them), so no callback ever sees freed memory, whatever the application
 * does from inside its callbacks. */
#ifndef RDV_CLIENT_INTERNAL_H
#define RDV_CLIENT_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/cache.h"
#include "client/rpc.h"
#include "p2p/host.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "p2p/record_kind.h"
#include "rendezvous/blocking.h"
#include "rendezvous/dialect.h"
#include "rendezvous/client.h"
#include "util/buf.h"
#include "util/log.h"

#define RDV_CLIENT_MAX_INFLIGHT 16      /* requests in flight per point (a server allows 64 streams) */
#define RDV_CLIENT_DEFAULT_TIMEOUT 10.0
#define RDV_CLIENT_DEFAULT_KEEPALIVE 15.0
#define RDV_CLIENT_DEFAULT_BACKOFF_MIN 1.0
#define RDV_CLIENT_DEFAULT_BACKOFF_MAX 60.0
#define RDV_CLIENT_DEFAULT_DEADLINE 2.0 /* find: well below the handshake timeout */
#define RDV_CLIENT_POLL_MAX_MS 1000     /* rendezvous_client_pollfds: the longest timeout it gives */
#define RDV_CLIENT_ASSUMED_TTL 20       /* a point that grants or reports no TTL: the Waku default */
#define RDV_CLIENT_MAX_RECORD_TTL 259200 /* 72 h, the libp2p rendezvous maximum: caps a point's claim */
#define RDV_CLIENT_COOKIE_MAX 1024      /* a longer cookie is not kept (ours are 26 bytes) */

struct point_cookie {
    struct point_cookie *next;
    const struct rdv_dialect *dialect; /* of the finds that keep it */
    char *ns;
    size_t len;
    uint8_t bytes[];
};

enum point_state {
    POINT_IDLE,    /* no connection; dialled once an advert or a query needs the point */
    POINT_DIALING, /* dial in flight (or a synchronous dial failure waiting on `timer`) */
    POINT_OPEN,    /* conn usable; we hold >= 1 stream on it */
    POINT_BACKOFF, /* the last dial or connection failed; `timer` ends the wait; queries skip it */
};

/* A slot of client->points is in use while `active`; a removed point stays in its slot, inactive,
 * until nothing refers to it any more (no stream, no dial), when add_point may reuse it. */
struct point {
    struct rendezvous_client *client;
    size_t idx;
    bool active;               /* configured now (not removed) */
    char *text;                /* the address as configured */
    uint8_t *ma;               /* binary multiaddr, with /p2p/ */
    size_t ma_len;
    enum point_state state;
    struct rdv_conn *conn;     /* valid while nstreams > 0 */
    unsigned nstreams;         /* our streams on conn: requests + keepalive */
    unsigned inflight;         /* requests */
    unsigned failures;         /* consecutive failed dials / dropped connections */
    bool healthy;              /* no error seen on this connection */
    bool answered;             /* this connection answered at least one request */
    bool no_keepalive;         /* the point refused ping: hold conn only while requests run */
    int dial_err;              /* a synchronous dial failure, reported from `timer` */
    ev_timer timer;            /* backoff; deferred dial failure */
    struct rdv_stream *ka;     /* keepalive ping stream */
    ev_timer ka_timer;
    uint8_t ka_payload[32];
    bool ka_waiting;           /* a ping is out and its echo not yet back */
    unsigned ka_echoes;        /* pings answered on the current ka stream */
    ev_tstamp ka_opened;       /* when the current ka stream was opened */
    struct point_cookie *cookies; /* cookie dialects: per namespace, the last DISCOVER cookie */
};

enum slot_state {
    SLOT_WAITING,   /* register as soon as the point is open */
    SLOT_INFLIGHT,  /* a REGISTER is out */
    SLOT_SCHEDULED, /* timer runs: refresh or retry */
};

struct advert_slot {
    struct rendezvous_advert *ad;
    struct point *pt;
    enum slot_state state;
    ev_timer timer;
    unsigned failures;         /* consecutive refusals */
    int64_t granted;           /* last granted TTL, 0 if none yet */
    bool dirty;                /* our record changed while a REGISTER was out: send again */
    bool registered;           /* the last REGISTER here was granted */
};

struct rendezvous_advert {
    struct rendezvous_client *client;
    struct rendezvous_advert *next;
    char *ns;
    int64_t ttl;
    rendezvous_advert_cb cb;
    void *arg;
    bool stopped;              /* freed by the reaper once inflight == 0 */
    unsigned inflight;
    struct advert_slot slots[RENDEZVOUS_MAX_POINTS]; /* one per point slot (client->points) */
};

enum find_slot { FSLOT_SKIP, FSLOT_WAIT, FSLOT_INFLIGHT, FSLOT_OK, FSLOT_REFUSED, FSLOT_FAILED };

struct rendezvous_find {
    struct rendezvous_client *client;
    struct rendezvous_find *next;
    char *ns;
    int64_t limit;
    const struct rdv_dialect *dialect; /* what this find speaks */
    size_t replies;            /* answer once this many points replied (0: all asked) */
    bool timed_out;            /* the deadline came first */
    ev_timer deadline;
    rendezvous_find_cb cb;
    void *arg;
    bool from_cache;           /* answered without asking */
    bool done, cancelled;      /* freed by the reaper once inflight == 0 */
    unsigned inflight;
    ev_timer defer;            /* the answer is given from the loop, never from the call */
    enum find_slot slots[RENDEZVOUS_MAX_POINTS];
    bool retried[RENDEZVOUS_MAX_POINTS]; /* asked again after E_INVALID_COOKIE */
};

struct op {
    struct rendezvous_client *client;
    struct point *pt;
    struct advert_slot *slot;      /* REGISTER */
    struct rendezvous_find *find;  /* DISCOVER */
    bool with_cookie;              /* DISCOVER: sent a cookie */
    ev_timer timeout;
};

#define RDV_CLIENT_MAX_PARTS 4 /* kinds of work (struct rdv_client_part): adverts, finds */

struct rendezvous_client {
    struct ev_loop *loop;
    bool own_loop;
    struct rdv_log log_store;
    const struct rdv_log *log;     /* NULL: quiet */
    const struct rdv_dialect *dialect; /* what we speak to every point */
    uint8_t mix_key[RENDEZVOUS_MIX_KEY_MAX]; /* waku1: our WakuPeerRecord's mixKey */
    size_t mix_key_len;
    struct rdv_privkey key;
    struct rdv_peerid self;
    char self_text[RDV_PEERID_TEXT_MAX];
    struct rdv_host *host;
    struct point points[RENDEZVOUS_MAX_POINTS];
    size_t npoints;
    struct rdv_buf addrs[RENDEZVOUS_MAX_ADDRS]; /* binary listen multiaddrs */
    size_t naddrs;
    struct rdv_buf envelope;       /* our signed record of addrs (empty when naddrs == 0) */
    uint64_t last_seq;
    struct rendezvous_advert *adverts;
    struct rendezvous_find *finds;
    const struct rdv_client_part *parts[RDV_CLIENT_MAX_PARTS]; /* the kinds of work in use */
    size_t nparts;
    struct rdv_cache caches[RDV_DIALECT_COUNT]; /* per dialect: record kinds never mix */
    double request_timeout, keepalive, backoff_min, backoff_max, find_deadline;
    ev_prepare reaper;
    ev_timer free_timer;           /* a free asked for from inside a callback */
    unsigned depth;                /* > 0 while an application callback runs */
    unsigned blocking;             /* > 0 while a blocking.h call runs the loop */
    bool closing;                  /* no more callbacks, no more work */
    bool free_requested;           /* rendezvous_client_free came while we could not free */
};

/* client.c */
void rdv_client_pump(struct point *pt);
void rdv_client_pump_all(struct rendezvous_client *c);
/* A request or the keepalive found the point broken: close its connection (redial, backoff). */
void rdv_client_point_fail(struct point *pt, int err, const char *why);
/* Our stream on pt->conn is gone; the last one lets go of the connection. */
void rdv_client_stream_closed(struct point *pt);
struct op *rdv_client_op_new(struct point *pt);
/* Stops the op's timer and frees it; the point's counters are the caller's business. */
void rdv_client_op_free(struct op *op);
/* A fresh seq for a record: wall-clock milliseconds, strictly above the last one. */
uint64_t rdv_client_next_seq(struct rendezvous_client *c);
/* Seals our record of the dialect's kind for addrs (binary multiaddrs), with a fresh seq; appends
 * the envelope to out. */
int rdv_client_seal(struct rendezvous_client *c, const struct rdv_record_addr *addrs, size_t n, struct rdv_buf *out);

/* A kind of work the client carries to every point — adverts (advert.c), finds (find.c). Each
 * attaches its table on first use (rdv_client_attach); client.c calls through the tables and
 * names no kind, so a new kind of work touches its own file and this header only. Hooks may be NULL. */
enum rdv_point_event {
    RDV_POINT_ADDED,   /* added by the application (or its slot reused) */
    RDV_POINT_LOST,    /* its connection dropped: everything again once it is back */
    RDV_POINT_REMOVED, /* removed by the application; still active while the parts hear of it */
    RDV_POINT_RESET,   /* forget what is kept per point (slot reuse, removal, teardown) */
};
struct rdv_client_part {
    void (*on_point)(struct point *pt, enum rdv_point_event ev);
    /* the point could not be reached; the next try is in retry_in seconds */
    void (*point_down)(struct point *pt, int err, double retry_in);
    void (*pump)(struct point *pt);             /* the point is open and healthy: send what waits */
    void (*reap)(struct rendezvous_client *c);  /* free what is finished (from the client's reaper) */
    void (*free_all)(struct rendezvous_client *c);
    /* the earliest timer of this kind, in seconds from now, if sooner than *next */
    void (*next_timer)(const struct rendezvous_client *c, double *next);
};
void rdv_client_attach(struct rendezvous_client *c, const struct rdv_client_part *part);

/* advert.c */
/* Sends UNREGISTER for ns to pt if it is open (cookie dialects); nothing comes back. */
void rdv_advert_unregister(struct point *pt, const char *ns);

/* find.c */
struct rendezvous_peer_list *rdv_find_list_copy(const struct rendezvous_peer *peers, size_t n);

/* The cache of dialect d. */
static inline struct rdv_cache *rdv_client_cache(struct rendezvous_client *c, const struct rdv_dialect *d)
{
    return &c->caches[d->id];
}

/* client.c, for blocking.c: frees a client whose free was asked for during a blocking call. */
void rdv_client_teardown(struct rendezvous_client *c);

#endif
