/* fuzz_conn.c: a STATEFUL run of one whole inbound server connection, as rendezvousd serves it:
 * a real rdv_host on a libev loop (identify, ping and the rendezvous protocols of all three
 * dialects over a memory store), and one accepted connection on a socketpair. The harness is the
 * remote peer: it speaks multistream-select, runs a client Noise session of its own (a fixed
 * ed25519 identity) and decrypts what the server sends, so the fuzzer's bytes reach whichever
 * layer byte 0 picks:
 *   byte 0 bits 0-1: 0 raw bytes from the first byte on (multistream, an HTTP request, ...);
 *                    1 raw bytes after "/noise" is agreed (the Noise handshake messages);
 *                    2 plaintext inside Noise (the muxer negotiation), encrypted by the harness;
 *                    3 yamux, after "/yamux/1.0.0" is agreed: the chunks below.
 *          bit 2: the harness acknowledges the server's data with window updates (a reader that
 *                 keeps up) or not (a reader that never reads).
 *          bit 3: a tight output budget (max_conn_output 192 B, max_output 576 B, src/p2p/output.c):
 *                 a few answers fill it, so requests are parked and woken as the harness's window
 *                 updates drain it, and writes past twice it are refused (their streams reset).
 * Then chunks `tag len bytes[len]`; in stages 0-2 each chunk is sent as it is. In stage 3, tag bits
 * 0-2 say what the chunk is, bits 3-5 pick the stream (ids 1, 3, ... 15):
 *   0 raw plaintext (yamux frames as the fuzzer writes them);
 *   1 open the stream (SYN) and propose protocol bytes[0] (the three dialects, identify, ping,
 *     an unknown one), the multistream header and the proposal in one data frame;
 *   2 a data frame on the stream carrying one length-prefixed message: the bytes;
 *   3 a data frame with a valid REGISTER of dialect bytes[0] % 3 for namespace bytes[1] % 4, ttl
 *     bytes[2] (0: the default), signed by the harness's identity so it passes the checks;
 *   4 a data frame with a DISCOVER of dialect bytes[0] % 3, namespace bytes[1] % 5, limit bytes[2];
 *   5 a window update on the stream: flags bytes[0] & 0xf (SYN ACK FIN RST), delta bytes[1..4];
 *   6 a session frame: ping (bytes[0] & 1: ACK) or, for bytes[0] & 2, a GoAway;
 *   7 a data frame on the stream with the bytes unprefixed (a message cut anywhere).
 * After every chunk the loop runs until neither side moves. Checked beyond "no crash, no leak, no
 * UB": the handshake the harness drives succeeds; everything the server sends after it decrypts
 * and parses as yamux frames of version 0 with a known type; the connection and every stream are
 * freed when the peer goes. */
#include <ev.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "p2p/builtin.h"
#include "p2p/host_internal.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "p2p/record_kind.h"
#include "rendezvous/server.h"
#include "rendezvous/wire.h"
#include "store/memory.h"
#include "util/err.h"

#define NNS 5 /* 4 namespaces + all */
static const char *const NSS[NNS] = {"a", "rs/1/mix", "waku/x", "\xc3\xa9t\xc3\xa9", ""};
#define NPROTOS 6
static const char *protos[NPROTOS];
#define PUMP_ROUNDS 64 /* loop turns per chunk; each moves at least one byte or we stop earlier */

static int inited;
static struct ev_loop *loop;
static struct rdv_privkey server_key, client_key;
static struct rdv_noise_identity client_ni;
static struct rdv_buf peer_rec, waku_rec;

static void fixed_key(struct rdv_privkey *key, uint8_t fill)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], seed[crypto_sign_SEEDBYTES];
    uint8_t proto[4 + crypto_sign_SECRETKEYBYTES] = {0x08, 0x01, 0x12, crypto_sign_SECRETKEYBYTES};
    memset(seed, fill, sizeof(seed));
    FUZZ_ASSERT(crypto_sign_seed_keypair(pk, sk, seed) == 0);
    memcpy(proto + 4, sk, sizeof(sk));
    FUZZ_ASSERT(rdv_privkey_unmarshal(proto, sizeof(proto), key) == RDV_OK);
}

static void init(void)
{
    static const uint8_t ma[] = {0x04, 127, 0, 0, 1, 0x06, 0x10, 0x00};
    FUZZ_ASSERT(sodium_init() >= 0);
    fixed_key(&server_key, 0x5e);
    fixed_key(&client_key, 0xc1);
    FUZZ_ASSERT(rdv_noise_identity_init(&client_ni, &client_key) == RDV_OK);
    struct rdv_record_summary s;
    memset(&s, 0, sizeof(s));
    s.seq = 1;
    s.naddrs = 1;
    s.addrs[0] = (struct rdv_record_addr){ma, sizeof(ma)};
    s.mix_key = (const uint8_t *)"0x00";
    s.mix_key_len = 4;
    rdv_buf_init(&peer_rec, 0);
    rdv_buf_init(&waku_rec, 0);
    FUZZ_ASSERT(rdv_record_seal(&rdv_record_kind_peer, &client_key, &s, &peer_rec) == RDV_OK);
    FUZZ_ASSERT(rdv_record_seal(&rdv_record_kind_waku, &client_key, &s, &waku_rec) == RDV_OK);
    for (unsigned d = 0; d < RDV_DIALECT_COUNT; d++)
        protos[d] = rdv_dialect_get(d)->protocol;
    protos[3] = "/ipfs/id/1.0.0";
    protos[4] = "/ipfs/ping/1.0.0";
    protos[5] = "/nope/1.0.0";
    loop = ev_loop_new(EVFLAG_AUTO);
    FUZZ_ASSERT(loop);
    inited = 1;
}

static int64_t now_ms;
static int64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

/* The remote peer's side of the connection. */
struct peer {
    int fd;
    struct rdv_mss mss;
    struct rdv_noise_session *noise;
    struct rdv_buf in, out, plain; /* socket input, output to encrypt or send, decrypted input */
    bool acks;                   /* answer the server's data with window updates */
    bool dead;                   /* the server closed or broke the channel */
};

static void peer_send_raw(struct peer *p, const uint8_t *b, size_t n)
{
    while (n > 0 && !p->dead) {
        ssize_t w = send(p->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            p->dead = true; /* full or closed: a socketpair this test never fills is closed */
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

/* Encrypts plaintext; only valid once the handshake is done. */
static void peer_send_plain(struct peer *p, const uint8_t *b, size_t n)
{
    struct rdv_buf w;
    rdv_buf_init(&w, 0);
    FUZZ_ASSERT(rdv_noise_send(p->noise, b, n, &w) == RDV_OK);
    if (w.len)
        peer_send_raw(p, rdv_buf_head(&w), w.len);
    rdv_buf_free(&w);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void yamux_header(uint8_t h[RDV_YAMUX_HEADER_LEN], uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
    h[0] = 0;
    h[1] = type;
    h[2] = (uint8_t)(flags >> 8);
    h[3] = (uint8_t)flags;
    put32(h + 4, id);
    put32(h + 8, len);
}

/* The server's yamux frames: well formed, always; with acks, each data frame is credited back. */
static void peer_check_frames(struct peer *p)
{
    while (p->plain.len >= RDV_YAMUX_HEADER_LEN) {
        const uint8_t *h = rdv_buf_head(&p->plain);
        uint32_t len = get32(h + 8);
        FUZZ_ASSERT(h[0] == 0 && h[1] <= RDV_YAMUX_GO_AWAY);
        size_t body = h[1] == RDV_YAMUX_DATA ? len : 0;
        if (p->plain.len < RDV_YAMUX_HEADER_LEN + body)
            return;
        if (p->acks && h[1] == RDV_YAMUX_DATA && len > 0) {
            uint8_t wu[RDV_YAMUX_HEADER_LEN];
            yamux_header(wu, RDV_YAMUX_WINDOW_UPDATE, 0, get32(h + 4), len);
            rdv_buf_append(&p->out, wu, sizeof(wu));
        }
        rdv_buf_consume(&p->plain, RDV_YAMUX_HEADER_LEN + body);
    }
}

/* Reads what the server sent; returns the number of bytes read. */
static size_t peer_read(struct peer *p, bool yamux)
{
    size_t total = 0;
    for (;;) {
        FUZZ_ASSERT(rdv_buf_reserve(&p->in, 65536) == RDV_OK);
        ssize_t n = recv(p->fd, rdv_buf_tail(&p->in), 65536, 0);
        if (n <= 0) {
            if (n == 0)
                p->dead = true;
            break;
        }
        rdv_buf_commit(&p->in, (size_t)n);
        total += (size_t)n;
    }
    if (yamux && p->in.len) {
        size_t used = 0;
        struct rdv_buf wire;
        rdv_buf_init(&wire, 0);
        int err = rdv_noise_recv(p->noise, rdv_buf_head(&p->in), p->in.len, &used, &wire, &p->plain);
        FUZZ_ASSERT(err == RDV_OK && wire.len == 0);
        rdv_buf_free(&wire);
        rdv_buf_consume(&p->in, used);
        peer_check_frames(p);
        if (p->out.len) {
            peer_send_plain(p, rdv_buf_head(&p->out), p->out.len);
            rdv_buf_reset(&p->out);
        }
    }
    return total;
}

/* Runs the loop until neither the server nor the peer has anything left to say. */
static void pump(struct peer *p, bool yamux)
{
    for (int i = 0; i < PUMP_ROUNDS; i++) {
        ev_run(loop, EVRUN_NOWAIT);
        if (peer_read(p, yamux) == 0 && i > 0)
            break;
    }
}

/* multistream-select for proto on the raw socket, or (plain) inside Noise. */
static void peer_negotiate(struct peer *p, const char *proto, bool plain)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    FUZZ_ASSERT(rdv_mss_dialer_init(&p->mss, proto, &b) == RDV_OK);
    if (plain)
        peer_send_plain(p, rdv_buf_head(&b), b.len);
    else
        peer_send_raw(p, rdv_buf_head(&b), b.len);
    rdv_buf_reset(&b);
    pump(p, false);
    const struct rdv_buf *src = &p->in;
    if (plain) {
        size_t used = 0;
        struct rdv_buf wire;
        rdv_buf_init(&wire, 0);
        FUZZ_ASSERT(rdv_noise_recv(p->noise, rdv_buf_head(&p->in), p->in.len, &used, &wire, &p->plain) == RDV_OK);
        rdv_buf_free(&wire);
        rdv_buf_consume(&p->in, used);
        src = &p->plain;
    }
    size_t used = 0;
    FUZZ_ASSERT(rdv_mss_recv(&p->mss, rdv_buf_head(src), src->len, &used, &b) == RDV_OK && rdv_mss_done(&p->mss));
    rdv_buf_consume((struct rdv_buf *)src, used);
    rdv_buf_free(&b);
}

static void peer_noise(struct peer *p)
{
    struct rdv_buf wire;
    rdv_buf_init(&wire, 0);
    FUZZ_ASSERT(rdv_noise_session_new_with(RDV_NOISE_INITIATOR, &client_ni, NULL, &p->noise) == RDV_OK);
    FUZZ_ASSERT(rdv_noise_start(p->noise, &wire) == RDV_OK);
    peer_send_raw(p, rdv_buf_head(&wire), wire.len);
    rdv_buf_reset(&wire);
    pump(p, false);
    size_t used = 0;
    FUZZ_ASSERT(rdv_noise_recv(p->noise, rdv_buf_head(&p->in), p->in.len, &used, &wire, &p->plain) == RDV_OK);
    rdv_buf_consume(&p->in, used);
    FUZZ_ASSERT(rdv_noise_ready(p->noise));
    peer_send_raw(p, rdv_buf_head(&wire), wire.len);
    rdv_buf_free(&wire);
    pump(p, false);
}

/* A data frame on stream id: header + body in one write. */
static void peer_data(struct peer *p, uint32_t id, uint16_t flags, const uint8_t *body, size_t n)
{
    uint8_t h[RDV_YAMUX_HEADER_LEN];
    yamux_header(h, RDV_YAMUX_DATA, flags, id, (uint32_t)n);
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, h, sizeof(h));
    rdv_buf_append(&b, body, n);
    peer_send_plain(p, rdv_buf_head(&b), b.len);
    rdv_buf_free(&b);
}

static void peer_message(struct peer *p, uint32_t id, const uint8_t *msg, size_t n)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_append_uvarint(&b, n);
    rdv_buf_append(&b, msg, n);
    peer_data(p, id, 0, rdv_buf_head(&b), b.len);
    rdv_buf_free(&b);
}

static void peer_request(struct peer *p, uint32_t id, const struct rdv_dialect *d, const struct rdv_wire_request *q)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    FUZZ_ASSERT(rdv_wire_encode_request(d->wire, q, &b) == RDV_OK);
    peer_message(p, id, rdv_buf_head(&b), b.len);
    rdv_buf_free(&b);
}

static void chunk_open(struct peer *p, uint32_t id, const uint8_t *c, size_t n)
{
    uint8_t h[RDV_YAMUX_HEADER_LEN];
    yamux_header(h, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_SYN, id, 0);
    peer_send_plain(p, h, sizeof(h));
    struct rdv_mss m;
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    FUZZ_ASSERT(rdv_mss_dialer_init(&m, protos[n ? c[0] % NPROTOS : 0], &b) == RDV_OK);
    peer_data(p, id, 0, rdv_buf_head(&b), b.len);
    rdv_buf_free(&b);
}

static void chunk_register(struct peer *p, uint32_t id, const uint8_t *c, size_t n)
{
    const struct rdv_dialect *d = rdv_dialect_get(n ? c[0] % RDV_DIALECT_COUNT : 0);
    const char *ns = NSS[n > 1 ? c[1] % 4 : 0];
    const struct rdv_buf *rec = d->record->id == RDV_RECORD_WAKU ? &waku_rec : &peer_rec;
    struct rdv_wire_request q = {.type = RDV_REQ_REGISTER, .ns = {(const uint8_t *)ns, strlen(ns)},
                                 .record = {rdv_buf_head(rec), rec->len}, .has_ttl = n > 2 && c[2], .ttl = n > 2 ? c[2] : 0};
    peer_request(p, id, d, &q);
}

static void chunk_discover(struct peer *p, uint32_t id, const uint8_t *c, size_t n)
{
    const struct rdv_dialect *d = rdv_dialect_get(n ? c[0] % RDV_DIALECT_COUNT : 0);
    const char *ns = NSS[n > 1 ? c[1] % NNS : 0];
    struct rdv_wire_request q = {.type = RDV_REQ_DISCOVER, .ns = {(const uint8_t *)ns, strlen(ns)},
                                 .has_limit = n > 2, .limit = n > 2 ? c[2] : 0};
    peer_request(p, id, d, &q);
}

static void chunk_window(struct peer *p, uint32_t id, const uint8_t *c, size_t n)
{
    uint8_t h[RDV_YAMUX_HEADER_LEN];
    yamux_header(h, RDV_YAMUX_WINDOW_UPDATE, n ? c[0] & 0xf : RDV_YAMUX_FIN, id, n >= 5 ? get32(c + 1) : 0);
    peer_send_plain(p, h, sizeof(h));
}

static void chunk_session(struct peer *p, const uint8_t *c, size_t n)
{
    uint8_t h[RDV_YAMUX_HEADER_LEN];
    uint8_t how = n ? c[0] : 0;
    if (how & 2)
        yamux_header(h, RDV_YAMUX_GO_AWAY, 0, 0, n > 1 ? c[1] % 3 : 0);
    else
        yamux_header(h, RDV_YAMUX_PING, how & 1 ? RDV_YAMUX_ACK : RDV_YAMUX_SYN, 0, n >= 5 ? get32(c + 1) : 7);
    peer_send_plain(p, h, sizeof(h));
}

static void yamux_chunk(struct peer *p, uint8_t tag, const uint8_t *c, size_t n)
{
    uint32_t id = 1 + 2 * ((tag >> 3) & 7);
    switch (tag & 7) {
    case 0: peer_send_plain(p, c, n); break;
    case 1: chunk_open(p, id, c, n); break;
    case 2: peer_message(p, id, c, n); break;
    case 3: chunk_register(p, id, c, n); break;
    case 4: chunk_discover(p, id, c, n); break;
    case 5: chunk_window(p, id, c, n); break;
    case 6: chunk_session(p, c, n); break;
    default: peer_data(p, id, 0, c, n); break;
    }
}

static struct rdv_conn *accept_one(struct rdv_host *h, int fd)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(0x7f000001);
    s4->sin_port = htons(4242);
    return rdv_conn_accepted(h, fd, &ss);
}

static void run(struct rdv_host *h, const uint8_t *data, size_t size)
{
    int fds[2];
    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    struct peer p = {.fd = fds[1], .acks = size && (data[0] & 4)};
    rdv_buf_init(&p.in, 0);
    rdv_buf_init(&p.out, 0);
    rdv_buf_init(&p.plain, 0);
    FUZZ_ASSERT(accept_one(h, fds[0]));
    unsigned stage = size ? data[0] & 3 : 0;
    if (stage >= 1)
        peer_negotiate(&p, "/noise", false);
    if (stage >= 2)
        peer_noise(&p);
    if (stage >= 3)
        peer_negotiate(&p, RDV_YAMUX_PROTOCOL_ID, true);
    size_t pos = 1;
    while (pos + 2 <= size && !p.dead) {
        uint8_t tag = data[pos], len = data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = (uint8_t)(size - pos);
        const uint8_t *c = data + pos;
        pos += len;
        now_ms += 1000;
        if (stage == 3)
            yamux_chunk(&p, tag, c, len);
        else if (stage == 2)
            peer_send_plain(&p, c, len);
        else
            peer_send_raw(&p, c, len);
        pump(&p, stage == 3);
    }
    /* the peer goes: the server must notice and free the connection with its streams */
    close(p.fd);
    for (int i = 0; i < PUMP_ROUNDS && rdv_host_stats(h)->connections > 0; i++)
        ev_run(loop, EVRUN_NOWAIT);
    FUZZ_ASSERT(rdv_host_stats(h)->connections == 0);
    rdv_noise_session_free(p.noise);
    rdv_buf_free(&p.in);
    rdv_buf_free(&p.out);
    rdv_buf_free(&p.plain);
}

/* Budgets small enough that the fuzzer's requests reach them (the output budget's park, wake and
 * refusal paths); a real server never runs with less than one 4 MiB answer. */
static void tight_output(struct rdv_host_limits *lim)
{
    lim->max_conn_output = 192;
    lim->max_output = 576;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!inited)
        init();
    now_ms = 1700000000000;
    const struct rdv_clock clock = {clock_now, NULL};
    struct rdv_store *store = rdv_store_memory_new(&clock);
    FUZZ_ASSERT(store);
    struct rdv_host_limits lim;
    rdv_host_limits_defaults(&lim);
    lim.max_streams = 8; /* the fuzzer's 8 stream ids can reach the cap */
    if (size && (data[0] & 8))
        tight_output(&lim);
    struct rdv_host *h;
    FUZZ_ASSERT(rdv_host_new(loop, &server_key, &lim, NULL, &h) == RDV_OK);
    FUZZ_ASSERT(rdv_builtin_register(h) == RDV_OK);
    static struct rdv_rendezvous_server srv;
    memset(&srv, 0, sizeof(srv));
    for (unsigned d = 0; d < RDV_DIALECT_COUNT; d++) {
        struct rdv_service_config cfg;
        rdv_service_config_for(&cfg, rdv_dialect_get(d));
        rdv_rendezvous_server_enable(&srv, rdv_dialect_get(d), &cfg);
    }
    srv.store = store;
    srv.max_message = RDV_MAX_MESSAGE;
    FUZZ_ASSERT(rdv_rendezvous_server_register(h, &srv) == RDV_OK);
    run(h, data, size);
    rdv_host_free(h);
    rdv_store_close(store);
    return 0;
}
