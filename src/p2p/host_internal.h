/* host_internal.h: what the three files of the connection layer share, and nobody else sees:
 * host.c (the host: protocols, listeners, dialing, the reaper), conn.c (one connection's
 * socket, buffers, timers and upgrade state machine) and stream.c (streams over yamux).
 * Objects are freed in two steps: flagged dead, then released by the host's prepare watcher,
 * so no callback up the stack ever sees freed memory. */
#ifndef RDV_HOST_INTERNAL_H
#define RDV_HOST_INTERNAL_H

#include "util/list.h"
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
    bool shutting_down;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    ev_timer shutdown_timer;
    int spare_fd;               /* /dev/null, given up to accept-and-close when out of descriptors */
    ev_tstamp refused_logged;   /* last "refused" log line: one per RDV_HOST_LOG_EVERY seconds */
    uint64_t refused_unlogged;  /* refusals since that line */
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

/* stream.c */
extern const struct rdv_yamux_callbacks rdv_stream_mux_callbacks;

#endif
