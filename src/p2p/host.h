/* host.h: libp2p connections on a libev loop: TCP listen and dial (IPv4 and IPv6), the upgrade
 * multistream-select -> Noise -> multistream-select -> yamux, and streams negotiated by protocol id.
 *
 * One struct rdv_host per process holds our identity, listeners, live connections and the table
 * of protocol handlers. Each connection is an explicit state machine (enum in host.c) with hard
 * caps on its buffers and a handshake and an idle timeout. Connections are closed in two steps:
 * flagged, then freed from a prepare watcher, so no callback ever sees freed memory. */
#ifndef RDV_HOST_H
#define RDV_HOST_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/addr_limit.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "util/buf.h"
#include "util/log.h"

#define RDV_HOST_MAX_LISTENERS 16
#define RDV_HOST_MAX_PROTOCOLS 16

struct rdv_host;
struct rdv_conn;
struct rdv_stream;

struct rdv_host_limits {
    unsigned max_connections;      /* further accepts are closed at once */
    unsigned max_streams;          /* concurrent streams per connection */
    size_t max_stream_input;       /* bytes a stream may hold unread by its handler */
    size_t max_conn_output;        /* output one connection may hold queued (stream queues, yamux, Noise):
                                    * at it no new request starts (backpressure), a write past twice it is
                                    * refused; also a stream's queue. At least one maximal answer (4 MiB+) */
    double handshake_timeout;      /* seconds from TCP connect to a usable yamux session */
    double idle_timeout;           /* seconds without stream data either way (open streams or not) */
    /* lifetime and per-source limits (p2p/lifetime.c, docs/limits.md) */
    unsigned max_handshakes;       /* inbound connections still in their handshake; a newcomer beyond
                                    * evicts the oldest of them (effective: at most max_connections) */
    double stream_negotiate_timeout; /* seconds for multistream-select on a new stream */
    double stream_idle_timeout;    /* seconds a negotiated stream may pass without data either way */
    struct rdv_addr_limits per_address; /* connections, handshake and request rates per source */
    /* output budget (p2p/output.c, docs/limits.md) */
    size_t max_output;             /* the same over all connections together */
    double output_stall_timeout;   /* close a connection whose socket takes nothing this long while output
                                    * waits, or that holds max_conn_output or more this long */
};
void rdv_host_limits_defaults(struct rdv_host_limits *l);
/* Takes from l what can change while connections live: the deadlines, max_handshakes, the
 * per-source connection and rate limits, and the output budget (a raised one wakes waiting streams).
 * The rest (max_connections, max_streams, max_stream_input, the source prefixes and table size)
 * stays as the host was made. Deadlines apply at each connection's next check. */
void rdv_host_reload_limits(struct rdv_host *h, const struct rdv_host_limits *l);
const struct rdv_host_limits *rdv_host_limits(const struct rdv_host *h);

/* What a protocol implementation gets. Only on_close is mandatory. The handler context given at
 * registration (or to rdv_conn_open_stream) is rdv_stream_handler_ctx(). */
struct rdv_stream_handler {
    void (*on_open)(struct rdv_stream *st);          /* negotiated: the stream is usable */
    void (*on_data)(struct rdv_stream *st);          /* new bytes in rdv_stream_input() */
    void (*on_eof)(struct rdv_stream *st);           /* the remote closed its side */
    void (*on_close)(struct rdv_stream *st, int err); /* last call; err 0 = orderly */
    /* Optional: the host's shutdown grace is over and the stream's connection closes shortly
     * (RDV_HOST_LAST_WORDS seconds): the last chance to answer what is still pending. */
    void (*on_shutdown)(struct rdv_stream *st);
};

struct rdv_host_stats {
    uint64_t connections;        /* live */
    uint64_t handshakes_ok, handshakes_failed;
    uint64_t streams_opened;
    /* inbound connections closed at once, by reason; accept() failures other than "try again" */
    uint64_t rejected_max_connections, rejected_shutting_down, rejected_no_fds;
    uint64_t accept_errors;
    uint64_t protocol_errors;    /* connections ended for a protocol violation, GoAway sent */
    uint64_t goaways_received;   /* peers that told us they are closing */
    /* lifetime and per-source limits (p2p/lifetime.c) */
    uint64_t handshaking;        /* live inbound connections still in their handshake */
    uint64_t sources;            /* entries in the per-source table */
    uint64_t handshakes_aborted; /* the peer closed (or reset) before its handshake finished */
    uint64_t rejected_per_address_connections, rejected_per_address_rate, rejected_address_table_full;
    uint64_t rejected_max_handshakes; /* newcomers refused at max-handshakes: every half-open one was lighter */
    uint64_t evicted_handshaking, evicted_heaviest_source; /* dropped to make room for a newcomer */
    uint64_t timeouts_handshake, timeouts_stream_negotiation, timeouts_stream_idle, timeouts_idle;
    uint64_t requests_rate_limited; /* requests refused (stream reset) over per-address-request-rate */
    /* output budget (p2p/output.c) */
    uint64_t output_queued;        /* bytes queued for all connections */
    uint64_t output_waits;         /* streams parked: their connection (or the host) was over its budget */
    uint64_t output_refused;       /* writes refused past twice a budget (the stream is reset) */
    uint64_t timeouts_output_stall; /* connections closed: a reader that took nothing (or stayed over) */
};
/* The smallest output budget that holds one maximal answer (4 MiB, the largest message libp2p stacks
 * read) with its framing. */
#define RDV_HOST_MIN_CONN_OUTPUT ((size_t)(4u << 20) + 65536u)
#define RDV_HOST_LAST_WORDS 0.25 /* seconds after on_shutdown before the connections close */
#define RDV_HOST_LOG_EVERY 10.0 /* seconds between log lines about refused connections */

int rdv_host_new(struct ev_loop *loop, const struct rdv_privkey *key, const struct rdv_host_limits *limits,
                 const struct rdv_log *log, struct rdv_host **out);
void rdv_host_free(struct rdv_host *h);
const struct rdv_peerid *rdv_host_peer_id(const struct rdv_host *h);
const struct rdv_privkey *rdv_host_key(const struct rdv_host *h);
const struct rdv_log *rdv_host_log(const struct rdv_host *h);
struct ev_loop *rdv_host_loop(const struct rdv_host *h);
const struct rdv_host_stats *rdv_host_stats(const struct rdv_host *h);

/* For an application that runs its own poll(2) loop around ours: up to max descriptors the host
 * waits on (listeners and connections, with POLLIN, plus POLLOUT while output waits), and in
 * *next the seconds until the earliest connection timer (handshake, idle) if that is sooner than
 * *next on entry. Returns the number of descriptors the host has (may exceed max: then only max
 * were written). */
struct pollfd;
size_t rdv_host_pollfds(const struct rdv_host *h, struct pollfd *fds, size_t max, double *next);

/* Registers a protocol served on inbound streams. */
int rdv_host_handle(struct rdv_host *h, const char *protocol, const struct rdv_stream_handler *handler, void *ctx);
/* Number and ids of the registered protocols (for identify). */
size_t rdv_host_protocols(const struct rdv_host *h, const char *const **out);

/* Listens on a binary /ip4|ip6/.../tcp/PORT multiaddr (port 0 picks one). */
int rdv_host_listen(struct rdv_host *h, const uint8_t *ma, size_t len);
/* The addresses we listen on, as binary multiaddrs with the real port; unspecified addresses
 * (0.0.0.0, ::) are expanded to the machine's interface addresses. Returns the count. */
size_t rdv_host_listen_addrs(const struct rdv_host *h, struct rdv_buf *addrs, size_t max);
/* Our signed peer record for identify: sealed from rdv_host_listen_addrs; call after listening. */
int rdv_host_update_record(struct rdv_host *h);
void rdv_host_signed_record(const struct rdv_host *h, const uint8_t **p, size_t *len);

/* Stops accepting, sends GoAway on every connection and closes each once its output is flushed
 * (or after `grace` seconds). `done` is called when no connection is left. */
void rdv_host_shutdown(struct rdv_host *h, double grace, void (*done)(void *arg), void *arg);
/* The client's way out, once its requests are answered: stops accepting; each connection stays
 * up while the peer has a stream open to us (its identify of us, say) and until it has been quiet
 * for `quiet` seconds, then GoAway, half-close, close at the peer's FIN; all within `grace`. */
void rdv_host_linger(struct rdv_host *h, double quiet, double grace, void (*done)(void *arg), void *arg);

/* Dials a /ip4|ip6/.../tcp/PORT[/p2p/ID] multiaddr. expected (may be NULL; else taken from /p2p)
 * is the peer the remote must prove to be. cb gets the open connection, or NULL and an error. */
typedef void (*rdv_dial_cb)(void *arg, struct rdv_conn *conn, int err);
int rdv_host_dial(struct rdv_host *h, const uint8_t *ma, size_t len, const struct rdv_peerid *expected,
                  rdv_dial_cb cb, void *arg);

const struct rdv_peerid *rdv_conn_remote_peer(const struct rdv_conn *c);
/* The remote's address as text, for logs. */
const char *rdv_conn_remote_addr(const struct rdv_conn *c);
const char *rdv_conn_local_addr(const struct rdv_conn *c);
void rdv_conn_close(struct rdv_conn *c);
/* Opens an outbound stream and negotiates `protocol`; handler->on_open fires once it is agreed,
 * on_close(err) if it is refused. Writes before on_open are queued. */
int rdv_conn_open_stream(struct rdv_conn *c, const char *protocol, const struct rdv_stream_handler *handler,
                         void *ctx, struct rdv_stream **out);
/* The same with a lazy proposal: first (n bytes, may be 0) goes out in the same write as the
 * multistream header and the proposal, before the listener has agreed, so a request costs one
 * round trip instead of two. Should the listener refuse the protocol, it reads those bytes as a
 * further proposal and the stream fails as a refusal does (on_close(RDV_ERR_NOT_FOUND)). */
int rdv_conn_open_stream_lazy(struct rdv_conn *c, const char *protocol, const struct rdv_stream_handler *handler,
                              void *ctx, const void *first, size_t n, struct rdv_stream **out);

/* Spends one request of the stream's source (per-address-request-rate); false: over the rate, the
 * caller refuses the request (rendezvous: stream reset). Outbound and unlimited streams: true. */
bool rdv_stream_admit_request(struct rdv_stream *st);
/* True when the stream's connection, or all connections together, hold their output budget or more:
 * the caller should not start a request that answers on it now. The stream is parked; its handler's
 * on_data runs again once there is room (from a check watcher, outside other callbacks). */
bool rdv_stream_output_wait(struct rdv_stream *st);

struct rdv_buf *rdv_stream_input(struct rdv_stream *st);
int rdv_stream_write(struct rdv_stream *st, const void *p, size_t n);
/* Half-close our side (FIN after queued data). */
int rdv_stream_close(struct rdv_stream *st);
void rdv_stream_reset(struct rdv_stream *st);
struct rdv_conn *rdv_stream_conn(const struct rdv_stream *st);
const char *rdv_stream_protocol(const struct rdv_stream *st);
void *rdv_stream_handler_ctx(const struct rdv_stream *st);
void *rdv_stream_get_user(const struct rdv_stream *st);
void rdv_stream_set_user(struct rdv_stream *st, void *user);

#endif
