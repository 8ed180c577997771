/* fuzz_yamux.c: yamux frames from a peer into a server session whose callbacks behave like a
 * busy application: they write back, half-close and reset streams from inside callbacks. */
#include "fuzz.h"
#include "p2p/yamux.h"
#include "util/err.h"

static int on_open(void *user, struct rdv_yamux_stream *st)
{
    (void)user;
    return rdv_yamux_stream_id(st) % 7 == 0; /* refuse some */
}

static void on_data(void *user, struct rdv_yamux_stream *st, const uint8_t *p, size_t n)
{
    (void)user;
    if (n && p[0] == 'R')
        rdv_yamux_stream_reset(st);
    else if (n && p[0] == 'C')
        rdv_yamux_stream_close(st);
    else
        (void)rdv_yamux_stream_write(st, p, n);
}

static void on_fin(void *user, struct rdv_yamux_stream *st)
{
    (void)user;
    rdv_yamux_stream_close(st);
}

static const struct rdv_yamux_callbacks cbs = {.on_stream_open = on_open, .on_stream_data = on_data, .on_stream_fin = on_fin};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdv_yamux_limits lim = {.max_streams = 8, .max_stream_queue = 4096, .max_out = 1 << 20};
    struct rdv_yamux *s = rdv_yamux_new(RDV_YAMUX_SERVER, &lim, &cbs, NULL);
    if (!s)
        return 0;
    /* in two halves, so frames split across calls are exercised too */
    size_t half = size / 2, used = 0;
    if (rdv_yamux_recv(s, data, half, &used) == RDV_OK)
        (void)rdv_yamux_recv(s, data + half, size - half, &used);
    (void)rdv_yamux_flush(s);
    rdv_yamux_free(s);
    return 0;
}
