/* err.h: the project's one error enum.
 *
 * Every fallible function returns int: 0 (RDV_OK) or a negative enum rdv_err. Codes at or below
 * RDV_ERR_FATAL mean the session/connection that produced them cannot continue. */
#ifndef RDV_ERR_H
#define RDV_ERR_H

enum rdv_err {
    RDV_OK = 0,
    RDV_ERR_INVALID = -1,          /* malformed input (bad encoding, bad field) */
    RDV_ERR_TRUNCATED = -2,        /* input ends early: for stream parsers, "need more bytes" */
    RDV_ERR_TOO_LARGE = -3,        /* a length or count exceeds its limit */
    RDV_ERR_UNSUPPORTED = -4,      /* well-formed but not supported (RSA key, unknown protocol code) */
    RDV_ERR_SIGNATURE = -5,        /* signature does not verify */
    RDV_ERR_DOMAIN = -6,           /* signed envelope: wrong domain */
    RDV_ERR_PAYLOAD_TYPE = -7,     /* signed envelope: wrong payload type */
    RDV_ERR_PEER_ID_MISMATCH = -8, /* record peer id is not the signer's / the remote peer's */
    RDV_ERR_STALE = -9,            /* an older record than the one held */
    RDV_ERR_LIMIT = -10,           /* a configured quota is full */
    RDV_ERR_NOT_FOUND = -11,
    RDV_ERR_UNAVAILABLE = -12,     /* a dependency (store) cannot be reached now */
    RDV_ERR_TIMEOUT = -13,
    RDV_ERR_IO = -14,              /* system call failed; errno tells more */
    RDV_ERR_CLOSED = -15,          /* peer closed or reset */
    RDV_ERR_FATAL = -100,          /* codes at or below this end the session */
    RDV_ERR_NOMEM = -101,
    RDV_ERR_PROTOCOL = -102,       /* peer violated a protocol state machine */
    RDV_ERR_CRYPTO = -103,         /* a cryptographic primitive failed (decrypt, key agreement) */
    RDV_ERR_INTERNAL = -104,       /* a bug or an impossible state */
};

/* A short, static, human-readable name for an error code. Never NULL. */
const char *rdv_strerror(int err);

static inline int rdv_err_is_fatal(int err) { return err <= RDV_ERR_FATAL; }

#endif
