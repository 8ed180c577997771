/* test_multistream.c: multistream-select 1.0 listener and dialer, byte-exact against the spec's
 * framing (uvarint(len) || text || '\n'), lazy negotiation, splitting, limits and hostile input. */
#include <stdlib.h>
#include <string.h>

#include "p2p/multistream.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

#define RV "/vac/waku/rendezvous/0.0.1"
/* 0x13 = 19 = strlen("/multistream/1.0.0\n"); 0x1b = 27 = strlen(RV "\n"). */
#define HDR_HEX "132f6d756c746973747265616d2f312e302e300a"
#define RV_HEX "1b2f7661632f77616b752f72656e64657a766f75732f302e302e310a"
#define NA_HEX "036e610a"

static const char *const protos[] = { "/ipfs/id/1.0.0", RV };

static void is_hex(const struct rdv_buf *b, const char *hex, const char *what)
{
    size_t n;
    unsigned char *want = tu_unhex(hex, &n);
    is_mem(rdv_buf_head(b), b->len, want, n, "%s", what);
    free(want);
}

/* Appends a message to a raw byte buffer (test input). */
static void msg(struct rdv_buf *b, const char *text)
{
    if (rdv_mss_write_msg(b, text) != RDV_OK)
        abort();
}

static void test_encoding(void)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    msg(&b, "na");
    is_hex(&b, NA_HEX, "\"na\" encodes as the spec's example 036e610a");
    rdv_buf_reset(&b);
    char big[RDV_MSS_MAX_MSG + 1];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    is_int(rdv_mss_write_msg(&b, big), RDV_ERR_TOO_LARGE, "a 1024-char text makes a 1025-byte message: refused");
    is_int(b.len, 0, "nothing half-written");
    big[RDV_MSS_MAX_MSG - 1] = 0;
    is_int(rdv_mss_write_msg(&b, big), RDV_OK, "1023 chars + newline = 1024 bytes: allowed");
    is_int(b.len, 2 + 1024, "two-byte prefix + 1024 bytes");
    rdv_buf_free(&b);
}

static void test_listener_lazy(void)
{
    struct rdv_mss m;
    struct rdv_buf in, out;
    rdv_buf_init(&in, 0);
    rdv_buf_init(&out, 0);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, RV);
    rdv_buf_append(&in, "APP", 3);
    rdv_mss_listener_init(&m, protos, 2);
    size_t used = 99;
    is_int(rdv_mss_recv(&m, rdv_buf_head(&in), in.len, &used, &out), RDV_OK, "lazy listener: ok");
    ok(rdv_mss_done(&m), "lazy listener: done in one chunk");
    is_int(used, in.len - 3, "the 3 application bytes are left to the caller");
    is_str(rdv_mss_protocol(&m), RV, "negotiated the rendezvous protocol");
    ok(rdv_mss_protocol(&m) == protos[1], "points into the caller's list");
    is_hex(&out, HDR_HEX RV_HEX, "answers header + echo, byte-exact");
    is_int(rdv_mss_recv(&m, (const uint8_t *)"x", 1, &used, &out), RDV_OK, "after done: ok");
    is_int(used, 0, "after done: consumes nothing");

    /* Byte by byte: every prefix must be accepted and consume exactly one byte. */
    rdv_mss_listener_init(&m, protos, 2);
    rdv_buf_reset(&out);
    size_t total = 0, steps_ok = 0, k;
    for (k = 0; k < in.len && !rdv_mss_done(&m); k++) {
        int rc = rdv_mss_recv(&m, rdv_buf_head(&in) + k, 1, &used, &out);
        steps_ok += rc == RDV_OK && used == 1;
        total += used;
    }
    is_int(steps_ok, in.len - 3, "byte by byte: each byte ok and consumed");
    is_int(total, in.len - 3, "byte by byte: stops at the end of the proposal");
    is_str(rdv_mss_protocol(&m), RV, "byte by byte: negotiated");
    is_hex(&out, HDR_HEX RV_HEX, "byte by byte: same answer");

    /* Two chunks split at every offset. */
    int all_ok = 1;
    for (size_t cut = 0; cut <= in.len; cut++) {
        rdv_mss_listener_init(&m, protos, 2);
        rdv_buf_reset(&out);
        size_t u1 = 0, u2 = 0;
        int rc = rdv_mss_recv(&m, rdv_buf_head(&in), cut, &u1, &out);
        if (rc == RDV_OK && !rdv_mss_done(&m))
            rc = rdv_mss_recv(&m, rdv_buf_head(&in) + u1, in.len - u1, &u2, &out);
        if (rc != RDV_OK || !rdv_mss_done(&m) || u1 + u2 != in.len - 3 || out.len != 20 + 28)
            all_ok = 0;
    }
    ok(all_ok, "split at every offset: same outcome");
    rdv_buf_free(&in);
    rdv_buf_free(&out);
}

/* Feeds `in` to a fresh listener of `protos`; returns the rc, fills out. */
static int feed_listener(struct rdv_mss *m, const struct rdv_buf *in, struct rdv_buf *out, size_t *used)
{
    rdv_mss_listener_init(m, protos, 2);
    rdv_buf_reset(out);
    return rdv_mss_recv(m, rdv_buf_head(in), in->len, used, out);
}

static void test_listener_na(void)
{
    struct rdv_mss m;
    struct rdv_buf in, out;
    size_t used;
    rdv_buf_init(&in, 0);
    rdv_buf_init(&out, 0);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, "/tls/1.0.0");
    is_int(feed_listener(&m, &in, &out, &used), RDV_OK, "unsupported proposal: ok");
    ok(!rdv_mss_done(&m), "not done");
    ok(rdv_mss_protocol(&m) == NULL, "no protocol yet");
    is_hex(&out, HDR_HEX NA_HEX, "answers header + na");
    rdv_buf_reset(&in);
    rdv_buf_reset(&out);
    msg(&in, RV);
    is_int(rdv_mss_recv(&m, rdv_buf_head(&in), in.len, &used, &out), RDV_OK, "second proposal ok");
    is_str(rdv_mss_protocol(&m), RV, "second proposal negotiated");
    is_hex(&out, RV_HEX, "echoed");

    /* ls is answered with na and the negotiation goes on. */
    rdv_buf_reset(&in);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, "ls");
    msg(&in, "/ipfs/id/1.0.0");
    is_int(feed_listener(&m, &in, &out, &used), RDV_OK, "ls then proposal: ok");
    is_str(rdv_mss_protocol(&m), "/ipfs/id/1.0.0", "ls then proposal: negotiated");
    is_hex(&out, HDR_HEX NA_HEX "0f2f697066732f69642f312e302e300a", "ls answered na, then the echo");

    /* A prefix of a supported id is not that id. */
    rdv_buf_reset(&in);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, "/ipfs/id/1.0");
    is_int(feed_listener(&m, &in, &out, &used), RDV_OK, "prefix of an id: ok");
    ok(!rdv_mss_done(&m), "prefix of an id: not accepted");

    /* Attempts are bounded. */
    rdv_buf_reset(&in);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    for (int i = 0; i < RDV_MSS_MAX_ATTEMPTS; i++)
        msg(&in, "/nope");
    msg(&in, RV);
    is_int(feed_listener(&m, &in, &out, &used), RDV_ERR_LIMIT, "16 refused proposals: limit");
    ok(!rdv_mss_done(&m), "limit: not done");
    is_int(rdv_mss_recv(&m, (const uint8_t *)"\x01", 1, &used, &out), RDV_ERR_LIMIT, "limit is sticky");
    rdv_buf_free(&in);
    rdv_buf_free(&out);
}

static void expect_listener_err(const char *hex, int want, const char *what)
{
    struct rdv_mss m;
    struct rdv_buf out;
    size_t n, used = 0;
    unsigned char *in = tu_unhex(hex, &n);
    rdv_buf_init(&out, 0);
    rdv_mss_listener_init(&m, protos, 2);
    is_int(rdv_mss_recv(&m, in, n, &used, &out), want, "%s", what);
    ok(used <= n && !rdv_mss_done(&m), "%s: not done", what);
    free(in);
    rdv_buf_free(&out);
}

static void test_listener_errors(void)
{
    /* "/multistream/2.0.0\n" */
    expect_listener_err("132f6d756c746973747265616d2f322e302e300a", RDV_ERR_PROTOCOL, "wrong header version");
    expect_listener_err("122f6d756c746973747265616d2f312e302e30", RDV_ERR_PROTOCOL, "header without newline");
    expect_listener_err(RV_HEX, RDV_ERR_PROTOCOL, "proposal before the header");
    /* the length prefix rules, on a proposal (the header's bytes are fixed: see below) */
    expect_listener_err(HDR_HEX "00", RDV_ERR_PROTOCOL, "zero-length message");
    expect_listener_err(HDR_HEX "8300", RDV_ERR_PROTOCOL, "non-minimal varint");
    expect_listener_err(HDR_HEX "8108", RDV_ERR_TOO_LARGE, "length 1025 refused before buffering");
    expect_listener_err(HDR_HEX "ffff", RDV_ERR_TOO_LARGE, "three-byte varint refused at its second byte");
    expect_listener_err(HDR_HEX "ffffffffffffffffff7f", RDV_ERR_TOO_LARGE, "huge varint");
    expect_listener_err("8108", RDV_ERR_PROTOCOL, "a header prefix other than 0x13: refused at once");
    expect_listener_err(HDR_HEX "8108", RDV_ERR_TOO_LARGE, "oversize proposal");
    expect_listener_err(HDR_HEX "036e61", RDV_OK, "truncated proposal waits for more");

    /* A 1024-byte message is within the limit. */
    struct rdv_mss m;
    struct rdv_buf in, out;
    size_t used;
    char big[RDV_MSS_MAX_MSG];
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    rdv_buf_init(&in, 0);
    rdv_buf_init(&out, 0);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, big);
    is_int(feed_listener(&m, &in, &out, &used), RDV_OK, "1024-byte proposal: parsed");
    is_hex(&out, HDR_HEX NA_HEX, "1024-byte proposal: na");
    is_int(used, in.len, "all consumed");
    rdv_buf_free(&in);
    rdv_buf_free(&out);
}

/* Not multistream-select at all: refused at the first byte that differs from the header, without
 * waiting for the rest of a "message" (an HTTP request's 'G' would be a 71-byte length). */
static void expect_refused_at(const char *in, size_t n, size_t at, const char *what)
{
    struct rdv_mss m;
    struct rdv_buf out;
    size_t used = 0;
    rdv_buf_init(&out, 0);
    rdv_mss_listener_init(&m, protos, 2);
    is_int(rdv_mss_recv(&m, (const uint8_t *)in, n, &used, &out), RDV_ERR_PROTOCOL, "%s: refused", what);
    ok(used <= at + 1 && out.len == 0, "%s: after %zu of %zu bytes, nothing answered", what, used, n);
    is_int(rdv_mss_recv(&m, (const uint8_t *)"\x13", 1, &used, &out), RDV_ERR_PROTOCOL, "%s: and stays failed", what);
    rdv_buf_free(&out);
}

static void test_listener_not_multistream(void)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_refused_at(http, sizeof(http) - 1, 0, "an HTTP request");
    expect_refused_at("\x16\x03\x01\x02\x00\x01", 6, 0, "a TLS ClientHello");
    expect_refused_at("\x13/multistream/2", 16, 15, "a header that differs in its 16th byte");
    expect_refused_at("\x13/multistream/1.0.0\r", 20, 19, "a header ending in CR");
    /* the real header, one byte at a time, is still answered */
    struct rdv_mss m;
    struct rdv_buf out;
    size_t used = 0, total = 0;
    static const char hdr[] = "\x13/multistream/1.0.0\n";
    int rc = RDV_OK;
    rdv_buf_init(&out, 0);
    rdv_mss_listener_init(&m, protos, 2);
    for (size_t i = 0; i < sizeof(hdr) - 1 && rc == RDV_OK; i++) {
        rc = rdv_mss_recv(&m, (const uint8_t *)hdr + i, 1, &used, &out);
        total += used;
    }
    is_int(rc, RDV_OK, "the header byte by byte: accepted");
    is_int(total, sizeof(hdr) - 1, "  every byte consumed");
    is_hex(&out, HDR_HEX, "  and answered");
    rdv_buf_free(&out);
}

static void test_dialer(void)
{
    struct rdv_mss m;
    struct rdv_buf in, out;
    size_t used;
    rdv_buf_init(&in, 0);
    rdv_buf_init(&out, 0);
    is_int(rdv_mss_dialer_init(&m, RV, &out), RDV_OK, "dialer init");
    is_hex(&out, HDR_HEX RV_HEX, "dialer writes header + proposal in one go");
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, RV);
    rdv_buf_append(&in, "\x05hello", 6);
    rdv_buf_reset(&out);
    is_int(rdv_mss_recv(&m, rdv_buf_head(&in), in.len, &used, &out), RDV_OK, "dialer: echo ok");
    ok(rdv_mss_done(&m), "dialer: done");
    is_str(rdv_mss_protocol(&m), RV, "dialer: protocol");
    is_int(used, in.len - 6, "dialer: application bytes left");
    is_int(out.len, 0, "dialer writes nothing more");

    rdv_buf_reset(&in);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, "na");
    rdv_buf_reset(&out);
    rdv_mss_dialer_init(&m, RV, &out);
    is_int(rdv_mss_recv(&m, rdv_buf_head(&in), in.len, &used, &out), RDV_ERR_NOT_FOUND, "dialer: na -> not found");
    ok(!rdv_mss_done(&m) && rdv_mss_protocol(&m) == NULL, "dialer: na -> no protocol");

    rdv_buf_reset(&in);
    msg(&in, RDV_MSS_PROTOCOL_ID);
    msg(&in, "/other/1.0.0");
    rdv_mss_dialer_init(&m, RV, &out);
    is_int(rdv_mss_recv(&m, rdv_buf_head(&in), in.len, &used, &out), RDV_ERR_PROTOCOL, "dialer: wrong echo -> protocol");
    rdv_buf_reset(&in);
    msg(&in, "na");
    rdv_mss_dialer_init(&m, RV, &out);
    is_int(rdv_mss_recv(&m, rdv_buf_head(&in), in.len, &used, &out), RDV_ERR_PROTOCOL, "dialer: na before header -> protocol");

    char big[RDV_MSS_MAX_MSG + 1];
    memset(big, 'a', RDV_MSS_MAX_MSG);
    big[RDV_MSS_MAX_MSG] = 0;
    rdv_buf_reset(&out);
    is_int(rdv_mss_dialer_init(&m, "", &out), RDV_ERR_INVALID, "dialer: empty id");
    is_int(rdv_mss_dialer_init(&m, "/a\n/b", &out), RDV_ERR_INVALID, "dialer: id with newline");
    is_int(rdv_mss_dialer_init(&m, big, &out), RDV_ERR_TOO_LARGE, "dialer: oversize id");
    is_int(out.len, 0, "dialer: nothing written on error");
    rdv_buf_free(&in);
    rdv_buf_free(&out);
}

/* Dialer and listener wired back to back, one byte per step in each direction. */
static int back_to_back(const char *proto, const char **got)
{
    struct rdv_mss d, l;
    struct rdv_buf d_out, l_out;
    rdv_buf_init(&d_out, 0);
    rdv_buf_init(&l_out, 0);
    rdv_mss_listener_init(&l, protos, 2);
    int rc = rdv_mss_dialer_init(&d, proto, &d_out);
    for (int guard = 0; rc == RDV_OK && guard < 10000 && !(rdv_mss_done(&d) && rdv_mss_done(&l)); guard++) {
        size_t used;
        if (d_out.len) {
            rc = rdv_mss_recv(&l, rdv_buf_head(&d_out), 1, &used, &l_out);
            rdv_buf_consume(&d_out, used ? used : d_out.len);
        } else if (l_out.len) {
            rc = rdv_mss_recv(&d, rdv_buf_head(&l_out), 1, &used, &d_out);
            rdv_buf_consume(&l_out, used ? used : l_out.len);
        } else {
            break;
        }
    }
    *got = rdv_mss_done(&d) && rdv_mss_done(&l) && strcmp(rdv_mss_protocol(&d), rdv_mss_protocol(&l)) == 0
        ? rdv_mss_protocol(&d) : NULL;
    rdv_buf_free(&d_out);
    rdv_buf_free(&l_out);
    return rc;
}

static void test_back_to_back(void)
{
    const char *got;
    is_int(back_to_back(RV, &got), RDV_OK, "back to back: ok");
    is_str(got, RV, "back to back: both agree");
    is_int(back_to_back("/meshsub/1.1.0", &got), RDV_ERR_NOT_FOUND, "back to back, unsupported: dialer not found");
    ok(got == NULL, "back to back, unsupported: nothing agreed");
}

int main(void)
{
    test_encoding();
    test_listener_lazy();
    test_listener_na();
    test_listener_errors();
    test_listener_not_multistream();
    test_dialer();
    test_back_to_back();
    return tap_done();
}
