/* rendezvous-cli: the command-line client of rendezvousd.
 *
 * Offline commands work on keys and signed peer records (keygen, peer-id, record seal/inspect);
 * network commands talk to a rendezvous point. Each subcommand is one row of `commands[]`: a
 * name, a one-line usage and a handler that returns the process exit status. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cli.h"
#include "p2p/envelope.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"
#include "p2p/record_kind.h"
#include "util/err.h"

#define PROG "rendezvous-cli"

struct command {
    const char *name;
    const char *usage;
    int (*run)(int argc, char **argv);
    bool own_help; /* handles --help itself; otherwise main prints the usage line */
};

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* Prints s as a JSON string (quoted, escaped). */
static void print_json_string(FILE *out, const char *s)
{
    json_t *j = json_string(s);
    char *txt = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(txt ? txt : "null", out);
    free(txt);
    json_decref(j);
}

/* Reads a whole file (or stdin for "-") of at most max bytes into a malloc'd buffer. */
static int read_input(const char *path, size_t max, uint8_t **out, size_t *outlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return RDV_ERR_IO;
    uint8_t *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int err = buf ? (ferror(f) ? RDV_ERR_IO : RDV_OK) : RDV_ERR_NOMEM;
    if (f != stdin)
        fclose(f);
    if (!err && n > max)
        err = RDV_ERR_TOO_LARGE;
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *outlen = n;
    return RDV_OK;
}

static int write_output(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!f)
        return RDV_ERR_IO;
    int err = fwrite(p, 1, n, f) == n ? RDV_OK : RDV_ERR_IO;
    if (f != stdout)
        err = fclose(f) == 0 ? err : RDV_ERR_IO;
    else
        fflush(f);
    return err;
}

static int print_peer_id_of(const struct rdv_privkey *k, int cid)
{
    struct rdv_peerid id;
    char text[RDV_PEERID_TEXT_MAX];
    int err = rdv_peerid_from_pubkey(&k->pub, &id);
    if (err >= 0)
        err = cid ? rdv_peerid_to_cid_text(&id, text, sizeof(text)) : rdv_peerid_to_text(&id, text, sizeof(text));
    if (err < 0)
        return cli_fail("peer id: %s", rdv_strerror(err));
    printf("%s\n", text);
    return 0;
}

/* keygen [--type ed25519|secp256k1] [--force] FILE */
static int cmd_keygen(int argc, char **argv)
{
    enum rdv_key_type type = RDV_KEY_ED25519;
    int force = 0;
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'}, {"force", no_argument, NULL, 'f'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "t:f", opts, NULL)) != -1;) {
        if (c == 't' && rdv_key_type_parse(optarg, &type) != RDV_OK)
            return cli_fail("keygen: unknown key type '%s' (ed25519 or secp256k1)", optarg);
        else if (c == 'f')
            force = 1;
        else if (c == '?')
            return 2;
    }
    if (optind != argc - 1)
        return cli_fail("usage: " PROG " keygen [--type ed25519|secp256k1] [--force] FILE");
    struct rdv_privkey k;
    int err = rdv_privkey_generate(type, &k);
    if (!err)
        err = rdv_privkey_save(&k, argv[optind], force);
    if (err) {
        rdv_privkey_clear(&k);
        return cli_fail("keygen: %s: %s%s", argv[optind], rdv_strerror(err),
                    err == RDV_ERR_IO && errno == EEXIST ? " (file exists; --force overwrites)" : "");
    }
    int rc = print_peer_id_of(&k, 0);
    rdv_privkey_clear(&k);
    return rc;
}

/* peer-id [--cid] FILE */
static int cmd_peer_id(int argc, char **argv)
{
    int cid = 0;
    static const struct option opts[] = {{"cid", no_argument, NULL, 'c'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "c", opts, NULL)) != -1;) {
        if (c == 'c')
            cid = 1;
        else
            return 2;
    }
    if (optind != argc - 1)
        return cli_fail("usage: " PROG " peer-id [--cid] KEYFILE");
    struct rdv_privkey k;
    int err = rdv_privkey_load(argv[optind], &k);
    if (err)
        return cli_fail("peer-id: %s: %s", argv[optind], rdv_strerror(err));
    int rc = print_peer_id_of(&k, cid);
    rdv_privkey_clear(&k);
    return rc;
}

static uint64_t default_seq(void)
{
    /* Like js-libp2p: wall-clock milliseconds, so a later record has a higher seq. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return RDV_ERR_INVALID;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return RDV_ERR_INVALID;
    *out = v;
    return RDV_OK;
}

#define RECORD_SEAL_USAGE                                                                                              \
    "record seal --key FILE --addr MA [MA...] [--seq N] [--kind peer|waku] [--mix-key TEXT] OUT"
#define RECORD_INSPECT_USAGE "record inspect [--kind peer|waku] FILE|-"
#define RECORD_HELP                                                                                                    \
    "  --kind peer   a libp2p peer record (/vac/waku/rendezvous/0.0.1, /rendezvous/1.0.0): the default\n"            \
    "  --kind waku   a WakuPeerRecord (/vac/waku/rendezvous/1.0.0); seal takes its mixKey with --mix-key\n"

static int parse_kind(const char *s, const struct rdv_record_kind **out)
{
    if (strcmp(s, "peer") == 0)
        *out = &rdv_record_kind_peer;
    else if (strcmp(s, "waku") == 0)
        *out = &rdv_record_kind_waku;
    else
        return cli_fail("record: unknown --kind '%s' (peer or waku)", s);
    return 0;
}

/* The record being sealed: its summary points into bins[], which hold the binary addresses. */
struct seal_args {
    const char *keyfile, *outpath;
    const struct rdv_record_kind *kind;
    struct rdv_record_summary rec;
    struct rdv_buf bins[RDV_RECORD_MAX_ADDRS];
};

/* Adds one text multiaddr to the record; reports the bad one. */
static int record_add_text_addr(struct seal_args *a, const char *text)
{
    if (a->rec.naddrs >= RDV_RECORD_MAX_ADDRS)
        return cli_fail("record seal: more than %d addresses", RDV_RECORD_MAX_ADDRS);
    struct rdv_buf *bin = &a->bins[a->rec.naddrs];
    rdv_buf_init(bin, RDV_MA_MAX_BINARY);
    int err = rdv_ma_from_text(text, bin);
    if (err) {
        rdv_buf_free(bin);
        return cli_fail("record seal: bad multiaddr '%s': %s", text, rdv_strerror(err));
    }
    a->rec.addrs[a->rec.naddrs++] = (struct rdv_record_addr){rdv_buf_head(bin), bin->len};
    a->rec.addrs_bytes += bin->len;
    return 0;
}

/* Seals the record under the key of a->keyfile and writes the envelope to a->outpath. */
static int record_seal_write(const struct seal_args *a)
{
    struct rdv_privkey k;
    int err = rdv_privkey_load(a->keyfile, &k);
    if (err)
        return cli_fail("record seal: key %s: %s", a->keyfile, rdv_strerror(err));
    struct rdv_buf env;
    rdv_buf_init(&env, RDV_ENVELOPE_MAX);
    err = rdv_record_seal(a->kind, &k, &a->rec, &env);
    rdv_privkey_clear(&k);
    if (!err && write_output(a->outpath, rdv_buf_head(&env), env.len) != RDV_OK)
        err = cli_fail("record seal: cannot write %s: %s", a->outpath, strerror(errno));
    else if (err)
        err = cli_fail("record seal: %s", rdv_strerror(err));
    rdv_buf_free(&env);
    return err ? 1 : 0;
}

/* --addr A B C: takes the following arguments while they are multiaddrs (the last one is OUT). */
static int seal_addrs(struct seal_args *a, int argc, char **argv, int *i)
{
    int rc = record_add_text_addr(a, argv[++*i]);
    while (rc == 0 && *i + 2 < argc && argv[*i + 1][0] == '/') {
        struct rdv_buf probe;
        rdv_buf_init(&probe, RDV_MA_MAX_BINARY);
        int is_ma = rdv_ma_from_text(argv[*i + 1], &probe) == RDV_OK;
        rdv_buf_free(&probe);
        if (!is_ma)
            break;
        rc = record_add_text_addr(a, argv[++*i]);
    }
    return rc;
}

/* One argument of record seal at argv[*i] (options consume theirs); 0, an exit status, or -1 for --help. */
static int seal_arg(struct seal_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    bool has_value = *i + 1 < argc;
    if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
        printf("usage: " PROG " " RECORD_SEAL_USAGE "\n  Signs a record (OUT may be -).\n" RECORD_HELP);
        return -1;
    }
    if (strcmp(o, "--key") == 0 && has_value) {
        a->keyfile = argv[++*i];
    } else if (strcmp(o, "--kind") == 0 && has_value) {
        return parse_kind(argv[++*i], &a->kind);
    } else if (strcmp(o, "--mix-key") == 0 && has_value) {
        a->rec.mix_key = (const uint8_t *)argv[++*i];
        a->rec.mix_key_len = strlen(argv[*i]);
    } else if (strcmp(o, "--seq") == 0 && has_value) {
        if (parse_u64(argv[++*i], &a->rec.seq) != RDV_OK)
            return cli_fail("record seal: --seq needs an unsigned 64-bit number, not '%s'", argv[*i]);
    } else if (strcmp(o, "--addr") == 0 && has_value) {
        return seal_addrs(a, argc, argv, i);
    } else if (o[0] == '-' && o[1] != '\0') {
        return cli_fail("record seal: unknown or incomplete option '%s'", o);
    } else if (!a->outpath) {
        a->outpath = o;
    } else {
        return cli_fail("record seal: unexpected argument '%s'", o);
    }
    return 0;
}

/* record seal --key FILE --addr MA [MA...] [--seq N] [--kind peer|waku] [--mix-key TEXT] OUT */
static int cmd_record_seal(int argc, char **argv)
{
    struct seal_args a;
    memset(&a, 0, sizeof(a));
    a.kind = &rdv_record_kind_peer;
    a.rec.seq = default_seq();
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++)
        rc = seal_arg(&a, argc, argv, &i);
    if (rc == 0 && a.rec.mix_key && a.kind != &rdv_record_kind_waku)
        rc = cli_fail("record seal: --mix-key needs --kind waku");
    if (rc == 0 && (!a.keyfile || !a.outpath || a.rec.naddrs == 0))
        rc = cli_fail("usage: " PROG " " RECORD_SEAL_USAGE);
    if (rc == 0)
        rc = record_seal_write(&a);
    for (size_t i = 0; i < a.rec.naddrs; i++)
        rdv_buf_free(&a.bins[i]);
    return rc < 0 ? 0 : rc;
}

static void print_record_json(const struct rdv_record_kind *k, const struct rdv_record_summary *r)
{
    char id[RDV_PEERID_TEXT_MAX];
    if (rdv_peerid_to_text(&r->peer, id, sizeof(id)) < 0)
        snprintf(id, sizeof(id), "?");
    printf("{\"peer_id\": ");
    print_json_string(stdout, id);
    printf(", \"seq\": %" PRIu64 ", \"addrs\": [", r->seq);
    for (size_t i = 0; i < r->naddrs; i++) {
        char text[RDV_MA_MAX_TEXT];
        if (rdv_ma_to_text(r->addrs[i].bytes, r->addrs[i].len, text, sizeof(text)) < 0)
            snprintf(text, sizeof(text), "?");
        printf(i ? ", " : "");
        print_json_string(stdout, text);
    }
    printf("]");
    if (k == &rdv_record_kind_waku) {
        /* the mixKey is a string on the wire, but nothing makes it valid UTF-8: print it as it is,
         * escaped by jansson, or null when it cannot be */
        json_t *j = json_stringn((const char *)(r->mix_key ? r->mix_key : (const uint8_t *)""), r->mix_key_len);
        char *txt = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
        printf(", \"kind\": \"waku\", \"mix_key\": %s", txt ? txt : "null");
        free(txt);
        json_decref(j);
    }
    printf("}\n");
}

/* record inspect [--kind peer|waku] FILE|- */
static int cmd_record_inspect(int argc, char **argv)
{
    const struct rdv_record_kind *kind = &rdv_record_kind_peer;
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: " PROG " " RECORD_INSPECT_USAGE "\n  Verifies a signed record, prints it as JSON.\n" RECORD_HELP);
        return 0;
    }
    if (argc == 3 && strcmp(argv[0], "--kind") == 0) {
        if (parse_kind(argv[1], &kind))
            return 1;
        argc -= 2;
        argv += 2;
    }
    if (argc != 1)
        return cli_fail("usage: " PROG " " RECORD_INSPECT_USAGE);
    uint8_t *bytes;
    size_t n;
    int err = read_input(argv[0], RDV_ENVELOPE_MAX, &bytes, &n);
    if (err)
        return cli_fail("record inspect: %s: %s", argv[0], err == RDV_ERR_IO ? strerror(errno) : rdv_strerror(err));
    struct rdv_record_summary r;
    err = rdv_record_open(kind, bytes, n, &r);
    if (!err)
        print_record_json(kind, &r); /* r points into bytes */
    free(bytes);
    if (err)
        return cli_fail("record inspect: invalid signed %s: %s", kind == &rdv_record_kind_waku ? "WakuPeerRecord" : "peer record",
                        rdv_strerror(err));
    return 0;
}

static int cmd_record(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "seal") == 0)
        return cmd_record_seal(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
        return cmd_record_inspect(argc - 2, argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: " PROG " " RECORD_SEAL_USAGE "\n       " PROG " " RECORD_INSPECT_USAGE "\n" RECORD_HELP);
        return 0;
    }
    return cli_fail("usage: " PROG " record seal|inspect ...");
}

#define PROTO_OPT "[-p|--protocol waku0|std|waku1]"
static const struct command commands[] = {
    {"register", "register --server MA/p2p/ID --ns NS [--ttl S] [--key FILE] [--addr MA]... " PROTO_OPT "\n"
                 "                                                    register a signed record", cli_cmd_register, true},
    {"discover", "discover --server MA/p2p/ID --ns NS [--limit N] [--cookie HEX] " PROTO_OPT "\n"
                 "                                                    one JSON line per verified registration (std, waku1:\n"
                 "                                                    then {\"cookie\": HEX} for the next page)", cli_cmd_discover, true},
    {"unregister", "unregister --server MA/p2p/ID --ns NS --key FILE [-p|--protocol std|waku1]\n"
                   "                                                    remove the key's registrations under NS", cli_cmd_unregister, true},
    {"identify", "identify --server MA/p2p/ID                       ask a libp2p peer who it is (JSON)", cli_cmd_identify, true},
    {"ping", "ping --server MA/p2p/ID                           libp2p ping, prints the round trip", cli_cmd_ping, true},
    {"advertise", "advertise --server MA/p2p/ID [--server ...] --ns NS [--ttl S] [--key FILE] [--addr MA]... " PROTO_OPT "\n"
                  "                                                    stay registered until SIGINT/SIGTERM (JSON events)", cli_cmd_advertise, true},
    {"find", "find --server MA/p2p/ID [--server ...] --ns NS [--limit N] " PROTO_OPT "\n"
             "                                                    one JSON line per verified peer", cli_cmd_find, true},
    {"keygen", "keygen [--type ed25519|secp256k1] [--force] FILE   create an identity key (mode 0600), print its peer id", cmd_keygen, false},
    {"peer-id", "peer-id [--cid] KEYFILE                          print the peer id of a key file", cmd_peer_id, false},
    {"record", RECORD_SEAL_USAGE "\n                                                    sign a record (OUT may be -)\n"
               "  " RECORD_INSPECT_USAGE "                 verify a signed record, print it as JSON", cmd_record, true},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: " PROG " [--version] COMMAND [ARGS]\n       " PROG " COMMAND --help\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].usage);
}

/* `COMMAND --help` (or -h) anywhere among the command's arguments: its usage on stdout, exit 0,
 * before the command's own option parser sees (and refuses) it. */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return cli_fail("libsodium failed to initialise");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf(PROG " %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (!commands[i].own_help && wants_help(argc - 1, argv + 1)) {
                printf("usage: " PROG " %s\n", commands[i].usage);
                return 0;
            }
            optind = 1; /* getopt sees the subcommand as its program name */
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
