/* test_admin_params.c: the admin API's input parsing (src/admin/params.c): percent-decoding with
 * NUL bytes and bad escapes, cursor round trips and garbage, limits, listen addresses, and the
 * Authorization header (Bearer and Basic, wrong tokens, hostile lengths). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "admin/params.h"
#include "tap.h"
#include "util/err.h"

static void test_pct(void)
{
    char out[16];
    size_t n;
    is_int(rdv_admin_pct_decode("waku%2Ftest", 11, false, out, sizeof(out), &n), RDV_OK, "%%2F decodes");
    is_mem(out, n, "waku/test", 9, "to '/'");
    is_int(rdv_admin_pct_decode("a%00b+c", 7, true, out, sizeof(out), &n), RDV_OK, "%%00 and + in a query");
    is_mem(out, n, "a\0b c", 5, "NUL kept as data, '+' is a space in queries");
    rdv_admin_pct_decode("a+b", 3, false, out, sizeof(out), &n);
    is_mem(out, n, "a+b", 3, "'+' stays in paths");
    rdv_admin_pct_decode("%c3%A9", 6, false, out, sizeof(out), &n);
    is_mem(out, n, "\xc3\xa9", 2, "hex in either case");
    is_int(rdv_admin_pct_decode("%", 1, false, out, sizeof(out), &n), RDV_ERR_INVALID, "lone %% refused");
    is_int(rdv_admin_pct_decode("ab%4", 4, false, out, sizeof(out), &n), RDV_ERR_INVALID, "short escape refused");
    is_int(rdv_admin_pct_decode("%zz", 3, false, out, sizeof(out), &n), RDV_ERR_INVALID, "non-hex escape refused");
    is_int(rdv_admin_pct_decode("0123456789abcdefX", 17, false, out, sizeof(out), &n), RDV_ERR_TOO_LARGE,
           "output longer than the buffer refused");
    is_int(rdv_admin_pct_decode("", 0, false, out, sizeof(out), &n), RDV_OK, "empty is fine");
    is_int((long long)n, 0, "and empty");
}

static void test_cursor(void)
{
    char text[RDV_ADMIN_CURSOR_MAX];
    uint8_t key[256], back[256];
    size_t n;
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    is_int(rdv_admin_cursor_encode(key, 256, text, sizeof(text)), RDV_OK, "a 256-byte key encodes");
    ok(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(text),
       "as URL-safe text without padding");
    is_int(rdv_admin_cursor_decode(text, strlen(text), back, sizeof(back), &n), RDV_OK, "and decodes");
    is_mem(back, n, key, 256, "to the same bytes");
    is_int(rdv_admin_cursor_decode(text, strlen(text), back, 255, &n), RDV_ERR_TOO_LARGE, "not into a smaller buffer");
    is_int(rdv_admin_cursor_decode("", 0, back, sizeof(back), &n), RDV_ERR_INVALID, "empty cursor refused");
    is_int(rdv_admin_cursor_decode("ab+/", 4, back, sizeof(back), &n), RDV_ERR_INVALID, "standard base64 refused");
    is_int(rdv_admin_cursor_decode("YQ==", 4, back, sizeof(back), &n), RDV_ERR_INVALID, "padding refused");
    is_int(rdv_admin_cursor_decode("Y", 1, back, sizeof(back), &n), RDV_ERR_INVALID, "impossible length refused");
    is_int(rdv_admin_cursor_decode("YQ", 2, back, sizeof(back), &n), RDV_OK, "'YQ' is 'a'");
    is_mem(back, n, "a", 1, "'a'");
    char big[RDV_ADMIN_CURSOR_MAX + 10];
    memset(big, 'A', sizeof(big));
    is_int(rdv_admin_cursor_decode(big, sizeof(big), back, sizeof(back), &n), RDV_ERR_TOO_LARGE, "huge cursor refused");
    char small[4];
    is_int(rdv_admin_cursor_encode(key, 10, small, sizeof(small)), RDV_ERR_TOO_LARGE, "encode checks its room");
}

static void test_limit(void)
{
    uint32_t v = 0;
    is_int(rdv_admin_parse_limit("1", 1, 1000, &v), RDV_OK, "1");
    is_int(rdv_admin_parse_limit("1000", 4, 1000, &v), RDV_OK, "1000");
    is_int((long long)v, 1000, "is 1000");
    static const char *const bad[] = {"0", "1001", "-1", "+1", " 1", "1 ", "01", "", "1e3", "99999999999999999999", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(rdv_admin_parse_limit(bad[i], strlen(bad[i]), 1000, &v), RDV_ERR_INVALID, "limit '%s' refused", bad[i]);
}

static void test_listen(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
    char host[INET6_ADDRSTRLEN];
    is_int(rdv_admin_parse_listen("127.0.0.1:4041", &ss, &len), RDV_OK, "IPv4:port");
    ok(ss.ss_family == AF_INET && ntohs(v4->sin_port) == 4041 && len == sizeof(*v4), "AF_INET, port 4041");
    is_int(rdv_admin_parse_listen("8080", &ss, &len), RDV_OK, "a bare port");
    is_str(inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host)), "127.0.0.1", "means loopback");
    is_int(rdv_admin_parse_listen("[::1]:0", &ss, &len), RDV_OK, "[IPv6]:0");
    ok(ss.ss_family == AF_INET6 && ntohs(v6->sin6_port) == 0 && len == sizeof(*v6), "AF_INET6, port 0");
    is_int(rdv_admin_parse_listen("0.0.0.0:9", &ss, &len), RDV_OK, "any address when asked for");
    static const char *const bad[] = {"", "localhost:4041", "::1:4041", "[::1]", "[::1]4041", "1.2.3.4:", "1.2.3.4:65536",
                                      "1.2.3.4:-1", "1.2.3.4:x", "1.2.3:80", "[1.2.3.4]:80", "[]:80", "off",
                                      "[0123456789012345678901234567890123456789012345678901234567890123456789]:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(rdv_admin_parse_listen(bad[i], &ss, &len), RDV_ERR_INVALID, "listen '%s' refused", bad[i]);
}

static void test_auth(void)
{
    const char *token = "s3cret-token";
    char basic[128] = "Basic ";
    sodium_bin2base64(basic + 6, sizeof(basic) - 6, (const unsigned char *)"admin:s3cret-token", 18,
                      sodium_base64_VARIANT_ORIGINAL);
    ok(rdv_admin_auth_ok("Bearer s3cret-token", token), "Bearer with the token");
    ok(rdv_admin_auth_ok("bearer s3cret-token", token), "the scheme is case-insensitive");
    ok(rdv_admin_auth_ok(basic, token), "Basic with the token as password");
    ok(!rdv_admin_auth_ok("Bearer s3cret-tokeN", token), "a wrong token");
    ok(!rdv_admin_auth_ok("Bearer s3cret-token ", token), "a token with a trailing space");
    ok(!rdv_admin_auth_ok("Bearer s3cret", token), "a prefix of the token");
    ok(!rdv_admin_auth_ok("Bearer ", token), "an empty token");
    ok(!rdv_admin_auth_ok("s3cret-token", token), "no scheme");
    ok(!rdv_admin_auth_ok("Digest s3cret-token", token), "another scheme");
    ok(!rdv_admin_auth_ok(NULL, token), "no header");
    ok(!rdv_admin_auth_ok("Basic !!!!", token), "Basic with bad base64");
    ok(!rdv_admin_auth_ok("Basic czNjcmV0LXRva2Vu", token), "Basic without a colon");
    char huge[6000];
    memset(huge, 'A', sizeof(huge));
    memcpy(huge, "Bearer ", 7);
    huge[sizeof(huge) - 1] = '\0';
    ok(!rdv_admin_auth_ok(huge, token), "an oversize header");
    memcpy(huge, "Basic  ", 7);
    ok(!rdv_admin_auth_ok(huge, token), "an oversize Basic header");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_pct();
    test_cursor();
    test_limit();
    test_listen();
    test_auth();
    return tap_done();
}
