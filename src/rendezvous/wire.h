/* wire.h: the rendezvous messages on the wire, for every dialect, from one layout table.
 *
 * /vac/waku/rendezvous/0.0.1 (proto3) and /rendezvous/1.0.0 (proto2; also carried by
 * /vac/waku/rendezvous/1.0.0) use the same submessages (Register, RegisterResponse, Discover,
 * DiscoverResponse) with the same inner field numbers; they differ only in the Message field
 * numbers, the MessageType values, whether UNREGISTER and cookies exist, and whether zero values
 * are written. A struct rdv_wire_layout holds exactly those differences, so one decoder and one
 * encoder serve all dialects, in both directions (server: decode requests, encode responses;
 * client: encode requests, decode responses).
 *
 * Decoding never allocates: every string or bytes value is a slice of the message. Later
 * occurrences of a field override earlier ones and repeated submessages merge, as protobuf says. */
#ifndef RDV_WIRE_H
#define RDV_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum rdv_req_type { RDV_REQ_REGISTER = 0, RDV_REQ_UNREGISTER, RDV_REQ_DISCOVER, RDV_REQ_TYPE_COUNT };
const char *rdv_req_type_name(enum rdv_req_type t); /* "register", "unregister", "discover" */

#define RDV_WIRE_NO_FIELD 0 /* a Message field the layout does not have */
#define RDV_WIRE_NO_TYPE (-1) /* a MessageType the layout does not have */

struct rdv_wire_layout {
    /* Message field numbers of the submessages */
    uint32_t f_register, f_register_response, f_unregister, f_discover, f_discover_response;
    /* MessageType values */
    int32_t t_register, t_register_response, t_unregister, t_discover, t_discover_response;
    bool has_cookies;        /* Discover.cookie = 3, DiscoverResponse.cookie = 2 */
    bool explicit_defaults;  /* proto2: write type, status and ttl even when zero */
    bool signed_ints;        /* ttl and limit are int64 (negative = invalid), not uint64 */
};

extern const struct rdv_wire_layout rdv_wire_layout_waku0; /* /vac/waku/rendezvous/0.0.1 */
extern const struct rdv_wire_layout rdv_wire_layout_std;   /* /rendezvous/1.0.0 and /vac/waku/rendezvous/1.0.0 */

struct rdv_wire_slice {
    const uint8_t *p; /* NULL: absent */
    size_t len;
};

/* A request, as the server reads it (and the client writes it). */
struct rdv_wire_request {
    enum rdv_req_type type;
    struct rdv_wire_slice ns;
    struct rdv_wire_slice record;  /* REGISTER: the signed envelope */
    bool has_ttl;
    uint64_t ttl;                  /* raw varint: with signed_ints, > INT64_MAX is negative */
    bool has_limit;
    uint64_t limit;
    struct rdv_wire_slice cookie;  /* DISCOVER, layouts with cookies */
};

/* RDV_OK; RDV_ERR_INVALID when the bytes are not a request of this layout at all (malformed, a
 * response, an unknown type): the caller resets the stream. */
int rdv_wire_decode_request(const struct rdv_wire_layout *l, const uint8_t *msg, size_t n,
                            struct rdv_wire_request *out);
int rdv_wire_encode_request(const struct rdv_wire_layout *l, const struct rdv_wire_request *r, struct rdv_buf *out);

/* One registration of a DiscoverResponse. */
struct rdv_wire_registration {
    struct rdv_wire_slice ns;
    struct rdv_wire_slice record;
    uint64_t ttl;
};

/* A response, as the server writes it (and the client reads it). */
struct rdv_wire_response {
    enum rdv_req_type type;        /* REGISTER or DISCOVER */
    uint32_t status;
    struct rdv_wire_slice text;
    uint64_t ttl;                  /* REGISTER: granted */
    struct rdv_wire_slice cookie;  /* DISCOVER */
    /* DISCOVER: registrations. Encoding takes the array; decoding leaves regs NULL and sets body
     * to the whole Message and body_field to the Message field of its DiscoverResponse, for
     * rdv_wire_next_registration: every occurrence of that submessage is read, since protobuf
     * merges repeated submessages (their registrations concatenate). */
    const struct rdv_wire_registration *regs;
    size_t nregs;
    struct rdv_wire_slice body;
    uint32_t body_field;
};

/* Where rdv_wire_next_registration is in a decoded response: zero it to start. */
struct rdv_wire_reg_iter {
    size_t outer;       /* next top-level field of the Message */
    size_t inner, end;  /* the rest of the DiscoverResponse occurrence being read */
};

/* Bytes rdv_wire_encode_response would add for one registration (for cutting a sample to fit). */
size_t rdv_wire_registration_size(size_t ns_len, size_t record_len, uint64_t ttl);
int rdv_wire_encode_response(const struct rdv_wire_layout *l, const struct rdv_wire_response *r, struct rdv_buf *out);
/* RDV_OK, or RDV_ERR_INVALID (not a response of this layout). */
int rdv_wire_decode_response(const struct rdv_wire_layout *l, const uint8_t *msg, size_t n,
                             struct rdv_wire_response *out);
/* Iterates a decoded DiscoverResponse's registrations, across every DiscoverResponse occurrence:
 * *it starts zeroed. 1 and *reg filled, 0 at the end, -1 malformed. */
int rdv_wire_next_registration(const struct rdv_wire_response *r, struct rdv_wire_reg_iter *it,
                               struct rdv_wire_registration *reg);

#endif
