/* arbor-audit witness: serves c2sp.org/tlog-witness POST /add-checkpoint. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditor/cli_util.h"
#include "auditor/follow.h"
#include "auditor/loglist.h"
#include "auditor/witness.h"
#include "ledger/api/http.h"
#include "merkle/file.h"
#include "merkle/note.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void h_add_checkpoint(void *ud, arb_http_req *req)
{
    arb_audit_witness *w = ud;
    size_t len = 0;
    const uint8_t *body = arb_http_req_body(req, &len);
    arb_audit_witness_reply r;

    if (arb_audit_witness_add_checkpoint(w, body, len, cli_now_ms(), &r) != ARB_OK) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, r.status, r.content_type, NULL, r.body, r.body_len);
    free(r.body);
}

/* Writes a new key file (mode 0600, must not exist) and prints the vkey. */
static int generate(const char *path, const char *name, int json)
{
    arb_note_signer *s = NULL;
    char *skey = NULL, *vkey = NULL;
    arb_errbuf eb;
    int fd, rc = CLI_FAIL;

    if (arb_note_signer_generate(&s, name, ARB_NOTE_COSIG_V1, &skey, &vkey, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: witness key: %s\n", eb.msg);
        return CLI_FAIL;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "arbor-audit: %s: %s\n", path, strerror(errno));
        goto out;
    }
    if (write(fd, skey, strlen(skey)) != (ssize_t)strlen(skey) || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0) {
        fprintf(stderr, "arbor-audit: %s: %s\n", path, strerror(errno));
        close(fd);
        goto out;
    }
    close(fd);
    /* The key's name must be durable before its verifier key is handed out:
     * logs would trust a witness key that a power loss could take away. */
    if (arb_file_sync_parent(path, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: %s\n", path, eb.msg);
        unlink(path);
        goto out;
    }
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:s}", "name", name, "key_file", path, "vkey", vkey));
    else
        printf("%s\n", vkey);
    rc = CLI_OK;
out:
    arb_note_secret_free(skey);
    free(vkey);
    arb_note_signer_free(s);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: arbor-audit witness --key SKEYFILE --generate NAME\n"
               "       arbor-audit witness --state DIR --key SKEYFILE --listen HOST:PORT\n"
               "         (--log-vkey VKEY | --log ORIGIN=PEMFILE | --log-list FILE)...\n");
}

int cli_witness(int argc, char **argv, int json)
{
    enum { O_STATE = 256, O_KEY, O_GEN, O_LISTEN, O_VKEY, O_LOG, O_LIST, O_HELP, O_JSON };
    static const struct option opts[] = {
        {"state", required_argument, NULL, O_STATE}, {"key", required_argument, NULL, O_KEY},
        {"generate", required_argument, NULL, O_GEN}, {"listen", required_argument, NULL, O_LISTEN},
        {"log-vkey", required_argument, NULL, O_VKEY}, {"log", required_argument, NULL, O_LOG},
        {"log-list", required_argument, NULL, O_LIST}, {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},          {NULL, 0, NULL, 0},
    };
    const char *state = NULL, *keyfile = NULL, *gen = NULL, *listen = NULL;
    const char *vkeys[64], *pems[64], *lists[8];
    size_t nv = 0, np = 0, nl = 0;
    int c, rc = CLI_FAIL, port;
    char host[256];
    arb_note_signer *signer = NULL;
    arb_audit_witness *w = NULL;
    arb_http_server *srv = NULL;
    arb_errbuf eb;
    uint8_t *data = NULL;
    size_t len;
    size_t nlogs = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_STATE: state = optarg; break;
        case O_KEY: keyfile = optarg; break;
        case O_GEN: gen = optarg; break;
        case O_LISTEN: listen = optarg; break;
        case O_JSON: json = 1; break;
        case O_VKEY:
            if (nv == 64) return CLI_USAGE;
            vkeys[nv++] = optarg;
            break;
        case O_LOG:
            if (np == 64) return CLI_USAGE;
            pems[np++] = optarg;
            break;
        case O_LIST:
            if (nl == 8) return CLI_USAGE;
            lists[nl++] = optarg;
            break;
        case O_HELP:
            usage(stdout);
            printf("Cosigns checkpoints (c2sp.org/tlog-cosignature) of the configured logs after\n"
                   "checking the log's signature and consistency with the last checkpoint it\n"
                   "cosigned for that log; refuses rollbacks (409) and bad proofs (422).\n"
                   "--generate writes a new witness key to SKEYFILE and prints its vkey.\n");
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc || keyfile == NULL) {
        fprintf(stderr, "arbor-audit: witness: %s%s\n",
                optind != argc ? "unexpected argument " : "--key SKEYFILE is missing",
                optind != argc ? argv[optind] : "");
        usage(stderr);
        return CLI_USAGE;
    }
    if (gen)
        return generate(keyfile, gen, json);
    if (state == NULL || listen == NULL || nv + np + nl == 0) {
        fprintf(stderr, "arbor-audit: witness: %s is missing\n",
                state == NULL    ? "--state DIR"
                : listen == NULL ? "--listen HOST:PORT"
                                 : "a log to witness (--log-vkey, --log ORIGIN=PEM or --log-list)");
        usage(stderr);
        return CLI_USAGE;
    }
    {
        const char *colon = strrchr(listen, ':');
        uint64_t p;
        if (colon == NULL || (size_t)(colon - listen) >= sizeof host ||
            !cli_parse_u64(colon + 1, &p) || p > 65535) {
            fprintf(stderr, "arbor-audit: --listen wants HOST:PORT\n");
            return CLI_USAGE;
        }
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = (int)p;
    }
    if ((data = cli_read_file(keyfile, &len)) == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", keyfile, strerror(errno));
        goto out;
    }
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (arb_note_signer_from_skey(&signer, (const char *)data, len, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: %s\n", keyfile, eb.msg);
        goto out;
    }
    free(data);
    data = NULL;
    if (arb_audit_witness_open(&w, state, signer, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: %s\n", state, eb.msg);
        goto out;
    }
    for (size_t i = 0; i < nv; i++) {
        arb_note_verifier *v = NULL;
        if (arb_note_verifier_from_vkey(&v, vkeys[i], strlen(vkeys[i]), &eb) != ARB_OK ||
            arb_audit_witness_add_log(w, v) != ARB_OK) {
            fprintf(stderr, "arbor-audit: --log-vkey %s: %s\n", vkeys[i], eb.msg);
            goto out;
        }
        nlogs++;
    }
    for (size_t i = 0; i < np; i++) {
        const char *eq = strchr(pems[i], '=');
        arb_audit_log lg;
        arb_note_verifier *v = NULL;
        char origin[512];
        if (eq == NULL || eq == pems[i] || (size_t)(eq - pems[i]) >= sizeof origin) {
            fprintf(stderr, "arbor-audit: --log wants ORIGIN=PEMFILE\n");
            rc = CLI_USAGE;
            goto out;
        }
        memcpy(origin, pems[i], (size_t)(eq - pems[i]));
        origin[eq - pems[i]] = '\0';
        if ((data = cli_read_key(eq + 1, &len)) == NULL)
            goto out;
        if (arb_audit_log_from_key(&lg, "https://unused/", 1, data, len, 1, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s: %s\n", eq + 1, eb.msg);
            goto out;
        }
        free(data);
        data = NULL;
        if (arb_note_verifier_rfc6962(&v, origin, lg.key, lg.key_len, &eb) != ARB_OK ||
            arb_audit_witness_add_log(w, v) != ARB_OK) {
            arb_audit_log_clear(&lg);
            fprintf(stderr, "arbor-audit: --log %s: %s\n", origin, eb.msg);
            goto out;
        }
        arb_audit_log_clear(&lg);
        nlogs++;
    }
    for (size_t i = 0; i < nl; i++) {
        arb_audit_loglist l;
        if ((data = cli_read_file(lists[i], &len)) == NULL ||
            arb_audit_loglist_parse(&l, (const char *)data, len, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s: %s\n", lists[i], data ? eb.msg : strerror(errno));
            goto out;
        }
        free(data);
        data = NULL;
        for (size_t k = 0; k < l.n; k++) {
            arb_note_verifier *v = NULL;
            if (!l.logs[k].tiled)
                continue; /* RFC 6962 logs publish no checkpoints */
            if (arb_note_verifier_rfc6962(&v, l.logs[k].origin, l.logs[k].key, l.logs[k].key_len,
                                          &eb) != ARB_OK ||
                arb_audit_witness_add_log(w, v) != ARB_OK) {
                fprintf(stderr, "arbor-audit: %s: %s: %s\n", lists[i], l.logs[k].origin, eb.msg);
                arb_audit_loglist_free(&l);
                goto out;
            }
            nlogs++;
        }
        arb_audit_loglist_free(&l);
    }
    {
        arb_http_config hc;
        memset(&hc, 0, sizeof hc);
        hc.listen_host = host;
        hc.port = port;
        hc.max_body_default = 64 * 1024;
        if (arb_http_server_new(&srv, &hc) != ARB_OK ||
            arb_http_route_add(srv, ARB_HTTP_POST, "/add-checkpoint", 0, h_add_checkpoint, w) !=
                ARB_OK ||
            arb_http_server_start(srv, &eb) != ARB_OK) {
            /* eb names the address and the reason already. */
            if (json)
                cli_print_json(json_pack("{s:s, s:s}", "event", "error", "error", eb.msg));
            fprintf(stderr, "arbor-audit: witness: %s (is another witness running there? choose "
                            "another --listen)\n", eb.msg);
            goto out;
        }
    }
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:I, s:s, s:i}", "event", "listening", "witness",
                                 arb_note_signer_name(signer), "logs", (json_int_t)nlogs, "host", host,
                                 "port", arb_http_server_port(srv)));
    fprintf(stderr, "arbor-audit: witness %s for %zu log key(s) listening on %s:%d\n",
            arb_note_signer_name(signer), nlogs, host, arb_http_server_port(srv));
    while (!stop_flag) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (json)
        cli_print_json(json_pack("{s:s}", "event", "stopped"));
    rc = CLI_OK;
out:
    if (srv) {
        arb_http_server_stop(srv);
        arb_http_server_free(srv);
    }
    arb_audit_witness_close(w);
    arb_note_signer_free(signer);
    free(data);
    return rc;
}
