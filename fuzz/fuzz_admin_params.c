/* fuzz_admin_params.c: the admin API's parameter parsing (src/admin/params.c) on what an HTTP
 * client controls: byte 0 picks the parser, byte 1 an output capacity, the rest is the text.
 * The query string itself is split by libmicrohttpd (src/admin/http.c only looks values up), so
 * what is ours to fuzz starts at the raw value: percent-decoding (query values, the namespace in
 * the path), page cursors, page limits, the Authorization header, and the --admin-listen text.
 * Checked beyond "no crash, no leak, no UB", each against a reference written here:
 *   pct_decode: output within cap; without '%' and '+' it is the input; encoding the output as
 *     %HH and decoding that gives it back;
 *   cursor: a decoded key fits its cap and re-encodes to text that decodes to the same key;
 *     encode -> decode round-trips any key;
 *   parse_limit: accepts exactly the decimals 1..max without sign, spaces or leading zeros;
 *   parse_listen: a success is an AF_INET or AF_INET6 address of the matching length;
 *   auth_ok: "Bearer TOKEN" and "Basic base64(u:TOKEN)" pass, and the header never passes a token
 *     that differs from the secret it carries. */
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin/params.h"
#include "fuzz.h"
#include "util/err.h"

static void check_pct(const char *in, size_t n, bool plus, size_t cap)
{
    char *out = malloc(cap ? cap : 1);
    FUZZ_ASSERT(out);
    size_t len = 0;
    int err = rdv_admin_pct_decode(in, n, plus, out, cap, &len);
    if (err == RDV_OK) {
        FUZZ_ASSERT(len <= cap && len <= n);
        if (!memchr(in, '%', n) && !(plus && memchr(in, '+', n)))
            FUZZ_ASSERT(len == n && (n == 0 || memcmp(out, in, n) == 0));
        char *enc = malloc(3 * len + 1), *back = malloc(len ? len : 1);
        FUZZ_ASSERT(enc && back);
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++) {
            enc[3 * i] = '%';
            enc[3 * i + 1] = hex[(unsigned char)out[i] >> 4];
            enc[3 * i + 2] = hex[(unsigned char)out[i] & 15];
        }
        size_t blen = 0;
        FUZZ_ASSERT(rdv_admin_pct_decode(enc, 3 * len, plus, back, len, &blen) == RDV_OK);
        FUZZ_ASSERT(blen == len && (len == 0 || memcmp(back, out, len) == 0));
        free(enc);
        free(back);
    } else {
        FUZZ_ASSERT(err == RDV_ERR_INVALID || err == RDV_ERR_TOO_LARGE);
    }
    free(out);
}

static void check_cursor(const char *text, size_t n, size_t cap)
{
    uint8_t key[RDV_ADMIN_CURSOR_MAX], again[RDV_ADMIN_CURSOR_MAX];
    char enc[RDV_ADMIN_CURSOR_MAX];
    size_t len = 0, alen = 0;
    if (cap > sizeof(key))
        cap = sizeof(key);
    int err = rdv_admin_cursor_decode(text, n, key, cap, &len);
    if (err == RDV_OK) {
        FUZZ_ASSERT(len > 0 && len <= cap);
        FUZZ_ASSERT(rdv_admin_cursor_encode(key, len, enc, sizeof(enc)) == RDV_OK);
        FUZZ_ASSERT(rdv_admin_cursor_decode(enc, strlen(enc), again, sizeof(again), &alen) == RDV_OK);
        FUZZ_ASSERT(alen == len && memcmp(again, key, len) == 0);
    } else {
        FUZZ_ASSERT(err == RDV_ERR_INVALID || err == RDV_ERR_TOO_LARGE);
    }
    /* the other way: the text's bytes as a key, when a cursor can hold it */
    if (n > 0 && n <= 300) {
        FUZZ_ASSERT(rdv_admin_cursor_encode(text, n, enc, sizeof(enc)) == RDV_OK);
        FUZZ_ASSERT(rdv_admin_cursor_decode(enc, strlen(enc), again, sizeof(again), &alen) == RDV_OK);
        FUZZ_ASSERT(alen == n && memcmp(again, text, n) == 0);
    }
}

static void check_limit(const char *text, size_t n, uint32_t max)
{
    bool ok = n > 0 && text[0] != '0';
    uint64_t v = 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = text[i] >= '0' && text[i] <= '9' && v <= UINT32_MAX;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    ok = ok && v >= 1 && v <= max;
    uint32_t got = 0;
    int err = rdv_admin_parse_limit(text, n, max, &got);
    FUZZ_ASSERT((err == RDV_OK) == ok);
    if (ok)
        FUZZ_ASSERT(got == v);
}

static void check_listen(const char *text)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (rdv_admin_parse_listen(text, &ss, &len) != RDV_OK)
        return;
    FUZZ_ASSERT((ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
                (ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)));
}

/* text = header NUL token */
static void check_auth(const char *text, size_t n)
{
    const char *token = memchr(text, 0, n) ? text + strlen(text) + 1 : "";
    bool ok = rdv_admin_auth_ok(text, token);
    /* a Bearer header passes exactly its own token */
    if (strncmp(text, "Bearer ", 7) == 0 && strlen(text) > 7 && strlen(text) <= 4096)
        FUZZ_ASSERT(ok == (strcmp(text + 7, token) == 0));
    /* the same token offered as Basic with some user name passes too */
    size_t tlen = strlen(token);
    if (tlen > 0 && tlen < 512) {
        char cred[520], header[6 + sodium_base64_ENCODED_LEN(520, sodium_base64_VARIANT_ORIGINAL)];
        memcpy(cred, "u:", 2);
        memcpy(cred + 2, token, tlen);
        memcpy(header, "Basic ", 6);
        sodium_bin2base64(header + 6, sizeof(header) - 6, (const unsigned char *)cred, tlen + 2,
                          sodium_base64_VARIANT_ORIGINAL);
        FUZZ_ASSERT(rdv_admin_auth_ok(header, token));
        FUZZ_ASSERT(!rdv_admin_auth_ok(header, "a different token"));
    }
    FUZZ_ASSERT(!rdv_admin_auth_ok(NULL, token) && !rdv_admin_auth_ok(text, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (sodium_init() < 0)
        return 0;
    uint8_t which = data[0], capb = data[1];
    size_t n = size - 2;
    /* an exact copy plus a NUL after it, for the parsers that take C strings */
    char *text = malloc(n + 1);
    FUZZ_ASSERT(text);
    memcpy(text, data + 2, n);
    text[n] = '\0';
    switch (which % 6) {
    case 0: check_pct(text, n, false, capb); break;
    case 1: check_pct(text, n, true, capb); break;
    case 2: check_cursor(text, n, capb * 2u); break;
    case 3: check_limit(text, n, capb ? capb * 1000u : UINT32_MAX); break;
    case 4: check_listen(text); break;
    default: check_auth(text, n); break;
    }
    free(text);
    return 0;
}
