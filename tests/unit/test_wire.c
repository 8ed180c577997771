/* test_wire.c: util/pbwire (the allocation-free protobuf reader/writer) and rendezvous/wire (the
 * rendezvous messages of every dialect from one layout table).
 *
 * Every request is encoded by an encoder independent of wire.c: protobuf-c from
 * proto/rendezvous.proto for /vac/waku/rendezvous/0.0.1 (proto3) and from the test-only
 * proto/rendezvous_std.proto for /rendezvous/1.0.0 (proto2, with presence), or bytes written by
 * hand; every response wire.c encodes is decoded back with protobuf-c. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rendezvous.pb-c.h"
#include "rendezvous_std.pb-c.h"
#include "rendezvous/wire.h"
#include "tap.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/pbwire.h"

typedef Rendezvous__Pb__Message W0;
typedef Rendezvous__Std__Message WS;

static const struct rdv_wire_layout *const L0 = &rdv_wire_layout_waku0;
static const struct rdv_wire_layout *const LS = &rdv_wire_layout_std;

static bool slice_is(struct rdv_wire_slice s, const void *p, size_t n)
{
    return s.p && s.len == n && (n == 0 || memcmp(s.p, p, n) == 0);
}
static bool slice_str(struct rdv_wire_slice s, const char *str) { return slice_is(s, str, strlen(str)); }

static struct rdv_buf pack0(const W0 *m)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_reserve(&b, rendezvous__pb__message__get_packed_size(m) + 1);
    rdv_buf_commit(&b, rendezvous__pb__message__pack(m, rdv_buf_tail(&b)));
    return b;
}

static struct rdv_buf packs(const WS *m)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_reserve(&b, rendezvous__std__message__get_packed_size(m) + 1);
    rdv_buf_commit(&b, rendezvous__std__message__pack(m, rdv_buf_tail(&b)));
    return b;
}

/* ---- pbwire ---------------------------------------------------------------------------- */

static void test_pb_varint(void)
{
    uint64_t v = 7;
    static const uint8_t one[] = {0x00}, two[] = {0xac, 0x02};
    is_int(rdv_pb_varint(one, 1, &v), 1, "varint 00: 1 byte");
    is_int(v, 0, "varint 00 = 0");
    is_int(rdv_pb_varint(two, 2, &v), 2, "varint ac 02: 2 bytes");
    is_int(v, 300, "varint ac 02 = 300");
    static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    is_int(rdv_pb_varint(max, sizeof(max), &v), 10, "10-byte varint accepted");
    ok(v == UINT64_MAX, "10-byte ff..01 = 2^64-1");
    static const uint8_t pad10[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    is_int(rdv_pb_varint(pad10, sizeof(pad10), &v), 10, "10-byte zero-padded varint accepted (protobuf allows it)");
    is_int(v, 0, "its value is 0");
    static const uint8_t big10[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    is_int(rdv_pb_varint(big10, sizeof(big10), &v), 0, "10th byte 02 (bit 64) rejected");
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    is_int(rdv_pb_varint(eleven, sizeof(eleven), &v), 0, "11-byte varint rejected");
    static const uint8_t cut[] = {0x80, 0x80};
    is_int(rdv_pb_varint(cut, sizeof(cut), &v), 0, "truncated varint rejected");
    is_int(rdv_pb_varint(cut, 0, &v), 0, "empty input: no varint");
}

static int next_of(const uint8_t *p, size_t n, struct rdv_pb_field *f)
{
    struct rdv_pb_reader r;
    rdv_pb_reader_init(&r, p, n);
    return rdv_pb_next(&r, f);
}

static void test_pb_reader(void)
{
    struct rdv_pb_field f;
    static const uint8_t v[] = {0x08, 0x96, 0x01};
    is_int(next_of(v, sizeof(v), &f), 1, "varint field read");
    ok(f.num == 1 && f.wire == RDV_PB_VARINT && f.varint == 150, "field 1 varint 150");
    static const uint8_t s[] = {0x12, 0x03, 'a', 'b', 'c'};
    is_int(next_of(s, sizeof(s), &f), 1, "len field read");
    ok(f.num == 2 && f.wire == RDV_PB_LEN && f.len == 3 && f.data == s + 2, "field 2 len 3 points into the buffer");
    static const uint8_t past[] = {0x12, 0x04, 'a', 'b', 'c'};
    is_int(next_of(past, sizeof(past), &f), -1, "length past the end rejected");
    static const uint8_t huge[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'};
    is_int(next_of(huge, sizeof(huge), &f), -1, "length 2^64-1 rejected (no overflow)");
    static const uint8_t f0[] = {0x00, 0x01};
    is_int(next_of(f0, sizeof(f0), &f), -1, "field number 0 rejected");
    static const uint8_t f0len[] = {0x02, 0x00};
    is_int(next_of(f0len, sizeof(f0len), &f), -1, "field number 0 (len) rejected");
    static const uint8_t sgroup[] = {0x0b, 0x0c};
    is_int(next_of(sgroup, sizeof(sgroup), &f), -1, "start group rejected");
    static const uint8_t egroup[] = {0x0c};
    is_int(next_of(egroup, sizeof(egroup), &f), -1, "end group rejected");
    static const uint8_t w6[] = {0x0e, 0x00}, w7[] = {0x0f, 0x00};
    is_int(next_of(w6, sizeof(w6), &f), -1, "wire type 6 rejected");
    is_int(next_of(w7, sizeof(w7), &f), -1, "wire type 7 rejected");
    static const uint8_t i64[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8};
    is_int(next_of(i64, sizeof(i64), &f), 1, "fixed64 read");
    ok(f.wire == RDV_PB_I64 && f.varint == 0x0807060504030201ull, "fixed64 little-endian value");
    is_int(next_of(i64, sizeof(i64) - 1, &f), -1, "truncated fixed64 rejected");
    static const uint8_t i32[] = {0x0d, 1, 2, 3, 4};
    is_int(next_of(i32, sizeof(i32), &f), 1, "fixed32 read");
    ok(f.wire == RDV_PB_I32 && f.varint == 0x04030201u, "fixed32 little-endian value");
    is_int(next_of(i32, 3, &f), -1, "truncated fixed32 rejected");
    static const uint8_t bigtag[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
    is_int(next_of(bigtag, sizeof(bigtag), &f), -1, "field number 2^32 rejected");
    static const uint8_t maxtag[] = {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00};
    is_int(next_of(maxtag, sizeof(maxtag), &f), 1, "field number 2^29-1 accepted");
    is_int(f.num, (1u << 29) - 1, "its number");
    static const uint8_t badvar[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    is_int(next_of(badvar, sizeof(badvar), &f), -1, "11-byte varint value rejected");
    static const uint8_t badkey[] = {0x88, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00};
    is_int(next_of(badkey, sizeof(badkey), &f), -1, "11-byte tag rejected");
    is_int(next_of(NULL, 5, &f), 0, "NULL buffer reads as empty");

    /* after a malformed field the reader stays at the end */
    static const uint8_t two[] = {0x08, 0x01, 0x00, 0x08, 0x02};
    struct rdv_pb_reader r;
    rdv_pb_reader_init(&r, two, sizeof(two));
    is_int(rdv_pb_next(&r, &f), 1, "first field of a bad message");
    is_int(rdv_pb_next(&r, &f), -1, "then the malformed one");
    is_int(rdv_pb_next(&r, &f), 0, "then the end, not the field after it");
}

static void test_pb_writer(void)
{
    static const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)INT64_MAX, UINT64_MAX};
    static const uint32_t nums[] = {1, 15, 16, 2047, 2048, (1u << 29) - 1};
    int bad = 0;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        for (size_t j = 0; j < sizeof(nums) / sizeof(nums[0]); j++) {
            struct rdv_buf b;
            struct rdv_pb_field f;
            rdv_buf_init(&b, 0);
            if (rdv_pb_put_varint(&b, nums[j], vals[i]) != RDV_OK || b.len != rdv_pb_size_varint(nums[j], vals[i]) ||
                next_of(rdv_buf_head(&b), b.len, &f) != 1 || f.num != nums[j] || f.wire != RDV_PB_VARINT ||
                f.varint != vals[i])
                bad++;
            rdv_buf_free(&b);
        }
    is_int(bad, 0, "varint fields round-trip, sizes as predicted (60 cases)");

    bad = 0;
    static const size_t lens[] = {0, 1, 127, 128, 300, 20000};
    static uint8_t payload[20000];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        for (size_t j = 0; j < sizeof(nums) / sizeof(nums[0]); j++) {
            struct rdv_buf b;
            struct rdv_pb_field f;
            rdv_buf_init(&b, 0);
            if (rdv_pb_put_len(&b, nums[j], payload, lens[i]) != RDV_OK || b.len != rdv_pb_size_len(nums[j], lens[i]) ||
                next_of(rdv_buf_head(&b), b.len, &f) != 1 || f.num != nums[j] || f.wire != RDV_PB_LEN ||
                f.len != lens[i] || (lens[i] && memcmp(f.data, payload, lens[i]) != 0))
                bad++;
            rdv_buf_free(&b);
        }
    is_int(bad, 0, "len fields round-trip, sizes as predicted (36 cases)");

    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_pb_put_len_header(&b, 2, 3);
    rdv_buf_append(&b, "xyz", 3);
    rdv_pb_put_varint(&b, 3, 5);
    static const uint8_t want[] = {0x12, 0x03, 'x', 'y', 'z', 0x18, 0x05};
    is_mem(rdv_buf_head(&b), b.len, want, sizeof(want), "len header + body + varint: the expected bytes");
    rdv_buf_free(&b);

    rdv_buf_init(&b, 4);
    is_int(rdv_pb_put_len(&b, 1, "abcd", 4), RDV_ERR_TOO_LARGE, "writer honours the buffer cap");
    rdv_buf_free(&b);
}

/* ---- requests: waku 0.0.1 --------------------------------------------------------------- */

static struct rdv_buf w0_register(const char *ns, const uint8_t *rec, size_t rec_len, int64_t ttl)
{
    Rendezvous__Pb__Message__Register r = RENDEZVOUS__PB__MESSAGE__REGISTER__INIT;
    r.ns = (char *)ns;
    r.signedpeerrecord.data = (uint8_t *)rec;
    r.signedpeerrecord.len = rec_len;
    r.ttl = ttl;
    W0 m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER;
    m.register_ = &r;
    return pack0(&m);
}

static struct rdv_buf w0_discover(const char *ns, int64_t limit)
{
    Rendezvous__Pb__Message__Discover d = RENDEZVOUS__PB__MESSAGE__DISCOVER__INIT;
    d.ns = (char *)ns;
    d.limit = limit;
    W0 m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER;
    m.discover = &d;
    return pack0(&m);
}

static int dec_req(const struct rdv_wire_layout *l, struct rdv_buf b, struct rdv_wire_request *w)
{
    int rc = rdv_wire_decode_request(l, rdv_buf_head(&b), b.len, w);
    /* w points into b: the tests only compare against literals after this, so keep b alive */
    return rc;
}

static const uint8_t REC[] = {0x0a, 0x24, 0x08, 0x01, 0x12, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                              16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0x12, 0x02, 0x03, 0x01};

static void test_waku0_requests(void)
{
    struct rdv_wire_request w;
    struct rdv_buf b = w0_register("waku/x", REC, sizeof(REC), 15);
    ok(b.len > 0 && rdv_buf_head(&b)[0] == 0x12, "protobuf-c (proto3) omits type REGISTER: first byte is the register field");
    is_int(dec_req(L0, b, &w), RDV_OK, "waku0 REGISTER decodes");
    is_int(w.type, RDV_REQ_REGISTER, "absent type = REGISTER");
    ok(slice_str(w.ns, "waku/x"), "ns");
    ok(slice_is(w.record, REC, sizeof(REC)), "signedPeerRecord, verbatim");
    ok(w.has_ttl && w.ttl == 15, "ttl 15");
    ok(!w.has_limit && !w.cookie.p, "no limit, no cookie");
    rdv_buf_free(&b);

    b = w0_register("n", REC, sizeof(REC), -1);
    is_int(dec_req(L0, b, &w), RDV_OK, "waku0 REGISTER ttl -1 decodes");
    ok(w.has_ttl && w.ttl == UINT64_MAX, "int64 -1 reads as the raw varint 2^64-1 (signed_ints decides)");
    rdv_buf_free(&b);

    b = w0_register("n", REC, sizeof(REC), 0);
    is_int(dec_req(L0, b, &w), RDV_OK, "waku0 REGISTER ttl 0 decodes");
    ok(!w.has_ttl && w.ttl == 0, "ttl 0 omitted by proto3: has_ttl false");
    rdv_buf_free(&b);

    b = w0_discover("waku/x", 12);
    is_int(dec_req(L0, b, &w), RDV_OK, "waku0 DISCOVER decodes");
    is_int(w.type, RDV_REQ_DISCOVER, "type DISCOVER (2)");
    ok(slice_str(w.ns, "waku/x") && w.has_limit && w.limit == 12, "ns, limit 12");
    ok(!w.record.p && !w.has_ttl, "no record, no ttl");
    rdv_buf_free(&b);

    b = w0_discover("", 0);
    is_int(dec_req(L0, b, &w), RDV_OK, "waku0 DISCOVER with nothing set decodes");
    ok(w.type == RDV_REQ_DISCOVER && !w.ns.p && !w.has_limit, "ns and limit absent");
    rdv_buf_free(&b);

    /* waku0 has no cookie: Discover field 3 is an unknown field, ignored */
    static const uint8_t disc_cookie[] = {0x08, 0x02, 0x22, 0x07, 0x0a, 0x01, 'a', 0x1a, 0x02, 0xaa, 0xbb};
    is_int(rdv_wire_decode_request(L0, disc_cookie, sizeof(disc_cookie), &w), RDV_OK, "waku0 DISCOVER with field 3 decodes");
    ok(!w.cookie.p, "waku0: no cookie read");
    is_int(rdv_wire_decode_request(LS, disc_cookie, sizeof(disc_cookie), &w), RDV_OK,
           "the same bytes under std decode");
    ok(w.type == RDV_REQ_UNREGISTER && slice_str(w.ns, "a") && !w.cookie.p,
       "  as UNREGISTER of a (std type 2, field 4), its field 3 ignored");

    /* responses and unknown types are not requests */
    static const uint8_t t1[] = {0x08, 0x01}, t3[] = {0x08, 0x03}, t4[] = {0x08, 0x04}, t9[] = {0x08, 0x09};
    is_int(rdv_wire_decode_request(L0, t1, 2, &w), RDV_ERR_INVALID, "waku0 REGISTER_RESPONSE: invalid");
    is_int(rdv_wire_decode_request(L0, t3, 2, &w), RDV_ERR_INVALID, "waku0 DISCOVER_RESPONSE: invalid");
    is_int(rdv_wire_decode_request(L0, t4, 2, &w), RDV_ERR_INVALID, "waku0 type 4 (std DISCOVER_RESPONSE): invalid");
    is_int(rdv_wire_decode_request(L0, t9, 2, &w), RDV_ERR_INVALID, "waku0 unknown type 9: invalid");
    static const uint8_t huge_t[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0x0f};
    is_int(rdv_wire_decode_request(L0, huge_t, sizeof(huge_t), &w), RDV_ERR_INVALID, "type 2^32-1: invalid");
    static const uint8_t neg_t[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    is_int(rdv_wire_decode_request(L0, neg_t, sizeof(neg_t), &w), RDV_ERR_INVALID, "type -1 (the NO_TYPE marker): invalid");
    static const uint8_t len_t[] = {0x0a, 0x00};
    is_int(rdv_wire_decode_request(L0, len_t, 2, &w), RDV_ERR_INVALID, "type with wire type LEN: invalid");
    is_int(rdv_wire_decode_request(L0, NULL, 0, &w), RDV_OK, "empty message = REGISTER with nothing");
    is_int(w.type, RDV_REQ_REGISTER, "  type REGISTER");
    static const uint8_t reg_var[] = {0x10, 0x01};
    is_int(rdv_wire_decode_request(L0, reg_var, 2, &w), RDV_ERR_INVALID, "register field as varint: invalid");
    static const uint8_t ns_var[] = {0x12, 0x02, 0x08, 0x01};
    is_int(rdv_wire_decode_request(L0, ns_var, 4, &w), RDV_ERR_INVALID, "Register.ns as varint: invalid");
    static const uint8_t ttl_len[] = {0x12, 0x02, 0x1a, 0x00};
    is_int(rdv_wire_decode_request(L0, ttl_len, 4, &w), RDV_ERR_INVALID, "Register.ttl as LEN: invalid");
    static const uint8_t bad_inner[] = {0x12, 0x02, 0x0a, 0x05};
    is_int(rdv_wire_decode_request(L0, bad_inner, 4, &w), RDV_ERR_INVALID, "inner length past the submessage: invalid");
    static const uint8_t trailing[] = {0x08, 0x02, 0x22, 0x00, 0x80};
    is_int(rdv_wire_decode_request(L0, trailing, 5, &w), RDV_ERR_INVALID, "truncated trailing tag: invalid");
    /* another type's submessage is ignored (protobuf readers skip what they do not look at) */
    static const uint8_t other_sub[] = {0x08, 0x02, 0x12, 0x03, 0x0a, 0x01, 'r', 0x22, 0x03, 0x0a, 0x01, 'd'};
    is_int(rdv_wire_decode_request(L0, other_sub, sizeof(other_sub), &w), RDV_OK, "DISCOVER with a register submessage too");
    ok(slice_str(w.ns, "d"), "  the discover submessage's ns is read");
    static const uint8_t unknown_fields[] = {0x08, 0x02, 0x22, 0x06, 0x0a, 0x01, 'd', 0x48, 0x01, 0x1d, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* the last 6 bytes: wire-type-5 field 3 truncated -> invalid */
    is_int(rdv_wire_decode_request(L0, unknown_fields, sizeof(unknown_fields), &w), RDV_ERR_INVALID,
           "a broken unknown field at the end: invalid");
    static const uint8_t unknown_ok[] = {0x08, 0x02, 0x22, 0x05, 0x0a, 0x01, 'd', 0x48, 0x01, 0x50, 0x07};
    is_int(rdv_wire_decode_request(L0, unknown_ok, sizeof(unknown_ok), &w), RDV_OK, "well-formed unknown fields are skipped");
    ok(slice_str(w.ns, "d"), "  ns read");
}

/* ---- requests: std ---------------------------------------------------------------------- */

static void test_std_requests(void)
{
    struct rdv_wire_request w;
    Rendezvous__Std__Message__Register r = RENDEZVOUS__STD__MESSAGE__REGISTER__INIT;
    r.ns = "rs/1/mix";
    r.has_signedpeerrecord = 1;
    r.signedpeerrecord.data = (uint8_t *)REC;
    r.signedpeerrecord.len = sizeof(REC);
    r.has_ttl = 1;
    r.ttl = 0;
    WS m = RENDEZVOUS__STD__MESSAGE__INIT;
    m.has_type = 1;
    m.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__REGISTER;
    m.register_ = &r;
    struct rdv_buf b = packs(&m);
    ok(rdv_buf_head(&b)[0] == 0x08 && rdv_buf_head(&b)[1] == 0x00, "proto2 encoder writes type REGISTER = 0");
    is_int(dec_req(LS, b, &w), RDV_OK, "std REGISTER decodes");
    ok(w.type == RDV_REQ_REGISTER && slice_str(w.ns, "rs/1/mix") && slice_is(w.record, REC, sizeof(REC)),
       "type, ns, record");
    ok(w.has_ttl && w.ttl == 0, "explicit ttl 0: has_ttl, 0");
    rdv_buf_free(&b);

    m.has_type = 0;
    r.has_ttl = 1;
    r.ttl = UINT64_MAX;
    b = packs(&m);
    is_int(dec_req(LS, b, &w), RDV_OK, "std REGISTER without type decodes");
    is_int(w.type, RDV_REQ_REGISTER, "absent type = REGISTER (js-libp2p/protons omit it)");
    ok(w.has_ttl && w.ttl == UINT64_MAX, "uint64 ttl 2^64-1");
    rdv_buf_free(&b);

    Rendezvous__Std__Message__Unregister u = RENDEZVOUS__STD__MESSAGE__UNREGISTER__INIT;
    u.ns = "rs/1/mix";
    WS mu = RENDEZVOUS__STD__MESSAGE__INIT;
    mu.has_type = 1;
    mu.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__UNREGISTER;
    mu.unregister = &u;
    b = packs(&mu);
    is_int(dec_req(LS, b, &w), RDV_OK, "std UNREGISTER decodes");
    ok(w.type == RDV_REQ_UNREGISTER && slice_str(w.ns, "rs/1/mix"), "type UNREGISTER, ns");
    ok(!w.record.p && !w.has_ttl && !w.has_limit && !w.cookie.p, "nothing else");
    rdv_buf_free(&b);
    u.ns = "";
    b = packs(&mu);
    is_int(dec_req(LS, b, &w), RDV_OK, "std UNREGISTER ns \"\" decodes");
    ok(w.ns.p && w.ns.len == 0, "an empty ns present on the wire reads as present, length 0");
    rdv_buf_free(&b);

    static const uint8_t cookie[] = {1, 2, 3, 4, 5};
    Rendezvous__Std__Message__Discover d = RENDEZVOUS__STD__MESSAGE__DISCOVER__INIT;
    d.ns = "ns";
    d.has_limit = 1;
    d.limit = 10;
    d.has_cookie = 1;
    d.cookie.data = (uint8_t *)cookie;
    d.cookie.len = sizeof(cookie);
    WS md = RENDEZVOUS__STD__MESSAGE__INIT;
    md.has_type = 1;
    md.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__DISCOVER;
    md.discover = &d;
    b = packs(&md);
    is_int(dec_req(LS, b, &w), RDV_OK, "std DISCOVER decodes");
    ok(w.type == RDV_REQ_DISCOVER && slice_str(w.ns, "ns") && w.has_limit && w.limit == 10, "type, ns, limit 10");
    ok(slice_is(w.cookie, cookie, sizeof(cookie)), "cookie");
    rdv_buf_free(&b);
    d.ns = NULL;
    d.has_limit = 0;
    d.has_cookie = 0;
    b = packs(&md);
    is_int(dec_req(LS, b, &w), RDV_OK, "std DISCOVER with nothing set decodes");
    ok(!w.ns.p && !w.has_limit && !w.cookie.p, "ns, limit and cookie absent");
    rdv_buf_free(&b);
    d.has_limit = 1;
    d.limit = UINT64_MAX;
    b = packs(&md);
    is_int(dec_req(LS, b, &w), RDV_OK, "std DISCOVER limit 2^64-1 decodes");
    ok(w.has_limit && w.limit == UINT64_MAX, "limit 2^64-1");
    rdv_buf_free(&b);

    /* waku0's DISCOVER (type 2, field 4) read as std is an UNREGISTER with the same ns */
    b = w0_discover("x", 3);
    is_int(dec_req(LS, b, &w), RDV_OK, "waku0 DISCOVER bytes under std decode");
    ok(w.type == RDV_REQ_UNREGISTER && slice_str(w.ns, "x"), "  as UNREGISTER of x (the layouts differ)");
    rdv_buf_free(&b);

    static const uint8_t t1[] = {0x08, 0x01}, t4[] = {0x08, 0x04}, t5[] = {0x08, 0x05};
    is_int(rdv_wire_decode_request(LS, t1, 2, &w), RDV_ERR_INVALID, "std REGISTER_RESPONSE: invalid");
    is_int(rdv_wire_decode_request(LS, t4, 2, &w), RDV_ERR_INVALID, "std DISCOVER_RESPONSE: invalid");
    is_int(rdv_wire_decode_request(LS, t5, 2, &w), RDV_ERR_INVALID, "std unknown type 5: invalid");
    static const uint8_t ck_var[] = {0x08, 0x03, 0x2a, 0x02, 0x18, 0x01};
    is_int(rdv_wire_decode_request(LS, ck_var, sizeof(ck_var), &w), RDV_ERR_INVALID, "Discover.cookie as varint: invalid");
    static const uint8_t lim_len[] = {0x08, 0x03, 0x2a, 0x02, 0x12, 0x00};
    is_int(rdv_wire_decode_request(LS, lim_len, sizeof(lim_len), &w), RDV_ERR_INVALID, "Discover.limit as LEN: invalid");
    /* the last type wins */
    static const uint8_t two_types[] = {0x08, 0x01, 0x08, 0x03, 0x2a, 0x03, 0x0a, 0x01, 'z'};
    is_int(rdv_wire_decode_request(LS, two_types, sizeof(two_types), &w), RDV_OK, "type 1 then 3: decodes");
    ok(w.type == RDV_REQ_DISCOVER && slice_str(w.ns, "z"), "  the last type (DISCOVER) wins");
}

/* Later occurrences override scalars, submessages merge (protobuf's concatenation rule). */
static void test_request_merge(void)
{
    struct rdv_wire_request w;
    Rendezvous__Std__Message__Register r1 = RENDEZVOUS__STD__MESSAGE__REGISTER__INIT, r2 = r1;
    r1.ns = "first";
    r1.has_signedpeerrecord = 1;
    r1.signedpeerrecord.data = (uint8_t *)REC;
    r1.signedpeerrecord.len = sizeof(REC);
    r1.has_ttl = 1;
    r1.ttl = 5;
    r2.ns = "second";
    WS m1 = RENDEZVOUS__STD__MESSAGE__INIT, m2 = RENDEZVOUS__STD__MESSAGE__INIT;
    m1.register_ = &r1;
    m2.register_ = &r2;
    struct rdv_buf a = packs(&m1), c = packs(&m2);
    rdv_buf_append(&a, rdv_buf_head(&c), c.len);
    /* what protobuf-c makes of the concatenation */
    WS *ref = rendezvous__std__message__unpack(NULL, a.len, rdv_buf_head(&a));
    ok(ref && ref->register_ && strcmp(ref->register_->ns, "second") == 0 && ref->register_->has_ttl &&
           ref->register_->ttl == 5 && ref->register_->signedpeerrecord.len == sizeof(REC),
       "protobuf-c merges two Register submessages (ns from the second, ttl and record from the first)");
    is_int(dec_req(LS, a, &w), RDV_OK, "wire.c decodes the concatenation");
    ok(slice_str(w.ns, "second"), "  ns from the second");
    ok(slice_is(w.record, REC, sizeof(REC)) && w.has_ttl && w.ttl == 5, "  record and ttl from the first");
    if (ref)
        rendezvous__std__message__free_unpacked(ref, NULL);
    rdv_buf_free(&a);
    rdv_buf_free(&c);

    /* the same in waku0 */
    struct rdv_buf x = w0_discover("one", 7), y = w0_discover("two", 0);
    rdv_buf_append(&x, rdv_buf_head(&y), y.len);
    is_int(dec_req(L0, x, &w), RDV_OK, "waku0: two Discover messages concatenated");
    ok(slice_str(w.ns, "two") && w.has_limit && w.limit == 7, "  ns from the second, limit from the first");
    rdv_buf_free(&x);
    rdv_buf_free(&y);
}

/* wire.c's own request encoder, read back by protobuf-c. */
static void test_encode_request(void)
{
    struct rdv_wire_request q = {.type = RDV_REQ_REGISTER, .ns = {(const uint8_t *)"ns1", 3},
                                 .record = {REC, sizeof(REC)}, .has_ttl = true, .ttl = 0};
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    is_int(rdv_wire_encode_request(LS, &q, &b), RDV_OK, "std REGISTER encodes");
    WS *m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m && m->has_type && m->type == 0 && m->register_, "std: type 0 written explicitly, register present");
    ok(m && m->register_ && strcmp(m->register_->ns, "ns1") == 0 && m->register_->has_ttl && m->register_->ttl == 0 &&
           m->register_->signedpeerrecord.len == sizeof(REC),
       "std: ns, record, explicit ttl 0");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_request(L0, &q, &b), RDV_OK, "waku0 REGISTER encodes");
    ok(b.len && rdv_buf_head(&b)[0] != 0x08, "waku0: type REGISTER (0) not written");
    W0 *m0 = rendezvous__pb__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m0 && m0->type == 0 && m0->register_ && strcmp(m0->register_->ns, "ns1") == 0, "waku0: protobuf-c reads it");
    if (m0)
        rendezvous__pb__message__free_unpacked(m0, NULL);

    struct rdv_wire_request u = {.type = RDV_REQ_UNREGISTER, .ns = {(const uint8_t *)"n", 1}};
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_request(L0, &u, &b), RDV_ERR_UNSUPPORTED, "waku0 has no UNREGISTER to encode");
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_request(LS, &u, &b), RDV_OK, "std UNREGISTER encodes");
    m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m && m->has_type && m->type == 2 && m->unregister && strcmp(m->unregister->ns, "n") == 0, "std UNREGISTER read back");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);

    static const uint8_t ck[] = {9, 8, 7};
    struct rdv_wire_request d = {.type = RDV_REQ_DISCOVER, .ns = {(const uint8_t *)"d", 1}, .has_limit = true,
                                 .limit = 4, .cookie = {ck, sizeof(ck)}};
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_request(LS, &d, &b), RDV_OK, "std DISCOVER encodes");
    m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m && m->type == 3 && m->discover && m->discover->has_limit && m->discover->limit == 4 && m->discover->has_cookie &&
           m->discover->cookie.len == 3 && memcmp(m->discover->cookie.data, ck, 3) == 0,
       "std DISCOVER read back with limit and cookie");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_request(L0, &d, &b), RDV_OK, "waku0 DISCOVER encodes");
    struct rdv_wire_request back;
    is_int(rdv_wire_decode_request(L0, rdv_buf_head(&b), b.len, &back), RDV_OK, "waku0 DISCOVER decodes back");
    ok(back.type == RDV_REQ_DISCOVER && slice_str(back.ns, "d") && back.limit == 4 && !back.cookie.p,
       "waku0: no cookie on the wire");
    /* the std view of the same bytes has no cookie either (field 3 not written) */
    m0 = rendezvous__pb__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m0 && m0->discover && m0->discover->limit == 4 && m0->discover->base.n_unknown_fields == 0,
       "waku0 DISCOVER: protobuf-c sees no unknown field (no cookie)");
    if (m0)
        rendezvous__pb__message__free_unpacked(m0, NULL);
    rdv_buf_free(&b);
}

/* ---- responses -------------------------------------------------------------------------- */

static void test_register_response(void)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    struct rdv_wire_response ok_r = {.type = RDV_REQ_REGISTER, .status = 0, .ttl = 20};
    is_int(rdv_wire_encode_response(L0, &ok_r, &b), RDV_OK, "waku0 RegisterResponse OK encodes");
    static const uint8_t want0[] = {0x08, 0x01, 0x1a, 0x02, 0x18, 0x14};
    is_mem(rdv_buf_head(&b), b.len, want0, sizeof(want0), "waku0: status OK omitted: 08 01 1a 02 18 14");
    W0 *m0 = rendezvous__pb__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m0 && m0->type == 1 && m0->registerresponse && m0->registerresponse->status == 0 &&
           m0->registerresponse->ttl == 20,
       "waku0: protobuf-c reads REGISTER_RESPONSE OK ttl 20");
    if (m0)
        rendezvous__pb__message__free_unpacked(m0, NULL);

    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_response(LS, &ok_r, &b), RDV_OK, "std RegisterResponse OK encodes");
    WS *m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m && m->has_type && m->type == 1 && m->registerresponse && m->registerresponse->has_status &&
           m->registerresponse->status == 0 && m->registerresponse->has_ttl && m->registerresponse->ttl == 20,
       "std: status OK (0) written explicitly, ttl 20");
    ok(m && m->registerresponse && !m->registerresponse->statustext, "std: no statusText on OK");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);

    struct rdv_wire_response err = {.type = RDV_REQ_REGISTER, .status = 102, .text = {(const uint8_t *)"bad ttl", 7}};
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_response(LS, &err, &b), RDV_OK, "std RegisterResponse E_INVALID_TTL encodes");
    m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m && m->registerresponse && m->registerresponse->status == 102 &&
           strcmp(m->registerresponse->statustext, "bad ttl") == 0 && m->registerresponse->has_ttl &&
           m->registerresponse->ttl == 0,
       "std: 102, 'bad ttl', explicit ttl 0");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_response(L0, &err, &b), RDV_OK, "waku0 RegisterResponse E_INVALID_TTL encodes");
    m0 = rendezvous__pb__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m0 && m0->registerresponse && m0->registerresponse->status == 102 &&
           strcmp(m0->registerresponse->statustext, "bad ttl") == 0 && m0->registerresponse->ttl == 0,
       "waku0: 102 'bad ttl' read back");
    if (m0)
        rendezvous__pb__message__free_unpacked(m0, NULL);

    /* and wire.c's decoder reads both */
    struct rdv_wire_response back;
    is_int(rdv_wire_decode_response(L0, rdv_buf_head(&b), b.len, &back), RDV_OK, "wire.c decodes its waku0 response");
    ok(back.type == RDV_REQ_REGISTER && back.status == 102 && slice_str(back.text, "bad ttl"), "  fields");
    is_int(rdv_wire_decode_response(L0, want0, sizeof(want0), &back), RDV_OK, "wire.c decodes 08 01 1a 02 18 14");
    ok(back.status == 0 && back.ttl == 20, "  OK, ttl 20");
    struct rdv_wire_response unreg = {.type = RDV_REQ_UNREGISTER};
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_response(LS, &unreg, &b), RDV_ERR_UNSUPPORTED, "no UNREGISTER response to encode");
    rdv_buf_free(&b);

    /* requests are not responses */
    static const uint8_t reg[] = {0x08, 0x00, 0x12, 0x00}, none[] = {0x12, 0x00}, t9[] = {0x08, 0x09};
    is_int(rdv_wire_decode_response(LS, reg, sizeof(reg), &back), RDV_ERR_INVALID, "std: a REGISTER is not a response");
    is_int(rdv_wire_decode_response(LS, none, sizeof(none), &back), RDV_ERR_INVALID, "std: absent type (REGISTER) is not a response");
    is_int(rdv_wire_decode_response(L0, t9, sizeof(t9), &back), RDV_ERR_INVALID, "waku0: unknown type 9 is not a response");
    static const uint8_t w0disc[] = {0x08, 0x02};
    is_int(rdv_wire_decode_response(L0, w0disc, 2, &back), RDV_ERR_INVALID, "waku0: DISCOVER (2) is not a response");
    static const uint8_t malformed[] = {0x08, 0x01, 0x1a, 0x05, 0x08};
    is_int(rdv_wire_decode_response(L0, malformed, sizeof(malformed), &back), RDV_ERR_INVALID, "malformed response: invalid");
}

static void make_regs(struct rdv_wire_registration *regs, size_t n)
{
    static const char *names[] = {"a", "bb", "ccc", "dddd"};
    for (size_t i = 0; i < n; i++)
        regs[i] = (struct rdv_wire_registration){{(const uint8_t *)names[i % 4], strlen(names[i % 4])},
                                                 {REC, sizeof(REC) - (i % 3)}, (uint64_t)i * 100};
}

static void test_discover_response(void)
{
    struct rdv_wire_registration regs[4];
    make_regs(regs, 4);
    static const uint8_t ck[] = {0xc0, 0x0c, 0x1e};
    struct rdv_wire_response r = {.type = RDV_REQ_DISCOVER, .status = 0, .regs = regs, .nregs = 4,
                                  .cookie = {ck, sizeof(ck)}};
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    is_int(rdv_wire_encode_response(LS, &r, &b), RDV_OK, "std DiscoverResponse with 4 registrations encodes");
    WS *m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    const Rendezvous__Std__Message__DiscoverResponse *dr = m ? m->discoverresponse : NULL;
    ok(m && m->has_type && m->type == 4 && dr, "std: type DISCOVER_RESPONSE (4), field 6");
    ok(dr && dr->has_status && dr->status == 0, "std: status OK written explicitly");
    ok(dr && dr->has_cookie && dr->cookie.len == 3 && memcmp(dr->cookie.data, ck, 3) == 0, "std: cookie");
    is_int(dr ? dr->n_registrations : 0, 4, "std: 4 registrations");
    int bad = 0;
    for (size_t i = 0; dr && i < dr->n_registrations; i++) {
        const Rendezvous__Std__Message__Register *g = dr->registrations[i];
        if (strlen(g->ns) != regs[i].ns.len || memcmp(g->ns, regs[i].ns.p, regs[i].ns.len) != 0 ||
            g->signedpeerrecord.len != regs[i].record.len || !g->has_ttl || g->ttl != regs[i].ttl)
            bad++;
    }
    is_int(bad, 0, "std: every registration's ns, record and ttl (explicit ttl 0 on the first)");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);
    /* the size estimate is an upper bound per registration */
    size_t est = 0;
    for (size_t i = 0; i < 4; i++)
        est += rdv_wire_registration_size(regs[i].ns.len, regs[i].record.len, regs[i].ttl);
    ok(est <= b.len, "rdv_wire_registration_size sums within the encoded size (%zu <= %zu)", est, b.len);

    /* wire.c reads its own */
    struct rdv_wire_response back;
    is_int(rdv_wire_decode_response(LS, rdv_buf_head(&b), b.len, &back), RDV_OK, "wire.c decodes the std answer");
    ok(back.type == RDV_REQ_DISCOVER && back.status == 0 && slice_is(back.cookie, ck, 3) && !back.regs, "  type, status, cookie");
    struct rdv_wire_reg_iter pos = {0, 0, 0};
    size_t k = 0;
    struct rdv_wire_registration g;
    bad = 0;
    while (rdv_wire_next_registration(&back, &pos, &g) == 1) {
        if (k >= 4 || !slice_is(g.ns, regs[k].ns.p, regs[k].ns.len) || !slice_is(g.record, regs[k].record.p, regs[k].record.len) ||
            g.ttl != regs[k].ttl)
            bad++;
        k++;
    }
    ok(k == 4 && bad == 0, "  next_registration yields the 4 in order");
    rdv_buf_reset(&b);

    is_int(rdv_wire_encode_response(L0, &r, &b), RDV_OK, "waku0 DiscoverResponse encodes (cookie given)");
    W0 *m0 = rendezvous__pb__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m0 && m0->type == 3 && m0->discoverresponse && m0->discoverresponse->n_registrations == 4,
       "waku0: type 3, field 5, 4 registrations");
    ok(m0 && m0->discoverresponse && m0->discoverresponse->base.n_unknown_fields == 0,
       "waku0: no cookie field written (protobuf-c sees no unknown field)");
    bad = 0;
    for (size_t i = 0; m0 && m0->discoverresponse && i < m0->discoverresponse->n_registrations; i++)
        if ((uint64_t)m0->discoverresponse->registrations[i]->ttl != regs[i].ttl)
            bad++;
    is_int(bad, 0, "waku0: ttls");
    if (m0)
        rendezvous__pb__message__free_unpacked(m0, NULL);
    struct rdv_buf nock;
    rdv_buf_init(&nock, 0);
    struct rdv_wire_response r2 = r;
    r2.cookie = (struct rdv_wire_slice){NULL, 0};
    rdv_wire_encode_response(L0, &r2, &nock);
    is_mem(rdv_buf_head(&b), b.len, rdv_buf_head(&nock), nock.len, "waku0: a cookie changes nothing on the wire");
    rdv_buf_free(&nock);
    /* waku0: status OK and registration ttl 0 omitted: the first registration has no ttl field */
    Rendezvous__Std__Message__DiscoverResponse *as_std = NULL;
    {
        /* read the waku0 DiscoverResponse body with the std schema to see presence */
        struct rdv_pb_reader rd;
        struct rdv_pb_field f;
        rdv_pb_reader_init(&rd, rdv_buf_head(&b), b.len);
        while (rdv_pb_next(&rd, &f) == 1)
            if (f.num == 5 && f.wire == RDV_PB_LEN)
                as_std = (Rendezvous__Std__Message__DiscoverResponse *)protobuf_c_message_unpack(
                    &rendezvous__std__message__discover_response__descriptor, NULL, f.len, f.data);
    }
    ok(as_std && !as_std->has_status && !as_std->has_cookie, "waku0: status OK omitted, no cookie");
    ok(as_std && as_std->n_registrations == 4 && !as_std->registrations[0]->has_ttl && as_std->registrations[1]->has_ttl,
       "waku0: a registration with ttl 0 carries no ttl field, one with ttl 100 does");
    if (as_std)
        protobuf_c_message_free_unpacked(&as_std->base, NULL);

    /* an error answer */
    struct rdv_wire_response e = {.type = RDV_REQ_DISCOVER, .status = 103, .text = {(const uint8_t *)"invalid cookie", 14}};
    rdv_buf_reset(&b);
    is_int(rdv_wire_encode_response(LS, &e, &b), RDV_OK, "std E_INVALID_COOKIE encodes");
    m = rendezvous__std__message__unpack(NULL, b.len, rdv_buf_head(&b));
    ok(m && m->discoverresponse && m->discoverresponse->status == 103 &&
           strcmp(m->discoverresponse->statustext, "invalid cookie") == 0 && !m->discoverresponse->has_cookie &&
           m->discoverresponse->n_registrations == 0,
       "std: 103 'invalid cookie', no cookie, no registrations");
    if (m)
        rendezvous__std__message__free_unpacked(m, NULL);
    rdv_buf_free(&b);
}

/* DiscoverResponses written by protobuf-c, read by wire.c; two concatenated ones merge. */
static void test_discover_response_decode(void)
{
    Rendezvous__Std__Message__Register g[3];
    Rendezvous__Std__Message__Register *gp[3];
    static const char *ns[] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        rendezvous__std__message__register__init(&g[i]);
        g[i].ns = (char *)ns[i];
        g[i].has_signedpeerrecord = 1;
        g[i].signedpeerrecord.data = (uint8_t *)REC;
        g[i].signedpeerrecord.len = sizeof(REC);
        g[i].has_ttl = 1;
        g[i].ttl = (uint64_t)(i + 1) * 10;
        gp[i] = &g[i];
    }
    static const uint8_t ck1[] = {1}, ck2[] = {2, 2};
    Rendezvous__Std__Message__DiscoverResponse d1 = RENDEZVOUS__STD__MESSAGE__DISCOVER_RESPONSE__INIT, d2 = d1;
    d1.n_registrations = 2;
    d1.registrations = gp;
    d1.has_cookie = 1;
    d1.cookie.data = (uint8_t *)ck1;
    d1.cookie.len = 1;
    d1.has_status = 1;
    d1.status = 0;
    d2.n_registrations = 1;
    d2.registrations = gp + 2;
    d2.has_cookie = 1;
    d2.cookie.data = (uint8_t *)ck2;
    d2.cookie.len = 2;
    WS m1 = RENDEZVOUS__STD__MESSAGE__INIT, m2 = RENDEZVOUS__STD__MESSAGE__INIT;
    m1.has_type = m2.has_type = 1;
    m1.type = m2.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__DISCOVER_RESPONSE;
    m1.discoverresponse = &d1;
    m2.discoverresponse = &d2;
    struct rdv_buf a = packs(&m1), c = packs(&m2);
    struct rdv_wire_response r;
    is_int(rdv_wire_decode_response(LS, rdv_buf_head(&a), a.len, &r), RDV_OK, "protobuf-c DiscoverResponse decodes");
    struct rdv_wire_reg_iter pos = {0, 0, 0};
    size_t k = 0;
    struct rdv_wire_registration reg;
    while (rdv_wire_next_registration(&r, &pos, &reg) == 1)
        k++;
    is_int(k, 2, "  2 registrations");
    rdv_buf_append(&a, rdv_buf_head(&c), c.len);
    WS *ref = rendezvous__std__message__unpack(NULL, a.len, rdv_buf_head(&a));
    ok(ref && ref->discoverresponse && ref->discoverresponse->n_registrations == 3,
       "protobuf-c: two DiscoverResponse submessages merge into 3 registrations");
    is_int(rdv_wire_decode_response(LS, rdv_buf_head(&a), a.len, &r), RDV_OK, "wire.c decodes the concatenation");
    ok(slice_is(r.cookie, ck2, 2), "  the later cookie wins");
    pos = (struct rdv_wire_reg_iter){0, 0, 0};
    k = 0;
    int bad = 0;
    while (rdv_wire_next_registration(&r, &pos, &reg) == 1) {
        if (k >= 3 || !slice_str(reg.ns, ns[k]) || reg.ttl != (k + 1) * 10)
            bad++;
        k++;
    }
    is_int(k, 3, "  repeated registrations merge across submessages: 3, as protobuf-c");
    is_int(bad, 0, "  in order x, y, z");
    if (ref)
        rendezvous__std__message__free_unpacked(ref, NULL);
    rdv_buf_free(&a);
    rdv_buf_free(&c);

    /* a malformed registration */
    static const uint8_t badreg[] = {0x08, 0x04, 0x32, 0x04, 0x0a, 0x02, 0x0a, 0x05};
    is_int(rdv_wire_decode_response(LS, badreg, sizeof(badreg), &r), RDV_OK, "a response with a broken registration decodes");
    pos = (struct rdv_wire_reg_iter){0, 0, 0};
    is_int(rdv_wire_next_registration(&r, &pos, &reg), -1, "  next_registration reports it malformed");
    static const uint8_t nodisc[] = {0x08, 0x04};
    is_int(rdv_wire_decode_response(LS, nodisc, sizeof(nodisc), &r), RDV_OK, "DISCOVER_RESPONSE without its submessage");
    pos = (struct rdv_wire_reg_iter){0, 0, 0};
    is_int(rdv_wire_next_registration(&r, &pos, &reg), 0, "  no registrations");
}

int main(void)
{
    test_pb_varint();
    test_pb_reader();
    test_pb_writer();
    test_waku0_requests();
    test_std_requests();
    test_request_merge();
    test_encode_request();
    test_register_response();
    test_discover_response();
    test_discover_response_decode();
    return tap_done();
}
