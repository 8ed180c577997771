/* test_point_options: the embedding library's limits (rendezvous_server_set_option): every
 * lifetime, per-source and output-budget option reaches the host limits, out-of-range values are
 * refused and leave the limit as it was, and options are refused once the point has started. */
#include <ev.h>

#include "rendezvous/point.h"
#include "server/embed.h"
#include "tap.h"
#include "util/err.h"

struct want {
    enum rendezvous_server_option opt;
    double value, bad;
    const char *name;
};

static double limit_of(const struct rdv_host_limits *l, enum rendezvous_server_option o)
{
    switch (o) {
    case RENDEZVOUS_OPT_MAX_HANDSHAKES: return l->max_handshakes;
    case RENDEZVOUS_OPT_STREAM_NEGOTIATE_TIMEOUT: return l->stream_negotiate_timeout;
    case RENDEZVOUS_OPT_STREAM_IDLE_TIMEOUT: return l->stream_idle_timeout;
    case RENDEZVOUS_OPT_PER_ADDRESS_CONNECTIONS: return l->per_address.max_connections;
    case RENDEZVOUS_OPT_PER_ADDRESS_HANDSHAKE_RATE: return l->per_address.handshake_rate;
    case RENDEZVOUS_OPT_PER_ADDRESS_REQUEST_RATE: return l->per_address.request_rate;
    case RENDEZVOUS_OPT_PER_ADDRESS_PREFIX4: return l->per_address.prefix4;
    case RENDEZVOUS_OPT_PER_ADDRESS_PREFIX6: return l->per_address.prefix6;
    case RENDEZVOUS_OPT_PER_ADDRESS_TABLE: return (double)l->per_address.max_entries;
    case RENDEZVOUS_OPT_MAX_CONN_OUTPUT: return (double)l->max_conn_output;
    case RENDEZVOUS_OPT_MAX_OUTPUT: return (double)l->max_output;
    case RENDEZVOUS_OPT_OUTPUT_STALL_TIMEOUT: return l->output_stall_timeout;
    default: return -1;
    }
}

int main(void)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct rendezvous_store *st;
    struct rendezvous_server *s;
    if (rendezvous_store_memory_new(&st) || rendezvous_server_new(loop, st, &s))
        return ok(false, "cannot make a point"), tap_done();
    const struct rdv_host_limits *l = rdv_server_host_limits(s);
    is_int(l->max_conn_output, 8u << 20, "default max-conn-output: 8 MiB");
    is_int(l->max_output, 512u << 20, "default max-output: 512 MiB");
    const struct want w[] = {
        {RENDEZVOUS_OPT_MAX_HANDSHAKES, 64, 0.5, "max handshakes"},
        {RENDEZVOUS_OPT_STREAM_NEGOTIATE_TIMEOUT, 3, 0, "stream negotiate timeout"},
        {RENDEZVOUS_OPT_STREAM_IDLE_TIMEOUT, 7, 0, "stream idle timeout"},
        {RENDEZVOUS_OPT_PER_ADDRESS_CONNECTIONS, 9, 0, "per-address connections"},
        {RENDEZVOUS_OPT_PER_ADDRESS_HANDSHAKE_RATE, 11, 0, "per-address handshake rate"},
        {RENDEZVOUS_OPT_PER_ADDRESS_REQUEST_RATE, 13, 0, "per-address request rate"},
        {RENDEZVOUS_OPT_PER_ADDRESS_PREFIX4, 24, 33, "IPv4 prefix"},
        {RENDEZVOUS_OPT_PER_ADDRESS_PREFIX6, 48, 129, "IPv6 prefix"},
        {RENDEZVOUS_OPT_PER_ADDRESS_TABLE, 1024, 15, "per-address table"},
        {RENDEZVOUS_OPT_MAX_CONN_OUTPUT, 6 << 20, 4 << 20, "max conn output (4 MiB: one answer and framing do not fit)"},
        {RENDEZVOUS_OPT_MAX_OUTPUT, 64 << 20, 1 << 20, "max output"},
        {RENDEZVOUS_OPT_OUTPUT_STALL_TIMEOUT, 5, 0, "output stall timeout"},
    };
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        double before = limit_of(l, w[i].opt);
        is_int(rendezvous_server_set_option(s, w[i].opt, w[i].bad), RDV_ERR_INVALID, "%s: %g refused", w[i].name, w[i].bad);
        ok(limit_of(l, w[i].opt) == before, "%s: unchanged after the refusal", w[i].name);
        is_int(rendezvous_server_set_option(s, w[i].opt, w[i].value), RDV_OK, "%s: %g accepted", w[i].name, w[i].value);
        ok(limit_of(l, w[i].opt) == w[i].value, "%s: the host limit is %g", w[i].name, limit_of(l, w[i].opt));
    }
    is_int(rendezvous_server_set_option(s, (enum rendezvous_server_option)999, 1), RDV_ERR_INVALID, "an unknown option: refused");
    rendezvous_server_free(s);
    ev_loop_destroy(loop);
    return tap_done();
}
