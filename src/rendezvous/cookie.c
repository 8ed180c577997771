/* cookie.c: see cookie.h. */
#include "rendezvous/cookie.h"

#include <sodium.h>
#include <string.h>

#include "util/be64.h"
#include "util/err.h"

#define COOKIE_VERSION 1
#define COOKIE_BODY 10 /* version, kind, counter */
#define COOKIE_MAC 16

static int cookie_mac(const uint8_t *key, const uint8_t body[COOKIE_BODY], const uint8_t *ns, size_t ns_len,
                      uint8_t mac[COOKIE_MAC])
{
    crypto_generichash_state st;
    if (crypto_generichash_init(&st, key, RDV_COOKIE_KEY_LEN, COOKIE_MAC) != 0 ||
        crypto_generichash_update(&st, body, COOKIE_BODY) != 0 ||
        (ns_len && crypto_generichash_update(&st, ns, ns_len) != 0) || crypto_generichash_final(&st, mac, COOKIE_MAC) != 0)
        return RDV_ERR_CRYPTO;
    return RDV_OK;
}

int rdv_cookie_make(const uint8_t key[RDV_COOKIE_KEY_LEN], uint8_t kind, const uint8_t *ns, size_t ns_len,
                    uint64_t counter, uint8_t out[RDV_COOKIE_LEN])
{
    out[0] = COOKIE_VERSION;
    out[1] = kind;
    rdv_put_be64(out + 2, counter);
    return cookie_mac(key, out, ns, ns_len, out + COOKIE_BODY);
}

int rdv_cookie_parse(const uint8_t key[RDV_COOKIE_KEY_LEN], uint8_t kind, const uint8_t *ns, size_t ns_len,
                     const uint8_t *cookie, size_t len, uint64_t *counter)
{
    uint8_t mac[COOKIE_MAC];
    if (!cookie || len != RDV_COOKIE_LEN || cookie[0] != COOKIE_VERSION || cookie[1] != kind)
        return RDV_ERR_INVALID;
    if (cookie_mac(key, cookie, ns, ns_len, mac) != RDV_OK || sodium_memcmp(mac, cookie + COOKIE_BODY, COOKIE_MAC) != 0)
        return RDV_ERR_INVALID;
    *counter = rdv_get_be64(cookie + 2);
    return RDV_OK;
}
