/* noise.h: the libp2p Noise secure channel (`/noise`, libp2p/specs noise/README.md) as a pure state
 * machine over byte buffers: no I/O, no clocks.
 *
 * Two layers. The core is Noise_XX_25519_ChaChaPoly_SHA256 (Noise spec rev 34): CipherState, SymmetricState
 * and an XX HandshakeState taking the prologue and, for test vectors, fixed keys. The session on top
 * speaks libp2p: u16be-length-framed messages, an X25519 static key authenticated by a
 * NoiseHandshakePayload signed with our identity key (responder sends it in message 2, initiator in 3),
 * then ChaCha20-Poly1305 transport frames. We advertise no extensions: a peer that sees stream_muxers
 * on both sides skips multistream-select for the muxer (inlined muxer negotiation), which our connection
 * layer does not do. The peer's extensions are ignored. */
#ifndef RDV_NOISE_H
#define RDV_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "util/buf.h"

#define RDV_NOISE_KEYLEN 32    /* X25519 keys, cipher keys */
#define RDV_NOISE_HASHLEN 32   /* SHA-256 */
#define RDV_NOISE_TAGLEN 16    /* Poly1305 */
#define RDV_NOISE_MSG_MAX 65535 /* one Noise message; also the u16be frame limit */
#define RDV_NOISE_PLAIN_MAX (RDV_NOISE_MSG_MAX - RDV_NOISE_TAGLEN) /* plaintext per transport frame */

/* ---- Noise core -------------------------------------------------------------------------------- */
struct rdv_noise_cipher {          /* CipherState */
    uint8_t k[RDV_NOISE_KEYLEN];
    uint64_t n;                    /* next nonce; 2^64-1 is reserved, so reaching it is an error */
    bool has_key;                  /* without a key, encrypt/decrypt are the identity */
};

struct rdv_noise_hs {              /* HandshakeState (XX only) with its SymmetricState */
    struct rdv_noise_cipher cs;
    uint8_t ck[RDV_NOISE_HASHLEN], h[RDV_NOISE_HASHLEN];
    bool initiator;
    unsigned step;                 /* handshake messages processed so far, 0..3 */
    uint8_t s_priv[32], s_pub[32], e_priv[32], e_pub[32], rs[32], re[32];
};

/* Encrypts n bytes with ad into out (n + 16 bytes; n if no key). RDV_ERR_CRYPTO once the nonce is spent. */
int rdv_noise_cipher_encrypt(struct rdv_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *in, size_t n, uint8_t *out);
/* Decrypts n bytes into out (n - 16 bytes). RDV_ERR_CRYPTO on a bad tag (nonce not advanced) or spent
 * nonce, RDV_ERR_TRUNCATED if n < 16. */
int rdv_noise_cipher_decrypt(struct rdv_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *in, size_t n, uint8_t *out);

/* Initializes hs for Noise_XX_25519_ChaChaPoly_SHA256: hashes the prologue, takes our static private
 * key and an ephemeral private key (NULL: a random one). */
int rdv_noise_xx_init(struct rdv_noise_hs *hs, bool initiator, const uint8_t *prologue, size_t plen,
                      const uint8_t s_priv[32], const uint8_t *e_priv_or_null);
/* Appends our next handshake message carrying payload to out. RDV_ERR_PROTOCOL if it is not our turn,
 * RDV_ERR_TOO_LARGE if the message would exceed 65535 bytes (or out is full). out is rolled back on
 * error, but as for read, hs is then unusable. */
int rdv_noise_xx_write(struct rdv_noise_hs *hs, const uint8_t *payload, size_t n, struct rdv_buf *out);
/* Reads the peer's next handshake message and appends its payload to payload_out. RDV_ERR_PROTOCOL if
 * not its turn or the message is too short, RDV_ERR_CRYPTO on a bad tag or low-order key. After any
 * error hs is unusable. */
int rdv_noise_xx_read(struct rdv_noise_hs *hs, const uint8_t *msg, size_t n, struct rdv_buf *payload_out);
static inline bool rdv_noise_xx_done(const struct rdv_noise_hs *hs) { return hs->step == 3; }
/* After the third message: the transport ciphers, oriented for our role. RDV_ERR_PROTOCOL if early. */
int rdv_noise_xx_split(const struct rdv_noise_hs *hs, struct rdv_noise_cipher *send, struct rdv_noise_cipher *recv);
/* Wipes every key in hs. */
void rdv_noise_xx_clear(struct rdv_noise_hs *hs);

/* ---- libp2p session ---------------------------------------------------------------------------- */
enum rdv_noise_role { RDV_NOISE_INITIATOR, RDV_NOISE_RESPONDER };
struct rdv_noise_session;

#define RDV_NOISE_PAYLOAD_MAX 256 /* our own payload: PublicKey (<= 64) + signature (<= 72) + tags */

/* Our static Noise key with its signed handshake payload, made once and shared by many sessions.
 * The libp2p Noise spec (libp2p/specs noise/README.md, "Static Key Authentication") keeps the
 * static key apart from the identity key and allows its reuse: "A given libp2p peer will have one
 * or more static Noise keypairs throughout its lifetime. Implementations MAY allow persisting static
 * Noise keys across process restarts, or they may generate new static Noise keys when initializing
 * the noise-libp2p module." Each session still draws a fresh ephemeral key (ee, es, se mix it), so
 * session keys stay independent and forward secret against a later leak of the identity key; a leak
 * of this process's static key exposes at most its own sessions, which live in the same memory. A
 * server reusing it saves an X25519 ladder and an identity signature per session. */
struct rdv_noise_identity {
    uint8_t s_priv[RDV_NOISE_KEYLEN], s_pub[RDV_NOISE_KEYLEN];
    uint8_t payload[RDV_NOISE_PAYLOAD_MAX]; /* NoiseHandshakePayload signed by the identity key */
    size_t payload_len;
};
/* Draws a static key and signs it with id (not retained). */
int rdv_noise_identity_init(struct rdv_noise_identity *ni, const struct rdv_privkey *id);
void rdv_noise_identity_clear(struct rdv_noise_identity *ni);
/* A session on a shared identity (copied: ni need not outlive the session); draws the ephemeral key. */
int rdv_noise_session_new_with(enum rdv_noise_role role, const struct rdv_noise_identity *ni,
                               const struct rdv_peerid *expected_or_null, struct rdv_noise_session **out);
/* Creates a session with a static key of its own: draws the static and ephemeral keys and signs our
 * handshake payload with id (which is not retained). expected_or_null (either role): the peer id the
 * remote must prove, copied. */
int rdv_noise_session_new(enum rdv_noise_role role, const struct rdv_privkey *id,
                          const struct rdv_peerid *expected_or_null, struct rdv_noise_session **out);
/* Initiator: appends frame 1 to wire_out (once). Responder: no-op. */
int rdv_noise_start(struct rdv_noise_session *s, struct rdv_buf *wire_out);
/* Consumes the complete frames at the front of in (*consumed bytes; a partial frame is left for the
 * caller to resend with more bytes). Handshake frames may append our next message to wire_out;
 * transport frames append plaintext to plain_out. A frame whose plaintext would push plain_out past its
 * max is left unconsumed (backpressure: drain plain_out and call again; so plain_out's max must be at
 * least RDV_NOISE_PLAIN_MAX, or 0 for no cap). Every error is final: the
 * session is dead and later calls return RDV_ERR_PROTOCOL. Errors: RDV_ERR_PROTOCOL (bad state, short
 * or undecodable message), RDV_ERR_CRYPTO (bad tag, replay, low-order key), RDV_ERR_SIGNATURE,
 * RDV_ERR_INVALID / RDV_ERR_UNSUPPORTED (remote identity key), RDV_ERR_PEER_ID_MISMATCH, RDV_ERR_NOMEM,
 * RDV_ERR_TOO_LARGE (wire_out full). */
int rdv_noise_recv(struct rdv_noise_session *s, const uint8_t *in, size_t len, size_t *consumed,
                   struct rdv_buf *wire_out, struct rdv_buf *plain_out);
bool rdv_noise_ready(const struct rdv_noise_session *s);
/* The authenticated remote peer and its identity key; NULL until ready. */
const struct rdv_peerid *rdv_noise_remote_peer(const struct rdv_noise_session *s);
const struct rdv_pubkey *rdv_noise_remote_key(const struct rdv_noise_session *s);
/* Encrypts n bytes into frames of <= RDV_NOISE_PLAIN_MAX plaintext appended to wire_out; all or nothing.
 * n == 0 writes nothing. RDV_ERR_PROTOCOL before ready, RDV_ERR_TOO_LARGE if wire_out cannot hold it. */
int rdv_noise_send(struct rdv_noise_session *s, const uint8_t *plain, size_t n, struct rdv_buf *wire_out);
/* Wipes keys and frees; NULL is fine. */
void rdv_noise_session_free(struct rdv_noise_session *s);

#endif
