/* test_config: rendezvousd's settings (src/server/config.c): file syntax (comments, quotes), list
 * replacement by flags, every problem reported on its own line, the reload diff. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "tap.h"

static char *write_conf(const char *text)
{
    static char path[] = "/tmp/rdv-test-config-XXXXXX";
    strcpy(path, "/tmp/rdv-test-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return NULL;
    close(fd);
    return path;
}

static int lines(const char *s)
{
    int n = *s ? 1 : 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_quotes_and_comments(void)
{
    struct rdv_server_config c;
    char err[RDV_CONFIG_ERR_MAX] = "";
    rdv_config_defaults(&c);
    char *p = write_conf("identity = k.key # mine\nstore = \"memory:\"\nlog-level='debug'   # q\n"
                         "admin-token-file = \"/a b/#c \\\"d\\\"\" # c\nprotocols = std#x\n");
    ok(p && rdv_config_load_file(&c, p, err, sizeof(err)) == 0, "quoted and commented file loads: %s", err);
    is_str(c.identity, "k.key", "a trailing comment is not part of the value");
    is_str(c.store, "memory:", "double quotes are dropped");
    is_str(c.log_level, "debug", "single quotes are dropped");
    is_str(c.admin_token_file, "/a b/#c \"d\"", "quoted spaces, # and escaped quotes stay");
    is_str(c.protocols, "std#x", "a # inside a word is not a comment");
    unlink(p);
    rdv_config_free(&c);
}

static void test_errors_all_reported(void)
{
    struct rdv_server_config c;
    char err[RDV_CONFIG_ERR_MAX] = "";
    rdv_config_defaults(&c);
    char *p = write_conf("nope = 1\nmax-ttl = x\nstore = \"memory:\n");
    ok(rdv_config_load_file(&c, p, err, sizeof(err)) == -1, "a bad file fails");
    is_int(lines(err), 3, "one line per problem: %s", err);
    ok(strstr(err, ":3: store: unterminated quote") != NULL, "the line number and the reason");
    unlink(p);
    rdv_config_free(&c);
    rdv_config_defaults(&c);
    err[0] = '\0';
    char *argv[] = {"rendezvousd", "--listen", "0.0.0.0:4040", "--listen", "/ip4/1.2.3.4/tcp/1", "--min-ttl", "30", NULL};
    ok(rdv_config_parse_args(&c, 7, argv, err, sizeof(err)) == 0, "flags parse");
    ok(rdv_config_finish(&c, err, sizeof(err)) == -1, "finish finds the problems");
    ok(strstr(err, "expected a TCP multiaddr like /ip4/0.0.0.0/tcp/4040") != NULL, "listen hint: %s", err);
    ok(strstr(err, "min-ttl <= default-ttl") != NULL, "ttl bounds");
    rdv_config_free(&c);
}

/* The output budget: defaults, the floor of one maximal answer, the global one not below one connection's. */
static void test_output_budget(void)
{
    struct rdv_server_config c;
    char err[RDV_CONFIG_ERR_MAX] = "";
    rdv_config_defaults(&c);
    is_int(c.max_conn_output_mb, 8, "max-conn-output-mb defaults to 8");
    is_int(c.max_output_mb, 512, "max-output-mb defaults to 512");
    is_int(c.output_stall_timeout, 30, "output-stall-timeout defaults to 30");
    is_int(c.max_envelope_bytes, 8192, "max-envelope-bytes defaults to 8192, the most any record kind opens");
    char *small[] = {"rendezvousd", "--max-conn-output-mb", "4", NULL};
    ok(rdv_config_parse_args(&c, 3, small, err, sizeof(err)) == -1 && strstr(err, "max-conn-output-mb") != NULL,
       "4 MiB per connection is refused (one 4 MiB answer and its framing would not fit): %s", err);
    rdv_config_free(&c);
    rdv_config_defaults(&c);
    err[0] = '\0';
    char *crossed[] = {"rendezvousd", "--max-conn-output-mb", "64", "--max-output-mb", "32", NULL};
    ok(rdv_config_parse_args(&c, 5, crossed, err, sizeof(err)) == 0, "the flags parse");
    ok(rdv_config_finish(&c, err, sizeof(err)) == -1 && strstr(err, "max-output-mb (32) is below max-conn-output-mb (64)"),
       "a global budget below one connection's is a problem: %s", err);
    rdv_config_free(&c);
}

/* SIGHUP takes exactly the keys marked reloadable in the table, strings swapped so both free cleanly. */
static void test_take_reloadable(void)
{
    struct rdv_server_config c, n;
    char err[RDV_CONFIG_ERR_MAX] = "";
    rdv_config_defaults(&c);
    rdv_config_defaults(&n);
    char *argv[] = {"rendezvousd", "--log-level", "debug", "--max-ttl", "19", "--per-address-request-rate", "5",
                    "--max-connections", "10", "--store", "leveldb:/x", NULL};
    ok(rdv_config_parse_args(&n, 11, argv, err, sizeof(err)) == 0, "the new settings parse: %s", err);
    rdv_config_take_reloadable(&c, &n);
    is_str(c.log_level, "debug", "log-level taken");
    is_int(c.dialect[0].max_ttl, 19, "a dialect limit taken (max-ttl)");
    is_int(c.per_address_request_rate, 5, "per-address-request-rate taken");
    is_int(c.max_connections, 4096, "max-connections (a restart) left as it was");
    is_str(c.store, "memory:", "store (a restart) left as it was");
    is_str(n.log_level, "info", "the old log level went to the other side, to be freed there");
    rdv_config_free(&c);
    rdv_config_free(&n);
}

static void test_list_replaced(void)
{
    struct rdv_server_config c;
    char err[RDV_CONFIG_ERR_MAX] = "";
    rdv_config_defaults(&c);
    char *p = write_conf("listen = /ip4/0.0.0.0/tcp/1\nlisten = /ip6/::/tcp/1\n");
    char *argv[] = {"rendezvousd", "--config", p, "--listen", "/ip4/127.0.0.1/tcp/2", "--listen=/ip4/127.0.0.1/tcp/3", NULL};
    ok(rdv_config_parse_args(&c, 6, argv, err, sizeof(err)) == 0, "parses: %s", err);
    is_int((int)c.nlisten, 2, "the flags' list replaced the file's");
    is_str(c.listen[0], "/ip4/127.0.0.1/tcp/2", "first flag");
    is_str(c.listen[1], "/ip4/127.0.0.1/tcp/3", "second flag");
    unlink(p);
    rdv_config_free(&c);
}

struct seen { int n, restart; char keys[256]; };

static void on_diff(void *ctx, const char *key, const char *a, const char *b, int reload)
{
    struct seen *s = ctx;
    (void)a;
    (void)b;
    s->n++;
    s->restart += !reload;
    strncat(s->keys, key, sizeof(s->keys) - strlen(s->keys) - 2);
    strcat(s->keys, " ");
}

static void test_diff(void)
{
    struct rdv_server_config a, b;
    char err[256] = "";
    rdv_config_defaults(&a);
    rdv_config_defaults(&b);
    rdv_config_set(&b, "log-level", "debug", err, sizeof(err));
    rdv_config_set(&b, "std-max-ttl", "100", err, sizeof(err));
    rdv_config_set(&b, "store", "leveldb:/x", err, sizeof(err));
    struct seen s = {0};
    rdv_config_diff(&a, &b, on_diff, &s);
    is_int(s.n, 3, "three changes: %s", s.keys);
    is_int(s.restart, 1, "one of them (store) takes a restart");
    rdv_config_free(&a);
    rdv_config_free(&b);
}

int main(void)
{
    test_quotes_and_comments();
    test_errors_all_reported();
    test_output_budget();
    test_take_reloadable();
    test_list_replaced();
    test_diff();
    return tap_done();
}
