/* test_varint.c: multiformats unsigned varints and the capped byte buffer.
 *
 * Varint examples are those of the multiformats/unsigned-varint spec (1, 127, 128, 255, 300, 16384)
 * plus both ends of the 9-byte limit. The decoder must refuse non-minimal encodings, anything
 * longer than 9 bytes, and say TRUNCATED for every cut encoding. The buffer tests drive the cap,
 * front consumption with reclaim, and the uvarint append. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/varint.h"
#include "tap.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/err.h"

/* One test below asks for an allocation of ~SIZE_MAX bytes and expects RDV_ERR_NOMEM: under
 * AddressSanitizer that must return NULL instead of aborting. Unused in plain builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

struct vvec {
    uint64_t v;
    const char *hex;
};

static const struct vvec vvecs[] = {
    {0, "00"},
    {1, "01"},
    {127, "7f"},
    {128, "8001"},
    {255, "ff01"},
    {300, "ac02"},
    {16384, "808001"},
    {16383, "ff7f"},
    {UINT64_C(1) << 56, "808080808080808001"},
    {(UINT64_C(1) << 63) - 1, "ffffffffffffffff7f"},
};

static uint8_t *unhex(const char *hex, size_t *n)
{
    uint8_t *b = tu_unhex(hex, n);
    if (!b) {
        printf("Bail out! bad hex in test: %s\n", hex);
        exit(1);
    }
    return b;
}

static void test_spec_examples(void)
{
    for (size_t i = 0; i < sizeof(vvecs) / sizeof(vvecs[0]); i++) {
        size_t n;
        uint8_t *want = unhex(vvecs[i].hex, &n);
        uint8_t out[RDV_UVARINT_MAX_LEN];
        size_t got = rdv_uvarint_encode(vvecs[i].v, out);
        is_mem(out, got, want, n, "encode %" PRIu64 " = %s", vvecs[i].v, vvecs[i].hex);
        is_int(rdv_uvarint_size(vvecs[i].v), n, "  size %zu", n);
        uint64_t v = 0;
        is_int(rdv_uvarint_decode(want, n, &v), n, "  decode consumes %zu bytes", n);
        ok(v == vvecs[i].v, "  decodes to %" PRIu64, vvecs[i].v);
        int cut_ok = 1;
        for (size_t k = 0; k < n; k++)
            if (rdv_uvarint_decode(want, k, &v) != RDV_ERR_TRUNCATED)
                cut_ok = 0;
        ok(cut_ok, "  every shorter prefix is TRUNCATED");
        free(want);
    }
}

static void test_beyond_63_bits(void)
{
    uint8_t out[RDV_UVARINT_MAX_LEN];
    size_t n = rdv_uvarint_encode(UINT64_MAX, out);
    is_mem(out, n, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, "encode 2^64-1 = ffffffffffffffffff01 (10 bytes)");
    is_int(rdv_uvarint_size(UINT64_MAX), 10, "  size 10");
    uint64_t v;
    is_int(rdv_uvarint_decode(out, n, &v), RDV_ERR_INVALID, "  decoder refuses 10 bytes");
    n = rdv_uvarint_encode(UINT64_C(1) << 63, out);
    is_int(n, 10, "2^63 needs 10 bytes");
    is_int(rdv_uvarint_decode(out, n, &v), RDV_ERR_INVALID, "  decoder refuses it");
}

struct bad {
    const char *hex;
    int err;
    const char *why;
};

static const struct bad bads[] = {
    {"", RDV_ERR_TRUNCATED, "empty"},
    {"80", RDV_ERR_TRUNCATED, "lone continuation byte"},
    {"ffff", RDV_ERR_TRUNCATED, "two continuation bytes"},
    {"ffffffffffffffff", RDV_ERR_TRUNCATED, "eight continuation bytes"},
    {"8000", RDV_ERR_INVALID, "0 as 80 00 (not minimal)"},
    {"808000", RDV_ERR_INVALID, "0 as 80 80 00 (not minimal)"},
    {"8100", RDV_ERR_INVALID, "1 as 81 00 (not minimal)"},
    {"ff8000", RDV_ERR_INVALID, "127 as ff 80 00 (not minimal)"},
    {"ffffffffffffffff00", RDV_ERR_INVALID, "9 bytes ending in a zero group"},
    {"ffffffffffffffffff", RDV_ERR_INVALID, "nine continuation bytes"},
    {"ffffffffffffffffff01", RDV_ERR_INVALID, "10-byte encoding"},
    {"80808080808080808001", RDV_ERR_INVALID, "10-byte encoding of 2^63"},
    {"ffffffffffffffffffffff7f", RDV_ERR_INVALID, "12 bytes"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        size_t n;
        uint8_t *b = unhex(bads[i].hex, &n);
        uint64_t v;
        is_int(rdv_uvarint_decode(b, n, &v), bads[i].err, "decode %s: %s", bads[i].hex, bads[i].why);
        free(b);
    }
    uint64_t v = 0;
    is_int(rdv_uvarint_decode((const uint8_t *)"\xac\x02\xff", 3, &v), 2, "trailing bytes are left alone");
    is_int(v, 300, "  value 300");
}

static uint64_t rnd64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Powers of two and their neighbours, then random values of every bit length up to 63. */
static void test_round_trips(void)
{
    int bad = 0, count = 0;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int k = 0; k < 63 * 40; k++) {
        uint64_t v;
        if (k < 63 * 3)
            v = (UINT64_C(1) << (k / 3)) + (uint64_t)(k % 3) - 1;
        else
            v = rnd64(&seed) >> (1 + k % 63);
        uint8_t out[RDV_UVARINT_MAX_LEN];
        size_t n = rdv_uvarint_encode(v, out);
        uint64_t d = ~v;
        size_t want_n = 1;
        for (uint64_t t = v >> 7; t; t >>= 7)
            want_n++;
        if (n != want_n || rdv_uvarint_size(v) != n || rdv_uvarint_decode(out, n, &d) != (int)n || d != v) {
            if (bad++ < 5)
                diag("round trip of %" PRIu64 " failed", v);
        }
        count++;
    }
    is_int(bad, 0, "%d values below 2^63 round-trip with the minimal length", count);
}

static void test_buf_basic(void)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    is_int(rdv_buf_append(&b, "hello", 5), RDV_OK, "append 5 bytes");
    is_int(rdv_buf_append_byte(&b, ' '), RDV_OK, "append a byte");
    is_int(rdv_buf_append(&b, "world", 5), RDV_OK, "append 5 more");
    is_mem(rdv_buf_head(&b), b.len, "hello world", 11, "  content");
    rdv_buf_consume(&b, 6);
    is_mem(rdv_buf_head(&b), b.len, "world", 5, "consume 6: 'world' left");
    is_int(rdv_buf_append(&b, NULL, 0), RDV_OK, "append 0 bytes (NULL) is a no-op");
    is_int(b.len, 5, "  len 5");
    is_int(rdv_buf_reserve(&b, 100), RDV_OK, "reserve 100");
    memcpy(rdv_buf_tail(&b), "!!", 2);
    rdv_buf_commit(&b, 2);
    is_mem(rdv_buf_head(&b), b.len, "world!!", 7, "write at tail + commit");
    ok(b.cap - b.off >= 105, "  reserved space is there");
    rdv_buf_consume(&b, 100);
    is_int(b.len, 0, "consume more than len empties");
    is_int(b.off, 0, "  and rewinds");
    size_t cap = b.cap;
    rdv_buf_append(&b, "x", 1);
    rdv_buf_reset(&b);
    is_int(b.len, 0, "reset empties");
    is_int(b.cap, cap, "  keeps the allocation");
    rdv_buf_free(&b);
    ok(b.data == NULL && b.cap == 0 && b.len == 0, "free releases");
    is_int(b.max, SIZE_MAX, "  keeps the cap setting");

    struct rdv_buf z = {0}; /* buf.h: max 0 means no cap, even without rdv_buf_init */
    is_int(rdv_buf_append(&z, "abc", 3), RDV_OK, "zero-initialized buffer accepts appends");
    is_mem(rdv_buf_head(&z), z.len, "abc", 3, "  content");
    rdv_buf_free(&z);
}

static void test_buf_cap(void)
{
    struct rdv_buf b;
    uint8_t chunk[100];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (uint8_t)i;
    rdv_buf_init(&b, 100);
    is_int(rdv_buf_append(&b, chunk, 60), RDV_OK, "cap 100: append 60");
    is_int(rdv_buf_append(&b, chunk, 41), RDV_ERR_TOO_LARGE, "  append 41 more: TOO_LARGE");
    is_int(b.len, 60, "  len still 60");
    is_int(rdv_buf_reserve(&b, 41), RDV_ERR_TOO_LARGE, "  reserve 41: TOO_LARGE");
    is_int(rdv_buf_reserve(&b, SIZE_MAX), RDV_ERR_TOO_LARGE, "  reserve SIZE_MAX: TOO_LARGE");
    is_int(rdv_buf_append(&b, chunk + 60, 40), RDV_OK, "  append exactly up to the cap");
    is_mem(rdv_buf_head(&b), b.len, chunk, 100, "  content 0..99");
    is_int(rdv_buf_append_byte(&b, 1), RDV_ERR_TOO_LARGE, "  one byte more: TOO_LARGE");
    ok(b.cap <= 100, "  the allocation (%zu) never exceeds the cap", b.cap);
    rdv_buf_consume(&b, 50);
    is_int(rdv_buf_append(&b, chunk, 50), RDV_OK, "consume 50 then append 50: consumed space is reclaimed");
    is_mem(rdv_buf_head(&b), 50, chunk + 50, 50, "  old tail moved to the front");
    is_mem(rdv_buf_head(&b) + 50, 50, chunk, 50, "  new bytes after it");
    is_int(rdv_buf_append_byte(&b, 1), RDV_ERR_TOO_LARGE, "  full again");

    rdv_buf_reset(&b);
    rdv_buf_append(&b, chunk, 98);
    is_int(rdv_buf_append_uvarint(&b, 300), RDV_OK, "append_uvarint 300 fills the last 2 bytes");
    is_mem(rdv_buf_head(&b) + 98, 2, "\xac\x02", 2, "  as ac 02");
    rdv_buf_consume(&b, 1);
    is_int(rdv_buf_append_uvarint(&b, 16384), RDV_ERR_TOO_LARGE, "append_uvarint 16384 (3 bytes) into 1 free: TOO_LARGE");
    is_int(b.len, 99, "  nothing half-written");
    is_int(rdv_buf_append_uvarint(&b, 127), RDV_OK, "append_uvarint 127 (1 byte) fits");
    is_int(rdv_buf_head(&b)[99], 0x7f, "  as 7f, after ac 02");
    rdv_buf_free(&b);

    rdv_buf_init(&b, 0);
    is_int(rdv_buf_append_uvarint(&b, UINT64_MAX), RDV_OK, "append_uvarint 2^64-1");
    is_int(b.len, 10, "  10 bytes");
    rdv_buf_free(&b);
}

/* Unlimited buffer with consumed bytes in front: a huge reserve must not wrap off + need
 * around and claim success; it has to try (and fail) to allocate. */
static void test_buf_huge_reserve(void)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, "0123456789abcdefghij", 20);
    rdv_buf_consume(&b, 10);
    int rc = rdv_buf_reserve(&b, SIZE_MAX - 15);
    is_int(rc, RDV_ERR_NOMEM, "unlimited buffer, off 10: reserve(SIZE_MAX-15) is NOMEM, not OK");
    is_int(rdv_buf_reserve(&b, SIZE_MAX - 5), RDV_ERR_TOO_LARGE, "  reserve past SIZE_MAX - len: TOO_LARGE");
    is_mem(rdv_buf_head(&b), b.len, "abcdefghij", 10, "  content intact");
    rdv_buf_free(&b);
}

int main(void)
{
    test_spec_examples();
    test_beyond_63_bits();
    test_bad();
    test_round_trips();
    test_buf_basic();
    test_buf_cap();
    test_buf_huge_reserve();
    return tap_done();
}
