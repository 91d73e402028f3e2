/* arbor-audit as a program, on 127.0.0.1:
 *  - witness: key generation, add-checkpoint over HTTP (cosign, 409 with the
 *    known size and text/x.tlog.size, 404 unknown origin), state across a
 *    restart of the process;
 *  - verify-sth on the real Google Pilot tree head; verify-evidence exit codes;
 *  - follow --once --json against scripted log answers (the log here is an HTTP
 *    server inside this test whose answers the test sets), and a forked log:
 *    two endpoints signing different trees of the same size with one key,
 *    followed by two auditors that gossip; the second auditor reports the split
 *    view and verify-evidence accepts its report. */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "auditor/client.h"
#include "auditor/sth.h"
#include "ledger/api/http.h"
#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "tests/test.h"
#include "tests/unit/audit/common.h"
#include "ledger/log/ct.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static char bin[512], tmp[512];

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs arbor-audit with args (NULL-terminated), stdout to out_path (if not
 * NULL). Returns the pid. */
/* Every child started, so that none outlives the test: a leftover daemon would
 * keep the test's output open and ctest would wait for it until its timeout. */
static pid_t kids[64];
static size_t nkids;

static void track(pid_t pid)
{
    if (pid > 0 && nkids < sizeof kids / sizeof kids[0])
        kids[nkids++] = pid;
}

static void kill_leftovers(void)
{
    for (size_t i = 0; i < nkids; i++)
        if (kids[i] > 0 && kill(kids[i], SIGKILL) == 0)
            waitpid(kids[i], NULL, 0);
    nkids = 0;
}

static pid_t spawn(const char *out_path, char *const args[])
{
    pid_t pid = fork();
    if (pid == 0) {
        /* die with the test, even if it aborts */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (out_path && !freopen(out_path, "w", stdout))
            _exit(126);
        execv(bin, args);
        _exit(127);
    }
    track(pid);
    return pid;
}

static pid_t spawn_prog(const char *out_path, const char *prog, char *const args[])
{
    pid_t pid = fork();
    if (pid == 0) {
        /* die with the test, even if it aborts */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (out_path && !freopen(out_path, "w", stdout))
            _exit(126);
        execv(prog, args);
        _exit(127);
    }
    track(pid);
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    for (size_t i = 0; i < nkids; i++)
        if (kids[i] == pid)
            kids[i] = 0; /* reaped below: its pid may be reused */
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int run(const char *out_path, char *const args[])
{
    return wait_exit(spawn(out_path, args));
}

static char *slurp(const char *path)
{
    size_t len;
    return (char *)arb_test_read_file(path, &len);
}

/* ---- witness ---- */

static int post(arb_audit_client *c, const char *url, const uint8_t *body, size_t len, long *status,
                char **out)
{
    uint8_t *o = NULL;
    size_t ol = 0;
    arb_errbuf eb;
    if (arb_audit_http(c, url, body, len, "text/plain", status, &o, &ol, &eb) != ARB_OK)
        return 0;
    *out = (char *)o;
    return 1;
}

static uint8_t *wit_request(size_t *len, uint64_t old, uint64_t size, const arb_note_signer *s,
                            const char *origin)
{
    arb_checkpoint cp;
    uint8_t *note = NULL;
    size_t nl = 0;
    arb_buf b = ARB_BUF_INIT;
    char line[64];
    arb_errbuf eb;
    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)origin;
    cp.size = size;
    memset(cp.root.b, 0x42, 32);
    cp.ext = (char *)"";
    if (arb_checkpoint_sign(&note, &nl, &cp, &s, 1, 1700000000000ULL, &eb) != ARB_OK)
        return NULL;
    snprintf(line, sizeof line, "old %llu\n\n", (unsigned long long)old);
    arb_buf_put(&b, line, strlen(line));
    arb_buf_put(&b, note, nl);
    free(note);
    return arb_buf_take(&b, len);
}

static pid_t start_witness(const char *keyfile, const char *state, const char *vkey, int port)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *args[] = {bin, "witness", "--key", (char *)keyfile, "--state", (char *)state,
                    "--listen", listen, "--log-vkey", (char *)vkey, NULL};
    return spawn(NULL, args);
}

static void test_witness(arb_audit_client *c)
{
    char keyfile[600], state[600], vkey_out[600], url[128], *vk, *body = NULL;
    arb_note_signer *log = NULL;
    char *log_vkey = NULL;
    arb_errbuf eb;
    int port = arb_test_free_port();
    pid_t pid;
    long status = 0;
    uint8_t *req;
    size_t len;

    snprintf(keyfile, sizeof keyfile, "%s/witness.key", tmp);
    snprintf(state, sizeof state, "%s/witness-state", tmp);
    snprintf(vkey_out, sizeof vkey_out, "%s/witness.vkey", tmp);
    {
        char *args[] = {bin, "witness", "--key", keyfile, "--generate", "witness.test/w1", NULL};
        CHECK_EQ(run(vkey_out, args), 0);
    }
    vk = slurp(vkey_out);
    CHECK_OR(vk != NULL && strncmp(vk, "witness.test/w1+", 16) == 0, );
    {
        /* generating over an existing key file is refused */
        char *args[] = {bin, "witness", "--key", keyfile, "--generate", "witness.test/w1", NULL};
        CHECK_EQ(run("/dev/null", args), 1);
    }
    CHECK_OR(arb_note_signer_generate(&log, "log.test/one", ARB_NOTE_ED25519, NULL, &log_vkey,
                                      &eb) == ARB_OK, );
    pid = start_witness(keyfile, state, log_vkey, port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/add-checkpoint", port);
    req = wit_request(&len, 0, 10, log, "log.test/one");
    /* wait until it listens */
    for (int i = 0; i < 600; i++) { /* up to ~30 s on a loaded machine */
        free(body);
        body = NULL;
        if (post(c, url, req, len, &status, &body))
            break;
        msleep(50);
    }
    if (status != 200)
        kill(pid, SIGTERM);
    CHECK_EQ(status, 200);
    /* the cosignature verifies under the printed vkey */
    {
        arb_note_verifier *v = NULL;
        arb_note *n = NULL;
        arb_note_result res;
        arb_buf m = ARB_BUF_INIT;
        char *nl = strchr(vk, '\n');
        const uint8_t *cp = (const uint8_t *)memchr(req, '\n', len) + 2; /* after "old 0\n\n" */
        const uint8_t *sep = memmem(cp, len - (size_t)(cp - req), "\n\n", 2); /* req is not NUL-terminated */
        if (nl)
            *nl = '\0';
        CHECK_OR(sep != NULL, );
        arb_buf_put(&m, cp, (size_t)(sep - cp) + 2);
        arb_buf_put(&m, body, strlen(body));
        CHECK_EQ(arb_note_verifier_from_vkey(&v, vk, strlen(vk), &eb), ARB_OK);
        CHECK_EQ(arb_note_parse(&n, m.data, m.len, &eb), ARB_OK);
        CHECK_EQ(arb_note_verify(n, (const arb_note_verifier *const *)&v, 1, &res, &eb), ARB_OK);
        arb_note_free(n);
        arb_note_verifier_free(v);
        arb_buf_free(&m);
    }
    free(body);
    body = NULL;
    /* a rollback to old 0 */
    CHECK(post(c, url, req, len, &status, &body));
    CHECK_EQ(status, 409);
    CHECK_STR(body, "10\n");
    free(body);
    body = NULL;
    free(req);
    /* an unknown origin */
    req = wit_request(&len, 0, 10, log, "log.test/two");
    CHECK(req != NULL);
    CHECK(post(c, url, req, len, &status, &body));
    CHECK_EQ(status, 404);
    free(body);
    body = NULL;
    free(req);
    kill(pid, SIGTERM);
    CHECK_EQ(wait_exit(pid), 0);

    /* restarted: the state is still there */
    pid = start_witness(keyfile, state, log_vkey, port);
    req = wit_request(&len, 0, 12, log, "log.test/one");
    for (int i = 0; i < 600; i++) { /* up to ~30 s on a loaded machine */
        free(body);
        body = NULL;
        if (post(c, url, req, len, &status, &body))
            break;
        msleep(50);
    }
    CHECK_EQ(status, 409);
    CHECK_STR(body, "10\n");
    free(body);
    free(req);
    kill(pid, SIGTERM);
    CHECK_EQ(wait_exit(pid), 0);
    free(vk);
    free(log_vkey);
    arb_note_signer_free(log);
}

/* ---- scripted logs ---- */

typedef struct {
    pthread_mutex_t lock;
    char *sth;
} fake_log;

static void h_sth(void *ud, arb_http_req *req)
{
    fake_log *l = ud;
    char *b;
    pthread_mutex_lock(&l->lock);
    b = strdup(l->sth ? l->sth : "");
    pthread_mutex_unlock(&l->lock);
    (void)arb_http_respond(req, 200, NULL, NULL, b, strlen(b));
    free(b);
}

static void set_sth(fake_log *l, const arb_audit_sth *s)
{
    json_t *o = arb_audit_sth_to_json(s);
    pthread_mutex_lock(&l->lock);
    free(l->sth);
    l->sth = json_dumps(o, JSON_COMPACT);
    pthread_mutex_unlock(&l->lock);
    json_decref(o);
}

static void h_entries(void *ud, arb_http_req *req);

static arb_http_server *start_log(fake_log *l, int with_entries)
{
    arb_http_config hc;
    arb_http_server *s = NULL;
    arb_errbuf eb;
    memset(&hc, 0, sizeof hc);
    hc.listen_host = "127.0.0.1";
    hc.workers = 2;
    pthread_mutex_init(&l->lock, NULL);
    if (arb_http_server_new(&s, &hc) != ARB_OK ||
        arb_http_route_add(s, ARB_HTTP_GET, "/ct/v1/get-sth", 0, h_sth, l) != ARB_OK ||
        (with_entries &&
         arb_http_route_add(s, ARB_HTTP_GET, "/ct/v1/get-entries", 0, h_entries, l) != ARB_OK) ||
        arb_http_server_start(s, &eb) != ARB_OK)
        return NULL;
    return s;
}

/* Counts lines of out that contain needle. */
static int count_lines(const char *path, const char *needle)
{
    char *t = slurp(path), *p;
    int n = 0;
    if (t == NULL)
        return -1;
    for (p = t; (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(t);
    return n;
}

/* The evidence_file of the first misbehaviour line in a --json output. */
static int evidence_file(const char *path, char *out, size_t cap)
{
    char *t = slurp(path), *line;
    int ok = 0;
    if (t == NULL)
        return 0;
    for (line = strtok(t, "\n"); line && !ok; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        const char *ev = json_string_value(json_object_get(o, "event"));
        const char *f = json_string_value(json_object_get(o, "evidence_file"));
        if (ev && strcmp(ev, "misbehaviour") == 0 && f) {
            snprintf(out, cap, "%s", f);
            ok = 1;
        }
        json_decref(o);
    }
    free(t);
    return ok;
}

static void test_follow_and_gossip(void)
{
    arb_ct_signer *s = NULL;
    arb_audit_log lg;
    char *pem = NULL;
    size_t pem_len;
    fake_log la = {PTHREAD_MUTEX_INITIALIZER, NULL}, lb = {PTHREAD_MUTEX_INITIALIZER, NULL};
    arb_http_server *sa, *sb;
    char keyfile[600], urla[64], urlb[64], sta[600], stb[600], outa[600], outb[600], ev[1200];
    char peer[64], listen[64];
    arb_audit_sth h5a, h5b;
    arb_hash ra = thash(0xa), rb = thash(0xb);
    int gport = arb_test_free_port();
    pid_t pa;
    FILE *f;

    CHECK_OR(tlog_new(&s, &lg, "http://127.0.0.1:1/"), );
    CHECK_OR(arb_ct_signer_public_pem(s, &pem, &pem_len) == ARB_OK, );
    snprintf(keyfile, sizeof keyfile, "%s/log.pem", tmp);
    f = fopen(keyfile, "w");
    CHECK_OR(f != NULL, );
    fwrite(pem, 1, pem_len, f);
    fclose(f);
    /* a forked log: two endpoints, one key, different trees of size 5 */
    CHECK(tlog_sth(&h5a, s, 5, 1000, &ra));
    CHECK(tlog_sth(&h5b, s, 5, 1001, &rb));
    sa = start_log(&la, 0);
    sb = start_log(&lb, 0);
    CHECK_OR(sa && sb, );
    set_sth(&la, &h5a);
    set_sth(&lb, &h5b);
    snprintf(urla, sizeof urla, "http://127.0.0.1:%d/", arb_http_server_port(sa));
    snprintf(urlb, sizeof urlb, "http://127.0.0.1:%d/", arb_http_server_port(sb));
    snprintf(sta, sizeof sta, "%s/auditor-a", tmp);
    snprintf(stb, sizeof stb, "%s/auditor-b", tmp);
    snprintf(outa, sizeof outa, "%s/a.out", tmp);
    snprintf(outb, sizeof outb, "%s/b.out", tmp);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", gport);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d/", gport);

    /* one round, clean: exit 0, one head line */
    {
        char *args[] = {bin, "follow", "--log", urla, "--key", keyfile, "--state", sta,
                        "--once", "--json", NULL};
        CHECK_EQ(run(outa, args), 0);
        CHECK_EQ(count_lines(outa, "\"event\":\"head\""), 1);
    }
    /* usage errors */
    {
        char *args[] = {bin, "follow", "--log", urla, "--state", sta, NULL};
        CHECK_EQ(run("/dev/null", args), 2);
    }
    /* auditor A keeps following log endpoint A and serves gossip */
    {
        char *args[] = {bin, "follow", "--log", urla, "--key", keyfile, "--state", sta,
                        "--gossip-listen", listen, "--interval", "1", "--json", NULL};
        pa = spawn(outa, args);
    }
    /* wait until A's gossip endpoint answers with a head */
    {
        arb_audit_client *c = NULL;
        char gurl[128];
        int ok = 0;
        CHECK_OR(arb_audit_client_new(&c, 2000) == ARB_OK, );
        snprintf(gurl, sizeof gurl, "%sgossip/v1/heads", peer);
        for (int i = 0; i < 600 && !ok; i++) { /* up to ~30 s on a loaded machine */
            uint8_t *b = NULL;
            size_t bl;
            long st = 0;
            arb_errbuf eb;
            if (arb_audit_http(c, gurl, NULL, 0, NULL, &st, &b, &bl, &eb) == ARB_OK && st == 200 &&
                strstr((char *)b, "tree_size") != NULL)
                ok = 1;
            free(b);
            if (!ok)
                msleep(50);
        }
        arb_audit_client_free(c);
        if (!ok) {
            /* never leave the daemon behind: it holds the test's output open */
            kill(pa, SIGKILL);
            wait_exit(pa);
        }
        CHECK(ok);
    }
    /* auditor B follows endpoint B and pulls A's heads: split view */
    {
        char *args[] = {bin, "follow", "--log", urlb, "--key", keyfile, "--state", stb,
                        "--gossip-peer", peer, "--once", "--json", NULL};
        int exit_b = run(outb, args), exit_a;
        kill(pa, SIGTERM);
        exit_a = wait_exit(pa);
        CHECK_EQ(exit_b, 1);
        CHECK_EQ(exit_a, 0);
        CHECK_EQ(count_lines(outb, "\"event\":\"misbehaviour\""), 1);
        CHECK_EQ(count_lines(outb, "\"kind\":\"split-view\""), 2); /* line + report */
        CHECK(evidence_file(outb, ev, sizeof ev));
    }
    /* the report stands on its own */
    {
        char *args[] = {bin, "verify-evidence", ev, NULL};
        CHECK_EQ(run("/dev/null", args), 0);
    }
    /* tampered report: refused */
    {
        char bad[700];
        char *t = slurp(ev), *p;
        CHECK_OR(t != NULL, );
        p = strstr(t, "\"tree_size\": 5");
        CHECK_OR(p != NULL, );
        p[13] = '6';
        snprintf(bad, sizeof bad, "%s/bad-evidence.json", tmp);
        f = fopen(bad, "w");
        fputs(t, f);
        fclose(f);
        free(t);
        char *args[] = {bin, "verify-evidence", bad, NULL};
        CHECK_EQ(run("/dev/null", args), 1);
        char *args2[] = {bin, "verify-evidence", keyfile, NULL};
        CHECK_EQ(run("/dev/null", args2), 1);
        char *args3[] = {bin, "verify-evidence", NULL};
        CHECK_EQ(run("/dev/null", args3), 2);
    }
    arb_http_server_stop(sa);
    arb_http_server_stop(sb);
    arb_http_server_free(sa);
    arb_http_server_free(sb);
    free(la.sth);
    free(lb.sth);
    free(pem);
    arb_audit_log_clear(&lg);
    arb_ct_signer_free(s);
}

/* ---- download, watch and --exec ---- */

static char *entries_body;

static void h_entries(void *ud, arb_http_req *req)
{
    (void)ud;
    (void)arb_http_respond(req, 200, NULL, NULL, entries_body, strlen(entries_body));
}

static json_t *cert_entry(const char *cn, const char *san, long serial, arb_hash *lh)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    unsigned char *der = NULL;
    int dl;
    arb_ct_leaf leaf;
    arb_buf b = ARB_BUF_INIT;
    char *li;
    json_t *o = NULL;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, k, EVP_sha256());
    dl = i2d_X509(x, &der);
    memset(&leaf, 0, sizeof leaf);
    leaf.timestamp = 1000;
    leaf.entry.entry_type = ARB_CT_ENTRY_X509;
    leaf.entry.cert = der;
    leaf.entry.cert_len = dl > 0 ? (size_t)dl : 0;
    if (dl > 0 && arb_ct_leaf_encode(&b, &leaf) == ARB_OK) {
        arb_sha256 *h = NULL;
        if (arb_sha256_new(&h) == ARB_OK)
            arb_merkle_leaf_hash(h, lh, b.data, b.len);
        arb_sha256_free(h);
        li = arb_base64_encode(b.data, b.len);
        o = json_pack("{s:s, s:s}", "leaf_input", li, "extra_data", "");
        free(li);
    }
    arb_buf_free(&b);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(k);
    return o;
}

static void test_download_exec(void)
{
    arb_ct_signer *s = NULL;
    arb_audit_log lg;
    char *pem = NULL;
    size_t pem_len;
    fake_log lc = {PTHREAD_MUTEX_INITIALIZER, NULL};
    arb_http_server *sc;
    arb_audit_sth h2;
    arb_hash r = thash(0x2c), lh[2];
    char keyfile[600], url[64], st[600], out[600], hits[600], cmd[800], *t;
    json_t *ents;
    FILE *f;
    arb_errbuf eb;

    CHECK_OR(tlog_new(&s, &lg, "http://127.0.0.1:1/"), );
    CHECK_OR(arb_ct_signer_public_pem(s, &pem, &pem_len) == ARB_OK, );
    snprintf(keyfile, sizeof keyfile, "%s/log-c.pem", tmp);
    f = fopen(keyfile, "w");
    CHECK_OR(f != NULL, );
    fwrite(pem, 1, pem_len, f);
    fclose(f);
    ents = json_pack("{s:[o, o]}", "entries",
                     cert_entry("mail.example.org", "DNS:mail.example.org", 1, &lh[0]),
                     cert_entry("www.example.com", "DNS:www.example.com,DNS:example.com", 2, &lh[1]));
    entries_body = json_dumps(ents, JSON_COMPACT);
    json_decref(ents);
    tree_root(lh, 2, &r); /* the entries must hash to the signed root */
    CHECK(tlog_sth(&h2, s, 2, 1000, &r));
    sc = start_log(&lc, 1);
    CHECK_OR(sc != NULL, );
    set_sth(&lc, &h2);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", arb_http_server_port(sc));
    snprintf(st, sizeof st, "%s/auditor-c", tmp);
    snprintf(out, sizeof out, "%s/c.out", tmp);
    snprintf(hits, sizeof hits, "%s/hits.txt", tmp);
    snprintf(cmd, sizeof cmd, "printf '%%s %%s\\n' \"$ARB_ENTRY_INDEX\" \"$ARB_MATCH_NAME\" >> %s", hits);
    {
        char *args[] = {bin, "follow", "--log", url, "--key", keyfile, "--state", st,
                        "--download", "--watch", "example.com", "--exec", cmd, "--once", NULL};
        CHECK_EQ(run(out, args), 0);
    }
    t = slurp(out);
    CHECK_OR(t != NULL, );
    CHECK(strstr(t, "match ") != NULL && strstr(t, " entry 1 ") != NULL);
    CHECK(strstr(t, "mail.example.org") == NULL);
    free(t);
    t = slurp(hits);
    CHECK_OR(t != NULL, );
    CHECK(strncmp(t, "1 ", 2) == 0 && strstr(t, "example.com") != NULL);
    free(t);
    /* On a terminal (script(1) gives it one) the download shows progress on
     * stderr; in --json mode it does not. script(1) is part of Debian's
     * essential bsdutils: its absence fails the test rather than skipping
     * the check. */
    CHECK(access("/usr/bin/script", X_OK) == 0);
    {
        char line[2400], st2[700], st3[700], typescript[700];
        snprintf(st2, sizeof st2, "%s/auditor-tty", tmp);
        snprintf(st3, sizeof st3, "%s/auditor-tty-json", tmp);
        snprintf(typescript, sizeof typescript, "%s/tty.out", tmp);
        snprintf(line, sizeof line, "%s follow --log %s --key %s --state %s --download --once",
                 bin, url, keyfile, st2);
        {
            char *args[] = {"/usr/bin/script", "-qec", line, "/dev/null", NULL};
            CHECK_EQ(wait_exit(spawn_prog(typescript, "/usr/bin/script", args)), 0);
        }
        CHECK(count_lines(typescript, "2/2 entries verified") == 1);
        snprintf(line, sizeof line,
                 "%s follow --log %s --key %s --state %s --download --once --json", bin, url,
                 keyfile, st3);
        {
            char *args[] = {"/usr/bin/script", "-qec", line, "/dev/null", NULL};
            CHECK_EQ(wait_exit(spawn_prog(typescript, "/usr/bin/script", args)), 0);
        }
        CHECK_EQ(count_lines(typescript, "entries verified"), 0);
        CHECK_EQ(count_lines(typescript, "\"event\":\"head\""), 1);
    }
    arb_http_server_stop(sc);
    arb_http_server_free(sc);
    free(lc.sth);
    free(entries_body);
    free(pem);
    arb_audit_log_clear(&lg);
    arb_ct_signer_free(s);
    (void)eb;
}

static void test_verify_sth(void)
{
    char path[600], key[600], other[600];
    size_t len;
    uint8_t *raw = arb_test_read_vector("ct/real_sth_pilot.json", &len);
    json_t *doc = raw ? json_loadb((const char *)raw, len, 0, NULL) : NULL;
    FILE *f;
    CHECK_OR(doc != NULL, );
    snprintf(path, sizeof path, "%s/pilot-sth.json", tmp);
    f = fopen(path, "w");
    json_dumpf(json_object_get(doc, "get_sth_response"), f, 0);
    fclose(f);
    arb_test_vector_path(key, sizeof key, "ct/certs/google-ct-pilot-server-key-public.pem");
    arb_test_vector_path(other, sizeof other, "ct/certs/ct-server-key-public.pem");
    {
        char *args[] = {bin, "verify-sth", "--key", key, path, NULL};
        CHECK_EQ(run("/dev/null", args), 0);
        char *args2[] = {bin, "verify-sth", "--key", other, path, NULL};
        CHECK_EQ(run("/dev/null", args2), 1);
    }
    json_decref(doc);
    free(raw);
}

int main(void)
{
    arb_audit_client *c = NULL;
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    arb_test_bin(bin, sizeof bin, "arbor-audit");
    CHECK_OR(arb_test_tmpdir(tmp, sizeof tmp) == 0, 1);
    CHECK_OR(arb_audit_client_new(&c, 5000) == ARB_OK, 1);
    test_verify_sth();
    test_witness(c);
    test_follow_and_gossip();
    test_download_exec();
    arb_audit_client_free(c);
    arb_test_rmtree(tmp);
    curl_global_cleanup();
    kill_leftovers();
    return arb_test_done();
}
