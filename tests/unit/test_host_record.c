/* test_host_record: the host's own signed peer record (what identify sends). Before the host has
 * sealed one (rdv_host_update_record), rdv_host_signed_record gives no record — NULL and 0, not a
 * pointer computed from an empty buffer (NULL + 0, undefined: found by fuzz/fuzz_conn). After it,
 * the record opens, names the host and carries its listen address. */
#include <ev.h>
#include <sodium.h>

#include "p2p/host.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "util/err.h"
#include "tap.h"

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct rdv_privkey key;
    struct rdv_host *h = NULL;
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    ok(rdv_privkey_generate(RDV_KEY_ED25519, &key) == RDV_OK && rdv_host_new(loop, &key, NULL, NULL, &h) == RDV_OK,
       "host");
    const uint8_t *p = (const uint8_t *)"x";
    size_t len = 7;
    rdv_host_signed_record(h, &p, &len);
    ok(p == NULL && len == 0, "no record before rdv_host_update_record: NULL, 0");
    ok(rdv_ma_from_text("/ip4/127.0.0.1/tcp/0", &ma) == RDV_OK && rdv_host_listen(h, rdv_buf_head(&ma), ma.len) == RDV_OK,
       "listening");
    ok(rdv_host_update_record(h) == RDV_OK, "record sealed");
    rdv_host_signed_record(h, &p, &len);
    struct rdv_peer_record rec;
    ok(p != NULL && len > 0 && rdv_signed_peer_record_open(p, len, &rec) == RDV_OK, "it opens as a signed peer record");
    ok(rdv_peerid_equal(&rec.peer_id, rdv_host_peer_id(h)), "  of the host's peer id");
    ok(rec.naddrs >= 1 && rec.addrs[0].len > 0, "  with its listen address (%zu)", rec.naddrs);
    rdv_peer_record_free(&rec);
    rdv_host_free(h);
    rdv_buf_free(&ma);
    rdv_privkey_clear(&key);
    ev_loop_destroy(loop);
    return tap_done();
}
