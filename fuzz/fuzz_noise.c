/* fuzz_noise.c: what a peer can send a Noise responder before and during the handshake, and an
 * initiator after its first message. */
#include <sodium.h>

#include "fuzz.h"
#include "p2p/noise.h"
#include "util/err.h"

static void feed(enum rdv_noise_role role, const struct rdv_privkey *id, const uint8_t *data, size_t size)
{
    struct rdv_noise_session *s;
    if (rdv_noise_session_new(role, id, NULL, &s) != RDV_OK)
        return;
    struct rdv_buf wire, plain;
    rdv_buf_init(&wire, 1 << 20);
    rdv_buf_init(&plain, 1 << 20);
    (void)rdv_noise_start(s, &wire);
    size_t used = 0;
    (void)rdv_noise_recv(s, data, size, &used, &wire, &plain);
    FUZZ_ASSERT(used <= size);
    rdv_buf_free(&wire);
    rdv_buf_free(&plain);
    rdv_noise_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a fixed ed25519 identity: deterministic runs */
    static const uint8_t seed[32] = {0x7e, 0x4f, 0x66, 0x3a, 0x10, 0x0c, 0x01, 0x4b, 0x27, 0x7a, 0x6c, 0x40, 0xd1, 0x3a, 0x6a, 0x5f,
                                     0x4d, 0x96, 0x9b, 0xbe, 0xbe, 0x4f, 0x74, 0x26, 0x89, 0x4d, 0xbd, 0xfc, 0x81, 0x99, 0x14, 0x3b};
    struct rdv_privkey id = {.type = RDV_KEY_ED25519, .secret_len = 64};
    crypto_sign_seed_keypair(id.pub.data, id.secret, seed);
    id.pub.type = RDV_KEY_ED25519;
    id.pub.len = 32;
    feed(RDV_NOISE_RESPONDER, &id, data, size);
    feed(RDV_NOISE_INITIATOR, &id, data, size);
    return 0;
}
