/* params.c: see params.h. Base64 comes from libsodium (constant-time decoders, strict about the
 * alphabet); the token check hashes both sides first so that neither the comparison nor an early
 * length mismatch reveals how much of a guess was right. */
#include "admin/params.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

#define AUTH_HEADER_MAX 4096

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rdv_admin_pct_decode(const char *in, size_t len, bool plus_space, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (len - i < 3)
                return RDV_ERR_INVALID;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return RDV_ERR_INVALID;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (n >= cap)
            return RDV_ERR_TOO_LARGE;
        out[n++] = c;
    }
    *outlen = n;
    return RDV_OK;
}

int rdv_admin_cursor_encode(const void *key, size_t len, char *out, size_t cap)
{
    if (cap < sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return RDV_ERR_TOO_LARGE;
    sodium_bin2base64(out, cap, key, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return RDV_OK;
}

int rdv_admin_cursor_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    if (len == 0)
        return RDV_ERR_INVALID;
    if (len >= RDV_ADMIN_CURSOR_MAX || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
        return RDV_ERR_TOO_LARGE;
    const char *end = NULL;
    if (sodium_base642bin(out, cap, text, len, NULL, outlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return RDV_ERR_INVALID;
    if (end != text + len || *outlen == 0)
        return RDV_ERR_INVALID;
    return RDV_OK;
}

int rdv_admin_parse_limit(const char *text, size_t len, uint32_t max, uint32_t *out)
{
    if (len == 0 || len > 10 || text[0] == '0')
        return RDV_ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return RDV_ERR_INVALID;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    if (v > max)
        return RDV_ERR_INVALID;
    *out = (uint32_t)v;
    return RDV_OK;
}

static int parse_port(const char *s, uint16_t *port)
{
    uint32_t v;
    if (strcmp(s, "0") == 0) {
        *port = 0;
        return RDV_OK;
    }
    if (rdv_admin_parse_limit(s, strlen(s), 65535, &v))
        return RDV_ERR_INVALID;
    *port = (uint16_t)v;
    return RDV_OK;
}

int rdv_admin_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[64];
    const char *port_text;
    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') { /* [v6]:port */
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
            return RDV_ERR_INVALID;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        size_t hlen = colon ? (size_t)(colon - text) : 0;
        if (hlen >= sizeof(host) || (colon && memchr(text, ':', hlen)))
            return RDV_ERR_INVALID; /* a bare IPv6 address needs brackets */
        memcpy(host, colon ? text : "127.0.0.1", colon ? hlen : 10);
        host[colon ? hlen : 9] = '\0';
        port_text = colon ? colon + 1 : text;
    }
    uint16_t port;
    if (parse_port(port_text, &port))
        return RDV_ERR_INVALID;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (text[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *sslen = sizeof(*v4);
    } else if (text[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *sslen = sizeof(*v6);
    } else {
        return RDV_ERR_INVALID;
    }
    return RDV_OK;
}

/* The secret in the header: the token of "Bearer TOKEN", the password of "Basic base64(u:p)". */
static bool auth_secret(const char *header, char *out, size_t cap, size_t *outlen)
{
    size_t hlen = strnlen(header, AUTH_HEADER_MAX + 1);
    if (hlen > AUTH_HEADER_MAX)
        return false;
    if (hlen > 7 && strncasecmp(header, "Bearer ", 7) == 0) {
        if (hlen - 7 > cap)
            return false;
        memcpy(out, header + 7, hlen - 7);
        *outlen = hlen - 7;
        return true;
    }
    if (hlen > 6 && strncasecmp(header, "Basic ", 6) == 0) {
        size_t n;
        const char *end;
        if (sodium_base642bin((unsigned char *)out, cap, header + 6, hlen - 6, NULL, &n, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 || end != header + hlen)
            return false;
        const char *colon = memchr(out, ':', n);
        if (!colon)
            return false;
        *outlen = n - (size_t)(colon + 1 - out);
        memmove(out, colon + 1, *outlen);
        return true;
    }
    return false;
}

bool rdv_admin_auth_ok(const char *header, const char *token)
{
    if (!header || !token)
        return false;
    char secret[AUTH_HEADER_MAX];
    size_t n;
    if (!auth_secret(header, secret, sizeof(secret), &n))
        return false;
    unsigned char h1[crypto_generichash_BYTES], h2[crypto_generichash_BYTES];
    crypto_generichash(h1, sizeof(h1), (const unsigned char *)secret, n, NULL, 0);
    crypto_generichash(h2, sizeof(h2), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_memzero(secret, sizeof(secret));
    return sodium_memcmp(h1, h2, sizeof(h1)) == 0;
}
