/* http.c: libmicrohttpd on the libev loop, the request life cycle, authentication, routing and
 * the embedded static page. See admin.h for the contract and internal.h for the life cycle.
 *
 * libmicrohttpd is started with MHD_USE_EPOLL and no threading flag: we watch its epoll fd with
 * an ev_io, call MHD_run when it is readable or when MHD_get_timeout's deadline passes, and
 * re-arm the timer after every run. We bind the listening socket ourselves so that a bind
 * failure is reported with its errno. MHD's own unescaping is replaced by the identity: paths
 * and query values reach the handlers percent-encoded, and params.c decodes them with their
 * length, so a %00 or a %2F inside a namespace is data, not a terminator or a separator. */
#include "admin/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/assets.h"
#include "admin/params.h"
#include "util/err.h"

struct route {
    const char *path;
    bool prefix;         /* path is a prefix; the handler gets the rest */
    bool open;           /* served without the token */
    rdv_admin_handler handler;
};

static const struct route routes[] = {
    {"/healthz", false, true, rdv_admin_api_healthz},
    {"/readyz", false, false, rdv_admin_api_readyz},
    {"/metrics", false, false, rdv_admin_api_metrics},
    {"/api/v1/stats", false, false, rdv_admin_api_stats},
    {"/api/v1/namespaces", false, false, rdv_admin_api_namespaces},
    {"/api/v1/namespaces/", true, false, rdv_admin_api_registrations},
    {"/api/v1/peers/", true, false, rdv_admin_api_peer},
};

void rdv_admin_config_defaults(struct rdv_admin_config *c)
{
    *c = (struct rdv_admin_config){.listen = "127.0.0.1:4041", .token = NULL,
                                   .max_connections = RDV_ADMIN_MAX_CONNECTIONS,
                                   .connection_memory = RDV_ADMIN_CONNECTION_MEMORY,
                                   .timeout_s = RDV_ADMIN_TIMEOUT_S,
                                   .request_timeout_s = RDV_ADMIN_REQUEST_TIMEOUT_S,
                                   .max_per_ip = RDV_ADMIN_MAX_PER_IP};
}

/* ---- libev glue ------------------------------------------------------------------------------ */

/* After every MHD call: when MHD next wants to run. 0 means at once (it has buffered work). */
static void mhd_rearm(struct rdv_admin *a)
{
    MHD_UNSIGNED_LONG_LONG ms;
    ev_timer_stop(a->loop, &a->timer);
    if (MHD_get_timeout(a->mhd, &ms) == MHD_YES) {
        ev_timer_set(&a->timer, (double)ms / 1000.0, 0.);
        ev_timer_start(a->loop, &a->timer);
    }
}

static unsigned mhd_connections(const struct rdv_admin *a)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* At the connection limit MHD takes its listening socket out of its epoll set and puts it back
 * only at the start of a later run, and a freed slot does not shorten MHD_get_timeout: so when a
 * run closed connections, run once more at once, or clients in the backlog would wait for some
 * unrelated event. */
static void mhd_drive(struct rdv_admin *a)
{
    unsigned before = mhd_connections(a);
    if (MHD_run(a->mhd) != MHD_YES)
        rdv_warn(a->log, "admin http: MHD_run failed");
    if (mhd_connections(a) < before)
        MHD_run(a->mhd);
    mhd_rearm(a);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    mhd_drive(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    mhd_drive(w->data);
}

/* ---- requests -------------------------------------------------------------------------------- */

static void req_unlink(struct rdv_admin_req *r)
{
    rdv_list_remove(&r->link);
}

static void req_suspend(struct rdv_admin_req *r)
{
    MHD_suspend_connection(r->conn);
    r->suspended = true;
    rdv_list_push_back(&r->a->suspended, &r->link);
}

static void req_resume(struct rdv_admin_req *r)
{
    req_unlink(r);
    r->suspended = false;
    MHD_resume_connection(r->conn);
    rdv_admin_kick(r->a);
}

static void req_free(struct rdv_admin_req *r)
{
    if (r->resp)
        MHD_destroy_response(r->resp);
    free(r);
}

void rdv_admin_store_begin(struct rdv_admin_req *r)
{
    r->in_store = true;
}

bool rdv_admin_store_end(struct rdv_admin_req *r)
{
    r->in_store = false;
    if (!r->orphaned)
        return false;
    req_free(r);
    return true;
}

static void add_common_headers(struct MHD_Response *resp, const char *content_type)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'");
}

/* Sets the answer; if the request waits suspended, wakes it so http.c queues it. */
void rdv_admin_reply_bytes(struct rdv_admin_req *r, unsigned status, const char *content_type, const void *data, size_t len)
{
    if (r->resp) /* a handler bug: keep the first answer */
        return;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return; /* the next call for this request finds no answer and drops the connection */
    add_common_headers(resp, content_type);
    r->status = status;
    r->resp = resp;
    if (r->suspended)
        req_resume(r);
}

void rdv_admin_reply_json(struct rdv_admin_req *r, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}\n";
        rdv_admin_reply_bytes(r, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps left room for the NUL: print a final newline for curl users */
    rdv_admin_reply_bytes(r, status, "application/json", text, n + 1);
    free(text);
}

void rdv_admin_reply_error(struct rdv_admin_req *r, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rdv_admin_reply_json(r, status, json_pack("{s:s, s:I}", "error", msg, "status", (json_int_t)status));
}

/* ---- query strings --------------------------------------------------------------------------- */

struct query_scan {
    const char *const *allowed;
    const char *bad;      /* first offending key */
    size_t bad_len;
    bool dup;
    unsigned seen;        /* bit i: allowed[i] was given */
};

static enum MHD_Result scan_key(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_len,
                                const char *value, size_t value_len)
{
    (void)kind;
    (void)value;
    (void)value_len;
    struct query_scan *q = cls;
    for (unsigned i = 0; q->allowed[i]; i++) {
        if (strlen(q->allowed[i]) == key_len && memcmp(q->allowed[i], key, key_len) == 0) {
            if (q->seen & (1u << i)) {
                q->dup = true;
                break;
            }
            q->seen |= 1u << i;
            return MHD_YES;
        }
    }
    q->bad = key;
    q->bad_len = key_len > 64 ? 64 : key_len;
    return MHD_NO;
}

int rdv_admin_query_check(struct rdv_admin_req *r, const char *const *allowed)
{
    struct query_scan q = {.allowed = allowed};
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, scan_key, &q);
    if (!q.bad)
        return RDV_OK;
    char key[65 * 3];
    size_t n = 0;
    for (size_t i = 0; i < q.bad_len; i++) /* show the key as printable ASCII only */
        n += (size_t)snprintf(key + n, sizeof(key) - n, (q.bad[i] > 0x20 && q.bad[i] < 0x7f && q.bad[i] != '%')
                                                            ? "%c" : "%%%02X", (unsigned char)q.bad[i]);
    rdv_admin_reply_error(r, 400, q.dup ? "query parameter '%s' given twice" : "unknown query parameter '%s'", key);
    return RDV_ERR_INVALID;
}

int rdv_admin_query(struct rdv_admin_req *r, const char *key, char *out, size_t cap, size_t *len, bool *present)
{
    const char *v = NULL;
    size_t vlen = 0;
    *present = MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v, &vlen) == MHD_YES;
    *len = 0;
    if (!*present)
        return RDV_OK;
    if (!v) /* "?key" without '=': MHD reports no value */
        vlen = 0;
    int err = rdv_admin_pct_decode(v ? v : "", vlen, true, out, cap, len);
    if (err == RDV_ERR_TOO_LARGE)
        rdv_admin_reply_error(r, 400, "%s: longer than %zu bytes", key, cap);
    else if (err)
        rdv_admin_reply_error(r, 400, "%s: malformed percent-encoding", key);
    return err;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static bool authorized(struct rdv_admin_req *r)
{
    if (!r->a->token)
        return true;
    return rdv_admin_auth_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                             r->a->token);
}

static void reply_unauthorized(struct rdv_admin_req *r)
{
    rdv_admin_reply_error(r, 401, "a token is required: Authorization: Bearer TOKEN");
    if (!r->resp)
        return;
    /* Basic lets a browser ask its user for the token (as the password) on the admin page. */
    MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"rendezvousd\"");
    MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"rendezvousd\", charset=\"UTF-8\"");
}

static bool has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return te || (cl && strcmp(cl, "0") != 0);
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* The request line and headers, as sent (near enough: MHD has already split them). */
static size_t header_size(struct MHD_Connection *conn, const char *url)
{
    size_t n = strlen(url) + 16;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_size, &n);
    return n;
}

static const struct rdv_admin_asset *find_asset(const char *url)
{
    for (size_t i = 0; i < rdv_admin_nassets; i++)
        if (strcmp(rdv_admin_assets[i].path, url) == 0)
            return &rdv_admin_assets[i];
    return NULL;
}

static const struct route *find_route(const char *url, const char **rest)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t n = strlen(routes[i].path);
        if (routes[i].prefix ? strncmp(url, routes[i].path, n) == 0 : strcmp(url, routes[i].path) == 0) {
            *rest = url + n;
            return &routes[i];
        }
    }
    return NULL;
}

static void dispatch(struct rdv_admin_req *r, const char *url, const char *method)
{
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    const char *rest = "";
    const struct route *route = find_route(url, &rest);
    const struct rdv_admin_asset *asset = route ? NULL : find_asset(url);
    if (!(route && route->open) && !authorized(r)) {
        reply_unauthorized(r);
    } else if (!route && !asset) {
        rdv_admin_reply_error(r, 404, "no such path (see docs/admin-api.md)");
    } else if (!get) {
        rdv_admin_reply_error(r, 405, "only GET and HEAD are served here");
        if (r->resp)
            MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    } else if (asset) {
        rdv_admin_reply_bytes(r, 200, asset->content_type, asset->data, asset->len);
    } else {
        route->handler(r, rest, strlen(rest));
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    struct rdv_admin *a = cls;
    struct rdv_admin_req *r = *req_cls;
    if (!r) {
        if ((r = calloc(1, sizeof(*r))))
            rdv_list_init(&r->link);
        if (!r)
            return MHD_NO;
        r->a = a;
        r->conn = conn;
        *req_cls = r;
        rdv_admin_guard_busy(a, conn, true);
        /* Answering on this first call (headers only) would make MHD close the connection after
         * the response; wait for the next call, when the request is complete, unless we refuse a
         * body, which must not be read anyway. */
        if (header_size(conn, url) > RDV_ADMIN_HEADERS_MAX)
            rdv_admin_reply_error(r, 431, "request line and headers exceed %d bytes", RDV_ADMIN_HEADERS_MAX);
        else if (!has_body(conn))
            return MHD_YES;
        else
            rdv_admin_reply_error(r, 413, "requests carry no body here");
        r->dispatched = true;
    }
    *upload_data_size = 0; /* a body is refused with 413 before it is read; drop any bytes */
    if (!r->dispatched) {
        r->dispatched = true;
        dispatch(r, url, method);
    }
    if (r->resp) {
        enum MHD_Result ok = MHD_queue_response(conn, r->status, r->resp);
        MHD_destroy_response(r->resp);
        r->resp = NULL;
        return ok;
    }
    if (!r->in_store)
        return MHD_NO; /* no answer and nothing pending: out of memory; drop the connection */
    if (!r->suspended)
        req_suspend(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    rdv_admin_guard_busy(cls, conn, false);
    struct rdv_admin_req *r = *req_cls;
    *req_cls = NULL;
    if (!r)
        return;
    if (r->suspended)
        req_unlink(r);
    r->suspended = false;
    r->conn = NULL;
    if (r->in_store)
        r->orphaned = true; /* the store callback frees it */
    else
        req_free(r);
}

/* Identity: handlers decode paths and values themselves, with lengths (see the file comment). */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct rdv_admin *a = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    rdv_debug(a->log, "admin http: %s", msg);
}

/* ---- start / stop ---------------------------------------------------------------------------- */

static int bind_listener(struct rdv_admin *a, const char *text, int *fd_out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (rdv_admin_parse_listen(text, &ss, &sslen)) {
        snprintf(err, errlen, "admin-listen '%s': expected IPV4:PORT, [IPV6]:PORT or PORT", text);
        return RDV_ERR_INVALID;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
        bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen)) {
        snprintf(err, errlen, "admin-listen %s: %s", text, strerror(errno));
        if (fd >= 0)
            close(fd);
        return RDV_ERR_IO;
    }
    char host[INET6_ADDRSTRLEN];
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
    if (ss.ss_family == AF_INET)
        snprintf(a->address, sizeof(a->address), "%s:%u", inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host)),
                 ntohs(v4->sin_port));
    else
        snprintf(a->address, sizeof(a->address), "[%s]:%u", inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host)),
                 ntohs(v6->sin6_port));
    *fd_out = fd;
    return RDV_OK;
}

static int start_mhd(struct rdv_admin *a, const struct rdv_admin_config *cfg, int fd, char *err, size_t errlen)
{
    /* guard.c: room beyond max_connections for eviction; the per-address cap is the accept policy's
     * (counted), MHD's own is a backstop one above it */
    a->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
                              rdv_admin_guard_accept, a, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
                              MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_LIMIT, a->max_connections + RDV_ADMIN_RESERVE,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, a->max_per_ip + 1,
                              MHD_OPTION_NOTIFY_CONNECTION, rdv_admin_guard_notify, a,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->connection_memory,
                              MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
                              MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, a, MHD_OPTION_END);
    if (!a->mhd) {
        snprintf(err, errlen, "admin-listen %s: libmicrohttpd failed to start", a->address);
        return RDV_ERR_INTERNAL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0) {
        snprintf(err, errlen, "admin-listen %s: libmicrohttpd has no epoll fd", a->address);
        return RDV_ERR_INTERNAL;
    }
    ev_io_init(&a->io, on_io, info->epoll_fd, EV_READ);
    ev_init(&a->timer, on_timer);
    a->io.data = a->timer.data = a;
    ev_io_start(a->loop, &a->io);
    mhd_rearm(a);
    return RDV_OK;
}

int rdv_admin_start(struct ev_loop *loop, const struct rdv_admin_config *cfg, const struct rdv_admin_sources *src,
                    const struct rdv_log *log, struct rdv_admin **out, char *err, size_t errlen)
{
    struct rdv_admin *a = calloc(1, sizeof(*a));
    if (!a || (cfg->token && *cfg->token && !(a->token = strdup(cfg->token)))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    a->loop = loop;
    rdv_list_init(&a->suspended);
    a->src = *src;
    a->log = log;
    rdv_admin_guard_init(a, cfg);
    int fd = -1;
    int rc = bind_listener(a, cfg->listen, &fd, err, errlen);
    if (!rc && (rc = start_mhd(a, cfg, fd, err, errlen)) && !a->mhd)
        close(fd); /* MHD owns the socket once it started */
    if (rc) {
        rdv_admin_stop(a);
        return rc;
    }
    *out = a;
    return RDV_OK;
}

const char *rdv_admin_address(const struct rdv_admin *a)
{
    return a->address;
}

void rdv_admin_stop(struct rdv_admin *a)
{
    if (!a)
        return;
    /* MHD refuses to stop with suspended connections: wake them; their store calls will find
     * them orphaned once MHD_stop_daemon has closed them. */
    struct rdv_list_node *n;
    while ((n = rdv_list_first(&a->suspended))) {
        struct rdv_admin_req *r = rdv_list_entry(n, struct rdv_admin_req, link);
        req_unlink(r);
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
    ev_io_stop(a->loop, &a->io);
    ev_timer_stop(a->loop, &a->timer);
    if (a->mhd)
        MHD_stop_daemon(a->mhd);
    rdv_admin_guard_stop(a); /* after: closing connections re-arms its timer */
    if (a->token)
        sodium_memzero(a->token, strlen(a->token));
    free(a->token);
    free(a);
}

int rdv_admin_set_token(struct rdv_admin *a, const char *token)
{
    char *dup = NULL;
    if (token && *token && !(dup = strdup(token)))
        return RDV_ERR_NOMEM;
    if (a->token)
        sodium_memzero(a->token, strlen(a->token));
    free(a->token);
    a->token = dup;
    return RDV_OK;
}

int rdv_admin_load_token(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "admin-token-file %s: %s", path, strerror(errno));
        return RDV_ERR_IO;
    }
    char buf[RDV_ADMIN_TOKEN_MAX + 2];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n > RDV_ADMIN_TOKEN_MAX) {
        snprintf(err, errlen, "admin-token-file %s: longer than %d bytes", path, RDV_ADMIN_TOKEN_MAX);
        return RDV_ERR_TOO_LARGE;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] < 0x21 || buf[i] > 0x7e) {
            snprintf(err, errlen, "admin-token-file %s: the token must be one line of printable ASCII", path);
            return RDV_ERR_INVALID;
        }
    }
    if (n == 0) {
        snprintf(err, errlen, "admin-token-file %s: empty", path);
        return RDV_ERR_INVALID;
    }
    buf[n] = '\0';
    *out = strdup(buf);
    sodium_memzero(buf, sizeof(buf));
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    return RDV_OK;
}
