/* params.h: the admin API's input parsing, free of I/O: percent-decoding of paths and query
 * values, opaque page cursors, page limits, the listen address and the Authorization header.
 * Every function bounds its output and rejects rather than truncates. */
#ifndef RDV_ADMIN_PARAMS_H
#define RDV_ADMIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RDV_ADMIN_DEFAULT_PORT 4041
#define RDV_ADMIN_CURSOR_MAX 512 /* cursor text, including the NUL */

/* %HH escapes (hex either case) -> bytes, and '+' -> ' ' when plus_space (query strings).
 * Output may contain NUL bytes. RDV_ERR_INVALID for a malformed escape, RDV_ERR_TOO_LARGE when
 * the result does not fit in cap. */
int rdv_admin_pct_decode(const char *in, size_t len, bool plus_space, char *out, size_t cap, size_t *outlen);

/* A page cursor is the base64url text (no padding) of the last key of the previous page. */
int rdv_admin_cursor_encode(const void *key, size_t len, char *out, size_t cap);
/* RDV_ERR_INVALID for text that is not base64url, RDV_ERR_TOO_LARGE when the key exceeds cap. */
int rdv_admin_cursor_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* A decimal from 1 to max with no sign, spaces or leading zeros. RDV_ERR_INVALID otherwise. */
int rdv_admin_parse_limit(const char *text, size_t len, uint32_t max, uint32_t *out);

/* "IPV4:PORT", "[IPV6]:PORT", or "PORT" alone (meaning 127.0.0.1:PORT). Numeric addresses only,
 * so the bind address is exactly what the operator wrote. RDV_ERR_INVALID otherwise. */
int rdv_admin_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *sslen);

/* Whether an Authorization header value carries token: "Bearer TOKEN", or "Basic base64(USER:TOKEN)"
 * with any user name (so a browser's own login prompt works for the admin page). The comparison
 * takes the same time whatever the header holds. header may be NULL (no header: false). */
bool rdv_admin_auth_ok(const char *header, const char *token);

#endif
