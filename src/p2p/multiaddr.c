/* multiaddr.c: the multiaddr codec. One const table maps each protocol code to its text name and to
 * a value kind; the kind decides the binary size (none, fixed, or uvarint length prefix), how the
 * value is validated and how it is written as text. Binary input is validated component by
 * component before anything is rendered, and text input is converted and then validated again as
 * binary, so both directions accept exactly the same set of addresses.
 * Codes and sizes: multiformats/multiaddr protocols.csv; value rules follow go-multiaddr. */
#include "p2p/multiaddr.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "p2p/multibase.h"
#include "p2p/varint.h"
#include "util/err.h"
#include "util/utf8.h"

enum ma_kind {
    MK_NONE,     /* no value */
    MK_IP4,      /* 4 bytes */
    MK_IP6,      /* 16 bytes */
    MK_PORT,     /* 2 bytes, big endian */
    MK_U8,       /* 1 byte, decimal (ipcidr) */
    MK_U64,      /* 8 bytes big endian, decimal (memory) */
    MK_NAME,     /* length-prefixed UTF-8, non-empty, no '/' (dns*, sni, ip6zone) */
    MK_P2P,      /* length-prefixed identity or sha2-256 multihash, text base58btc */
    MK_CERTHASH, /* length-prefixed multihash, text multibase */
    MK_PATH,     /* length-prefixed absolute path, must be the last component (unix) */
    MK_ONION,    /* 10-byte v2 onion hash + port (2 bytes, not 0), text base32:port */
    MK_ONION3,   /* 35-byte v3 onion key + port, text base32:port */
    MK_GARLIC64, /* length-prefixed I2P destination (>= 386 bytes), text I2P base64 (-~, padded) */
    MK_GARLIC32, /* length-prefixed I2P hash (32 bytes, or >= 35), text base32 without padding */
};

struct ma_proto {
    uint32_t code;
    const char *name;
    enum ma_kind kind;
};

static const struct ma_proto ma_protos[] = {
    {4, "ip4", MK_IP4},           {6, "tcp", MK_PORT},
    {33, "dccp", MK_PORT},        {41, "ip6", MK_IP6},
    {42, "ip6zone", MK_NAME},     {43, "ipcidr", MK_U8},
    {53, "dns", MK_NAME},         {54, "dns4", MK_NAME},
    {55, "dns6", MK_NAME},        {56, "dnsaddr", MK_NAME},
    {132, "sctp", MK_PORT},       {273, "udp", MK_PORT},
    {275, "p2p-webrtc-star", MK_NONE}, {276, "p2p-webrtc-direct", MK_NONE},
    {277, "p2p-stardust", MK_NONE}, {280, "webrtc-direct", MK_NONE},
    {281, "webrtc", MK_NONE},     {290, "p2p-circuit", MK_NONE},
    {301, "udt", MK_NONE},        {302, "utp", MK_NONE},
    {400, "unix", MK_PATH},       {421, "p2p", MK_P2P},
    {443, "https", MK_NONE},      {444, "onion", MK_ONION},
    {445, "onion3", MK_ONION3},   {446, "garlic64", MK_GARLIC64},
    {447, "garlic32", MK_GARLIC32}, {448, "tls", MK_NONE},
    {449, "sni", MK_NAME},        {454, "noise", MK_NONE},
    {460, "quic", MK_NONE},       {461, "quic-v1", MK_NONE},
    {465, "webtransport", MK_NONE}, {466, "certhash", MK_CERTHASH},
    {477, "ws", MK_NONE},         {478, "wss", MK_NONE},
    {479, "p2p-websocket-star", MK_NONE}, {480, "http", MK_NONE},
    {777, "memory", MK_U64},      {7367777, "plaintextv2", MK_NONE},
};

#define MH_IDENTITY 0x00
#define MH_SHA2_256 0x12
#define CID_LIBP2P_KEY 0x72
#define ONION_HASH 10         /* go-multiaddr's sizes and minimums (transcoders.go) */
#define ONION3_KEY 35
#define GARLIC64_MIN 386
#define GARLIC32_HASH 32
#define GARLIC32_MIN_LONG 35

/* Fixed value size of a kind in bytes; 0 for none, SIZE_MAX for length-prefixed. */
static size_t kind_size(enum ma_kind k)
{
    switch (k) {
    case MK_NONE: return 0;
    case MK_IP4: return 4;
    case MK_IP6: return 16;
    case MK_PORT: return 2;
    case MK_U8: return 1;
    case MK_U64: return 8;
    case MK_ONION: return ONION_HASH + 2;
    case MK_ONION3: return ONION3_KEY + 2;
    default: return SIZE_MAX;
    }
}

static const struct ma_proto *proto_by_code(uint64_t code)
{
    for (size_t i = 0; i < sizeof(ma_protos) / sizeof(ma_protos[0]); i++)
        if (ma_protos[i].code == code)
            return &ma_protos[i];
    return NULL;
}

static const struct ma_proto *proto_by_name(const char *s, size_t n)
{
    if (n == 4 && memcmp(s, "ipfs", 4) == 0) /* legacy name of /p2p/, printed as p2p */
        return proto_by_code(RDV_MA_P2P);
    for (size_t i = 0; i < sizeof(ma_protos) / sizeof(ma_protos[0]); i++)
        if (strlen(ma_protos[i].name) == n && memcmp(ma_protos[i].name, s, n) == 0)
            return &ma_protos[i];
    return NULL;
}

const char *rdv_ma_proto_name(uint32_t code)
{
    const struct ma_proto *p = proto_by_code(code);
    return p ? p->name : NULL;
}

/* ---- value validation (shared by both directions) ------------------------------------------ */

/* Text-like values become C strings and path segments: NUL and (for names) '/' would change
 * the address's meaning when printed, so they are refused in binary input too. */
static bool text_value_ok(const uint8_t *v, size_t n, bool allow_slash)
{
    if (n == 0 || memchr(v, 0, n) || (!allow_slash && memchr(v, '/', n)))
        return false;
    return rdv_utf8_valid(v, n);
}

/* A multihash whose digest length matches the bytes present; for peer ids only identity
 * (non-empty) and sha2-256 (32 bytes) are valid (peer-ids spec). */
static int mh_check(const uint8_t *v, size_t n, bool peer)
{
    uint64_t code, dlen;
    int r = rdv_uvarint_decode(v, n, &code);
    if (r < 0)
        return RDV_ERR_INVALID;
    size_t off = (size_t)r;
    r = rdv_uvarint_decode(v + off, n - off, &dlen);
    if (r < 0)
        return RDV_ERR_INVALID;
    off += (size_t)r;
    if (dlen != n - off)
        return RDV_ERR_INVALID;
    if (!peer)
        return RDV_OK;
    if (code == MH_IDENTITY && dlen > 0)
        return RDV_OK;
    if (code == MH_SHA2_256 && dlen == 32)
        return RDV_OK;
    return RDV_ERR_INVALID;
}

static int value_check(enum ma_kind k, const uint8_t *v, size_t n)
{
    switch (k) {
    case MK_NAME:
        return text_value_ok(v, n, false) ? RDV_OK : RDV_ERR_INVALID;
    case MK_PATH: /* absolute, not ending in '/', as go-multiaddr requires */
        if (n < 2 || v[0] != '/' || v[n - 1] == '/' || !text_value_ok(v, n, true))
            return RDV_ERR_INVALID;
        return RDV_OK;
    case MK_P2P:
        return mh_check(v, n, true);
    case MK_CERTHASH:
        return mh_check(v, n, false);
    case MK_ONION:
    case MK_ONION3: /* port 0 cannot be dialled: go-multiaddr refuses it too */
        return v[n - 2] == 0 && v[n - 1] == 0 ? RDV_ERR_INVALID : RDV_OK;
    case MK_GARLIC64:
        return n >= GARLIC64_MIN ? RDV_OK : RDV_ERR_INVALID;
    case MK_GARLIC32:
        return n == GARLIC32_HASH || n >= GARLIC32_MIN_LONG ? RDV_OK : RDV_ERR_INVALID;
    default:
        return RDV_OK; /* fixed-size values: every bit pattern is meaningful */
    }
}

/* ---- binary parsing ------------------------------------------------------------------------ */

/* Reads one component at *pos; on success also reports the table entry. */
static int ma_read(const uint8_t *bin, size_t len, size_t *pos, struct rdv_ma_component *c,
                   const struct ma_proto **pp)
{
    if (*pos >= len)
        return *pos == len ? 0 : RDV_ERR_INVALID;
    uint64_t code;
    int r = rdv_uvarint_decode(bin + *pos, len - *pos, &code);
    if (r < 0)
        return r;
    size_t p = *pos + (size_t)r;
    const struct ma_proto *pr = proto_by_code(code);
    if (!pr)
        return RDV_ERR_UNSUPPORTED;
    size_t vlen = kind_size(pr->kind);
    if (vlen == SIZE_MAX) {
        uint64_t l;
        r = rdv_uvarint_decode(bin + p, len - p, &l);
        if (r < 0)
            return r;
        p += (size_t)r;
        if (l == 0)
            return RDV_ERR_INVALID;
        if (l > len - p)
            return RDV_ERR_TRUNCATED;
        vlen = (size_t)l;
    } else if (vlen > len - p) {
        return RDV_ERR_TRUNCATED;
    }
    r = value_check(pr->kind, bin + p, vlen);
    if (r < 0)
        return r;
    c->code = pr->code;
    c->name = pr->name;
    c->value = bin + p;
    c->value_len = vlen;
    *pos = p + vlen;
    *pp = pr;
    return 1;
}

int rdv_ma_next(const uint8_t *bin, size_t len, size_t *pos, struct rdv_ma_component *c)
{
    const struct ma_proto *pr;
    return ma_read(bin, len, pos, c, &pr);
}

int rdv_ma_validate(const uint8_t *bin, size_t len)
{
    if (len == 0)
        return RDV_ERR_INVALID;
    if (len > RDV_MA_MAX_BINARY)
        return RDV_ERR_TOO_LARGE;
    size_t pos = 0;
    struct rdv_ma_component c;
    bool after_path = false;
    int r;
    while ((r = rdv_ma_next(bin, len, &pos, &c)) == 1) {
        if (after_path) /* a path swallows the rest of the text form: nothing may follow it */
            return RDV_ERR_INVALID;
        after_path = c.code == RDV_MA_UNIX;
    }
    return r;
}

int rdv_ma_validate_known(const uint8_t *bin, size_t len)
{
    int r = rdv_ma_validate(bin, len);
    if (r != RDV_ERR_UNSUPPORTED)
        return r;
    /* validate stopped at the first unknown code; everything before it was valid */
    return RDV_OK;
}

/* ---- binary -> text ------------------------------------------------------------------------ */

/* Bounded text writer: keeps out NUL-terminated, fails instead of truncating. */
struct tw {
    char *p;
    size_t cap;
    size_t len;
};

static int tw_put(struct tw *w, const void *s, size_t n)
{
    if (n >= w->cap - w->len)
        return RDV_ERR_TOO_LARGE;
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
    return RDV_OK;
}

static int tw_str(struct tw *w, const char *s)
{
    return tw_put(w, s, strlen(s));
}

static int tw_base58(struct tw *w, const uint8_t *v, size_t n)
{
    int r = rdv_base58_encode(v, n, w->p + w->len, w->cap - w->len);
    if (r < 0)
        return r == RDV_ERR_TOO_LARGE ? r : RDV_ERR_INTERNAL;
    w->len += (size_t)r;
    return RDV_OK;
}

/* certhash is printed as multibase base64url ('u'), like go-multiaddr does. */
static int tw_base64url(struct tw *w, const uint8_t *v, size_t n)
{
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t need = sodium_base64_ENCODED_LEN(n, variant); /* includes the NUL */
    if (w->cap - w->len < need + 1)
        return RDV_ERR_TOO_LARGE;
    w->p[w->len++] = 'u';
    sodium_bin2base64(w->p + w->len, need, v, n, variant);
    w->len += need - 1;
    return RDV_OK;
}

static int tw_base32(struct tw *w, const uint8_t *v, size_t n)
{
    int r = rdv_base32_encode(v, n, w->p + w->len, w->cap - w->len);
    if (r < 0)
        return r == RDV_ERR_TOO_LARGE ? r : RDV_ERR_INTERNAL;
    w->len += (size_t)r;
    return RDV_OK;
}

/* I2P's base64: the standard alphabet with '-' and '~' for '+' and '/', padded. */
static int tw_garlic64(struct tw *w, const uint8_t *v, size_t n)
{
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    size_t need = sodium_base64_ENCODED_LEN(n, variant); /* includes the NUL */
    if (w->cap - w->len < need)
        return RDV_ERR_TOO_LARGE;
    char *t = w->p + w->len;
    sodium_bin2base64(t, need, v, n, variant);
    for (size_t i = 0; i + 1 < need; i++)
        t[i] = t[i] == '+' ? '-' : t[i] == '/' ? '~' : t[i];
    w->len += need - 1;
    return RDV_OK;
}

static uint64_t be_uint(const uint8_t *v, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | v[i];
    return x;
}

/* hash:port, the hash in lower-case base32 (10 or 35 bytes: no padding needed). */
static int tw_onion(struct tw *w, const uint8_t *v, size_t n)
{
    char port[8];
    int r = tw_base32(w, v, n - 2);
    if (r < 0)
        return r;
    snprintf(port, sizeof(port), ":%u", (unsigned)be_uint(v + n - 2, 2));
    return tw_str(w, port);
}

static int value_to_text(enum ma_kind k, const uint8_t *v, size_t n, struct tw *w)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    if (k == MK_NONE)
        return RDV_OK;
    if (k != MK_PATH && tw_put(w, "/", 1) < 0) /* a path value starts with its own '/' */
        return RDV_ERR_TOO_LARGE;
    switch (k) {
    case MK_IP4:
    case MK_IP6:
        if (!inet_ntop(k == MK_IP4 ? AF_INET : AF_INET6, v, tmp, sizeof(tmp)))
            return RDV_ERR_INTERNAL;
        return tw_str(w, tmp);
    case MK_PORT:
    case MK_U8:
    case MK_U64:
        snprintf(tmp, sizeof(tmp), "%" PRIu64, be_uint(v, n));
        return tw_str(w, tmp);
    case MK_NAME:
    case MK_PATH:
        return tw_put(w, v, n);
    case MK_P2P:
        return tw_base58(w, v, n);
    case MK_CERTHASH:
        return tw_base64url(w, v, n);
    case MK_ONION:
    case MK_ONION3:
        return tw_onion(w, v, n);
    case MK_GARLIC64:
        return tw_garlic64(w, v, n);
    case MK_GARLIC32:
        return tw_base32(w, v, n);
    default:
        return RDV_ERR_INTERNAL;
    }
}

int rdv_ma_to_text(const uint8_t *bin, size_t len, char *out, size_t outcap)
{
    if (!out || outcap == 0)
        return RDV_ERR_TOO_LARGE;
    out[0] = '\0';
    int r = rdv_ma_validate(bin, len);
    if (r < 0)
        return r;
    /* Never produce text that rdv_ma_from_text would refuse as too long. */
    struct tw w = {out, outcap < RDV_MA_MAX_TEXT ? outcap : RDV_MA_MAX_TEXT, 0};
    size_t pos = 0;
    struct rdv_ma_component c;
    const struct ma_proto *pr;
    while ((r = ma_read(bin, len, &pos, &c, &pr)) == 1) {
        if ((r = tw_put(&w, "/", 1)) < 0 || (r = tw_str(&w, pr->name)) < 0 ||
            (r = value_to_text(pr->kind, c.value, c.value_len, &w)) < 0)
            return r;
    }
    return r < 0 ? r : (int)w.len;
}

/* ---- text -> binary ------------------------------------------------------------------------ */

/* Canonical decimal: digits only, no sign, no leading zero, at most max. */
static int parse_dec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return RDV_ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return RDV_ERR_INVALID;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10)
            return RDV_ERR_INVALID;
        v = v * 10 + d;
    }
    *out = v;
    return RDV_OK;
}

static int ip_from_text(int af, const char *s, size_t n, struct rdv_buf *out)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    uint8_t addr[16];
    if (n >= sizeof(tmp))
        return RDV_ERR_INVALID;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(af, tmp, addr) != 1)
        return RDV_ERR_INVALID;
    return rdv_buf_append(out, addr, af == AF_INET ? 4 : 16);
}

static int uint_from_text(const char *s, size_t n, size_t size, struct rdv_buf *out)
{
    uint64_t max = size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
    uint64_t v;
    uint8_t be[8];
    if (parse_dec(s, n, max, &v) < 0)
        return RDV_ERR_INVALID;
    for (size_t i = 0; i < size; i++)
        be[i] = (uint8_t)(v >> (8 * (size - 1 - i)));
    return rdv_buf_append(out, be, size);
}

/* A CIDv1 (version 1, codec libp2p-key) in buf: moves its multihash to the front. */
static int cid_unwrap(uint8_t *buf, size_t n, size_t *mhlen)
{
    uint64_t version, codec;
    int r = rdv_uvarint_decode(buf, n, &version);
    if (r < 0 || version != 1)
        return RDV_ERR_INVALID;
    size_t off = (size_t)r;
    r = rdv_uvarint_decode(buf + off, n - off, &codec);
    if (r < 0 || codec != CID_LIBP2P_KEY)
        return RDV_ERR_INVALID;
    off += (size_t)r;
    memmove(buf, buf + off, n - off);
    *mhlen = n - off;
    return RDV_OK;
}

/* Decodes s (len > 0) in the multibase named by its first character: 'z' base58btc, 'b' base32,
 * 'u'/'m' base64url/base64 without padding. */
static int multibase_decode(const char *s, size_t n, uint8_t *buf, size_t cap, size_t *outlen)
{
    int r;
    if (s[0] == 'z' || s[0] == 'b') {
        r = s[0] == 'z' ? rdv_base58_decode(s + 1, n - 1, buf, cap)
                        : rdv_base32_decode(s + 1, n - 1, buf, cap);
        if (r < 0)
            return r == RDV_ERR_TOO_LARGE ? r : RDV_ERR_INVALID;
        *outlen = (size_t)r;
        return RDV_OK;
    }
    if (s[0] == 'u' || s[0] == 'm') {
        int variant = s[0] == 'u' ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                                  : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
        const char *end;
        if (sodium_base642bin(buf, cap, s + 1, n - 1, NULL, outlen, &end, variant) != 0 ||
            end != s + n)
            return RDV_ERR_INVALID;
        return RDV_OK;
    }
    return RDV_ERR_UNSUPPORTED;
}

/* /p2p/ text: a bare base58btc multihash ("Qm...", "1..."), or a CIDv1 in base32/base58btc. */
static int p2p_from_text(const char *s, size_t n, uint8_t *buf, size_t cap, size_t *mhlen)
{
    int r;
    if (n == 0)
        return RDV_ERR_INVALID;
    if (s[0] == '1' || (n >= 2 && s[0] == 'Q' && s[1] == 'm')) {
        r = rdv_base58_decode(s, n, buf, cap);
        if (r < 0)
            return r == RDV_ERR_TOO_LARGE ? r : RDV_ERR_INVALID;
        *mhlen = (size_t)r;
    } else {
        r = multibase_decode(s, n, buf, cap, mhlen);
        if (r < 0)
            return r;
        r = cid_unwrap(buf, *mhlen, mhlen);
        if (r < 0)
            return r;
    }
    return mh_check(buf, *mhlen, true);
}

static int append_lp(struct rdv_buf *out, const void *v, size_t n)
{
    int r = rdv_buf_append_uvarint(out, n);
    return r < 0 ? r : rdv_buf_append(out, v, n);
}

/* "hash:port": exactly hlen bytes of base32 hash, one ':', a port from 1 to 65535. */
static int onion_from_text(const char *s, size_t n, size_t hlen, struct rdv_buf *out)
{
    uint8_t buf[ONION3_KEY + 2];
    const char *colon = memchr(s, ':', n);
    uint64_t port;
    if (!colon || (size_t)(colon - s) != (hlen * 8 + 4) / 5)
        return RDV_ERR_INVALID;
    if (rdv_base32_decode(s, (size_t)(colon - s), buf, sizeof(buf)) != (int)hlen)
        return RDV_ERR_INVALID;
    if (parse_dec(colon + 1, n - (size_t)(colon + 1 - s), 65535, &port) < 0 || port == 0)
        return RDV_ERR_INVALID;
    buf[hlen] = (uint8_t)(port >> 8);
    buf[hlen + 1] = (uint8_t)port;
    return rdv_buf_append(out, buf, hlen + 2);
}

/* I2P base64 (see tw_garlic64) -> bytes in buf. */
static int garlic64_decode(const char *s, size_t n, uint8_t *buf, size_t cap, size_t *outlen)
{
    char tmp[RDV_MA_MAX_TEXT];
    const char *end;
    if (n == 0 || n >= sizeof(tmp))
        return RDV_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+' || s[i] == '/')
            return RDV_ERR_INVALID;
        tmp[i] = s[i] == '-' ? '+' : s[i] == '~' ? '/' : s[i];
    }
    if (sodium_base642bin(buf, cap, tmp, n, NULL, outlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != tmp + n)
        return RDV_ERR_INVALID;
    return RDV_OK;
}

/* The length-prefixed garlic kinds: decode, then the binary rules decide. */
static int garlic_from_text(enum ma_kind k, const char *s, size_t n, uint8_t *buf, size_t cap, struct rdv_buf *out)
{
    size_t blen = 0;
    int r;
    if (k == MK_GARLIC64) {
        r = garlic64_decode(s, n, buf, cap, &blen);
    } else {
        r = n ? rdv_base32_decode(s, n, buf, cap) : RDV_ERR_INVALID;
        blen = r < 0 ? 0 : (size_t)r;
    }
    if (r < 0)
        return r == RDV_ERR_TOO_LARGE ? r : RDV_ERR_INVALID;
    if (value_check(k, buf, blen) < 0)
        return RDV_ERR_INVALID;
    return append_lp(out, buf, blen);
}

static int value_from_text(enum ma_kind k, const char *s, size_t n, struct rdv_buf *out)
{
    uint8_t buf[RDV_MA_MAX_BINARY];
    size_t blen = 0;
    int r;
    switch (k) {
    case MK_IP4: return ip_from_text(AF_INET, s, n, out);
    case MK_IP6: return ip_from_text(AF_INET6, s, n, out);
    case MK_PORT:
    case MK_U8:
    case MK_U64: return uint_from_text(s, n, kind_size(k), out);
    case MK_NAME:
    case MK_PATH:
        if (value_check(k, (const uint8_t *)s, n) < 0)
            return RDV_ERR_INVALID;
        return append_lp(out, s, n);
    case MK_P2P:
        r = p2p_from_text(s, n, buf, sizeof(buf), &blen);
        return r < 0 ? r : append_lp(out, buf, blen);
    case MK_CERTHASH:
        if (n == 0)
            return RDV_ERR_INVALID;
        r = multibase_decode(s, n, buf, sizeof(buf), &blen);
        if (r == RDV_OK)
            r = mh_check(buf, blen, false);
        return r < 0 ? r : append_lp(out, buf, blen);
    case MK_ONION: return onion_from_text(s, n, ONION_HASH, out);
    case MK_ONION3: return onion_from_text(s, n, ONION3_KEY, out);
    case MK_GARLIC64:
    case MK_GARLIC32: return garlic_from_text(k, s, n, buf, sizeof(buf), out);
    default:
        return RDV_ERR_INTERNAL;
    }
}

static size_t token_end(const char *t, size_t n, size_t s)
{
    const char *e = memchr(t + s, '/', n - s);
    return e ? (size_t)(e - t) : n;
}

/* t[0..n) starts with '/' and has no trailing '/'; appends the components to out. */
static int parse_text(const char *t, size_t n, struct rdv_buf *out)
{
    if (n < 2)
        return RDV_ERR_INVALID; /* "/" alone: the empty multiaddr */
    size_t pos = 0;             /* always at a '/' */
    while (pos < n) {
        size_t s = pos + 1, e = token_end(t, n, s);
        if (e == s)
            return RDV_ERR_INVALID; /* empty protocol name */
        const struct ma_proto *pr = proto_by_name(t + s, e - s);
        if (!pr)
            return RDV_ERR_UNSUPPORTED;
        int r = rdv_buf_append_uvarint(out, pr->code);
        if (r < 0)
            return r;
        pos = e;
        if (pr->kind == MK_NONE)
            continue;
        if (pos >= n)
            return RDV_ERR_INVALID; /* value missing */
        if (pr->kind == MK_PATH) /* the path is the rest of the text, with its leading '/' */
            s = pos, e = n;
        else
            s = pos + 1, e = token_end(t, n, s);
        r = value_from_text(pr->kind, t + s, e - s, out);
        if (r < 0)
            return r;
        pos = e;
    }
    return RDV_OK;
}

int rdv_ma_from_text(const char *text, struct rdv_buf *out)
{
    if (!text || text[0] != '/')
        return RDV_ERR_INVALID;
    size_t n = strnlen(text, RDV_MA_MAX_TEXT);
    if (n >= RDV_MA_MAX_TEXT)
        return RDV_ERR_TOO_LARGE;
    if (n > 1 && text[n - 1] == '/')
        n--; /* one trailing '/' is tolerated */
    size_t start = out->len;
    int r = parse_text(text, n, out);
    if (r == RDV_OK && out->len - start > RDV_MA_MAX_BINARY)
        r = RDV_ERR_TOO_LARGE;
    if (r == RDV_OK) /* the binary rules (path last, ...) apply to text too */
        r = rdv_ma_validate(rdv_buf_head(out) + start, out->len - start);
    if (r < 0)
        out->len = start;
    return r;
}

/* ---- helpers for dialing and peer ids ------------------------------------------------------ */

int rdv_ma_tcp_sockaddr(const uint8_t *bin, size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
    int r = rdv_ma_validate(bin, len);
    if (r < 0)
        return r;
    struct rdv_ma_component c[3], tmp;
    size_t n = 0, pos = 0;
    while ((r = rdv_ma_next(bin, len, &pos, &tmp)) == 1) {
        if (n == 3)
            return RDV_ERR_UNSUPPORTED;
        c[n++] = tmp;
    }
    if (r < 0)
        return r;
    if (n < 2 || c[1].code != RDV_MA_TCP || (n == 3 && c[2].code != RDV_MA_P2P))
        return RDV_ERR_UNSUPPORTED;
    uint16_t port = (uint16_t)be_uint(c[1].value, 2);
    memset(ss, 0, sizeof(*ss));
    if (c[0].code == RDV_MA_IP4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, c[0].value, 4);
        *sslen = sizeof(*sin);
    } else if (c[0].code == RDV_MA_IP6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, c[0].value, 16);
        *sslen = sizeof(*sin6);
    } else {
        return RDV_ERR_UNSUPPORTED;
    }
    return RDV_OK;
}

static int append_ip_tcp(struct rdv_buf *out, uint32_t ipcode, const void *addr, size_t alen,
                         const void *port_be)
{
    int r;
    if ((r = rdv_buf_append_uvarint(out, ipcode)) < 0 || (r = rdv_buf_append(out, addr, alen)) < 0 ||
        (r = rdv_buf_append_uvarint(out, RDV_MA_TCP)) < 0 || (r = rdv_buf_append(out, port_be, 2)) < 0)
        return r;
    return RDV_OK;
}

int rdv_ma_from_tcp_sockaddr(const struct sockaddr *sa, socklen_t salen, struct rdv_buf *out)
{
    size_t start = out->len;
    int r;
    if (!sa || salen < (socklen_t)sizeof(sa_family_t))
        return RDV_ERR_INVALID;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        if (salen < (socklen_t)sizeof(sin))
            return RDV_ERR_INVALID;
        memcpy(&sin, sa, sizeof(sin));
        r = append_ip_tcp(out, RDV_MA_IP4, &sin.sin_addr, 4, &sin.sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        if (salen < (socklen_t)sizeof(sin6))
            return RDV_ERR_INVALID;
        memcpy(&sin6, sa, sizeof(sin6));
        r = append_ip_tcp(out, RDV_MA_IP6, &sin6.sin6_addr, 16, &sin6.sin6_port);
    } else {
        return RDV_ERR_UNSUPPORTED;
    }
    if (r < 0)
        out->len = start;
    return r;
}

/* Finds the last component; *start is its offset in bin. */
static int last_component(const uint8_t *bin, size_t len, struct rdv_ma_component *last, size_t *start)
{
    int r = rdv_ma_validate(bin, len);
    if (r < 0)
        return r;
    size_t pos = 0, prev = 0;
    struct rdv_ma_component c;
    while ((r = rdv_ma_next(bin, len, &pos, &c)) == 1) {
        *last = c;
        *start = prev;
        prev = pos;
    }
    return r;
}

int rdv_ma_p2p_peer(const uint8_t *bin, size_t len, const uint8_t **mh, size_t *mhlen)
{
    struct rdv_ma_component last = {0};
    size_t start = 0;
    int r = last_component(bin, len, &last, &start);
    if (r < 0)
        return r;
    if (last.code != RDV_MA_P2P)
        return RDV_ERR_NOT_FOUND;
    *mh = last.value;
    *mhlen = last.value_len;
    return RDV_OK;
}

int rdv_ma_strip_p2p(const uint8_t *bin, size_t len, size_t *outlen)
{
    struct rdv_ma_component last = {0};
    size_t start = 0;
    int r = last_component(bin, len, &last, &start);
    if (r < 0)
        return r;
    *outlen = last.code == RDV_MA_P2P ? start : len;
    return RDV_OK;
}

int rdv_ma_append_p2p(struct rdv_buf *out, const uint8_t *mh, size_t mhlen)
{
    if (!mh || mhlen > RDV_MA_MAX_BINARY || mh_check(mh, mhlen, true) < 0)
        return RDV_ERR_INVALID;
    size_t start = out->len;
    int r = rdv_buf_append_uvarint(out, RDV_MA_P2P);
    if (r == RDV_OK)
        r = append_lp(out, mh, mhlen);
    if (r < 0)
        out->len = start;
    return r;
}
