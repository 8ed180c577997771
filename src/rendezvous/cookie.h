/* cookie.h: DISCOVER cookies — opaque to clients, tamper-evident, valid on every front-end of a store.
 *
 * A cookie says "you have seen this namespace's records up to registration counter C" (counters:
 * store.h). Layout (26 bytes): version 0x01, record kind, C as 8 big-endian bytes, then a 16-byte
 * keyed BLAKE2b MAC (libsodium crypto_generichash) over version, kind, C and the namespace, under the
 * store's secret (rdv_store_secret: one key per store, so any front-end of one PostgreSQL accepts
 * another's cookies). A cookie altered in any byte, made for another namespace or kind, or by
 * another store, fails the MAC and is answered E_INVALID_COOKIE. */
#ifndef RDV_COOKIE_H
#define RDV_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#define RDV_COOKIE_LEN 26
#define RDV_COOKIE_KEY_LEN 32

int rdv_cookie_make(const uint8_t key[RDV_COOKIE_KEY_LEN], uint8_t kind, const uint8_t *ns, size_t ns_len,
                    uint64_t counter, uint8_t out[RDV_COOKIE_LEN]);
/* RDV_OK and *counter, or RDV_ERR_INVALID for anything but a cookie this key made for (kind, ns). */
int rdv_cookie_parse(const uint8_t key[RDV_COOKIE_KEY_LEN], uint8_t kind, const uint8_t *ns, size_t ns_len,
                     const uint8_t *cookie, size_t len, uint64_t *counter);

#endif
