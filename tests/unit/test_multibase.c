/* test_multibase.c: base58btc and base32 against published vectors (RFC 4648 section 10,
 * draft-msporny-base58), alphabet and padding errors, exact output-capacity limits, and
 * round trips of random data with leading zero bytes. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/multibase.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

int main(void);

struct vec { const char *hex; const char *text; };

/* draft-msporny-base58-03 section 5, plus edge cases computed independently (Python bigint). */
static const struct vec b58_vecs[] = {
    {"", ""},
    {"48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U"},
    {"54686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f672e",
     "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"},
    {"0000287fb4cd", "11233QC4"},
    {"00", "1"},
    {"0000", "11"},
    {"00ff", "15Q"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG"},
};

/* RFC 4648 section 10, lower case without padding. */
static const struct vec b32_vecs[] = {
    {"", ""}, {"66", "my"}, {"666f", "mzxq"}, {"666f6f", "mzxw6"}, {"666f6f62", "mzxw6yq"},
    {"666f6f6261", "mzxw6ytb"}, {"666f6f626172", "mzxw6ytboi"},
};

typedef int (*enc_fn)(const uint8_t *, size_t, char *, size_t);
typedef int (*dec_fn)(const char *, size_t, uint8_t *, size_t);

static void check_vec(const char *name, enc_fn enc, dec_fn dec, const struct vec *v)
{
    size_t n = 0;
    uint8_t *bin = tu_unhex(v->hex, &n);
    char text[256];
    uint8_t back[128];
    is_int(enc(bin, n, text, sizeof(text)), (int)strlen(v->text), "%s encode length of %s", name, v->hex);
    is_str(text, v->text, "%s encode %s", name, v->hex);
    is_int(dec(v->text, strlen(v->text), back, sizeof(back)), (int)n, "%s decode length of \"%s\"", name, v->text);
    is_mem(back, n, bin, n, "%s decode \"%s\"", name, v->text);
    /* Exact capacities: text needs len+1 (NUL), bytes need exactly n. */
    if (strlen(v->text) > 0) {
        is_int(enc(bin, n, text, strlen(v->text)), RDV_ERR_TOO_LARGE, "%s encode outcap one short", name);
        is_int(enc(bin, n, text, strlen(v->text) + 1), (int)strlen(v->text), "%s encode exact outcap", name);
    }
    if (n > 0) {
        is_int(dec(v->text, strlen(v->text), back, n - 1), RDV_ERR_TOO_LARGE, "%s decode outcap one short", name);
        is_int(dec(v->text, strlen(v->text), back, n), (int)n, "%s decode exact outcap", name);
    }
    free(bin);
}

static void test_base58_errors(void)
{
    uint8_t out[64];
    const char *bad[] = {"0", "O", "I", "l", "2NEpo7TZRRrLZSi2U+", " 2NEpo", "2NE\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(rdv_base58_decode(bad[i], strlen(bad[i]), out, sizeof(out)), RDV_ERR_INVALID,
               "base58 rejects \"%s\"", bad[i]);
    /* An embedded NUL inside the given length is not part of the alphabet. */
    is_int(rdv_base58_decode("2N\0E", 4, out, sizeof(out)), RDV_ERR_INVALID, "base58 rejects NUL");
    /* Leading '1's need output room too. */
    is_int(rdv_base58_decode("111", 3, out, 2), RDV_ERR_TOO_LARGE, "base58 leading zeros need room");
    is_int(rdv_base58_decode("111", 3, out, 3), 3, "base58 three leading zeros");
    char txt[4];
    uint8_t zeros[4] = {0};
    is_int(rdv_base58_encode(zeros, 4, txt, sizeof(txt)), RDV_ERR_TOO_LARGE, "base58 encode zeros outcap");
    is_int(rdv_base58_encode(zeros, 3, txt, sizeof(txt)), 3, "base58 encode 3 zeros");
    is_str(txt, "111", "base58 zeros are ones");
    is_int(rdv_base58_encode(zeros, 0, txt, 0), RDV_ERR_TOO_LARGE, "base58 encode outcap 0");
}

static void test_base32_errors(void)
{
    uint8_t out[64];
    const char *bad_len[] = {"m", "mzx", "mzxw6y"};
    for (size_t i = 0; i < 3; i++)
        is_int(rdv_base32_decode(bad_len[i], strlen(bad_len[i]), out, sizeof(out)), RDV_ERR_INVALID,
               "base32 rejects impossible length %zu", strlen(bad_len[i]));
    const char *bad_chr[] = {"m1", "m8", "my======", "m0", "m-"};
    for (size_t i = 0; i < 5; i++)
        is_int(rdv_base32_decode(bad_chr[i], strlen(bad_chr[i]), out, sizeof(out)), RDV_ERR_INVALID,
               "base32 rejects \"%s\"", bad_chr[i]);
    /* "mz": 'f' plus two non-zero padding bits; the canonical text is "my". */
    is_int(rdv_base32_decode("mz", 2, out, sizeof(out)), RDV_ERR_INVALID, "base32 rejects non-zero tail bits");
    is_int(rdv_base32_decode("MZXW6", 5, out, sizeof(out)), 3, "base32 accepts upper case");
    is_mem(out, 3, "foo", 3, "base32 upper case decodes");
    char txt[2];
    is_int(rdv_base32_encode((const uint8_t *)"f", 1, txt, 2), RDV_ERR_TOO_LARGE, "base32 encode outcap");
    is_int(rdv_base32_encode((const uint8_t *)"", 0, txt, 1), 0, "base32 encode empty");
}

static void test_round_trips(void)
{
    uint8_t in[80], back[80];
    char txt[256];
    int bad58 = 0, bad32 = 0;
    for (size_t n = 0; n <= sizeof(in); n++) {
        randombytes_buf(in, n);
        for (size_t z = 0; z < n && z < n % 5; z++)
            in[z] = 0; /* vary the count of leading zeros */
        int t = rdv_base58_encode(in, n, txt, sizeof(txt));
        int b = t < 0 ? t : rdv_base58_decode(txt, (size_t)t, back, sizeof(back));
        if (b != (int)n || memcmp(in, back, n) != 0)
            bad58++;
        t = rdv_base32_encode(in, n, txt, sizeof(txt));
        b = t < 0 ? t : rdv_base32_decode(txt, (size_t)t, back, sizeof(back));
        if (t != (int)((n * 8 + 4) / 5) || b != (int)n || memcmp(in, back, n) != 0)
            bad32++;
    }
    is_int(bad58, 0, "base58 round trips for lengths 0..80");
    is_int(bad32, 0, "base32 round trips for lengths 0..80");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (size_t i = 0; i < sizeof(b58_vecs) / sizeof(b58_vecs[0]); i++)
        check_vec("base58", rdv_base58_encode, rdv_base58_decode, &b58_vecs[i]);
    for (size_t i = 0; i < sizeof(b32_vecs) / sizeof(b32_vecs[0]); i++)
        check_vec("base32", rdv_base32_encode, rdv_base32_decode, &b32_vecs[i]);
    test_base58_errors();
    test_base32_errors();
    test_round_trips();
    return tap_done();
}
