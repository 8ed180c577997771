/* test_client_cache.c: the client library's pure parts: the discovery cache (seq and expiry rules,
 * the per-namespace cap, ordering) and the timing policy (backoff steps and jitter bounds, refresh
 * points). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "client/backoff.h"
#include "client/cache.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "tap.h"
#include "util/err.h"

static struct rdv_peerid new_peer(void)
{
    struct rdv_privkey k;
    struct rdv_peerid id;
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    rdv_peerid_from_pubkey(&k.pub, &id);
    rdv_privkey_clear(&k);
    return id;
}

/* Puts a record of peer `id` with seq and one address /ip4/10.0.0.<n>/tcp/<4000+n>. */
static int put(struct rdv_cache *c, const char *ns, const struct rdv_peerid *id, uint64_t seq, int n, double expires)
{
    struct rdv_record_summary r;
    memset(&r, 0, sizeof(r));
    r.peer = *id;
    r.seq = seq;
    char text[64];
    snprintf(text, sizeof(text), "/ip4/10.0.0.%d/tcp/%d", n, 4000 + n);
    struct rdv_buf ma;
    rdv_buf_init(&ma, 0);
    rdv_ma_from_text(text, &ma);
    r.addrs[0] = (struct rdv_record_addr){rdv_buf_head(&ma), ma.len};
    r.naddrs = 1;
    r.addrs_bytes = ma.len;
    int err = rdv_cache_put(c, ns, &r, expires);
    rdv_buf_free(&ma);
    return err;
}

/* Seconds as whole milliseconds, rounded. */
static int ms(double s) { return (int)(s * 1000 + 0.5); }

static void test_backoff(void)
{
    is_int(ms(rdv_backoff_delay(1, 60, 1, 0)), 500, "first retry, r=0: half the minimum");
    ok(rdv_backoff_delay(1, 60, 1, 0.999) <= 1.0 && rdv_backoff_delay(1, 60, 1, 0.999) > 0.99, "first retry, r~1: the minimum");
    is_int(ms(rdv_backoff_delay(1, 60, 3, 0)), 2000, "third retry: 4 s step, r=0 -> 2 s");
    is_int(ms(rdv_backoff_delay(1, 60, 7, 0)), 30000, "seventh retry: capped at 60 s, r=0 -> 30 s");
    is_int(ms(rdv_backoff_delay(1, 60, 4000000000u, 0.5)), 45000, "a huge attempt count stays capped (no overflow)");
    bool within = true, grows = true;
    double last = 0;
    for (unsigned a = 1; a < 20; a++) {
        double lo = rdv_backoff_delay(0.5, 30, a, 0), hi = rdv_backoff_delay(0.5, 30, a, 0.9999);
        within = within && lo >= 0.25 && hi <= 30 && hi >= lo && lo * 2 >= hi * 0.9999;
        grows = grows && lo >= last;
        last = lo;
    }
    ok(within, "every delay lies in [step/2, step], step <= max");
    ok(grows, "steps never shrink");
    double r = rdv_backoff_random();
    ok(r >= 0 && r < 1, "random in [0, 1)");
}

static void test_refresh(void)
{
    is_int(ms(rdv_backoff_refresh(20, 0)), 15000, "ttl 20, r=0: refresh at 15 s (3/4)");
    is_int(ms(rdv_backoff_refresh(20, 0.5)), 14000, "ttl 20, r=.5: 14 s");
    ok(rdv_backoff_refresh(2, 0.9999) > 1.3 && rdv_backoff_refresh(2, 0.9999) <= 1.5, "ttl 2: between 1.3 and 1.5 s");
    ok(rdv_backoff_refresh(7200, 0.3) < 7200 * 0.75 && rdv_backoff_refresh(7200, 0.3) > 7200 * 0.6, "ttl 2 h: before 3/4");
    is_int(ms(rdv_backoff_refresh(0.1, 0)), ms(RDV_BACKOFF_REFRESH_MIN), "tiny ttl: the floor");
}

static void test_seq_rules(void)
{
    struct rdv_cache c;
    rdv_cache_init(&c, 0);
    struct rdv_peerid a = new_peer();
    const struct rdv_cache_entry *out[8];
    is_int(put(&c, "ns", &a, 10, 1, 100), RDV_OK, "put a new peer");
    is_int(rdv_cache_live(&c, "ns", 0), 1, "one live");
    is_int(put(&c, "ns", &a, 9, 2, 200), RDV_ERR_STALE, "a lower seq is stale");
    size_t n = rdv_cache_list(&c, "ns", 0, out, 8);
    is_int(n, 1, "still one");
    is_str(out[0]->addrs[0], "/ip4/10.0.0.1/tcp/4001", "the stale record did not replace the address");
    ok(out[0]->expires == 100, "nor its expiry");
    is_int(put(&c, "ns", &a, 10, 3, 150), RDV_OK, "the same seq again");
    n = rdv_cache_list(&c, "ns", 0, out, 8);
    ok(n == 1 && out[0]->expires == 150 && strcmp(out[0]->addrs[0], "/ip4/10.0.0.1/tcp/4001") == 0,
       "the same seq extends the life, keeps the record");
    is_int(put(&c, "ns", &a, 10, 3, 120), RDV_OK, "the same seq with less life");
    n = rdv_cache_list(&c, "ns", 0, out, 8);
    ok(n == 1 && out[0]->expires == 150, "does not shorten it");
    is_int(put(&c, "ns", &a, 11, 4, 50), RDV_OK, "a higher seq");
    n = rdv_cache_list(&c, "ns", 0, out, 8);
    ok(n == 1 && out[0]->seq == 11 && out[0]->expires == 50 && strcmp(out[0]->addrs[0], "/ip4/10.0.0.4/tcp/4004") == 0,
       "replaces address, seq and expiry");
    char id[RDV_PEERID_TEXT_MAX];
    rdv_peerid_to_text(&a, id, sizeof(id));
    is_str(out[0]->id_text, id, "peer id text");
    rdv_cache_free(&c);
}

static void test_expiry_and_order(void)
{
    struct rdv_cache c;
    rdv_cache_init(&c, 0);
    struct rdv_peerid p[4];
    for (int i = 0; i < 4; i++)
        p[i] = new_peer();
    put(&c, "t", &p[0], 1, 1, 10);
    put(&c, "t", &p[1], 1, 2, 30);
    put(&c, "t", &p[2], 1, 3, 20);
    put(&c, "other", &p[3], 1, 4, 40);
    const struct rdv_cache_entry *out[8];
    size_t n = rdv_cache_list(&c, "t", 5, out, 8);
    ok(n == 3 && out[0]->expires == 30 && out[1]->expires == 20 && out[2]->expires == 10, "most time left first");
    is_int(rdv_cache_list(&c, "t", 5, out, 2), 2, "list honours max");
    is_int(rdv_cache_live(&c, "t", 10), 2, "an entry expiring at `now` is gone");
    is_int(rdv_cache_live(&c, "t", 25), 1, "later, one left");
    is_int(rdv_cache_live(&c, "other", 25), 1, "namespaces are apart");
    is_int(rdv_cache_live(&c, "t", 30), 0, "all expired");
    is_int(rdv_cache_list(&c, "t", 30, out, 8), 0, "nothing listed");
    is_int(rdv_cache_live(&c, "never", 0), 0, "an unknown namespace is empty");
    is_int(put(&c, "t", &p[0], 1, 1, 100), RDV_OK, "a namespace comes back after emptying");
    is_int(rdv_cache_live(&c, "t", 31), 1, "with its new entry");
    rdv_cache_free(&c);
}

static void test_cap(void)
{
    struct rdv_cache c;
    rdv_cache_init(&c, 3);
    struct rdv_peerid p[5];
    for (int i = 0; i < 5; i++)
        p[i] = new_peer();
    put(&c, "t", &p[0], 1, 1, 10);
    put(&c, "t", &p[1], 1, 2, 20);
    put(&c, "t", &p[2], 1, 3, 30);
    is_int(put(&c, "t", &p[3], 1, 4, 5), RDV_ERR_LIMIT, "full: a newcomer expiring soonest is refused");
    is_int(put(&c, "t", &p[3], 1, 4, 25), RDV_OK, "a longer-lived newcomer evicts the soonest-expiring");
    const struct rdv_cache_entry *out[8];
    size_t n = rdv_cache_list(&c, "t", 0, out, 8);
    bool has0 = false, has3 = false;
    for (size_t i = 0; i < n; i++) {
        has0 = has0 || rdv_peerid_equal(&out[i]->id, &p[0]);
        has3 = has3 || rdv_peerid_equal(&out[i]->id, &p[3]);
    }
    ok(n == 3 && !has0 && has3, "still 3 entries: p0 out, p3 in");
    is_int(put(&c, "t", &p[1], 2, 9, 26), RDV_OK, "an update of a held peer is no newcomer");
    is_int(rdv_cache_live(&c, "t", 0), 3, "count unchanged");
    rdv_cache_free(&c);
}

static void test_many(void)
{
    struct rdv_cache c;
    rdv_cache_init(&c, 1000);
    int errs = 0;
    struct rdv_peerid ids[300];
    for (int i = 0; i < 300; i++) {
        ids[i] = new_peer();
        errs += put(&c, "big", &ids[i], (uint64_t)i, i % 250 + 1, 100 + i) != RDV_OK;
    }
    is_int(errs, 0, "300 peers merged");
    for (int i = 0; i < 300; i++) /* the same answer again, from a second point */
        errs += put(&c, "big", &ids[i], (uint64_t)i, i % 250 + 1, 100 + i) != RDV_OK;
    is_int(errs, 0, "merged again");
    is_int(rdv_cache_live(&c, "big", 0), 300, "no duplicates");
    is_int(rdv_cache_live(&c, "big", 250), 149, "expiry drops those before 250");
    rdv_cache_free(&c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_backoff();
    test_refresh();
    test_seq_rules();
    test_expiry_and_order();
    test_cap();
    test_many();
    return tap_done();
}
