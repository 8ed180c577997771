/* host_fixture.c: see host_fixture.h. */
#include "host_fixture.h"

#include "p2p/builtin.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "util/buf.h"
#include "util/err.h"

struct rdv_host *rdv_test_host(struct ev_loop *loop, const struct rdv_host_limits *lim, const struct rdv_log *log,
                               bool listen)
{
    struct rdv_privkey key;
    struct rdv_host *h = NULL;
    if (rdv_privkey_generate(RDV_KEY_ED25519, &key) != RDV_OK || rdv_host_new(loop, &key, lim, log, &h) != RDV_OK)
        return NULL;
    rdv_privkey_clear(&key);
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    int err = rdv_builtin_register(h);
    if (!err && listen && !(err = rdv_ma_from_text("/ip4/127.0.0.1/tcp/0", &ma)))
        err = rdv_host_listen(h, rdv_buf_head(&ma), ma.len);
    rdv_buf_free(&ma);
    if (err) {
        rdv_host_free(h);
        return NULL;
    }
    return h;
}

void rdv_test_turn_while(struct ev_loop *loop, const uint64_t *counter, uint64_t value)
{
    for (int i = 0; i < 5000 && *counter == value; i++)
        ev_run(loop, EVRUN_ONCE);
}
