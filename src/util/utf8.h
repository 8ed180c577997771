/* utf8.h: strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. Namespaces and multiaddr names must pass it. */
#ifndef RDV_UTF8_H
#define RDV_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool rdv_utf8_valid(const uint8_t *p, size_t n);

#endif
