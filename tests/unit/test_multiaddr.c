/* test_multiaddr.c: the multiaddr codec against fixed vectors.
 *
 * Expected bytes come from the multiaddr spec's test feature, go-multiaddr's TestStringToBytes, the
 * addresses js-libp2p put inside the shared peer-record vectors (decoded here from the envelopes
 * themselves), and, for the remaining protocols, hex worked out by hand from protocols.csv.
 * Then: every truncation of every vector, trailing garbage, hostile binary values, bad text, the
 * size caps, the sockaddr and /p2p/ helpers, and a mutation run checking that whatever binary is
 * accepted converts to text and back to the very same bytes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "envelope.pb-c.h"
#include "p2p/multiaddr.h"
#include "peer_record.pb-c.h"
#include "tap.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/err.h"

struct vec {
    const char *in;   /* text input */
    const char *hex;  /* expected binary */
    const char *out;  /* canonical text, NULL if equal to in */
};

static const struct vec vecs[] = {
    /* multiformats/multiaddr test/multiaddr.feature */
    {"/ip4/192.0.2.42/tcp/443", "04c000022a0601bb", NULL},
    /* go-multiaddr TestStringToBytes */
    {"/ip4/127.0.0.1/udp/1234", "047f000001910204d2", NULL},
    {"/ip4/127.0.0.1/tcp/4321", "047f0000010610e1", NULL},
    {"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321", "047f000001910204d2047f0000010610e1", NULL},
    /* js-libp2p, shared/vectors/peer-records.json */
    {"/ip4/127.0.0.1/tcp/60000", "047f00000106ea60", NULL},
    {"/ip4/10.1.2.3/tcp/30303", "040a01020306765f", NULL},
    {"/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1", NULL},
    {"/dns4/node-01.example.org/tcp/443/wss", "36136e6f64652d30312e6578616d706c652e6f72670601bbde03", NULL},
    {"/ip4/1.2.3.4/udp/9000/quic-v1", "040102030491022328cd03", NULL},
    {"/dns6/x.example.com/tcp/8000/ws", "370d782e6578616d706c652e636f6d061f40dd03", NULL},
    {"/dnsaddr/bootstrap.example.net", "3815626f6f7473747261702e6578616d706c652e6e6574", NULL},
    {"/ip4/8.8.4.4/tcp/1/tls/ws", "0408080404060001c003dd03", NULL},
    /* go-multiaddr TestStringToBytes: onion, onion3, garlic32 */
    {"/onion/aaimaq4ygg2iegci:80", "bc030010c0439831b48218480050", NULL},
    {"/onion/timaq4ygg2iegci7:1234", "bc039a18087306369043091f04d2", NULL},
    {"/onion/TIMAQ4YGG2IEGCI7:1234/tcp/1", "bc039a18087306369043091f04d2060001", "/onion/timaq4ygg2iegci7:1234/tcp/1"},
    {"/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234",
     "bd03adadec040be047f9658668b11a504f3155001f231a37f54c4476c07fb4cc139ed7e30304d2", NULL},
    {"/garlic32/566niximlxdzpanmn4qouucvua3k7neniwss47li5r6ugoertzuq",
     "bf0320efbcd45d0c5dc79781ac6f20ea5055a036afb48d45a52e7d68ec7d4338919e69", NULL},
    /* by hand from protocols.csv */
    {"/ip4/127.0.0.1/tcp/4001", "047f000001060fa1", NULL},
    {"/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
     "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b", NULL},
    {"/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
     "a503260024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4", NULL},
    {"/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
     "29260100094f819700803eca6566e80c21910204d2cd03", NULL},
    {"/ip6zone/x/ip6/fe80::1", "2a017829fe800000000000000000000000000001", NULL},
    {"/ip6zone/x%y/ip6/::", "2a037825792900000000000000000000000000000000", NULL},
    {"/unix/a/b/c", "9003062f612f622f63", NULL},
    {"/ip4/1.2.3.4/tcp/80/unix/a/b/c/d/e/f", "040102030406005090030c2f612f622f632f642f652f66", NULL},
    {"/dns/example.com/tcp/80", "350b6578616d706c652e636f6d060050", NULL},
    {"/ip4/127.0.0.1/tcp/443/tls/sni/example.com/ws",
     "047f0000010601bbc003c1030b6578616d706c652e636f6ddd03", NULL},
    {"/ip4/1.2.3.4/udp/443/quic-v1/webtransport/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
     "0401020304910201bbcd03d103d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2", NULL},
    {"/ip4/1.2.3.4/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit"
     "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
     "0401020304060001a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b"
     "a202a503260024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4", NULL},
    {"/ip4/127.0.0.1/tcp/127/noise", "047f00000106007fc603", NULL},
    {"/ip4/127.0.0.1/udp/1234/quic", "047f000001910204d2cc03", NULL},
    {"/ip4/127.0.0.1/tcp/9090/http", "047f000001062382e003", NULL},
    {"/ip4/192.0.2.0/ipcidr/24", "04c00002002b18", NULL},
    {"/memory/4", "89060000000000000004", NULL},
    {"/memory/18446744073709551615", "8906ffffffffffffffff", NULL},
    {"/plaintextv2", "e1d8c103", NULL},
    {"/ip4/127.0.0.1/udp/1234/webrtc-direct", "047f000001910204d29802", NULL},
    {"/sctp/65535", "8401ffff", NULL},
    {"/dccp/0", "210000", NULL},
    {"/ip6/::ffff:1.2.3.4/tcp/1", "2900000000000000000000ffff01020304060001", NULL},
    {"/ip6/2001:db8::1/tcp/65535", "2920010db800000000000000000000000106ffff", NULL},
    {"/ip6/::/tcp/0", "2900000000000000000000000000000000060000", NULL},
    {"/dns/\xe2\x82\xac.example", "350be282ac2e6578616d706c65", NULL},
    /* non-canonical input: legacy names, other encodings, RFC 5952 */
    {"/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
     "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b",
     "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
    {"/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
     "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b",
     "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
    {"/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
     "a503260024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4",
     "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV"},
    {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy",
     "047f000001910204d2cd03d103d20313d501103858f62230ac3c915f300c664312c63f",
     "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/u1QEQOFj2IjCsPJFfMAxmQxLGPw"},
    {"/certhash/zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
     "d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2",
     "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g"},
    {"/ip4/127.0.0.1/tcp/1234/", "047f0000010604d2", "/ip4/127.0.0.1/tcp/1234"},
    {"/ip6/2001:0db8:0000::1/tcp/65535", "2920010db800000000000000000000000106ffff", "/ip6/2001:db8::1/tcp/65535"},
    {"/ip6/0:0:0:0:0:0:0:1", "2900000000000000000000000000000001", "/ip6/::1"},
    {"/ip6/2001:db8:0:0:1:0:0:1", "2920010db8000000000001000000000001", "/ip6/2001:db8::1:0:0:1"},
    {"/ip6/::FFFF:1.2.3.4", "2900000000000000000000ffff01020304", "/ip6/::ffff:1.2.3.4"},
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

static uint8_t *unhex(const char *hex, size_t *n)
{
    uint8_t *b = tu_unhex(hex, n);
    if (!b) {
        printf("Bail out! bad hex in test: %s\n", hex);
        exit(1);
    }
    return b;
}

/* Text -> binary; returns the rdv_err and leaves the bytes in a fresh buffer the caller frees. */
static int from_text(const char *t, struct rdv_buf *b)
{
    rdv_buf_init(b, 0);
    return rdv_ma_from_text(t, b);
}

static void test_vectors(void)
{
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        const char *want_text = v->out ? v->out : v->in;
        size_t n;
        uint8_t *want = unhex(v->hex, &n);
        struct rdv_buf b;
        is_int(from_text(v->in, &b), RDV_OK, "from_text %s", v->in);
        is_mem(rdv_buf_head(&b), b.len, want, n, "  bytes %s", v->hex);
        char text[RDV_MA_MAX_TEXT];
        int tl = rdv_ma_to_text(want, n, text, sizeof(text));
        is_int(tl, (long long)strlen(want_text), "to_text length of %s", v->hex);
        is_str(text, want_text, "  text");
        /* the exact fit works, one byte less does not */
        char *exact = malloc(strlen(want_text) + 1);
        is_int(rdv_ma_to_text(want, n, exact, strlen(want_text) + 1), (long long)strlen(want_text),
               "  fits in exactly %zu bytes", strlen(want_text) + 1);
        is_int(rdv_ma_to_text(want, n, exact, strlen(want_text)), RDV_ERR_TOO_LARGE, "  one byte short -> TOO_LARGE");
        ok(strlen(exact) < strlen(want_text), "  short output stays NUL-terminated");
        free(exact);
        rdv_buf_free(&b);
        free(want);
    }
}

/* Every prefix must fail with TRUNCATED except the component boundaries, which are valid shorter
 * addresses whose text is a prefix of the full text ending at a '/'. */
static void test_truncation(void)
{
    int bad = 0, boundaries = 0, checked = 0;
    for (size_t i = 0; i < NVECS; i++) {
        size_t n;
        uint8_t *bin = unhex(vecs[i].hex, &n);
        const char *full = vecs[i].out ? vecs[i].out : vecs[i].in;
        bool *is_boundary = calloc(n + 1, 1);
        size_t pos = 0;
        struct rdv_ma_component c;
        while (rdv_ma_next(bin, n, &pos, &c) == 1)
            is_boundary[pos] = true;
        for (size_t k = 1; k < n; k++) {
            int rc = rdv_ma_validate(bin, k);
            checked++;
            if (!is_boundary[k]) {
                if (rc != RDV_ERR_TRUNCATED) {
                    bad++;
                    diag("%s: prefix %zu gave %d, want TRUNCATED", vecs[i].hex, k, rc);
                }
                continue;
            }
            boundaries++;
            char text[RDV_MA_MAX_TEXT];
            int tl = rdv_ma_to_text(bin, k, text, sizeof(text));
            if (rc != RDV_OK || tl <= 0 || strncmp(text, full, (size_t)tl) != 0 || full[tl] != '/') {
                bad++;
                diag("%s: boundary %zu gave %d / \"%s\"", vecs[i].hex, k, rc, tl > 0 ? text : "");
            }
        }
        is_int(rdv_ma_validate(bin, 0), RDV_ERR_INVALID, "empty prefix of %s is INVALID", vecs[i].hex);
        free(is_boundary);
        free(bin);
    }
    is_int(bad, 0, "all %d truncations: TRUNCATED inside a component, valid prefix at %d boundaries",
           checked, boundaries);
    ok(boundaries > 50 && checked > 800, "the truncation walk covered %d offsets", checked);
}

static void test_trailing_garbage(void)
{
    size_t n;
    uint8_t *bin = unhex("047f000001060fa1", &n);
    uint8_t buf[16];
    memcpy(buf, bin, n);
    int accepted = 0;
    for (int b = 0; b < 256; b++) {
        buf[n] = (uint8_t)b;
        if (rdv_ma_validate(buf, n + 1) == RDV_OK)
            accepted++;
    }
    /* no 1-byte code in the table is value-less, so no single trailing byte can be valid */
    is_int(accepted, 0, "no single trailing byte after /ip4/127.0.0.1/tcp/4001 is accepted");
    buf[n] = 0x06;
    is_int(rdv_ma_validate(buf, n + 1), RDV_ERR_TRUNCATED, "trailing tcp code without port: TRUNCATED");
    buf[n] = 0x00;
    is_int(rdv_ma_validate(buf, n + 1), RDV_ERR_UNSUPPORTED, "trailing 0x00 (unknown code): UNSUPPORTED");
    free(bin);
}

struct bad_bin {
    const char *hex;
    int err;
    const char *why;
};

static const struct bad_bin bad_bins[] = {
    {"00", RDV_ERR_UNSUPPORTED, "code 0"},
    {"ff01", RDV_ERR_UNSUPPORTED, "unknown code 255"},
    {"bc030010c0439831b48218480000", RDV_ERR_INVALID, "onion with port 0"},
    {"bc030010c0439831b482184800", RDV_ERR_TRUNCATED, "onion one byte short"},
    {"bd03adadec040be047f9658668b11a504f3155001f231a37f54c4476c07fb4cc139ed7e30300", RDV_ERR_TRUNCATED, "onion3 short"},
    {"bf031fefbcd45d0c5dc79781ac6f20ea5055a036afb48d45a52e7d68ec7d4338919e", RDV_ERR_INVALID, "garlic32 of 31 bytes"},
    {"be0301aa", RDV_ERR_INVALID, "garlic64 of 1 byte (< 386)"},
    {"8f8f8f8f8f8f8f8f8f0f", RDV_ERR_INVALID, "10-byte code varint"},
    {"ffffffff0f", RDV_ERR_UNSUPPORTED, "code beyond 32 bits"},
    {"84007f000001", RDV_ERR_INVALID, "non-minimal code varint (ip4 as 84 00)"},
    {"80", RDV_ERR_TRUNCATED, "lone varint continuation byte"},
    {"047f0000", RDV_ERR_TRUNCATED, "ip4 with 3 bytes"},
    {"3500", RDV_ERR_INVALID, "dns with empty name"},
    {"35810061", RDV_ERR_INVALID, "non-minimal length prefix"},
    {"3505616263", RDV_ERR_TRUNCATED, "length prefix past the end"},
    {"35ffffffffffffffff7f", RDV_ERR_TRUNCATED, "huge length prefix"},
    {"3503612f62", RDV_ERR_INVALID, "dns name with '/'"},
    {"3503610062", RDV_ERR_INVALID, "dns name with NUL"},
    {"3502c0af", RDV_ERR_INVALID, "overlong UTF-8"},
    {"3501ff", RDV_ERR_INVALID, "byte 0xff"},
    {"3503eda080", RDV_ERR_INVALID, "UTF-16 surrogate in UTF-8"},
    {"3502e282", RDV_ERR_INVALID, "cut UTF-8 sequence"},
    {"3804f4908080", RDV_ERR_INVALID, "code point past U+10FFFF"},
    {"c1030100", RDV_ERR_INVALID, "sni with NUL"},
    {"2a00", RDV_ERR_INVALID, "empty ip6zone"},
    {"2a012f", RDV_ERR_INVALID, "ip6zone '/'"},
    {"a5030400030000", RDV_ERR_INVALID, "p2p multihash length mismatch"},
    {"a503020000", RDV_ERR_INVALID, "p2p empty identity multihash"},
    {"a50321121f" "00000000000000000000000000000000000000000000000000000000000000", RDV_ERR_INVALID,
     "p2p sha2-256 with 31-byte digest"},
    {"a50304130200ff", RDV_ERR_INVALID, "p2p with sha2-512 code"},
    {"a50301", RDV_ERR_TRUNCATED, "p2p length without bytes"},
    {"d2030112", RDV_ERR_INVALID, "certhash not a multihash"},
    {"9003022f610601bb", RDV_ERR_INVALID, "unix followed by tcp"},
    {"90030161", RDV_ERR_INVALID, "unix path not absolute"},
    {"9003032f612f", RDV_ERR_INVALID, "unix path ending in '/'"},
    {"9003012f", RDV_ERR_INVALID, "unix path '/' alone"},
    {"047f000001060fa1ff", RDV_ERR_TRUNCATED, "trailing 0xff"},
    {"047f000001060fa104", RDV_ERR_TRUNCATED, "trailing ip4 code"},
};

static void test_bad_binary(void)
{
    for (size_t i = 0; i < sizeof(bad_bins) / sizeof(bad_bins[0]); i++) {
        size_t n;
        uint8_t *bin = unhex(bad_bins[i].hex, &n);
        is_int(rdv_ma_validate(bin, n), bad_bins[i].err, "binary %s: %s", bad_bins[i].hex, bad_bins[i].why);
        char text[64] = "x";
        is_int(rdv_ma_to_text(bin, n, text, sizeof(text)), bad_bins[i].err, "  to_text refuses it");
        is_str(text, "", "  and leaves an empty string");
        free(bin);
    }
    is_int(rdv_ma_validate((const uint8_t *)"", 0), RDV_ERR_INVALID, "empty binary multiaddr");
}

static void test_size_caps(void)
{
    uint8_t big[RDV_MA_MAX_BINARY + 2];
    char text[RDV_MA_MAX_TEXT];
    for (size_t i = 0; i + 1 < sizeof(big); i += 2)
        big[i] = 0xdd, big[i + 1] = 0x03; /* /ws */
    is_int(rdv_ma_validate(big, RDV_MA_MAX_BINARY), RDV_OK, "512 x /ws = %d bytes: accepted", RDV_MA_MAX_BINARY);
    is_int(rdv_ma_to_text(big, RDV_MA_MAX_BINARY, text, sizeof(text)), 3 * 512, "  its text is 1536 chars");
    is_int(rdv_ma_validate(big, RDV_MA_MAX_BINARY + 2), RDV_ERR_TOO_LARGE, "513 x /ws: TOO_LARGE");

    struct rdv_buf b;
    is_int(from_text(text, &b), RDV_OK, "1536-char text back to binary");
    is_int(b.len, RDV_MA_MAX_BINARY, "  1024 bytes");
    rdv_buf_free(&b);
    char longer[RDV_MA_MAX_TEXT + 4];
    snprintf(longer, sizeof(longer), "%s/ws", text);
    is_int(from_text(longer, &b), RDV_ERR_TOO_LARGE, "text of 513 x /ws: binary over the cap -> TOO_LARGE");
    is_int(b.len, 0, "  nothing appended");
    rdv_buf_free(&b);

    char huge[RDV_MA_MAX_TEXT + 8];
    memset(huge, 'a', sizeof(huge));
    memcpy(huge, "/dns/", 5);
    huge[RDV_MA_MAX_TEXT] = '\0';
    is_int(from_text(huge, &b), RDV_ERR_TOO_LARGE, "text of %d chars: TOO_LARGE", RDV_MA_MAX_TEXT);
    rdv_buf_free(&b);

    for (size_t i = 0; i + 1 < RDV_MA_MAX_BINARY; i += 2)
        big[i] = 0xa2, big[i + 1] = 0x02; /* /p2p-circuit: 2 bytes -> 12 chars */
    is_int(rdv_ma_validate(big, RDV_MA_MAX_BINARY), RDV_OK, "512 x /p2p-circuit is valid binary");
    is_int(rdv_ma_to_text(big, RDV_MA_MAX_BINARY, text, sizeof(text)), RDV_ERR_TOO_LARGE,
           "  but its 6144-char text is over RDV_MA_MAX_TEXT: TOO_LARGE");
    char *wide = malloc(8192);
    is_int(rdv_ma_to_text(big, RDV_MA_MAX_BINARY, wide, 8192), RDV_ERR_TOO_LARGE,
           "  even with a larger buffer (never produce text from_text refuses)");
    free(wide);
}

struct bad_text {
    const char *text;
    int err;
};

static const struct bad_text bad_texts[] = {
    {"", RDV_ERR_INVALID},
    {"/", RDV_ERR_INVALID},
    {"//", RDV_ERR_INVALID},
    {"ip4/1.2.3.4", RDV_ERR_INVALID},
    {" /ip4/1.2.3.4", RDV_ERR_INVALID},
    {"/ip4", RDV_ERR_INVALID},
    {"/ip4/", RDV_ERR_INVALID},
    {"/ip4/::1", RDV_ERR_INVALID},
    {"/ip4/1.2.3", RDV_ERR_INVALID},
    {"/ip4/1.2.3.4.5", RDV_ERR_INVALID},
    {"/ip4/256.0.0.1", RDV_ERR_INVALID},
    {"/ip4/01.2.3.4", RDV_ERR_INVALID},
    {"/ip4/1.2.3.4 ", RDV_ERR_INVALID},
    {"/ip4/fdpsofodsajfdoisa", RDV_ERR_INVALID},
    {"/ip4/1.2.3.4//tcp/1", RDV_ERR_INVALID},
    {"/ip4/1.2.3.4/tcp/1//", RDV_ERR_INVALID},
    {"/ip4/127.0.0.1/tcp", RDV_ERR_INVALID},
    {"/ip4/127.0.0.1/tcp/jfodsajfidosajfoidsa", RDV_ERR_INVALID},
    {"/tcp/65536", RDV_ERR_INVALID},
    {"/udp/65536", RDV_ERR_INVALID},
    {"/tcp/-1", RDV_ERR_INVALID},
    {"/tcp/+1", RDV_ERR_INVALID},
    {"/tcp/080", RDV_ERR_INVALID},
    {"/tcp/1x", RDV_ERR_INVALID},
    {"/tcp/", RDV_ERR_INVALID},
    {"/tcp/99999999999999999999999", RDV_ERR_INVALID},
    {"/ip6", RDV_ERR_INVALID},
    {"/ip6/1.2.3.4", RDV_ERR_INVALID},
    {"/ip6/1::2::3", RDV_ERR_INVALID},
    {"/ip6/fe80::1%eth0", RDV_ERR_INVALID},
    {"/ip6/1:2:3:4:5:6:7:8:9", RDV_ERR_INVALID},
    {"/ip6zone", RDV_ERR_INVALID},
    {"/ip6zone/", RDV_ERR_INVALID},
    {"/ip6zone//ip6/fe80::1", RDV_ERR_INVALID},
    {"/dns4", RDV_ERR_INVALID},
    {"/dns4//tcp/1", RDV_ERR_INVALID},
    {"/dns/\xc0\xaf", RDV_ERR_INVALID},
    {"/foo/bar", RDV_ERR_UNSUPPORTED},
    {"/IP4/1.2.3.4", RDV_ERR_UNSUPPORTED},
    {"/tls/x", RDV_ERR_UNSUPPORTED},
    {"/onion/timaq4ygg2iegci7", RDV_ERR_INVALID},
    {"/onion/timaq4ygg2iegci7:0", RDV_ERR_INVALID},
    {"/onion/timaq4ygg2iegci7:65536", RDV_ERR_INVALID},
    {"/onion/timaq4ygg2iegci7:01", RDV_ERR_INVALID},
    {"/onion/timaq4ygg2iegci7:1:2", RDV_ERR_INVALID},
    {"/onion/timaq4ygg2iegci:1234", RDV_ERR_INVALID},
    {"/onion/timaq4ygg2iegci1:1234", RDV_ERR_INVALID},
    {"/onion3/timaq4ygg2iegci7:1234", RDV_ERR_INVALID},
    {"/garlic32/566niximlxdzpanmn4qouucvua3k7neniwss47li5r6ugoertz", RDV_ERR_INVALID},
    {"/garlic32", RDV_ERR_INVALID},
    {"/garlic64/AAAA", RDV_ERR_INVALID},
    {"/garlic64/AA+A", RDV_ERR_INVALID},
    {"/unix", RDV_ERR_INVALID},
    {"/unix/", RDV_ERR_INVALID},
    {"/ip4/1.2.3.4/tcp/80/unix", RDV_ERR_INVALID},
    {"/p2p", RDV_ERR_INVALID},
    {"/ip4/127.0.0.1/p2p/", RDV_ERR_INVALID},
    {"/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY", RDV_ERR_INVALID}, /* digest > 32 bytes */
    {"/p2p/Qm0OIl", RDV_ERR_INVALID},                                        /* not base58 */
    {"/p2p/bafybeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm", RDV_ERR_INVALID}, /* dag-pb CID */
    {"/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7", RDV_ERR_UNSUPPORTED}, /* base36 */
    {"/p2p/tcp", RDV_ERR_UNSUPPORTED},
    {"/certhash", RDV_ERR_INVALID},
    {"/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp", RDV_ERR_INVALID}, /* a character short */
    {"/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g=", RDV_ERR_INVALID},
    {"/ipcidr/256", RDV_ERR_INVALID},
    {"/memory/18446744073709551616", RDV_ERR_INVALID},
};

static void test_bad_text(void)
{
    for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
        struct rdv_buf b;
        rdv_buf_init(&b, 0);
        rdv_buf_append(&b, "ab", 2);
        is_int(rdv_ma_from_text(bad_texts[i].text, &b), bad_texts[i].err, "bad text \"%s\"", bad_texts[i].text);
        is_mem(rdv_buf_head(&b), b.len, "ab", 2, "  output left as it was");
        rdv_buf_free(&b);
    }
    struct rdv_buf b;
    is_int(from_text(NULL, &b), RDV_ERR_INVALID, "NULL text");
    rdv_buf_free(&b);
    /* appending after existing content keeps it */
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, "\x01\x02", 2);
    is_int(rdv_ma_from_text("/tcp/1", &b), RDV_OK, "from_text appends after existing bytes");
    is_mem(rdv_buf_head(&b), b.len, "\x01\x02\x06\x00\x01", 5, "  01 02 06 0001");
    rdv_buf_free(&b);
    /* a capped output buffer: the cap error surfaces and nothing is left half-written */
    rdv_buf_init(&b, 6);
    rdv_buf_append(&b, "\x01\x02", 2);
    is_int(rdv_ma_from_text("/ip4/1.2.3.4", &b), RDV_ERR_TOO_LARGE, "output buffer cap reached: TOO_LARGE");
    is_int(b.len, 2, "  rolled back");
    rdv_buf_free(&b);
}

static void test_next(void)
{
    size_t n;
    uint8_t *bin = unhex("047f0000010601bbc003c1030b6578616d706c652e636f6ddd03", &n);
    static const char *names[] = {"ip4", "tcp", "tls", "sni", "ws"};
    static const size_t vlens[] = {4, 2, 0, 11, 0};
    size_t pos = 0, k = 0;
    struct rdv_ma_component c;
    int rc;
    while ((rc = rdv_ma_next(bin, n, &pos, &c)) == 1 && k < 5) {
        is_str(c.name, names[k], "component %zu is %s", k, names[k]);
        is_int(c.value_len, vlens[k], "  value length %zu", vlens[k]);
        k++;
    }
    is_int(rc, 0, "iteration ends with 0");
    is_int(k, 5, "  after 5 components");
    is_int(pos, n, "  at the end of the input");
    is_int(rdv_ma_next(bin, n, &pos, &c), 0, "  and stays at 0");
    pos = 5;
    is_int(rdv_ma_next(bin, n, &pos, &c), 1, "restart at offset 5");
    is_int(c.code, RDV_MA_TCP, "  reads tcp");
    is_int(c.value[0] << 8 | c.value[1], 443, "  port 443");
    pos = 10;
    rdv_ma_next(bin, n, &pos, &c);
    is_mem(c.value, c.value_len, "example.com", 11, "sni value without its length prefix");
    pos = n + 1;
    is_int(rdv_ma_next(bin, n, &pos, &c), RDV_ERR_INVALID, "pos past the end: INVALID");
    free(bin);

    is_str(rdv_ma_proto_name(421), "p2p", "proto name 421 = p2p");
    is_str(rdv_ma_proto_name(RDV_MA_QUIC_V1), "quic-v1", "proto name 461 = quic-v1");
    ok(rdv_ma_proto_name(0) == NULL, "proto name 0 = NULL");
    ok(rdv_ma_proto_name(444) && strcmp(rdv_ma_proto_name(444), "onion") == 0, "proto name 444 = onion");
    ok(rdv_ma_proto_name(447) && strcmp(rdv_ma_proto_name(447), "garlic32") == 0, "proto name 447 = garlic32");
    ok(rdv_ma_proto_name(0x7fff) == NULL, "proto name 0x7fff (unassigned) = NULL");
}

static int sockaddr_of(const char *text, struct sockaddr_storage *ss, socklen_t *sl)
{
    struct rdv_buf b;
    int rc = from_text(text, &b);
    if (rc == RDV_OK)
        rc = rdv_ma_tcp_sockaddr(rdv_buf_head(&b), b.len, ss, sl);
    rdv_buf_free(&b);
    return rc;
}

static void test_sockaddr(void)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    is_int(sockaddr_of("/ip4/127.0.0.1/tcp/4001", &ss, &sl), RDV_OK, "sockaddr of /ip4/127.0.0.1/tcp/4001");
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    is_int(ss.ss_family, AF_INET, "  AF_INET");
    is_int(sl, sizeof(struct sockaddr_in), "  length of sockaddr_in");
    is_int(ntohs(sin->sin_port), 4001, "  port 4001");
    is_int(ntohl(sin->sin_addr.s_addr), 0x7f000001, "  address 127.0.0.1");

    is_int(sockaddr_of("/ip6/2001:db8::1/tcp/65535/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV", &ss, &sl),
           RDV_OK, "sockaddr of /ip6/2001:db8::1/tcp/65535/p2p/...");
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    is_int(ss.ss_family, AF_INET6, "  AF_INET6");
    is_int(sl, sizeof(struct sockaddr_in6), "  length of sockaddr_in6");
    is_int(ntohs(sin6->sin6_port), 65535, "  port 65535");
    is_mem(&sin6->sin6_addr, 16, a6, 16, "  address 2001:db8::1");
    is_int(sin6->sin6_scope_id, 0, "  no scope id");

    static const char *unsupported[] = {
        "/ip4/1.2.3.4/udp/1", "/dns4/x/tcp/1", "/ip4/1.2.3.4/tcp/1/ws", "/ip4/1.2.3.4", "/tcp/1/ip4/1.2.3.4",
        "/tcp/1", "/ip4/1.2.3.4/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit",
        "/ip6zone/x/ip6/fe80::1/tcp/1", "/ip4/1.2.3.4/tcp/1/tcp/2", "/ip4/1.2.3.4/ip4/1.2.3.4/tcp/1",
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        is_int(sockaddr_of(unsupported[i], &ss, &sl), RDV_ERR_UNSUPPORTED, "no sockaddr for %s", unsupported[i]);
    is_int(rdv_ma_tcp_sockaddr((const uint8_t *)"", 0, &ss, &sl), RDV_ERR_INVALID, "no sockaddr for empty input");
    is_int(rdv_ma_tcp_sockaddr((const uint8_t *)"\x04\x7f\x00\x00\x01\x06\x0f", 7, &ss, &sl), RDV_ERR_TRUNCATED,
           "no sockaddr for a truncated port");

    /* and back */
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(4001)};
    in4.sin_addr.s_addr = htonl(0x7f000001);
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    is_int(rdv_ma_from_tcp_sockaddr((struct sockaddr *)&in4, sizeof(in4), &b), RDV_OK, "from sockaddr_in");
    is_mem(rdv_buf_head(&b), b.len, "\x04\x7f\x00\x00\x01\x06\x0f\xa1", 8, "  = /ip4/127.0.0.1/tcp/4001");
    rdv_buf_reset(&b);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(65535)};
    memcpy(&in6.sin6_addr, a6, 16);
    is_int(rdv_ma_from_tcp_sockaddr((struct sockaddr *)&in6, sizeof(in6), &b), RDV_OK, "from sockaddr_in6");
    char text[128];
    rdv_ma_to_text(rdv_buf_head(&b), b.len, text, sizeof(text));
    is_str(text, "/ip6/2001:db8::1/tcp/65535", "  = /ip6/2001:db8::1/tcp/65535");
    rdv_buf_reset(&b);
    is_int(rdv_ma_from_tcp_sockaddr((struct sockaddr *)&in4, sizeof(in4) - 1, &b), RDV_ERR_INVALID, "short salen: INVALID");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    is_int(rdv_ma_from_tcp_sockaddr((struct sockaddr *)&un, sizeof(un), &b), RDV_ERR_UNSUPPORTED, "AF_UNIX: UNSUPPORTED");
    is_int(b.len, 0, "  nothing appended");
    rdv_buf_free(&b);
}

static void test_p2p_helpers(void)
{
    static const char *id_hex = "0024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4";
    size_t idlen;
    uint8_t *id = unhex(id_hex, &idlen);
    struct rdv_buf b;
    const uint8_t *mh = NULL;
    size_t mhlen = 0, stripped = 0;

    from_text("/ip4/1.2.3.4/tcp/1/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV", &b);
    is_int(rdv_ma_p2p_peer(rdv_buf_head(&b), b.len, &mh, &mhlen), RDV_OK, "p2p_peer finds the trailing /p2p/");
    is_mem(mh, mhlen, id, idlen, "  its multihash bytes");
    ok(mh >= rdv_buf_head(&b) && mh + mhlen == rdv_buf_head(&b) + b.len, "  pointing into the input");
    is_int(rdv_ma_strip_p2p(rdv_buf_head(&b), b.len, &stripped), RDV_OK, "strip_p2p");
    is_int(stripped, 8, "  leaves the 8 bytes of /ip4/1.2.3.4/tcp/1");
    rdv_buf_free(&b);

    from_text("/ip4/1.2.3.4/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit", &b);
    is_int(rdv_ma_p2p_peer(rdv_buf_head(&b), b.len, &mh, &mhlen), RDV_ERR_NOT_FOUND,
           "p2p_peer: a relay address names no target: NOT_FOUND");
    is_int(rdv_ma_strip_p2p(rdv_buf_head(&b), b.len, &stripped), RDV_OK, "strip_p2p without a trailing /p2p/");
    is_int(stripped, b.len, "  keeps everything");
    rdv_buf_free(&b);

    from_text("/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV", &b);
    rdv_ma_strip_p2p(rdv_buf_head(&b), b.len, &stripped);
    is_int(stripped, 0, "strip_p2p of a bare /p2p/ID leaves 0 bytes");
    rdv_buf_free(&b);
    is_int(rdv_ma_p2p_peer((const uint8_t *)"\xa5\x03\x05", 3, &mh, &mhlen), RDV_ERR_TRUNCATED,
           "p2p_peer of a truncated address: TRUNCATED");
    is_int(rdv_ma_strip_p2p((const uint8_t *)"", 0, &stripped), RDV_ERR_INVALID, "strip_p2p of empty: INVALID");

    from_text("/ip4/127.0.0.1/tcp/4001", &b);
    is_int(rdv_ma_append_p2p(&b, id, idlen), RDV_OK, "append_p2p");
    char text[256];
    rdv_ma_to_text(rdv_buf_head(&b), b.len, text, sizeof(text));
    is_str(text, "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV", "  text");
    size_t before = b.len;
    is_int(rdv_ma_append_p2p(&b, id, idlen - 1), RDV_ERR_INVALID, "append_p2p with a cut multihash: INVALID");
    is_int(rdv_ma_append_p2p(&b, (const uint8_t *)"\x13\x01\x00", 3), RDV_ERR_INVALID, "  sha2-512 code: INVALID");
    is_int(b.len, before, "  nothing appended");
    rdv_buf_free(&b);
    free(id);
}

/* The addresses of peer-records.json: the bytes js-libp2p signed must match our text -> binary,
 * and our binary -> text must give back the vector's text. Also /p2p/<peer_id>. */
static void test_shared_vectors(void)
{
    json_t *root = tu_load_vectors("peer-records.json");
    json_t *vs = json_object_get(root, "vectors"), *v;
    size_t i, naddrs = 0;
    json_array_foreach(vs, i, v) {
        if (!json_is_true(json_object_get(v, "valid")))
            continue;
        const char *name = json_string_value(json_object_get(v, "name"));
        size_t elen;
        uint8_t *env_bytes = unhex(json_string_value(json_object_get(v, "envelope_hex")), &elen);
        Record__Pb__Envelope *env = record__pb__envelope__unpack(NULL, elen, env_bytes);
        Peer__Pb__PeerRecord *rec = env ? peer__pb__peer_record__unpack(NULL, env->payload.len, env->payload.data) : NULL;
        if (!ok(rec != NULL, "%s: envelope and record decode", name)) {
            free(env_bytes);
            continue;
        }
        json_t *addrs = json_object_get(v, "addrs");
        is_int(rec->n_addresses, json_array_size(addrs), "  %zu addresses", json_array_size(addrs));
        for (size_t k = 0; k < rec->n_addresses && k < json_array_size(addrs); k++) {
            const char *at = json_string_value(json_array_get(addrs, k));
            ProtobufCBinaryData ma = rec->addresses[k]->multiaddr;
            struct rdv_buf b;
            is_int(from_text(at, &b), RDV_OK, "  from_text %s", at);
            is_mem(rdv_buf_head(&b), b.len, ma.data, ma.len, "    equals the signed bytes");
            char text[RDV_MA_MAX_TEXT];
            rdv_ma_to_text(ma.data, ma.len, text, sizeof(text));
            is_str(text, at, "    signed bytes print as the vector's text");
            rdv_buf_free(&b);
            naddrs++;
        }
        const char *pid = json_string_value(json_object_get(v, "peer_id"));
        char p2p_text[128];
        snprintf(p2p_text, sizeof(p2p_text), "/p2p/%s", pid);
        struct rdv_buf b;
        is_int(from_text(p2p_text, &b), RDV_OK, "  /p2p/%s", pid);
        const uint8_t *mh = NULL;
        size_t mhlen = 0;
        rdv_ma_p2p_peer(rdv_buf_head(&b), b.len, &mh, &mhlen);
        is_mem(mh, mhlen, rec->peer_id.data, rec->peer_id.len, "    holds the record's peer_id bytes");
        char text[128];
        rdv_ma_to_text(rdv_buf_head(&b), b.len, text, sizeof(text));
        is_str(text, p2p_text, "    prints back");
        rdv_buf_free(&b);
        peer__pb__peer_record__free_unpacked(rec, NULL);
        record__pb__envelope__free_unpacked(env, NULL);
        free(env_bytes);
    }
    is_int(naddrs, 16, "16 addresses checked from the shared vectors");
    json_decref(root);
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Mutated vectors: whatever validate() accepts must print, and the text must parse back to the
 * same bytes; whatever it refuses, to_text must refuse with the same code. */
static void test_mutations(void)
{
    uint32_t seed = 0x12345678;
    int accepted = 0, mismatch = 0;
    uint8_t buf[256];
    for (int iter = 0; iter < 40000; iter++) {
        size_t n;
        uint8_t *bin = unhex(vecs[rnd(&seed) % NVECS].hex, &n);
        memcpy(buf, bin, n);
        free(bin);
        int flips = 1 + (int)(rnd(&seed) % 3);
        for (int f = 0; f < flips; f++)
            buf[rnd(&seed) % n] = (uint8_t)rnd(&seed);
        if (rnd(&seed) % 4 == 0)
            n = 1 + rnd(&seed) % n;
        char text[RDV_MA_MAX_TEXT];
        int vr = rdv_ma_validate(buf, n);
        int tr = rdv_ma_to_text(buf, n, text, sizeof(text));
        if (vr != RDV_OK) {
            if (tr != vr)
                mismatch++;
            continue;
        }
        accepted++;
        struct rdv_buf b;
        if (tr < 0 || from_text(text, &b) != RDV_OK || b.len != n || memcmp(rdv_buf_head(&b), buf, n) != 0) {
            if (mismatch++ < 5)
                diag("round trip failed for \"%s\" (to_text %d)", tr < 0 ? "" : text, tr);
        }
        if (tr >= 0)
            rdv_buf_free(&b);
    }
    is_int(mismatch, 0, "40000 mutations: accepted ones round-trip exactly, refused ones refuse to print");
    ok(accepted > 1000, "  %d of them were valid multiaddrs", accepted);
}

/* garlic64: I2P base64 ('-' and '~' for '+' and '/', padded), at least 386 bytes */
static void test_garlic64(void)
{
    uint8_t bin[4 + 400];
    bin[0] = 0xbe, bin[1] = 0x03, bin[2] = 0x90, bin[3] = 0x03; /* 446, length 400 */
    uint8_t *v = bin + 4;
    for (size_t i = 0; i < 399; i++)
        v[i] = (uint8_t)(i * 7);
    char text[RDV_MA_MAX_TEXT];
    int tl = rdv_ma_to_text(bin, 4 + 399, text, sizeof(text));
    is_int(tl, RDV_ERR_TRUNCATED, "garlic64 with its value one byte short");
    v[399] = (uint8_t)(399 * 7);
    tl = rdv_ma_to_text(bin, sizeof(bin), text, sizeof(text));
    is_int(tl, (long long)strlen("/garlic64/") + 536, "garlic64 of 400 bytes prints as 536 characters");
    ok(strncmp(text, "/garlic64/AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL", 50) == 0, "  in I2P base64 ('-' for '+')");
    ok(strcmp(text + tl - 10, "bN1Nvi6Q==") == 0, "  padded");
    ok(!strchr(text + 10, '+') && !strchr(text + 10, '/'), "  without '+' or '/'");
    struct rdv_buf b;
    is_int(from_text(text, &b), RDV_OK, "  and parses back");
    is_mem(rdv_buf_head(&b), b.len, bin, sizeof(bin), "  to the same bytes");
    rdv_buf_free(&b);
    bin[2] = 0x81; /* length 385: one under the minimum */
    is_int(rdv_ma_validate(bin, 4 + 385), RDV_ERR_INVALID, "garlic64 of 385 bytes is refused");
}

/* Addresses of a signed record: a protocol we do not know keeps the address (and the record) */
static void test_validate_known(void)
{
    size_t n;
    uint8_t *u = unhex("ffff01aabbcc", &n); /* code 0x7fff: unassigned */
    is_int(rdv_ma_validate(u, n), RDV_ERR_UNSUPPORTED, "unknown code: not a valid multiaddr");
    is_int(rdv_ma_validate_known(u, n), RDV_OK, "  but kept as a record address");
    char text[RDV_MA_MAX_TEXT];
    is_int(rdv_ma_to_text(u, n, text, sizeof(text)), RDV_ERR_UNSUPPORTED, "  and not printed");
    free(u);
    u = unhex("047f000001ffff01aabbcc", &n);
    is_int(rdv_ma_validate_known(u, n), RDV_OK, "/ip4/127.0.0.1 then an unknown code: kept");
    free(u);
    u = unhex("3500ffff01", &n);
    is_int(rdv_ma_validate_known(u, n), RDV_ERR_INVALID, "a malformed known component before it: refused");
    free(u);
    u = unhex("06", &n);
    is_int(rdv_ma_validate_known(u, n), RDV_ERR_TRUNCATED, "a truncated known component: refused");
    free(u);
    is_int(rdv_ma_validate_known((const uint8_t *)"", 0), RDV_ERR_INVALID, "empty: refused");
}

int main(void)
{
    test_garlic64();
    test_validate_known();
    test_vectors();
    test_truncation();
    test_trailing_garbage();
    test_bad_binary();
    test_size_caps();
    test_bad_text();
    test_next();
    test_sockaddr();
    test_p2p_helpers();
    test_shared_vectors();
    test_mutations();
    return tap_done();
}
