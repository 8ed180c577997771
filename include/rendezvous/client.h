/* rendezvous/client.h: peer discovery through Waku rendezvous points (librendezvous).
 *
 * A libp2p application (a pubsub router, a chat node) uses this to find peers for a topic:
 *
 *   advertise  registers a signed peer record (this peer's id + listen multiaddrs) under a
 *              namespace at every configured rendezvous point, and keeps it registered: it
 *              re-registers at about 3/4 of the granted TTL (with jitter), retries refused or
 *              failed registrations with exponential backoff, and re-registers at once when a
 *              connection to a point comes back (so a restarted point learns about us again).
 *   find_peers asks the reachable points for a namespace, merges their answers as they come, and
 *              answers once every point asked has replied, once the number of replies asked for
 *              is in, or at the call's deadline (2 s by default), whichever is first: a slow or
 *              silent point never holds an answer beyond the deadline. Only peers whose signed
 *              envelopes verify are returned (signature, domain, payload type, record peer id ==
 *              signing key, namespace == the one asked). Answers are cached until each record's
 *              remaining TTL runs out.
 *
 * Points can be added and removed while the client runs (rendezvous_client_add_point), as a
 * router learns them. The wire (TCP, Noise, yamux, and the rendezvous dialect of
 * rendezvous_config.protocol: /vac/waku/rendezvous/0.0.1 by default, /rendezvous/1.0.0 or
 * /vac/waku/rendezvous/1.0.0) is the library's business: nothing here needs libp2p knowledge
 * beyond multiaddr strings.
 *
 * Threads and loops. A client is driven by one libev loop: the application's (pass it to
 * rendezvous_client_new) or the client's own (pass NULL). The client is not thread-safe: every
 * call on a client, its adverts and its finds must come from the thread that runs that loop, and
 * all callbacks run on that thread. Different clients on different loops are independent (the
 * library has no global mutable state), so one client per thread is fine. Programs with another
 * event loop (poll(2), select, glib, a game loop) use a client that owns its loop and drive it with
 * rendezvous_client_pollfds() and rendezvous_client_process() (see "Driving the client from
 * another event loop" below; examples/poll.c). Simple programs that would rather block: see
 * rendezvous/blocking.h.
 *
 * Callbacks are never made from inside the call that starts the work. From inside a callback the
 * application may call anything in this header (start, stop, cancel, add or remove points, even
 * rendezvous_client_free: the memory is then released on the next loop iteration) except the
 * blocking.h calls, rendezvous_client_process and anything that runs the loop. Pointers handed to
 * a callback (events, peers, strings) are valid during the call only: copy what you keep.
 *
 * Errors: functions return 0 or a negative enum rendezvous_error; rendezvous_strerror() names it.
 * Ownership: strings and buffers passed in are copied before the call returns; handles returned
 * (client, advert, find) are owned by the library and freed as each function below says.
 *
 * ABI: structures the application fills (struct rendezvous_config, struct
 * rendezvous_find_options) start with a size field that their _init function sets; the library
 * reads only the fields that size covers, so fields added at their end in later versions never
 * break a program built earlier. The soname policy is in docs/client.md.
 *
 * Minimal use (error checks left out):
 *
 *   struct rendezvous_config cfg;
 *   rendezvous_config_init(&cfg);
 *   const char *points[] = {"/ip4/192.0.2.1/tcp/4040/p2p/12D3KooW..."};
 *   const char *addrs[] = {"/ip4/198.51.100.7/tcp/60000"};
 *   cfg.points = points; cfg.npoints = 1;
 *   cfg.addrs = addrs; cfg.naddrs = 1;
 *   struct rendezvous_client *c;
 *   rendezvous_client_new(loop, &cfg, &c);
 *   rendezvous_advertise(c, "my-topic", 0, on_advert, NULL, &ad);
 *   rendezvous_find_peers(c, "my-topic", 20, on_peers, NULL, NULL);
 *   ev_run(loop, 0);
 *   ...
 *   rendezvous_client_free(c);   // stops adverts and queries, closes connections, frees all
 */
#ifndef RENDEZVOUS_CLIENT_H
#define RENDEZVOUS_CLIENT_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The dialects (rendezvous_config.protocol): the default, then the two with UNREGISTER and cookies. */
#define RENDEZVOUS_PROTOCOL "/vac/waku/rendezvous/0.0.1"     /* libp2p peer records, random samples */
#define RENDEZVOUS_PROTOCOL_STD "/rendezvous/1.0.0"          /* libp2p peer records, paged discovery */
#define RENDEZVOUS_PROTOCOL_WAKU1 "/vac/waku/rendezvous/1.0.0" /* WakuPeerRecords, paged discovery */
#define RENDEZVOUS_MIX_KEY_MAX 256  /* mix_key bytes */
#define RENDEZVOUS_MAX_POINTS 16    /* rendezvous points per client */
#define RENDEZVOUS_MAX_ADDRS 64     /* listen addresses in our peer record */
#define RENDEZVOUS_NS_MAX 256       /* namespace bytes, as the Go reference */

/* The values equal the library's internal codes, so any code it returns has a name here. */
enum rendezvous_error {
    RENDEZVOUS_OK = 0,
    RENDEZVOUS_ERR_INVALID = -1,          /* malformed argument or input */
    RENDEZVOUS_ERR_TOO_LARGE = -3,        /* a length or count over its limit */
    RENDEZVOUS_ERR_UNSUPPORTED = -4,      /* e.g. a point address that is not /ip4|ip6/.../tcp/... */
    RENDEZVOUS_ERR_SIGNATURE = -5,        /* a record's signature does not verify */
    RENDEZVOUS_ERR_PEER_ID_MISMATCH = -8, /* a record's peer id is not its signer's */
    RENDEZVOUS_ERR_NOT_FOUND = -11,       /* e.g. a point address without /p2p/<id> */
    RENDEZVOUS_ERR_UNAVAILABLE = -12,     /* no rendezvous point could be reached */
    RENDEZVOUS_ERR_TIMEOUT = -13,
    RENDEZVOUS_ERR_IO = -14,              /* a system call failed (errno tells more) */
    RENDEZVOUS_ERR_CLOSED = -15,          /* the connection to a point closed */
    RENDEZVOUS_ERR_REFUSED = -50,         /* a point answered with an error status */
    RENDEZVOUS_ERR_NOMEM = -101,
    RENDEZVOUS_ERR_PROTOCOL = -102,       /* a point broke the protocol */
    RENDEZVOUS_ERR_INTERNAL = -104,
};

/* A short static name for any code the library returns. Never NULL. */
const char *rendezvous_strerror(int err);
/* The library's version, e.g. "0.1.0". */
const char *rendezvous_version(void);

struct rendezvous_config {
    /* sizeof(struct rendezvous_config) as the application was compiled: rendezvous_config_init
     * sets it. Fields beyond it are taken as zero (their defaults). 0 is RENDEZVOUS_ERR_INVALID. */
    size_t size;
    /* Rendezvous points: "/ip4|ip6/ADDR/tcp/PORT/p2p/PEER_ID" (the /p2p/ part is required: it is
     * the identity the point must prove in the handshake). 0..RENDEZVOUS_MAX_POINTS; more can be
     * added later with rendezvous_client_add_point. */
    const char *const *points;
    size_t npoints;
    /* This peer's listen multiaddrs, put in its signed peer record (without /p2p/). When there are
     * none, each point is told the local address of our connection to it (useful for tests and
     * the CLI only: nobody can dial that). 0..RENDEZVOUS_MAX_ADDRS. */
    const char *const *addrs;
    size_t naddrs;
    /* This peer's identity: a libp2p PrivateKey protobuf (what go-libp2p's MarshalPrivateKey and
     * js-libp2p's privateKeyToProtobuf produce; ed25519 or secp256k1), or a file holding those
     * bytes (rendezvous-cli keygen writes one). Neither: a fresh ed25519 key per client. */
    const uint8_t *private_key;
    size_t private_key_len;
    const char *key_file;
    double request_timeout;     /* seconds for a connection handshake or one request; 0 = 10 */
    double keepalive_interval;  /* seconds between pings to a connected point; 0 = 15 */
    double backoff_min;         /* first retry delay after a failure, seconds; 0 = 1 */
    double backoff_max;         /* retry delays double up to this, seconds; 0 = 60 */
    size_t cache_max_peers;     /* peers cached per namespace; 0 = 1000 */
    /* Diagnostics: lines go to log_file (NULL = none) up to log_level
     * (0 error, 1 warn, 2 info, 3 debug). */
    FILE *log_file;
    int log_level;
    /* Fields added later stay at the end, so a caller that zeroes the struct (or calls
     * rendezvous_config_init) and knows nothing of them keeps the old behaviour. */
    /* The dialect spoken to every point: a protocol id (RENDEZVOUS_PROTOCOL, _STD, _WAKU1) or its
     * short name ("waku0", "std", "waku1"); NULL: RENDEZVOUS_PROTOCOL. The waku0 dialect keeps a
     * registration until its TTL; the other two also unregister on rendezvous_advert_stop and
     * discover incrementally (cookies). /vac/waku/rendezvous/1.0.0 carries WakuPeerRecords. */
    const char *protocol;
    /* /vac/waku/rendezvous/1.0.0 only: the mixKey of our WakuPeerRecord (copied;
     * 0..RENDEZVOUS_MIX_KEY_MAX bytes); none: empty. Ignored by the other dialects. */
    const uint8_t *mix_key;
    size_t mix_key_len;
    /* rendezvous_find_peers: seconds a find waits for the points before it answers with what it
     * has (a point that is slow, silent or still in its handshake is not waited for beyond it);
     * 0 = 2. Per call: struct rendezvous_find_options.deadline. */
    double find_deadline;
};

/* Zeroes cfg (every field's default) and sets cfg->size. */
void rendezvous_config_init(struct rendezvous_config *cfg);

struct rendezvous_client;
struct rendezvous_advert;
struct rendezvous_find;

/* Creates a client on loop (NULL: the client makes its own loop and frees it; see
 * rendezvous_client_loop). Connections are made when first needed. Errors: RENDEZVOUS_ERR_INVALID
 * (no points, too many, an unparsable address or key, an oversize mix key),
 * RENDEZVOUS_ERR_UNSUPPORTED (an unknown protocol), RENDEZVOUS_ERR_NOT_FOUND (a point without
 * /p2p/<id>), RENDEZVOUS_ERR_UNSUPPORTED (not a TCP address), RENDEZVOUS_ERR_IO (key_file
 * unreadable), RENDEZVOUS_ERR_NOMEM. */
int rendezvous_client_new(struct ev_loop *loop, const struct rendezvous_config *cfg, struct rendezvous_client **out);
/* Stops every advert and query (no callbacks after this), closes the connections and frees the
 * client at once. Registrations still held expire at the points by their TTL: to unregister
 * first (std, waku1), stop the adverts and let the loop run (rendezvous_client_flush in
 * blocking.h) before freeing. May be called from a callback: the memory is then released on the next loop
 * iteration. */
void rendezvous_client_free(struct rendezvous_client *c);
struct ev_loop *rendezvous_client_loop(const struct rendezvous_client *c);
/* Writes our peer id (base58btc text, NUL-terminated) to out; returns its length or
 * RENDEZVOUS_ERR_TOO_LARGE if cap is too small (64 bytes always suffice). */
int rendezvous_client_peer_id(const struct rendezvous_client *c, char *out, size_t cap);
/* Replaces our listen addresses: a new record (higher seq) is signed and every advert is
 * re-registered with it now. */
int rendezvous_client_set_addrs(struct rendezvous_client *c, const char *const *addrs, size_t naddrs);

/* Adds a rendezvous point (the same form as rendezvous_config.points) while the client runs: every
 * advert registers there as soon as it is connected; finds started from now on ask it. Errors:
 * as rendezvous_client_new for a point, RENDEZVOUS_ERR_INVALID also for a point already
 * configured, RENDEZVOUS_ERR_TOO_LARGE beyond RENDEZVOUS_MAX_POINTS, RENDEZVOUS_ERR_CLOSED. */
int rendezvous_client_add_point(struct rendezvous_client *c, const char *point);
/* Removes a point given as it was added (the same string). In the std and waku1 dialects every
 * advert's registration there is unregistered first; its connection closes once those requests
 * are written. Finds still waiting for it stop waiting. RENDEZVOUS_ERR_NOT_FOUND if no such
 * point. May be called from a callback. */
int rendezvous_client_remove_point(struct rendezvous_client *c, const char *point);
/* The number of points configured now. */
size_t rendezvous_client_npoints(const struct rendezvous_client *c);

/* ---- advertise -------------------------------------------------------------------------------- */

/* One registration attempt at one point. */
struct rendezvous_advert_event {
    const char *ns;
    const char *point;         /* the point's address as configured */
    int err;                   /* 0: registered; RENDEZVOUS_ERR_REFUSED: see status; else why no answer */
    int status;                /* the point's ResponseStatus when it answered (0 OK, 100 E_INVALID_NAMESPACE,
                                * 101 E_INVALID_PEER_INFO, 102 E_INVALID_TTL, 200 E_NOT_AUTHORIZED,
                                * 300 E_INTERNAL_ERROR, 400 E_UNAVAILABLE) */
    const char *status_text;   /* the point's text, "" if none */
    int64_t ttl;               /* err 0: the TTL the point granted, seconds */
    double next_in;            /* seconds until the next attempt at this point (refresh or retry);
                                * 0 when it waits for the connection to come back */
};
typedef void (*rendezvous_advert_cb)(void *arg, const struct rendezvous_advert_event *ev);

/* Starts advertising under ns (1..RENDEZVOUS_NS_MAX bytes) with the given TTL in seconds (0: the
 * point's default). cb (may be NULL) hears about every attempt at every point. *out is the handle
 * for rendezvous_advert_stop; it stays valid until then (or until the client is freed).
 * Errors: RENDEZVOUS_ERR_INVALID (bad ns, ttl < 0), RENDEZVOUS_ERR_NOMEM. */
int rendezvous_advertise(struct rendezvous_client *c, const char *ns, int64_t ttl, rendezvous_advert_cb cb, void *arg,
                         struct rendezvous_advert **out);
/* Stops refreshing; no callback after this. With waku0 the registration lapses within its TTL;
 * std and waku1 send UNREGISTER to every connected point (at once, or when a REGISTER still out
 * is answered): no answer is expected, the loop only has to run for it to be written. */
void rendezvous_advert_stop(struct rendezvous_advert *ad);
/* The smallest TTL granted by any point so far, or 0 if none granted one yet. */
int64_t rendezvous_advert_ttl(const struct rendezvous_advert *ad);

/* ---- find_peers ------------------------------------------------------------------------------- */

struct rendezvous_peer {
    const char *peer_id;       /* base58btc text */
    const char *const *addrs;  /* its multiaddrs as text, from its signed record */
    size_t naddrs;
    uint64_t seq;              /* the record's sequence number */
    double ttl;                /* seconds the record has left */
};
/* err 0: at least one point answered, or the cache could answer. Otherwise (e.g.
 * RENDEZVOUS_ERR_UNAVAILABLE: no point reachable) peers still holds what the cache has. */
typedef void (*rendezvous_find_cb)(void *arg, int err, const struct rendezvous_peer *peers, size_t n);

/* Finds up to limit peers advertising under ns (limit <= 0: as many as the points give).
 * std and waku1: each point is sent the cookie of its previous answer for ns, so it answers only
 * records registered since (an E_INVALID_COOKIE answer drops the cookie and asks once more
 * without); the cache, which holds the earlier ones, makes the answer whole.
 * Our own record is left out; records without addresses too.
 * The cache: when limit > 0 and the cache holds at least limit live records for ns, they are the
 * answer and no point is asked. Otherwise every point that is not in backoff is asked at once
 * (points are dialled if needed), each verified record is merged into the cache (a higher seq
 * replaces a peer's record), and the answer is up to limit live records, those with the most TTL
 * left first. cb (required) is called exactly once, unless cancelled. *out (may be NULL) is a
 * handle for rendezvous_find_cancel, valid until cb runs. */
int rendezvous_find_peers(struct rendezvous_client *c, const char *ns, int64_t limit, rendezvous_find_cb cb, void *arg,
                          struct rendezvous_find **out);
/* The callback will not be called. */
void rendezvous_find_cancel(struct rendezvous_find *f);

/* Per-call options of rendezvous_find_peers_with. */
struct rendezvous_find_options {
    size_t size;          /* set by rendezvous_find_options_init; fields beyond it are zero */
    int64_t limit;        /* as rendezvous_find_peers' limit (<= 0: as many as the points give) */
    double deadline;      /* seconds before answering with what is in; 0: the client's find_deadline */
    /* Answer as soon as this many points have replied (answered or refused; the first answers are
     * merged as they come); 0: wait for every point asked (or the deadline). */
    size_t replies;
    /* The dialect of this call (a protocol id or "waku0", "std", "waku1"); NULL: the client's.
     * A find in another dialect than the client's sends no cookie and has its own cache. */
    const char *protocol;
};
void rendezvous_find_options_init(struct rendezvous_find_options *o);
/* rendezvous_find_peers with options (NULL: the defaults). Late answers (after the deadline or
 * the replies asked for) still go into the cache for the next find. err in the callback: 0 when
 * at least one point answered or the cache could answer; RENDEZVOUS_ERR_TIMEOUT when the deadline
 * came before any point answered; RENDEZVOUS_ERR_REFUSED, RENDEZVOUS_ERR_UNAVAILABLE as above.
 * Errors of the call: those of rendezvous_find_peers, RENDEZVOUS_ERR_UNSUPPORTED (an unknown
 * protocol), RENDEZVOUS_ERR_INVALID (a negative deadline, size 0). */
int rendezvous_find_peers_with(struct rendezvous_client *c, const char *ns, const struct rendezvous_find_options *o,
                               rendezvous_find_cb cb, void *arg, struct rendezvous_find **out);

/* ---- driving the client from another event loop ------------------------------------------------- */

/* For a client that owns its loop (created with loop NULL), in a program whose event loop is not
 * libev: poll(2), select, epoll, glib. Each turn of the application's loop:
 *
 *   struct pollfd fds[RENDEZVOUS_MAX_POLLFDS + 1];      // + the application's own
 *   int timeout;
 *   int n = rendezvous_client_pollfds(c, fds, RENDEZVOUS_MAX_POLLFDS, &timeout);
 *   poll(fds, n, timeout);                              // with the application's fds too
 *   rendezvous_client_process(c);                       // whatever poll said, or on timeout
 *
 * rendezvous_client_pollfds writes the descriptors the client waits on (sockets to the points,
 * with POLLIN and, while output waits, POLLOUT) and the milliseconds until its next timer (0: work
 * is due now). The set changes after every call into the client: ask again each turn. The timeout
 * is exact for the client's own schedule (find deadlines and answers, refreshes, retries,
 * keepalives, connection timeouts) and at most 1000 ms, which bounds how late the per-request
 * timeouts fire. Returns the number of descriptors written, RENDEZVOUS_ERR_TOO_LARGE if more than
 * max are needed (RENDEZVOUS_MAX_POLLFDS always suffice), RENDEZVOUS_ERR_UNSUPPORTED for a client
 * on the application's libev loop (run that loop instead). */
#define RENDEZVOUS_MAX_POLLFDS 64
struct pollfd;
int rendezvous_client_pollfds(struct rendezvous_client *c, struct pollfd *fds, size_t max, int *timeout_ms);
/* Handles whatever is ready without blocking (one libev iteration, EVRUN_NOWAIT): reads and
 * writes sockets, fires due timers and runs the callbacks that result. Must not be called from a
 * callback. Returns 0, RENDEZVOUS_ERR_UNSUPPORTED (see above) or RENDEZVOUS_ERR_CLOSED (the client
 * was freed from a callback during the call: the pointer is gone). */
int rendezvous_client_process(struct rendezvous_client *c);

#ifdef __cplusplus
}
#endif

#endif
