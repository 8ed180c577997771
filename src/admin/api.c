/* api.c: the admin endpoints. Each one validates its input, makes at most two chained store calls
 * and answers with JSON (or Prometheus text), following internal.h's life cycle: every store
 * callback first calls rdv_admin_store_end and returns if the request is gone.
 *
 * Names and peer data come from the network, so they are only ever emitted through jansson
 * (which escapes them) and never into the Prometheus text (no namespace labels: unbounded
 * cardinality). Pages are keyed as the store orders them (namespace bytes, peer id bytes) and
 * the cursor is the last key of the page, so a page starts strictly after it however records
 * come and go in between. A namespace is listed once per record kind it holds (kind and dialect
 * numbers are named here, from the record-kind and dialect tables). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/internal.h"
#include "admin/params.h"
#include "p2p/multiaddr.h"
#include "p2p/record_kind.h"
#include "rendezvous/dialect.h"
#include "util/err.h"

static const char *const no_params[] = {NULL};

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Names are UTF-8 (REGISTER checks that); should a backend hold other bytes, show them with
 * U+FFFD rather than fail the whole page. */
static json_t *json_bytes_text(const char *p, size_t n)
{
    json_t *s = json_stringn(p, n);
    if (s)
        return s;
    char *copy = malloc(n * 3 + 1);
    if (!copy)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) {
            copy[o++] = (char)c;
            continue;
        }
        json_t *one = NULL; /* keep a valid multi-byte sequence whole: try 4, 3, 2 bytes */
        size_t len = 4;
        for (; len >= 2 && !one; len--)
            if (i + len <= n && (one = json_stringn(p + i, len)))
                break;
        if (one) {
            memcpy(copy + o, p + i, len);
            o += len;
            i += len - 1;
            json_decref(one);
        } else {
            memcpy(copy + o, "\xef\xbf\xbd", 3);
            o += 3;
        }
    }
    s = json_stringn(copy, o);
    free(copy);
    return s;
}

/* Each list's cursors start with its own tag byte, so that a cursor of one list handed to another
 * is refused (400) instead of being read as a key it never was. */
enum cursor_tag { CURSOR_NAMESPACES = 'n', CURSOR_REGISTRATIONS = 'r' };

static json_t *json_cursor(enum cursor_tag tag, const void *key, size_t len)
{
    char text[RDV_ADMIN_CURSOR_MAX];
    uint8_t tagged[RDV_ADMIN_CURSOR_MAX];
    if (len + 1 > sizeof(tagged))
        return NULL;
    tagged[0] = (uint8_t)tag;
    memcpy(tagged + 1, key, len);
    if (rdv_admin_cursor_encode(tagged, len + 1, text, sizeof(text)))
        return NULL;
    return json_string(text);
}

static int cursor_param(struct rdv_admin_req *r, enum cursor_tag tag, uint8_t *cursor, size_t cursor_cap,
                        size_t *cursor_len)
{
    char text[RDV_ADMIN_CURSOR_MAX];
    uint8_t tagged[RDV_ADMIN_CURSOR_MAX];
    size_t len, n = 0;
    bool present;
    *cursor_len = 0;
    if (rdv_admin_query(r, "cursor", text, sizeof(text), &len, &present))
        return RDV_ERR_INVALID;
    if (!present)
        return RDV_OK;
    if (rdv_admin_cursor_decode(text, len, tagged, cursor_cap + 1 < sizeof(tagged) ? cursor_cap + 1 : sizeof(tagged), &n) ||
        n < 2 || tagged[0] != (uint8_t)tag) {
        rdv_admin_reply_error(r, 400, "cursor: not a cursor this endpoint returned");
        return RDV_ERR_INVALID;
    }
    memcpy(cursor, tagged + 1, n - 1);
    *cursor_len = n - 1;
    return RDV_OK;
}

/* limit and cursor, shared by the list endpoints. cursor_len 0 = first page. */
static int page_params(struct rdv_admin_req *r, enum cursor_tag tag, uint32_t *limit, uint8_t *cursor,
                       size_t cursor_cap, size_t *cursor_len)
{
    char text[RDV_ADMIN_CURSOR_MAX];
    size_t len;
    bool present;
    *limit = RDV_ADMIN_DEFAULT_LIMIT;
    *cursor_len = 0;
    if (rdv_admin_query(r, "limit", text, sizeof(text), &len, &present))
        return RDV_ERR_INVALID;
    if (present && rdv_admin_parse_limit(text, len, RDV_ADMIN_MAX_LIMIT, limit)) {
        rdv_admin_reply_error(r, 400, "limit: expected a whole number from 1 to %d", RDV_ADMIN_MAX_LIMIT);
        return RDV_ERR_INVALID;
    }
    return cursor_param(r, tag, cursor, cursor_cap, cursor_len);
}

static void reply_store_failure(struct rdv_admin_req *r, enum rdv_store_status st)
{
    rdv_admin_reply_error(r, st == RDV_STORE_UNAVAILABLE ? 503 : 500, "store: %s", rdv_store_status_name(st));
}

static const char *kind_name(unsigned kind)
{
    const struct rdv_record_kind *k = rdv_record_kind_get(kind);
    return k ? k->name : "unknown";
}

/* {"<protocol id>": count, ...} for the dialects with a count. */
static json_t *by_protocol_json(const uint64_t *by_dialect)
{
    json_t *o = json_object();
    for (unsigned d = 0; o && d < RDV_DIALECT_COUNT && d < RDV_STORE_DIALECTS; d++)
        if (by_dialect[d])
            json_object_set_new(o, rdv_dialect_get(d)->protocol, json_integer((json_int_t)by_dialect[d]));
    return o;
}

/* ---- /healthz, /readyz ----------------------------------------------------------------------- */

void rdv_admin_api_healthz(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    (void)rest;
    (void)rest_len;
    rdv_admin_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz_done(void *arg, enum rdv_store_status st)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    bool up = st == RDV_STORE_OK;
    rdv_admin_reply_json(r, up ? 200 : 503, json_pack("{s:s, s:s, s:s}", "status", up ? "ready" : "unavailable", "store",
                                                  r->a->src.store->ops->kind, "store_status",
                                                  rdv_store_status_name(st)));
}

void rdv_admin_api_readyz(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    (void)rest;
    (void)rest_len;
    if (r->a->src.draining && *r->a->src.draining) { /* load balancers should stop sending peers here */
        rdv_admin_reply_json(r, 503, json_pack("{s:s, s:s}", "status", "draining", "store", r->a->src.store->ops->kind));
        return;
    }
    rdv_admin_store_begin(r);
    rdv_store_health(r->a->src.store, readyz_done, r);
}

/* ---- /metrics: health (store_up), stats (gauges), then the pulled counts ------------------- */

static void metrics_stats_done(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    const struct rdv_admin_sources *src = &r->a->src;
    if (st == RDV_STORE_OK) {
        rdv_telemetry_store_stats(src->telemetry, s);
        rdv_telemetry_budget(src->telemetry, src->budget, s);
    }
    rdv_telemetry_pull(src->telemetry, src->host ? rdv_host_stats(src->host) : NULL);
    struct rdv_buf out;
    rdv_buf_init(&out, 0);
    if (rdv_metrics_render(src->telemetry->reg, &out))
        rdv_admin_reply_error(r, 500, "out of memory");
    else
        rdv_admin_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", rdv_buf_head(&out), out.len);
    rdv_buf_free(&out);
}

static void metrics_health_done(void *arg, enum rdv_store_status st)
{
    struct rdv_admin_req *r = arg;
    (void)st; /* the timed store has set store_up from it */
    if (rdv_admin_store_end(r))
        return;
    rdv_admin_store_begin(r);
    rdv_store_stats(r->a->src.store, metrics_stats_done, r);
}

void rdv_admin_api_metrics(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    (void)rest;
    (void)rest_len;
    rdv_admin_store_begin(r);
    rdv_store_health(r->a->src.store, metrics_health_done, r);
}

/* ---- /api/v1/stats --------------------------------------------------------------------------- */

static json_t *listen_addrs(struct rdv_host *h)
{
    json_t *arr = json_array();
    char id[RDV_PEERID_TEXT_MAX];
    struct rdv_buf addrs[16];
    size_t n = rdv_host_listen_addrs(h, addrs, 16);
    rdv_peerid_to_text(rdv_host_peer_id(h), id, sizeof(id));
    for (size_t i = 0; i < n; i++) {
        char text[RDV_MA_MAX_TEXT + RDV_PEERID_TEXT_MAX + 8];
        int len = rdv_ma_to_text(rdv_buf_head(&addrs[i]), addrs[i].len, text, RDV_MA_MAX_TEXT);
        if (len >= 0) {
            snprintf(text + len, sizeof(text) - (size_t)len, "/p2p/%s", id);
            json_array_append_new(arr, json_string(text));
        }
        rdv_buf_free(&addrs[i]);
    }
    return arr;
}

static json_t *host_json(struct rdv_host *h)
{
    if (!h)
        return json_pack("{s:n, s:n, s:[]}", "peer_id", "connections", "listen");
    const struct rdv_host_stats *hs = rdv_host_stats(h);
    char id[RDV_PEERID_TEXT_MAX];
    rdv_peerid_to_text(rdv_host_peer_id(h), id, sizeof(id));
    return json_pack("{s:s, s:I, s:{s:I, s:I}, s:o}", "peer_id", id, "connections", (json_int_t)hs->connections,
                     "handshakes", "ok", (json_int_t)hs->handshakes_ok, "failed", (json_int_t)hs->handshakes_failed,
                     "listen", listen_addrs(h));
}

/* {"registrations": {"used": N, "limit": N}, ...}; limit null where the store keeps no budget. */
static json_t *budget_json(const struct rdv_store_budget *b, const struct rdv_store_stats *s)
{
    const char *const names[3] = {"registrations", "namespaces", "bytes"};
    const uint64_t used[3] = {s->registrations, s->namespaces, s->bytes};
    const uint64_t limit[3] = {b ? b->registrations : 0, b ? b->namespaces : 0, b ? b->bytes : 0};
    json_t *out = json_object();
    for (int i = 0; out && i < 3; i++)
        json_object_set_new(out, names[i],
                            json_pack("{s:I, s:o}", "used", (json_int_t)used[i], "limit",
                                      b && s->budgeted ? json_integer((json_int_t)limit[i]) : json_null()));
    return out;
}

static void stats_stats_done(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    const struct rdv_admin_sources *src = &r->a->src;
    json_t *body = host_json(src->host);
    json_t *extra = json_pack(
        "{s:s, s:f, s:I, s:I, s:{s:s, s:b, s:s}, s:o, s:o}", "version", src->version, "uptime_seconds",
        rdv_telemetry_uptime(src->telemetry), "started_at_ms", (json_int_t)src->telemetry->started_unix_ms, "now_ms",
        (json_int_t)unix_ms(), "store", "kind", src->store->ops->kind, "healthy", r->health == RDV_STORE_OK, "status",
        rdv_store_status_name(r->health), "registrations",
        st == RDV_STORE_OK ? json_integer((json_int_t)s->registrations) : json_null(), "namespaces",
        st == RDV_STORE_OK ? json_integer((json_int_t)s->namespaces) : json_null());
    if (extra)
        json_object_set_new(extra, "budget", st == RDV_STORE_OK ? budget_json(src->budget, s) : json_null());
    if (extra)
        json_object_set_new(extra, "registrations_by_protocol", st == RDV_STORE_OK ? by_protocol_json(s->by_dialect)
                                                                                   : json_null());
    if (!body || !extra || json_object_update(body, extra)) {
        json_decref(body);
        body = NULL;
    }
    json_decref(extra);
    rdv_admin_reply_json(r, 200, body);
}

static void stats_health_done(void *arg, enum rdv_store_status st)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    r->health = st;
    rdv_admin_store_begin(r);
    rdv_store_stats(r->a->src.store, stats_stats_done, r);
}

void rdv_admin_api_stats(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    (void)rest;
    (void)rest_len;
    if (rdv_admin_query_check(r, no_params))
        return;
    rdv_admin_store_begin(r);
    rdv_store_health(r->a->src.store, stats_health_done, r);
}

/* ---- /api/v1/namespaces ---------------------------------------------------------------------- */

static json_t *ns_item(const struct rdv_store_ns_info *ns)
{
    return json_pack("{s:o, s:s, s:I, s:o, s:I, s:I}", "name", json_bytes_text(ns->ns, ns->ns_len), "record_kind",
                     kind_name(ns->kind), "registrations", (json_int_t)ns->count, "by_protocol",
                     by_protocol_json(ns->by_dialect), "soonest_expiry_ms", (json_int_t)ns->soonest_expiry_ms,
                     "latest_expiry_ms", (json_int_t)ns->latest_expiry_ms);
}

/* The store's namespace cursor: the name, 0x00, the kind (store.h). */
static json_t *ns_cursor(const struct rdv_store_ns_info *ns)
{
    uint8_t key[RDV_NS_MAX + 2];
    memcpy(key, ns->ns, ns->ns_len);
    key[ns->ns_len] = 0;
    key[ns->ns_len + 1] = ns->kind;
    return json_cursor(CURSOR_NAMESPACES, key, ns->ns_len + 2);
}

static void namespaces_done(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n,
                            int more)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    if (st != RDV_STORE_OK) {
        reply_store_failure(r, st);
        return;
    }
    json_t *arr = json_array();
    bool failed = !arr;
    for (size_t i = 0; i < n && !failed; i++)
        failed = json_array_append_new(arr, ns_item(&items[i])) != 0;
    json_t *next = more && n ? ns_cursor(&items[n - 1]) : json_null();
    json_t *body = json_pack("{s:o, s:o, s:I}", "namespaces", arr, "next_cursor", next, "now_ms",
                             (json_int_t)unix_ms());
    rdv_admin_reply_json(r, 200, failed ? (json_decref(body), NULL) : body);
}

void rdv_admin_api_namespaces(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    (void)rest;
    (void)rest_len;
    static const char *const allowed[] = {"prefix", "cursor", "limit", NULL};
    char prefix[RDV_NS_MAX];
    uint8_t cursor[RDV_NS_MAX + 2];
    size_t prefix_len, cursor_len;
    uint32_t limit;
    bool present;
    if (rdv_admin_query_check(r, allowed) || rdv_admin_query(r, "prefix", prefix, sizeof(prefix), &prefix_len, &present) ||
        page_params(r, CURSOR_NAMESPACES, &limit, cursor, sizeof(cursor), &cursor_len))
        return;
    rdv_admin_store_begin(r);
    rdv_store_list_namespaces(r->a->src.store, prefix, prefix_len, (const char *)cursor, cursor_len, limit,
                              namespaces_done, r);
}

/* ---- /api/v1/namespaces/{ns}/registrations --------------------------------------------------- */

/* Held records were verified on REGISTER: only parse them for display (no signature check). */
static json_t *addrs_json(const struct rdv_store_record *rec, const struct rdv_record_summary *sum, bool parsed)
{
    (void)rec;
    if (!parsed)
        return json_null(); /* say so rather than guess */
    json_t *arr = json_array();
    char text[RDV_MA_MAX_TEXT];
    for (size_t i = 0; i < sum->naddrs && arr; i++)
        if (rdv_ma_to_text(sum->addrs[i].bytes, sum->addrs[i].len, text, sizeof(text)) >= 0)
            json_array_append_new(arr, json_string(text));
    return arr;
}

static json_t *envelope_json(const struct rdv_store_record *rec)
{
    size_t cap = sodium_base64_ENCODED_LEN(rec->envelope_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64)
        return NULL;
    sodium_bin2base64(b64, cap, rec->envelope, rec->envelope_len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(b64);
    free(b64);
    return s;
}

static json_t *reg_item(const struct rdv_store_record *rec)
{
    char id[RDV_PEERID_TEXT_MAX], seq[24];
    struct rdv_record_summary sum;
    const struct rdv_record_kind *k = rdv_record_kind_get(rec->kind);
    bool parsed = k && rdv_record_inspect(k, rec->envelope, rec->envelope_len, &sum) == RDV_OK;
    const struct rdv_dialect *d = rdv_dialect_get(rec->dialect);
    if (rdv_peerid_to_text(&rec->peer, id, sizeof(id)) < 0)
        snprintf(id, sizeof(id), "?");
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)rec->seq); /* 64-bit: exact only as text in JS */
    json_t *item = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:o}", "peer_id", id, "protocol",
                             d ? d->protocol : "unknown", "record_kind", kind_name(rec->kind), "addrs",
                             addrs_json(rec, &sum, parsed), "seq", seq, "registered_at_ms",
                             (json_int_t)rec->registered_at_ms, "expires_in_ms", (json_int_t)rec->ttl_left_ms,
                             "envelope", envelope_json(rec));
    if (item && parsed && sum.mix_key)
        json_object_set_new(item, "mix_key", json_bytes_text((const char *)sum.mix_key, sum.mix_key_len));
    return item;
}

static void registrations_done(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n,
                               int more)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    if (st != RDV_STORE_OK) {
        reply_store_failure(r, st);
        return;
    }
    json_t *arr = json_array();
    bool failed = !arr;
    for (size_t i = 0; i < n && !failed; i++)
        failed = json_array_append_new(arr, reg_item(&recs[i])) != 0;
    json_t *next = more && n ? json_cursor(CURSOR_REGISTRATIONS, recs[n - 1].peer.bytes, recs[n - 1].peer.len) : json_null();
    json_t *body = json_pack("{s:o, s:s, s:o, s:o, s:I}", "namespace", json_bytes_text(r->ns, r->ns_len),
                             "record_kind", kind_name(r->kind), "registrations", arr, "next_cursor", next, "now_ms",
                             (json_int_t)unix_ms());
    rdv_admin_reply_json(r, 200, failed ? (json_decref(body), NULL) : body);
}

/* rest: "{ns}/registrations", ns percent-encoded (a '/' inside it may be plain or %2F). */
static int parse_ns(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    static const char suffix[] = "/registrations";
    size_t slen = sizeof(suffix) - 1;
    if (rest_len < slen || memcmp(rest + rest_len - slen, suffix, slen) != 0) {
        rdv_admin_reply_error(r, 404, "no such path (see docs/admin-api.md)");
        return RDV_ERR_NOT_FOUND;
    }
    int err = rdv_admin_pct_decode(rest, rest_len - slen, false, r->ns, sizeof(r->ns), &r->ns_len);
    if (err || r->ns_len == 0) {
        rdv_admin_reply_error(r, 400, "namespace: %s", err == RDV_ERR_TOO_LARGE ? "longer than 256 bytes"
                                                   : err ? "malformed percent-encoding" : "empty");
        return RDV_ERR_INVALID;
    }
    return RDV_OK;
}

/* kind=NAME (default: the libp2p peer record). */
static int kind_param(struct rdv_admin_req *r)
{
    char text[64];
    size_t len;
    bool present;
    r->kind = RDV_RECORD_PEER;
    if (rdv_admin_query(r, "kind", text, sizeof(text), &len, &present))
        return RDV_ERR_INVALID;
    if (!present)
        return RDV_OK;
    for (unsigned k = 0; k < RDV_RECORD_KIND_COUNT; k++)
        if (strlen(rdv_record_kind_get(k)->name) == len && memcmp(rdv_record_kind_get(k)->name, text, len) == 0) {
            r->kind = (uint8_t)k;
            return RDV_OK;
        }
    rdv_admin_reply_error(r, 400, "kind: expected libp2p-peer-record or waku-peer-record");
    return RDV_ERR_INVALID;
}

void rdv_admin_api_registrations(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    static const char *const allowed[] = {"cursor", "limit", "kind", NULL};
    uint8_t cursor[RDV_PEERID_MAX];
    size_t cursor_len;
    uint32_t limit;
    struct rdv_peerid after;
    if (parse_ns(r, rest, rest_len) || rdv_admin_query_check(r, allowed) ||
        page_params(r, CURSOR_REGISTRATIONS, &limit, cursor, sizeof(cursor), &cursor_len) || kind_param(r))
        return;
    if (cursor_len && rdv_peerid_from_bytes(cursor, cursor_len, &after)) {
        rdv_admin_reply_error(r, 400, "cursor: not a cursor this endpoint returned");
        return;
    }
    rdv_admin_store_begin(r);
    rdv_store_list_registrations(r->a->src.store, r->kind, r->ns, r->ns_len, cursor_len ? &after : NULL, limit,
                                 registrations_done, r);
}

/* ---- /api/v1/peers/{peer id}/registrations: the search by peer id ------------------------------- */

static void peer_done(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n, int more)
{
    struct rdv_admin_req *r = arg;
    if (rdv_admin_store_end(r))
        return;
    if (st != RDV_STORE_OK) {
        reply_store_failure(r, st);
        return;
    }
    json_t *arr = json_array();
    bool failed = !arr;
    for (size_t i = 0; i < n && !failed; i++) {
        json_t *item = reg_item(&recs[i]);
        failed = !item || json_object_set_new(item, "namespace", json_bytes_text(recs[i].ns, recs[i].ns_len)) ||
                 json_array_append_new(arr, item) != 0;
    }
    json_t *body = json_pack("{s:s#, s:o, s:b, s:I}", "peer_id", r->ns, (int)r->ns_len, "registrations", arr, "more",
                             more, "now_ms", (json_int_t)unix_ms());
    rdv_admin_reply_json(r, 200, failed ? (json_decref(body), NULL) : body);
}

void rdv_admin_api_peer(struct rdv_admin_req *r, const char *rest, size_t rest_len)
{
    static const char *const allowed[] = {"limit", NULL};
    static const char suffix[] = "/registrations";
    size_t idlen = rest_len > sizeof(suffix) - 1 ? rest_len - (sizeof(suffix) - 1) : 0;
    if (!idlen || strcmp(rest + idlen, suffix) != 0) {
        rdv_admin_reply_error(r, 404, "no such path (expected /api/v1/peers/PEER-ID/registrations)");
        return;
    }
    struct rdv_peerid peer;
    char text[RDV_PEERID_TEXT_MAX];
    if (idlen >= sizeof(text) || (memcpy(text, rest, idlen), text[idlen] = '\0', rdv_peerid_parse(text, &peer))) {
        rdv_admin_reply_error(r, 400, "peer id: expected a libp2p peer id such as 12D3KooW...");
        return;
    }
    uint32_t limit = RDV_ADMIN_MAX_LIMIT;
    char lt[16];
    size_t len;
    bool present;
    if (rdv_admin_query_check(r, allowed) || rdv_admin_query(r, "limit", lt, sizeof(lt), &len, &present))
        return;
    if (present && rdv_admin_parse_limit(lt, len, RDV_ADMIN_MAX_LIMIT, &limit)) {
        rdv_admin_reply_error(r, 400, "limit: expected a whole number from 1 to %d", RDV_ADMIN_MAX_LIMIT);
        return;
    }
    memcpy(r->ns, text, idlen); /* the id as asked, for the answer */
    r->ns_len = idlen;
    rdv_admin_store_begin(r);
    rdv_store_list_peer(r->a->src.store, &peer, limit, peer_done, r);
}
