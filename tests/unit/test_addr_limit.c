/* test_addr_limit: the per-source policy of src/p2p/addr_limit.c with a given clock: prefixes name
 * sources (IPv4 /32, IPv6 /64, IPv4-mapped as IPv4), the connection cap, the handshake and request
 * buckets (burst, then the rate), and the bounded table: full -> refused, spent entries swept. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "p2p/addr_limit.h"
#include "tap.h"

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, text, &s6->sin6_addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, text, &s4->sin_addr);
    }
    return ss;
}

static struct rdv_addr_entry *admit(struct rdv_addr_table *t, const char *a, double now, enum rdv_addr_verdict *why)
{
    struct sockaddr_storage ss = addr(a);
    return rdv_addr_admit(t, &ss, now, why);
}

static void test_prefixes(void)
{
    struct rdv_addr_limits l;
    rdv_addr_limits_defaults(&l);
    struct rdv_addr_table t;
    rdv_addr_table_init(&t, &l);
    enum rdv_addr_verdict why;
    struct rdv_addr_entry *a = admit(&t, "2001:db8:1:2::1", 0, &why);
    struct rdv_addr_entry *b = admit(&t, "2001:db8:1:2:ffff::9", 0, &why);
    struct rdv_addr_entry *c = admit(&t, "2001:db8:1:3::1", 0, &why);
    ok(a && a == b, "IPv6: one /64 is one source");
    ok(c && c != a, "IPv6: another /64 is another source");
    struct rdv_addr_entry *d = admit(&t, "192.0.2.7", 0, &why);
    struct rdv_addr_entry *e = admit(&t, "::ffff:192.0.2.7", 0, &why);
    struct rdv_addr_entry *f = admit(&t, "192.0.2.8", 0, &why);
    ok(d && d == e, "IPv4-mapped IPv6 counts as its IPv4 address");
    ok(f && f != d, "IPv4: /32 by default");
    ok(a->conns == 2 && d->conns == 2, "connections counted per source");
    rdv_addr_table_free(&t);
    l.prefix4 = 24;
    rdv_addr_table_init(&t, &l);
    d = admit(&t, "192.0.2.7", 0, &why);
    f = admit(&t, "192.0.2.200", 0, &why);
    ok(d && d == f, "prefix4 24: one /24 is one source");
    rdv_addr_table_free(&t);
}

static void test_caps(void)
{
    struct rdv_addr_limits l;
    rdv_addr_limits_defaults(&l);
    l.max_connections = 3;
    l.handshake_rate = 2; /* burst 4 */
    l.request_rate = 1;   /* burst 2 */
    struct rdv_addr_table t;
    rdv_addr_table_init(&t, &l);
    enum rdv_addr_verdict why;
    struct rdv_addr_entry *e[4];
    for (int i = 0; i < 3; i++)
        e[i] = admit(&t, "10.0.0.1", 0, &why);
    e[3] = admit(&t, "10.0.0.1", 0, &why);
    ok(e[0] && e[1] && e[2] && !e[3] && why == RDV_ADDR_CONNECTIONS, "a 4th connection of the source is refused (cap 3)");
    rdv_addr_release(&t, e[0]);
    e[3] = admit(&t, "10.0.0.1", 0, &why);
    ok(e[3] != NULL, "a released slot is taken again (4th handshake of the burst)");
    rdv_addr_release(&t, e[3]);
    ok(!admit(&t, "10.0.0.1", 0, &why) && why == RDV_ADDR_RATE, "the 5th handshake at once is over the rate (burst 4)");
    ok(admit(&t, "10.0.0.1", 0.5, &why) != NULL, "half a second later one more (rate 2/s)");
    ok(admit(&t, "10.0.0.2", 0, &why) != NULL, "another source has its own bucket");
    ok(rdv_addr_take_request(&t, e[1], 0) && rdv_addr_take_request(&t, e[1], 0), "requests: the burst of 2 passes");
    ok(!rdv_addr_take_request(&t, e[1], 0), "requests: the 3rd at once is refused");
    ok(rdv_addr_take_request(&t, e[1], 1.0), "requests: one more a second later");
    ok(rdv_addr_take_request(&t, NULL, 0), "requests: a connection without a source is not limited");
    rdv_addr_table_free(&t);
}

static void test_table_bound(void)
{
    struct rdv_addr_limits l;
    rdv_addr_limits_defaults(&l);
    l.max_entries = 16;
    l.handshake_rate = 1; /* an entry is spent 2 s after its last handshake */
    struct rdv_addr_table t;
    rdv_addr_table_init(&t, &l);
    enum rdv_addr_verdict why;
    char a[32];
    struct rdv_addr_entry *held[16];
    for (int i = 0; i < 16; i++) {
        snprintf(a, sizeof(a), "10.1.0.%d", i);
        held[i] = admit(&t, a, 0, &why);
    }
    ok(rdv_addr_count(&t) == 16 && held[15], "16 sources tracked");
    ok(!admit(&t, "10.2.0.1", 0, &why) && why == RDV_ADDR_TABLE_FULL, "a 17th source is refused: table full");
    for (int i = 0; i < 16; i++)
        rdv_addr_release(&t, held[i]);
    ok(!admit(&t, "10.2.0.1", 0.5, &why), "released but still refilling: not swept yet");
    ok(admit(&t, "10.2.0.1", 3, &why) != NULL, "once spent they are swept and the newcomer gets in");
    ok(rdv_addr_count(&t) <= 16, "the table stays within its bound (%zu entries)", rdv_addr_count(&t));
    rdv_addr_sweep(&t, 10);
    ok(rdv_addr_count(&t) == 1, "a whole sweep keeps only the held entry (%zu)", rdv_addr_count(&t));
    struct sockaddr_storage unix_ss = {.ss_family = AF_UNIX};
    ok(!rdv_addr_admit(&t, &unix_ss, 10, &why), "a non-IP address is refused");
    rdv_addr_table_free(&t);
}

int main(void)
{
    test_prefixes();
    test_caps();
    test_table_bound();
    return tap_done();
}
