/* csprng.h: a user-space CSPRNG for hot paths (DISCOVER sampling): a ChaCha20 keystream under a
 * key drawn once from the OS, handed out from a buffer so that a draw is a few loads and no
 * system call. randombytes_uniform costs one getrandom(2) per call in libsodium's default
 * implementation; sampling k records would cost k system calls.
 *
 * Not for keys: use it where an unpredictable but not secret choice is needed (which records a
 * DISCOVER returns). Not thread-safe: one per owner (the index), like the rest of the index. */
#ifndef RDV_CSPRNG_H
#define RDV_CSPRNG_H

#include <stddef.h>
#include <stdint.h>

#define RDV_CSPRNG_SEEDBYTES 32
#define RDV_CSPRNG_BUF 256 /* keystream bytes per refill: 64 draws of 32 bits */

struct rdv_csprng {
    uint8_t key[RDV_CSPRNG_SEEDBYTES];
    uint64_t block;                /* the ChaCha20 nonce of the next refill: never repeats */
    uint8_t buf[RDV_CSPRNG_BUF];
    size_t pos;                    /* next unused byte of buf */
};

/* Seeds from the OS (libsodium's randombytes_buf); sodium_init() must have run. */
void rdv_csprng_init(struct rdv_csprng *g);
/* Seeds from a fixed seed: for tests that need a reproducible sequence. */
void rdv_csprng_init_seed(struct rdv_csprng *g, const uint8_t seed[RDV_CSPRNG_SEEDBYTES]);
uint32_t rdv_csprng_u32(struct rdv_csprng *g);
/* Uniform in [0, upper) without modulo bias; 0 when upper < 2. */
uint32_t rdv_csprng_uniform(struct rdv_csprng *g, uint32_t upper);
/* Wipes the key and the unused keystream. */
void rdv_csprng_clear(struct rdv_csprng *g);

#endif
