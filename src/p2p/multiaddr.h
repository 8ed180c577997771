/* multiaddr.h: binary <-> text multiaddrs (multiformats/multiaddr), validation, and the pieces the
 * dialer needs. Binary form: repeated (uvarint protocol code, value), values fixed-size or
 * uvarint-length-prefixed. Known protocols: ip4 ip6 ip6zone ipcidr tcp udp dccp sctp dns dns4 dns6
 * dnsaddr p2p (text alias ipfs) p2p-circuit unix tls sni noise ws wss quic quic-v1 webtransport
 * certhash webrtc webrtc-direct http https udt utp memory plaintextv2 onion onion3 garlic64
 * garlic32 and the deprecated webrtc-star family. Not supported: http-path.
 * An unknown protocol code makes a binary multiaddr RDV_ERR_UNSUPPORTED (we cannot know its size);
 * rdv_ma_validate_known lets a peer record carry such an address all the same.
 *
 * Strictness: values are validated in both directions (a length prefix must be non-zero and fit;
 * names are non-empty UTF-8 without '/' or NUL; /p2p/ holds an identity or sha2-256 multihash;
 * /unix/ is last). Text input must start with '/'; one trailing '/' is tolerated (as go- and
 * js-multiaddr do); empty components, leading zeros in ports, and trailing garbage are rejected.
 * Text output is canonical: IPv6 per RFC 5952 (inet_ntop), /p2p/ in base58btc, certhash in
 * base64url multibase ('u'). */
#ifndef RDV_MULTIADDR_H
#define RDV_MULTIADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/buf.h"

#define RDV_MA_MAX_BINARY 1024 /* longest multiaddr we accept, in bytes */
#define RDV_MA_MAX_TEXT 2048   /* longest text form we produce/accept, including NUL */

enum rdv_ma_proto {
    RDV_MA_IP4 = 0x04, RDV_MA_TCP = 0x06, RDV_MA_DNS = 0x35, RDV_MA_DNS4 = 0x36, RDV_MA_DNS6 = 0x37,
    RDV_MA_DNSADDR = 0x38, RDV_MA_UDP = 0x0111, RDV_MA_IP6 = 0x29, RDV_MA_P2P = 0x01a5,
    RDV_MA_P2P_CIRCUIT = 0x0122, RDV_MA_WS = 0x01dd, RDV_MA_WSS = 0x01de, RDV_MA_TLS = 0x01c0,
    RDV_MA_QUIC = 0x01cc, RDV_MA_QUIC_V1 = 0x01cd,
    RDV_MA_IP6ZONE = 0x2a, RDV_MA_UNIX = 0x0190, RDV_MA_SNI = 0x01c1, RDV_MA_NOISE = 0x01c6,
    RDV_MA_WEBTRANSPORT = 0x01d1, RDV_MA_CERTHASH = 0x01d2,
};

/* One component of a binary multiaddr; value points into the input. */
struct rdv_ma_component {
    uint32_t code;
    const char *name;      /* "ip4", "tcp", ... */
    const uint8_t *value;  /* raw value bytes (without the length prefix) */
    size_t value_len;
};

/* Iterates components: *pos starts at 0. Returns 1 and fills c while there is one, 0 at the end,
 * or a negative rdv_err for malformed/unsupported input: RDV_ERR_TRUNCATED (a code, length or
 * value runs past len), RDV_ERR_INVALID (non-minimal varint, bad value), RDV_ERR_UNSUPPORTED
 * (unknown code). Checks single components only; rdv_ma_validate checks the whole address. */
int rdv_ma_next(const uint8_t *bin, size_t len, size_t *pos, struct rdv_ma_component *c);
/* RDV_OK if bin is a complete, well-formed multiaddr of known protocols (non-empty, <= RDV_MA_MAX_BINARY,
 * a path protocol such as /unix only last). Else RDV_ERR_INVALID (also for empty),
 * RDV_ERR_TOO_LARGE, or the errors of rdv_ma_next. */
int rdv_ma_validate(const uint8_t *bin, size_t len);
/* For the addresses of a signed record: RDV_OK also for an address that is valid up to its first
 * protocol code we do not know (what follows is kept as opaque bytes: its size is unknown), so one
 * address of a newer transport does not make the whole record invalid. Such an address cannot be
 * printed (rdv_ma_to_text: RDV_ERR_UNSUPPORTED) and is left out wherever addresses are shown.
 * Empty, oversized and malformed (known) addresses fail as for rdv_ma_validate. */
int rdv_ma_validate_known(const uint8_t *bin, size_t len);
/* Binary -> NUL-terminated text. Returns the text length or a negative rdv_err (validation errors,
 * RDV_ERR_TOO_LARGE if outcap is too small; out then holds an unspecified NUL-terminated prefix). */
int rdv_ma_to_text(const uint8_t *bin, size_t len, char *out, size_t outcap);
/* Text -> binary appended to out. Returns RDV_OK or a negative rdv_err: RDV_ERR_INVALID (syntax,
 * bad value), RDV_ERR_UNSUPPORTED (unknown protocol name, unsupported /p2p/ multibase),
 * RDV_ERR_TOO_LARGE (text >= RDV_MA_MAX_TEXT or binary > RDV_MA_MAX_BINARY), RDV_ERR_NOMEM.
 * On error out is left as it was. */
int rdv_ma_from_text(const char *text, struct rdv_buf *out);

/* Name of a known protocol code ("p2p" for 421), or NULL. */
const char *rdv_ma_proto_name(uint32_t code);
/* For /ip4/A/tcp/P or /ip6/A/tcp/P, optionally followed by /p2p/ID and nothing else: fills ss and
 * *sslen (sockaddr_in or sockaddr_in6) for connect()/bind(). RDV_ERR_UNSUPPORTED for any other
 * shape (dns, udp, ws, ip6zone ...), validation errors for malformed input. */
int rdv_ma_tcp_sockaddr(const uint8_t *bin, size_t len, struct sockaddr_storage *ss, socklen_t *sslen);
/* Appends /ip4|ip6/ADDR/tcp/PORT for an AF_INET or AF_INET6 sockaddr (e.g. an accepted peer's
 * address, for identify's observedAddr). RDV_ERR_UNSUPPORTED for other families,
 * RDV_ERR_INVALID if salen is too short for the family. */
int rdv_ma_from_tcp_sockaddr(const struct sockaddr *sa, socklen_t salen, struct rdv_buf *out);
/* If the LAST component of a valid multiaddr is /p2p/, points *mh at its multihash bytes (inside
 * bin) and returns RDV_OK; RDV_ERR_NOT_FOUND otherwise (also for .../p2p/RELAY/p2p-circuit, whose
 * target peer is not named), validation errors for malformed input. */
int rdv_ma_p2p_peer(const uint8_t *bin, size_t len, const uint8_t **mh, size_t *mhlen);
/* Sets *outlen to the length of bin without its trailing /p2p/ component (len if there is none;
 * 0 if the address is only /p2p/ID). Returns RDV_OK or a validation error. */
int rdv_ma_strip_p2p(const uint8_t *bin, size_t len, size_t *outlen);
/* Appends a /p2p/ component holding multihash mh (a peer id's bytes) to out, e.g. to turn a listen
 * address into a dialable one. RDV_ERR_INVALID if mh is not an identity or sha2-256 multihash. */
int rdv_ma_append_p2p(struct rdv_buf *out, const uint8_t *mh, size_t mhlen);

#endif
