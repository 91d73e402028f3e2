/* arbor-audit: follows logs and the chain and checks what they publish.
 *
 * Usage: arbor-audit [--json] COMMAND [ARGS]; see `arbor-audit --help`.
 * Exit status: 0 ok, 1 a check failed or input was bad, 2 usage error.
 * Commands live in the table below ({name, handler, help}); the work is done
 * by libraries (auditor/ and ledger/chain/) so tests can call it directly. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "auditor/cli.h"
#include "auditor/headers.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct {
    int json; /* --json given before the command */
} global_opts;

typedef struct {
    const char *name;
    int (*handler)(int argc, char **argv, const global_opts *g);
    const char *usage; /* arguments, one line */
    const char *help;  /* one line */
} command;

static const command *find_command(const char *name);
static void print_usage(FILE *f);

/* Reads a whole file. Returns a malloc'd buffer or NULL (errno set). */
static uint8_t *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;

    *len_out = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                errno = e ? e : EIO;
                return NULL;
            }
            break;
        }
    }
    fclose(f);
    *len_out = len;
    return buf;
}

static void progress_tty(void *ud, size_t done, size_t total)
{
    (void)ud;
    fprintf(stderr, "\rverify-headers: %zu/%zu headers (%zu%%)", done, total,
            total ? done * 100 / total : 100);
    if (done == total)
        fprintf(stderr, "\r\033[K");
    fflush(stderr);
}

static int cmd_verify_headers(int argc, char **argv, const global_opts *g)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"start-height", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules = NULL;
    unsigned long start = 0;
    int json = g->json, c;
    const arb_chain_params *p;
    uint8_t *data;
    size_t len;
    arb_audit_headers_result res;
    arb_err err;
    char tip[65], bad[65], work[65];

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            start = strtoul(optarg, &end, 10);
            if (errno || *end || optarg[0] == '\0' || optarg[0] == '-' || start > UINT32_MAX) {
                fprintf(stderr, "arbor-audit: --start-height: not a height: %s\n", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: arbor-audit verify-headers %s\n", find_command("verify-headers")->usage);
            printf("Checks a file of raw 80-byte headers: the first is trusted at the start height,\n"
                   "each later one must link to the one before and pass proof of work, retargets\n"
                   "and timestamp rules. Exit 0 if all pass, 1 at the first bad header.\n");
            return EXIT_OK;
        default:
            return EXIT_USAGE;
        }
    }
    if (rules == NULL || optind != argc - 1) {
        fprintf(stderr, "arbor-audit: verify-headers: %s\n",
                rules == NULL      ? "--rules bitcoin|main|test|regtest is missing"
                : optind >= argc   ? "the headers FILE is missing"
                                   : "give one headers FILE");
        fprintf(stderr, "usage: arbor-audit verify-headers %s\n",
                find_command("verify-headers")->usage);
        return EXIT_USAGE;
    }
    p = arb_chain_params_get(rules);
    if (p == NULL) {
        fprintf(stderr, "arbor-audit: unknown rules \"%s\" (bitcoin, main, test or regtest)\n",
                rules);
        return EXIT_USAGE;
    }
    data = read_file(argv[optind], &len);
    if (data == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", argv[optind], strerror(errno));
        return EXIT_FAIL;
    }
    err = arb_audit_verify_headers(p, (uint32_t)start, data, len, (int64_t)time(NULL),
                                   (!json && isatty(STDERR_FILENO)) ? progress_tty : NULL, NULL,
                                   &res);
    free(data);
    if (err != ARB_OK && err != ARB_ERR_VERIFY) {
        if (json) {
            json_t *o = json_pack("{s:b, s:s}", "ok", 0, "error", res.detail.msg);
            json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
        }
        fprintf(stderr, "arbor-audit: %s: %s\n", argv[optind], res.detail.msg);
        return EXIT_FAIL;
    }
    arb_chain_hash_hex(tip, &res.tip_hash);
    arb_u256_hex(work, &res.work);
    if (res.failed)
        arb_chain_hash_hex(bad, &res.bad_hash);
    if (json) {
        json_t *o = json_pack("{s:b, s:s, s:I, s:I, s:I, s:s, s:s}", "ok", !res.failed, "rules",
                              p->name, "headers", (json_int_t)res.headers, "checked",
                              (json_int_t)res.checked, "tip_height", (json_int_t)res.tip_height,
                              "tip_hash", tip, "work", work);
        if (res.failed) {
            json_object_set_new(o, "bad_height", json_integer(res.bad_height));
            json_object_set_new(o, "bad_hash", json_string(bad));
            json_object_set_new(o, "reason", json_string(res.reason));
            json_object_set_new(o, "detail", json_string(res.detail.msg));
        }
        json_dumpf(o, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(o);
    } else if (!res.failed) {
        printf("ok: %zu headers, heights %lu..%lu, rules %s, tip %s, work 0x%s\n", res.headers,
               start, (unsigned long)res.tip_height, p->name, tip, work);
    }
    if (res.failed) {
        fprintf(stderr, "arbor-audit: header at height %lu (hash %s) is invalid: %s\n",
                (unsigned long)res.bad_height, bad, res.detail.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* The log-auditing commands live in auditor/cli*.c. */
static int cmd_audit(int argc, char **argv, const global_opts *g)
{
    return arb_audit_cli_main(argc, argv, g->json);
}

static const command COMMANDS[] = {
    {"verify-headers", cmd_verify_headers,
     "--rules bitcoin|main|test|regtest [--start-height N] [--json] FILE",
     "check a file of raw 80-byte headers (linkage, proof of work, retargets, times)"},
    {"follow", cmd_audit,
     "(--log URL --key FILE | --log-list FILE) --state DIR [--download] [--watch DOMAIN]... "
     "[--gossip-listen HOST:PORT] [--gossip-peer URL]... [--chain URL --checkpoint HASH|genesis "
     "[--network NET]] [--once] [--json]",
     "follow logs: verify tree heads, consistency, entries; watch domains; gossip heads"},
    {"verify-evidence", cmd_audit, "[--checkpoint HASH] [--json] FILE",
     "re-check a misbehaviour report offline (exit 0 when it proves misbehaviour)"},
    {"verify-sth", cmd_audit, "--key PEM [--json] FILE", "check a get-sth tree head's signature"},
    {"check-sct", cmd_audit,
     "--cert PEM [--issuer PEM] [--sct FILE] (--key PEM --log URL | --log-list FILE) "
     "[--no-inclusion] [--anchored --chain URL --checkpoint HASH|genesis [--network NET] "
     "[--out FILE]] [--json]",
     "verify a certificate's SCTs (embedded, or add-chain's JSON / TLS; precertificates "
     "too) and their inclusion"},
    {"witness", cmd_audit,
     "--state DIR --key SKEYFILE --listen HOST:PORT (--log-vkey VKEY | --log ORIGIN=PEM | "
     "--log-list FILE)...  |  --key SKEYFILE --generate NAME",
     "serve c2sp.org/tlog-witness add-checkpoint: cosign consistent checkpoints"},
    {"verify-name", cmd_audit,
     "--checkpoint HASH|genesis [--network NET] [--headers FILE [--headers-start N]] "
     "[--min-height N] [--name FULL] [--namespace-proof FILE] [--json] PROOF.json  |  "
     "--node URL --name FULL --checkpoint HASH|genesis ...",
     "check a name lookup's light-client proof against block headers alone"},
    {"verify-anchored", cmd_audit,
     "--checkpoint HASH|genesis [--headers FILE [--headers-start N]] [--min-height N] "
     "[--leaf-hash HEX] [--json] FILE",
     "check an anchored inclusion proof (check-sct --anchored --out) with no network"},
    {"cosign", cmd_audit, "--witness URL --log URL --key PEM [--origin O] [--old N] [--json]",
     "ask a witness to cosign a log's current checkpoint (with the consistency proof)"},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

static void print_usage(FILE *f)
{
    fprintf(f, "usage: arbor-audit [--json] COMMAND [ARGS]\n"
               "       arbor-audit --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-16s %s\n  %-16s   %s %s\n", COMMANDS[i].name, COMMANDS[i].help, "",
                COMMANDS[i].name, COMMANDS[i].usage);
    fprintf(f, "\nexit status: 0 ok, 1 check failed or bad input, 2 usage error\n");
}

int main(int argc, char **argv)
{
    global_opts g = {0};
    int i = 1;
    const command *cmd;

    int version = 0;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            version = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            g.json = 1;
        } else {
            fprintf(stderr, "arbor-audit: unknown option %s\n", argv[i]);
            print_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (version) {
        if (g.json)
            printf("{\"program\":\"arbor-audit\",\"version\":\"%s\"}\n", ARB_VERSION);
        else
            printf("arbor-audit %s\n", ARB_VERSION);
        return EXIT_OK;
    }
    if (i >= argc) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    cmd = find_command(argv[i]);
    if (cmd == NULL) {
        fprintf(stderr, "arbor-audit: unknown command \"%s\"\n", argv[i]);
        print_usage(stderr);
        return EXIT_USAGE;
    }
    return cmd->handler(argc - i, argv + i, &g);
}
