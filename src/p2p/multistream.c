/* multistream.c: multistream-select 1.0 (libp2p specs, connections/README.md), see multistream.h.
 *
 * Input is copied into a fixed 1 KiB message buffer one message at a time, and never further than
 * the end of the current message: that is what lets a caller hand us a chunk holding the
 * negotiation plus application bytes and get the latter back untouched. */
#include "p2p/multistream.h"

#include <stdbool.h>
#include <string.h>

#include "p2p/varint.h"
#include "util/err.h"

static const char NA[] = "na";
static const char LS[] = "ls";

void rdv_mss_listener_init(struct rdv_mss *m, const char *const *protocols, size_t n)
{
    memset(m, 0, sizeof(*m));
    m->role = RDV_MSS_LISTENER;
    m->state = RDV_MSS_WAIT_HEADER;
    m->protocols = protocols;
    m->nprotocols = n;
}

int rdv_mss_write_msg(struct rdv_buf *out, const char *text)
{
    size_t n = strlen(text);
    if (n + 1 > RDV_MSS_MAX_MSG)
        return RDV_ERR_TOO_LARGE;
    /* Reserve the whole message first so a failure never leaves half a message in out. */
    int rc = rdv_buf_reserve(out, rdv_uvarint_size(n + 1) + n + 1);
    if (rc)
        return rc;
    rdv_buf_append_uvarint(out, n + 1);
    rdv_buf_append(out, text, n);
    return rdv_buf_append_byte(out, '\n');
}

int rdv_mss_dialer_init(struct rdv_mss *m, const char *proto, struct rdv_buf *out)
{
    memset(m, 0, sizeof(*m));
    m->role = RDV_MSS_DIALER;
    m->state = RDV_MSS_WAIT_HEADER;
    m->proposal = proto;
    size_t n = strlen(proto);
    if (n == 0 || memchr(proto, '\n', n))
        return RDV_ERR_INVALID;
    if (n + 1 > RDV_MSS_MAX_MSG)
        return RDV_ERR_TOO_LARGE;
    int rc = rdv_mss_write_msg(out, RDV_MSS_PROTOCOL_ID);
    return rc ? rc : rdv_mss_write_msg(out, proto);
}

const char *rdv_mss_protocol(const struct rdv_mss *m)
{
    return m->state == RDV_MSS_DONE ? m->selected : NULL;
}

static int fail(struct rdv_mss *m, int err)
{
    m->state = RDV_MSS_FAILED;
    m->err = err;
    return err;
}

/* Does the message body (text + '\n') equal `s`? */
static int msg_is(const uint8_t *body, size_t n, const char *s)
{
    size_t sl = strlen(s);
    return n == sl + 1 && memcmp(body, s, sl) == 0;
}

static int on_header(struct rdv_mss *m, const uint8_t *body, size_t n, struct rdv_buf *out)
{
    if (!msg_is(body, n, RDV_MSS_PROTOCOL_ID))
        return fail(m, RDV_ERR_PROTOCOL);
    if (m->role == RDV_MSS_LISTENER) {
        int rc = rdv_mss_write_msg(out, RDV_MSS_PROTOCOL_ID);
        if (rc)
            return fail(m, rc);
        m->state = RDV_MSS_WAIT_PROPOSAL;
    } else {
        m->state = RDV_MSS_WAIT_ECHO;
    }
    return RDV_OK;
}

/* Listener: a proposal. "ls" gets "na" like any unknown id: we do not advertise our list. */
static int on_proposal(struct rdv_mss *m, const uint8_t *body, size_t n, struct rdv_buf *out)
{
    int rc;
    if (!msg_is(body, n, LS)) {
        for (size_t i = 0; i < m->nprotocols; i++) {
            if (!msg_is(body, n, m->protocols[i]))
                continue;
            if ((rc = rdv_mss_write_msg(out, m->protocols[i])) != 0)
                return fail(m, rc);
            m->selected = m->protocols[i];
            m->state = RDV_MSS_DONE;
            return RDV_OK;
        }
    }
    if ((rc = rdv_mss_write_msg(out, NA)) != 0)
        return fail(m, rc);
    if (++m->attempts >= RDV_MSS_MAX_ATTEMPTS)
        return fail(m, RDV_ERR_LIMIT);
    return RDV_OK;
}

static int on_echo(struct rdv_mss *m, const uint8_t *body, size_t n)
{
    if (msg_is(body, n, m->proposal)) {
        m->selected = m->proposal;
        m->state = RDV_MSS_DONE;
        return RDV_OK;
    }
    return fail(m, msg_is(body, n, NA) ? RDV_ERR_NOT_FOUND : RDV_ERR_PROTOCOL);
}

static int on_message(struct rdv_mss *m, const uint8_t *body, size_t n, struct rdv_buf *out)
{
    if (body[n - 1] != '\n')
        return fail(m, RDV_ERR_PROTOCOL);
    switch (m->state) {
    case RDV_MSS_WAIT_HEADER: return on_header(m, body, n, out);
    case RDV_MSS_WAIT_PROPOSAL: return on_proposal(m, body, n, out);
    case RDV_MSS_WAIT_ECHO: return on_echo(m, body, n);
    default: return fail(m, RDV_ERR_INTERNAL);
    }
}

/* The first message is always the header: its 20 bytes are known in advance. Checking each byte as
 * it comes ends a connection that is not multistream-select at all (an HTTP request, a TLS hello)
 * at its first byte, instead of waiting for the rest of a "message" whose length prefix is 'G'
 * (71 bytes) until the handshake timeout. */
static const uint8_t HEADER_WIRE[] = "\x13" RDV_MSS_PROTOCOL_ID "\n";
#define HEADER_WIRE_LEN (sizeof(HEADER_WIRE) - 1)

static bool header_bytes_ok(const struct rdv_mss *m, const uint8_t *p, size_t n)
{
    return m->state != RDV_MSS_WAIT_HEADER ||
           (m->msg_len + n <= HEADER_WIRE_LEN && memcmp(HEADER_WIRE + m->msg_len, p, n) == 0);
}

/* Takes one prefix byte. The limit (1024) fits in two varint bytes, so a third is too large. */
static int take_prefix_byte(struct rdv_mss *m, uint8_t c)
{
    m->msg[m->msg_len++] = c;
    if (c & 0x80)
        return m->msg_len >= 2 ? fail(m, RDV_ERR_TOO_LARGE) : RDV_OK;
    uint64_t v;
    int n = rdv_uvarint_decode(m->msg, m->msg_len, &v);
    if (n < 0 || v == 0)
        return fail(m, RDV_ERR_PROTOCOL);
    if (v > RDV_MSS_MAX_MSG)
        return fail(m, RDV_ERR_TOO_LARGE);
    m->msg_need = (size_t)n + (size_t)v;
    return RDV_OK;
}

int rdv_mss_recv(struct rdv_mss *m, const uint8_t *in, size_t len, size_t *consumed, struct rdv_buf *out)
{
    size_t i = 0;
    int rc = RDV_OK;
    if (m->state == RDV_MSS_FAILED)
        rc = m->err;
    while (rc == RDV_OK && m->state != RDV_MSS_DONE && i < len) {
        if (m->msg_need == 0) {
            rc = header_bytes_ok(m, in + i, 1) ? take_prefix_byte(m, in[i]) : fail(m, RDV_ERR_PROTOCOL);
            i++;
            continue;
        }
        size_t take = m->msg_need - m->msg_len;
        if (take > len - i)
            take = len - i;
        if (!header_bytes_ok(m, in + i, take)) {
            rc = fail(m, RDV_ERR_PROTOCOL);
            break;
        }
        memcpy(m->msg + m->msg_len, in + i, take);
        m->msg_len += take;
        i += take;
        if (m->msg_len < m->msg_need)
            break;
        size_t pfx = (m->msg[0] & 0x80) ? 2 : 1;
        size_t need = m->msg_need;
        m->msg_len = m->msg_need = 0;
        rc = on_message(m, m->msg + pfx, need - pfx, out);
    }
    *consumed = i;
    return rc;
}
