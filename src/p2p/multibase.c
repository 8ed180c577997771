/* multibase.c: base58btc and RFC 4648 base32 (lower case, no padding).
 *
 * These are the two text encodings of peer ids: base58btc for the legacy "12D3KooW..." form and
 * base32 for CIDv1 ("bafz..."). Both work inside the caller's output buffer with no allocation:
 * base58 is a big-number base conversion, so its digits are accumulated in place in `out` and
 * every growth step is checked against outcap first. Inputs are short (peer ids, keys), so the
 * quadratic base58 loop is fine; lengths beyond RDV_MULTIBASE_MAX_IN are refused outright so the
 * int return value can never overflow and a caller cannot make us spin on a huge input. */
#include "p2p/multibase.h"

#include <string.h>

#include "util/err.h"

#define RDV_MULTIBASE_MAX_IN 4096 /* longest input either direction; peer ids are < 100 bytes */

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static void reverse(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

static int b58_value(char c)
{
    const char *hit = c ? strchr(b58_alphabet, c) : NULL;
    return hit ? (int)(hit - b58_alphabet) : -1;
}

int rdv_base58_encode(const uint8_t *in, size_t n, char *out, size_t outcap)
{
    if (n > RDV_MULTIBASE_MAX_IN)
        return RDV_ERR_TOO_LARGE;
    if (outcap == 0)
        return RDV_ERR_TOO_LARGE;
    size_t zeros = 0;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    if (zeros >= outcap)
        return RDV_ERR_TOO_LARGE;
    /* Little-endian base-58 digits accumulate in out[0..ndig); room for the '1's and the NUL
     * is reserved up front so the final layout fits wherever the loop stops. */
    uint8_t *dig = (uint8_t *)out;
    size_t room = outcap - 1 - zeros, ndig = 0;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < ndig; j++) {
            carry += (unsigned)dig[j] << 8;
            dig[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            if (ndig >= room)
                return RDV_ERR_TOO_LARGE;
            dig[ndig++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    reverse(dig, ndig);
    memmove(out + zeros, dig, ndig);
    memset(out, '1', zeros);
    for (size_t j = zeros; j < zeros + ndig; j++)
        out[j] = b58_alphabet[(uint8_t)out[j]];
    out[zeros + ndig] = '\0';
    return (int)(zeros + ndig);
}

int rdv_base58_decode(const char *text, size_t len, uint8_t *out, size_t outcap)
{
    if (len > RDV_MULTIBASE_MAX_IN)
        return RDV_ERR_TOO_LARGE;
    for (size_t i = 0; i < len; i++) /* alphabet errors win over size errors */
        if (b58_value(text[i]) < 0)
            return RDV_ERR_INVALID;
    size_t zeros = 0;
    while (zeros < len && text[zeros] == '1')
        zeros++;
    if (zeros > outcap)
        return RDV_ERR_TOO_LARGE;
    size_t room = outcap - zeros, nbytes = 0;
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = (unsigned)b58_value(text[i]);
        for (size_t j = 0; j < nbytes; j++) {
            carry += (unsigned)out[j] * 58;
            out[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        while (carry) {
            if (nbytes >= room)
                return RDV_ERR_TOO_LARGE;
            out[nbytes++] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
    }
    reverse(out, nbytes);
    memmove(out + zeros, out, nbytes);
    memset(out, 0, zeros);
    return (int)(zeros + nbytes);
}

int rdv_base32_encode(const uint8_t *in, size_t n, char *out, size_t outcap)
{
    if (n > RDV_MULTIBASE_MAX_IN)
        return RDV_ERR_TOO_LARGE;
    size_t need = (n * 8 + 4) / 5;
    if (outcap < need + 1)
        return RDV_ERR_TOO_LARGE;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0) /* the last partial group is padded with zero bits on the right */
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return (int)o;
}

static int b32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int rdv_base32_decode(const char *text, size_t len, uint8_t *out, size_t outcap)
{
    if (len > RDV_MULTIBASE_MAX_IN)
        return RDV_ERR_TOO_LARGE;
    /* 8 chars carry 5 bytes; a tail of 1, 3 or 6 chars cannot come from any byte count. */
    size_t tail = len % 8;
    if (tail == 1 || tail == 3 || tail == 6)
        return RDV_ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if (b32_value(text[i]) < 0)
            return RDV_ERR_INVALID;
    size_t need = len * 5 / 8;
    if (need > outcap)
        return RDV_ERR_TOO_LARGE;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 5) | (uint32_t)b32_value(text[i]);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits are padding: non-zero ones mean a second text for the same bytes. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return RDV_ERR_INVALID;
    return (int)o;
}
