/* host_internal.h: what the three files of the connection layer share, and nobody else sees:
 * host.c (the host: protocols, listeners, dialing, the reaper), conn.c (one connection's
 * socket, buffers, timers and upgrade state machine) and stream.c (streams over yamux).
 * Objects are freed in two steps: flagged dead, then released by the host's prepare watcher,
 * so no callback up the stack ever sees freed memory. */
#ifndef RDV_HOST_INTERNAL_H
#define RDV_HOST_INTERNAL_H

#include "util/list.h"
#include "util/ratelog.h"
#include <sys/socket.h>

#include "p2p/host.h"
#include "p2p/multiaddr.h"
#include "p2p/multistream.h"
#include "p2p/noise.h"
#include "p2p/yamux.h"

enum conn_state {
    CONN_CONNECTING,   /* outbound TCP connect in progress */
    CONN_MSS_SECURITY, /* negotiating /noise in the clear */
    CONN_NOISE,        /* Noise handshake */
    CONN_MSS_MUXER,    /* negotiating /yamux/1.0.0 inside Noise */
    CONN_OPEN,         /* yamux session up: streams flow */
    CONN_CLOSING,      /* GoAway sent: serving the streams left, flushing output */
    CONN_DRAINING,     /* all sent, half-closed (SHUT_WR): waiting briefly for the peer's FIN */
    CONN_DEAD,         /* on the host's dead list, freed from the prepare watcher */
};

struct proto_entry {
    char *id;
    const struct rdv_stream_handler *handler;
    void *ctx;
};

struct listener {
    ev_io io;
    struct rdv_host *host;
    int fd;
    uint8_t ma[64];
    size_t ma_len;
};

struct rdv_host {
    struct ev_loop *loop;
    struct rdv_privkey key;
    struct rdv_noise_identity noise_id; /* static Noise key + signed payload, per host */
    struct rdv_peerid self;
    struct rdv_host_limits limits;
    const struct rdv_log *log;
    struct listener listeners[RDV_HOST_MAX_LISTENERS];
    size_t nlisteners;
    struct proto_entry protos[RDV_HOST_MAX_PROTOCOLS];
    const char *proto_ids[RDV_HOST_MAX_PROTOCOLS];
    size_t nprotos;
    rdv_list conns;             /* live connections (rdv_conn.link) */
    rdv_list dead;              /* closed, freed by `reaper` */
    struct rdv_stream *dead_streams; /* closed, freed by `reaper` */
    ev_prepare reaper;
    struct rdv_host_stats stats;
    struct rdv_buf record;      /* our signed peer record */
    bool shutting_down, last_words_said;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    ev_timer shutdown_timer;
    int spare_fd;               /* /dev/null, given up to accept-and-close when out of descriptors */
    struct rdv_ratelog refused_log, evicted_log, stalled_log; /* one line per RDV_HOST_LOG_EVERY seconds each */
    /* lifetime.c: inbound connections in their handshake, oldest first; the per-source table */
    rdv_list handshaking;
    struct rdv_addr_table sources;
    /* output.c: queued output of all connections, the connections with parked streams */
    size_t out_total;
    rdv_list held_conns;
    ev_check output_waker;         /* runs parked streams again once there is room */
    ev_idle output_nudge;
};

struct rdv_conn {
    struct rdv_host *host;
    struct rdv_list_node link;  /* on host->conns while live, then on host->dead */
    enum conn_state state;
    bool outbound;
    bool in_process;           /* inside conn_process: flushes happen at its end */
    int fd;
    ev_io rio, wio;
    ev_timer timer;            /* handshake deadline, then idle checks */
    ev_tstamp last_activity;
    double linger_quiet;       /* > 0: closing as a client that is done (rdv_conn_linger) */
    struct rdv_buf rbuf, wbuf, plain_in, plain_out;
    struct rdv_mss mss;
    struct rdv_noise_session *noise;
    struct rdv_yamux *mux;
    struct rdv_peerid expected;
    bool has_expected;
    rdv_dial_cb dial_cb;
    void *dial_arg;
    char addr_text[RDV_MA_MAX_TEXT];
    char local_text[RDV_MA_MAX_TEXT];
    /* lifetime.c */
    struct rdv_list_node hs_link; /* on host->handshaking while an inbound handshake runs */
    struct rdv_addr_entry *source; /* inbound: the per-source entry this connection holds */
    rdv_list streams;              /* its rdv_streams (rdv_stream.conn_link), for their deadlines */
    /* output.c */
    size_t out_queued;             /* its queued output at the last count (rdv_output_account) */
    ev_tstamp waiting_since;       /* > 0: output has waited since (queued, at the last count) */
    ev_tstamp last_sent;           /* the socket last took bytes */
    ev_tstamp over_since;          /* > 0: at or over max_conn_output since */
    rdv_list held;                 /* its streams parked by rdv_stream_output_wait */
    struct rdv_list_node held_link; /* on host->held_conns while it has parked streams */
};

struct rdv_stream {
    struct rdv_conn *conn;
    struct rdv_yamux_stream *ys;
    struct rdv_mss mss;
    const char *dial_proto;     /* outbound: the protocol proposed */
    const struct rdv_stream_handler *handler;
    void *ctx, *user;
    bool negotiated, outbound, eof;
    struct rdv_buf in;          /* negotiated bytes for the handler */
    struct rdv_buf early_out;   /* outbound writes queued until negotiated */
    struct rdv_stream *next_dead;
    /* lifetime.c */
    struct rdv_list_node conn_link; /* on conn->streams until closed */
    ev_tstamp opened, last_activity;
    struct rdv_list_node held_link; /* output.c: on conn->held while parked */
};

/* host.c */
const struct proto_entry *rdv_host_find_proto(const struct rdv_host *h, const char *id);

/* conn.c */
struct rdv_conn *rdv_conn_accepted(struct rdv_host *h, int fd, const struct sockaddr_storage *ss);
struct rdv_conn *rdv_conn_dialing(struct rdv_host *h, int fd, const struct sockaddr_storage *ss,
                                  const struct rdv_peerid *expected, rdv_dial_cb cb, void *arg);
/* Step one of closing: stop all I/O, report, hand the memory to the reaper. */
void rdv_conn_fail(struct rdv_conn *c, int err, const char *why);
/* Step two, from the reaper. */
void rdv_conn_free(struct rdv_conn *c);
/* Closes once the peer has left no stream open and sent nothing for `quiet` seconds: the
 * polite end of a client connection (see rdv_host_linger). */
void rdv_conn_linger(struct rdv_conn *c, double quiet);
/* Pulls stream output from yamux through Noise to the socket while the socket keeps up. */
void rdv_conn_flush(struct rdv_conn *c);
void rdv_sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t cap);

/* lifetime.c: connection and stream deadlines, the handshake cap and per-source admission */
void rdv_lifetime_host_init(struct rdv_host *h);
void rdv_lifetime_host_free(struct rdv_host *h);
/* Admission of an accepted socket from ss: makes room (evicting) or refuses, counting why.
 * Returns the source entry to give rdv_lifetime_accepted, or NULL and *why: close the socket. */
struct rdv_addr_entry *rdv_lifetime_admit(struct rdv_host *h, const struct sockaddr_storage *ss, const char **why);
void rdv_lifetime_accepted(struct rdv_conn *c, struct rdv_addr_entry *src);
void rdv_lifetime_refused(struct rdv_host *h, struct rdv_addr_entry *src); /* admitted, not kept */
/* host.c: a rate-limited warning about a refused or evicted connection */
void rdv_host_log_limited(struct rdv_host *h, struct rdv_ratelog *r, const char *what, const char *why);
void rdv_lifetime_conn_init(struct rdv_conn *c);
void rdv_lifetime_conn_open(struct rdv_conn *c);   /* the upgrade finished */
void rdv_lifetime_conn_gone(struct rdv_conn *c);   /* from rdv_conn_fail */
void rdv_lifetime_aborted(struct rdv_conn *c);     /* the peer closed during the handshake */
void rdv_lifetime_check(struct rdv_conn *c);       /* the conn timer, once open: deadlines */
void rdv_lifetime_stream_added(struct rdv_stream *st);
void rdv_lifetime_stream_gone(struct rdv_stream *st);
void rdv_lifetime_stream_touch(struct rdv_stream *st); /* stream data in or out */
/* Makes the connection timer fire within `in` seconds (an open connection's new deadline). */
void rdv_lifetime_due(struct rdv_conn *c, double in);

/* output.c: the output budget (per connection and in all), backpressure, stalled readers */
void rdv_output_host_init(struct rdv_host *h);
void rdv_output_host_free(struct rdv_host *h);
void rdv_output_limits_changed(struct rdv_host *h); /* the budgets changed: wake what may now go */
void rdv_output_conn_init(struct rdv_conn *c);
void rdv_output_conn_gone(struct rdv_conn *c);     /* from rdv_conn_fail, once CONN_DEAD */
void rdv_output_stream_gone(struct rdv_stream *st);
/* Re-counts c's queued output after a flush; wakes parked streams once there is room. */
void rdv_output_account(struct rdv_conn *c);
/* False (counted) when n more bytes would pass twice a budget: the write is refused. */
bool rdv_output_may_write(struct rdv_conn *c, size_t n);
/* From the socket writer: the socket took bytes. */
void rdv_output_sent(struct rdv_conn *c);
/* Seconds until the connection's output deadline (INFINITY: none), and which one in *why. */
double rdv_output_deadline(const struct rdv_conn *c, ev_tstamp now, const char **why);

/* stream.c */
extern const struct rdv_yamux_callbacks rdv_stream_mux_callbacks;

#endif
