/* err.c: names for enum rdv_err. */
#include "util/err.h"

const char *rdv_strerror(int err)
{
    switch ((enum rdv_err)err) {
    case RDV_OK: return "ok";
    case RDV_ERR_INVALID: return "invalid input";
    case RDV_ERR_TRUNCATED: return "truncated input";
    case RDV_ERR_TOO_LARGE: return "too large";
    case RDV_ERR_UNSUPPORTED: return "unsupported";
    case RDV_ERR_SIGNATURE: return "signature does not verify";
    case RDV_ERR_DOMAIN: return "wrong envelope domain";
    case RDV_ERR_PAYLOAD_TYPE: return "wrong envelope payload type";
    case RDV_ERR_PEER_ID_MISMATCH: return "peer id mismatch";
    case RDV_ERR_STALE: return "stale record";
    case RDV_ERR_LIMIT: return "limit reached";
    case RDV_ERR_NOT_FOUND: return "not found";
    case RDV_ERR_UNAVAILABLE: return "unavailable";
    case RDV_ERR_TIMEOUT: return "timed out";
    case RDV_ERR_IO: return "i/o error";
    case RDV_ERR_CLOSED: return "closed";
    case RDV_ERR_FATAL: return "fatal error";
    case RDV_ERR_NOMEM: return "out of memory";
    case RDV_ERR_PROTOCOL: return "protocol violation";
    case RDV_ERR_CRYPTO: return "cryptographic failure";
    case RDV_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}
