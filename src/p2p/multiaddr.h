/* multiaddr.h: binary <-> text multiaddrs (multiformats/multiaddr), validation, and the pieces the
 * dialer needs. Binary form: repeated (uvarint protocol code, value), values fixed-size or
 * uvarint-length-prefixed. Known protocols at least: ip4 ip6 tcp udp dns dns4 dns6 dnsaddr p2p
 * ws wss tls quic quic-v1 p2p-circuit (plus sni, webtransport, noise, ip6zone where cheap).
 * An unknown protocol code makes a binary multiaddr RDV_ERR_UNSUPPORTED (we cannot know its size). */
#ifndef RDV_MULTIADDR_H
#define RDV_MULTIADDR_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define RDV_MA_MAX_BINARY 1024 /* longest multiaddr we accept, in bytes */
#define RDV_MA_MAX_TEXT 2048   /* longest text form we produce/accept, including NUL */

enum rdv_ma_proto {
    RDV_MA_IP4 = 0x04, RDV_MA_TCP = 0x06, RDV_MA_DNS = 0x35, RDV_MA_DNS4 = 0x36, RDV_MA_DNS6 = 0x37,
    RDV_MA_DNSADDR = 0x38, RDV_MA_UDP = 0x0111, RDV_MA_IP6 = 0x29, RDV_MA_P2P = 0x01a5,
    RDV_MA_P2P_CIRCUIT = 0x0122, RDV_MA_WS = 0x01dd, RDV_MA_WSS = 0x01de, RDV_MA_TLS = 0x01c0,
    RDV_MA_QUIC = 0x01cc, RDV_MA_QUIC_V1 = 0x01cd,
};

/* One component of a binary multiaddr; value points into the input. */
struct rdv_ma_component {
    uint32_t code;
    const char *name;      /* "ip4", "tcp", ... */
    const uint8_t *value;  /* raw value bytes (without the length prefix) */
    size_t value_len;
};

/* Iterates components: *pos starts at 0. Returns 1 and fills c while there is one, 0 at the end,
 * or a negative rdv_err for malformed/unsupported input. */
int rdv_ma_next(const uint8_t *bin, size_t len, size_t *pos, struct rdv_ma_component *c);
/* RDV_OK if bin is a complete, well-formed multiaddr of known protocols (non-empty, <= RDV_MA_MAX_BINARY). */
int rdv_ma_validate(const uint8_t *bin, size_t len);
/* Binary -> NUL-terminated text. Returns the text length or a negative rdv_err. */
int rdv_ma_to_text(const uint8_t *bin, size_t len, char *out, size_t outcap);
/* Text -> binary appended to out. Returns RDV_OK or a negative rdv_err. */
int rdv_ma_from_text(const char *text, struct rdv_buf *out);

#endif
