/* The real arbord process on 127.0.0.1, checked from outside in the situations
 * the log must refuse or survive:
 *  - a full disk: the data directory on a small tmpfs the test mounts (root,
 *    or CAP_SYS_ADMIN, is needed; run as root and unable to mount, the test
 *    fails). Once the disk is full, submissions get 503 with a JSON reason
 *    that names the cause, are counted in /metrics, reads keep working, the
 *    server does not spin (its CPU time over three seconds stays small), and
 *    once the file system grows the log accepts submissions again by itself,
 *    consistent with every tree head before, also after a restart;
 *  - certificates in BER: a leaf whose outer length, whose length inside the
 *    TBSCertificate, or whose length is indefinite, each refused with 400 and
 *    its reason, while the DER original is accepted, its SCT verifies over the
 *    exact submitted bytes, and get-entries returns those bytes;
 *  - a precertificate chain under an intermediate with pathLenConstraint 0,
 *    through a precertificate signing certificate: accepted, and its SCT
 *    verifies over the final certificate's TBS. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/proof.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/unit/log/pki.h"

static char tmpdir[512], mnt[600], datadir[700], keyfile[600], rootsfile[600];
static int port;
static pid_t child;
static arb_ct_verifier *verifier;
static arb_sha256 *sha;

typedef arb_tl_body body;

/* GET (post == NULL) or POST; returns the status (0 on a transport error). */
static long http(const char *path, const char *post, body *out)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30, .flags = ARB_TL_HTTP_NOSIGNAL};

    return arb_tl_http_raw(o, path, post, post != NULL ? strlen(post) : 0, out);
}

static int stop_server(int sig)
{
    int status = -1;

    if (child > 0) {
        kill(child, sig);
        waitpid(child, &status, 0);
        child = 0;
    }
    return status;
}

static int start_server(void)
{
    char listen[64], arbord[1024];
    int i;

    if (child > 0)
        stop_server(SIGKILL);
    port = arb_test_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    arb_test_bin(arbord, sizeof(arbord), "arbord");
    child = fork();
    if (child == 0) {
        char logpath[700];
        snprintf(logpath, sizeof(logpath), "%s/arbord.log", tmpdir);
        if (freopen(logpath, "a", stderr) == NULL)
            _exit(126);
        execl(arbord, arbord, "--datadir", datadir, "--listen", listen, "--network", "regtest",
              "--log-key", keyfile, "--log-roots", rootsfile, (char *)NULL);
        _exit(127);
    }
    if (child < 0)
        return 0;
    for (i = 0; i < 200; i++) {
        body b;
        long st = http("/ct/v1/get-sth", NULL, &b);
        free(b.data);
        if (st == 200)
            return 1;
        usleep(50000);
    }
    return 0;
}

/* The test PKI: R root; I intermediate; Ipl0 intermediate with pathlen 0 and
 * P0 the precertificate signing certificate it issued. */
static EVP_PKEY *k_root, *k_int, *k_pre, *k_leaf;
static X509 *R, *I, *Ipl0, *P0;
static uint8_t *I_der, *Ipl0_der, *P0_der;
static size_t I_len, Ipl0_len, P0_len;

static uint8_t *leaf_der(long serial, X509 *issuer, EVP_PKEY *issuer_key, unsigned flags,
                         size_t *len)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec s = {"leaf.example.test", NULL, serial, now - 3600, now + 86400 * 30, flags};
    X509 *x = pki_cert(&s, k_leaf, issuer, issuer_key);
    uint8_t *d = x ? pki_der(x, len) : NULL;

    X509_free(x);
    return d;
}

/* POSTs the chain {c0, c1[, c2]}; returns the status, body in *b. */
static long post_chain(const char *path, const uint8_t *c0, size_t l0, const uint8_t *c1,
                       size_t l1, const uint8_t *c2, size_t l2, body *b)
{
    arb_ct_cert_ref refs[3] = {{c0, l0}, {c1, l1}, {c2, l2}};
    char *req = arb_ct_json_chain(refs, c2 ? 3 : 2);
    long st;

    if (req == NULL) {
        memset(b, 0, sizeof(*b));
        return 0;
    }
    st = http(path, req, b);
    free(req);
    return st;
}

/* Checks an add-chain / add-pre-chain answer: an SCT by the log's key over
 * entry e; returns its leaf index through *index. */
static void check_sct(const body *b, const arb_ct_signed_entry *e, uint64_t *index)
{
    arb_ct_sct sct;
    uint8_t *store = NULL;

    CHECK(b->data != NULL);
    CHECK(arb_ct_json_sct_parse(&sct, &store, b->data, b->len) == ARB_OK);
    CHECK(arb_ct_sct_verify(verifier, &sct, e) == ARB_OK);
    CHECK(arb_ct_leaf_index_find(index, sct.ext, sct.ext_len) == ARB_OK);
    free(store);
}

static void x509_entry(arb_ct_signed_entry *e, const uint8_t *der, size_t len)
{
    memset(e, 0, sizeof(*e));
    e->entry_type = ARB_CT_ENTRY_X509;
    e->cert = der;
    e->cert_len = len;
}

/* The JSON error message of an answer ("" if none). */
static void error_of(const body *b, char *out, size_t n)
{
    json_error_t je;
    json_t *o = b->data ? json_loadb(b->data, b->len, 0, &je) : NULL;
    const char *s = o ? json_string_value(json_object_get(o, "error")) : NULL;

    snprintf(out, n, "%s", s ? s : "");
    json_decref(o);
}

/* Decodes a base64 JSON string (NULL: failure). */
static arb_err b64(uint8_t **out, size_t *len, const char *s)
{
    *out = NULL;
    *len = 0;
    if (s == NULL)
        return ARB_ERR_PARSE;
    return arb_base64_decode(out, len, s, strlen(s));
}

typedef struct {
    uint64_t size;
    uint8_t root[32];
} sth_t;

static int get_sth(sth_t *s)
{
    body b;
    json_error_t je;
    json_t *o;
    uint8_t *r = NULL;
    size_t rl = 0;
    int ok = 0;

    if (http("/ct/v1/get-sth", NULL, &b) != 200) {
        free(b.data);
        return 0;
    }
    o = json_loadb(b.data, b.len, 0, &je);
    if (o != NULL && json_is_integer(json_object_get(o, "tree_size")) &&
        b64(&r, &rl, json_string_value(json_object_get(o, "sha256_root_hash"))) ==
            ARB_OK &&
        rl == 32) {
        s->size = (uint64_t)json_integer_value(json_object_get(o, "tree_size"));
        memcpy(s->root, r, 32);
        ok = 1;
    }
    free(r);
    json_decref(o);
    free(b.data);
    return ok;
}

static unsigned long long metric(const char *name)
{
    body b;
    unsigned long long v = 0;
    char key[128];
    const char *p;

    if (http("/metrics", NULL, &b) != 200 || b.data == NULL) {
        free(b.data);
        return 0;
    }
    snprintf(key, sizeof(key), "\n%s ", name);
    if ((p = strstr(b.data, key)) != NULL)
        v = strtoull(p + strlen(key), NULL, 10);
    free(b.data);
    return v;
}

/* utime + stime of a process, seconds (/proc/PID/stat fields 14 and 15). */
static double cpu_of(pid_t pid)
{
    char path[64], buf[2048], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int fill(const char *path)
{
    static char chunk[64 * 1024];
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return 0;
    setvbuf(f, NULL, _IONBF, 0);
    while (fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk) {
    }
    while (fwrite(chunk, 1, 512, f) == 512) {
    }
    while (fwrite(chunk, 1, 1, f) == 1) {
    }
    fclose(f);
    return 1;
}

/* The domain index after a storage failure: GET /log/v1/search for the
 * leaves' name lists every entry of the tree exactly once (the index rows are
 * written in each entry's batch, so a failed batch leaves none behind and a
 * batch written after the store was reopened has them), among them `want`. */
static void check_domain_index(uint64_t tree_size, uint64_t want)
{
    body b;
    json_error_t je;
    json_t *o, *arr = NULL;
    uint8_t *seen = calloc(tree_size ? tree_size : 1, 1);
    size_t k, found = 0;

    CHECK(seen != NULL);
    CHECK_EQ(http("/log/v1/search?domain=leaf.example.test&limit=1000", NULL, &b), 200);
    o = b.data ? json_loadb(b.data, b.len, 0, &je) : NULL;
    free(b.data);
    CHECK(o != NULL && json_is_array(arr = json_object_get(o, "results")));
    for (k = 0; seen != NULL && k < json_array_size(arr); k++) {
        json_int_t i = json_integer_value(json_object_get(json_array_get(arr, k), "index"));
        CHECK(i >= 0 && (uint64_t)i < tree_size);
        if (i >= 0 && (uint64_t)i < tree_size) {
            CHECK(!seen[i]);
            seen[i] = 1;
            found += (uint64_t)i == want;
        }
    }
    if (tree_size <= 1000)
        CHECK_EQ(json_array_size(arr), tree_size);
    CHECK_EQ(found, 1);
    json_decref(o);
    free(seen);
}

static void test_disk_full(void)
{
    char filler[700], msg[512];
    sth_t before, after;
    body b;
    long st = 0;
    uint64_t index;
    long serial = 1000;
    int i;

    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    CHECK(start_server());
    {
        size_t l;
        uint8_t *d = leaf_der(serial++, I, k_int, 0, &l);
        arb_ct_signed_entry e;
        CHECK(d != NULL);
        CHECK_EQ(post_chain("/ct/v1/add-chain", d, l, I_der, I_len, NULL, 0, &b), 200);
        x509_entry(&e, d, l);
        check_sct(&b, &e, &index);
        free(b.data);
        free(d);
    }
    CHECK(get_sth(&before) && before.size == 1);

    /* The disk fills up; the next batch's write fails: 503 with the reason. */
    CHECK(fill(filler));
    for (i = 0; i < 50 && st != 503; i++) {
        size_t l;
        uint8_t *d = leaf_der(serial++, I, k_int, 0, &l);
        CHECK(d != NULL);
        st = post_chain("/ct/v1/add-chain", d, l, I_der, I_len, NULL, 0, &b);
        if (st == 503)
            error_of(&b, msg, sizeof(msg));
        free(b.data);
        free(d);
    }
    CHECK_EQ(st, 503);
    printf("full disk: %s\n", msg);
    CHECK(strstr(msg, "disk full") != NULL);
    CHECK(strstr(msg, mnt) == NULL); /* no server paths */

    /* Refused at once from now on, counted; reads work; no spinning. */
    {
        size_t l;
        uint8_t *d = leaf_der(serial, I, k_int, 0, &l);
        CHECK(d != NULL);
        CHECK_EQ(post_chain("/ct/v1/add-chain", d, l, I_der, I_len, NULL, 0, &b), 503);
        error_of(&b, msg, sizeof(msg));
        CHECK(strstr(msg, "disk full") != NULL);
        free(b.data);
        free(d);
    }
    CHECK(metric("arbor_log_submissions_unavailable_total") >= 2);
    CHECK_EQ(metric("arbor_log_storage_failed"), 1);
    CHECK(get_sth(&after) && after.size >= before.size);
    {
        double c0 = cpu_of(child), c1;
        sleep(3);
        c1 = cpu_of(child);
        printf("arbord CPU time over 3 s with a full disk: %.2f s\n", c1 - c0);
        CHECK(c0 >= 0 && c1 >= 0);
        CHECK(c1 - c0 < 1.0);
    }

    /* Space is freed: the log recovers by itself. */
    CHECK(unlink(filler) == 0);
    CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=32m") == 0);
    st = 0;
    for (i = 0; i < 300 && st != 200; i++) {
        size_t l;
        uint8_t *d = leaf_der(serial, I, k_int, 0, &l);
        arb_ct_signed_entry e;
        CHECK(d != NULL);
        st = post_chain("/ct/v1/add-chain", d, l, I_der, I_len, NULL, 0, &b);
        if (st == 200) {
            x509_entry(&e, d, l);
            check_sct(&b, &e, &index);
        } else {
            CHECK_EQ(st, 503);
            usleep(100000);
        }
        free(b.data);
        free(d);
    }
    CHECK_EQ(st, 200);
    CHECK(get_sth(&after));
    CHECK_EQ(after.size, index + 1);
    CHECK(after.size > before.size);
    {
        /* Consistent with the tree head from before the failure. */
        char path[128];
        json_error_t je;
        json_t *o, *arr;
        arb_hash proof[64], r1, r2;
        size_t n = 0, k;
        arb_errbuf eb;
        snprintf(path, sizeof(path), "/ct/v1/get-sth-consistency?first=%llu&second=%llu",
                 (unsigned long long)before.size, (unsigned long long)after.size);
        CHECK_EQ(http(path, NULL, &b), 200);
        o = json_loadb(b.data, b.len, 0, &je);
        free(b.data);
        CHECK(o != NULL && json_is_array(arr = json_object_get(o, "consistency")));
        for (k = 0; k < json_array_size(arr) && k < 64; k++) {
            uint8_t *h = NULL;
            size_t hl = 0;
            if (b64(&h, &hl, json_string_value(json_array_get(arr, k))) == ARB_OK &&
                hl == 32)
                memcpy(proof[n++].b, h, 32);
            free(h);
        }
        CHECK_EQ(n, json_array_size(arr));
        json_decref(o);
        memcpy(r1.b, before.root, 32);
        memcpy(r2.b, after.root, 32);
        CHECK(arb_merkle_consistency_verify(sha, before.size, after.size, &r1, &r2, proof, n,
                                            &eb) == ARB_OK);
    }
    CHECK_EQ(metric("arbor_log_storage_failed"), 0);
    CHECK(metric("arbor_log_storage_write_failures_total") >= 1);
    check_domain_index(after.size, index);

    /* A clean stop, and the tree is all there after a restart. */
    {
        int status = stop_server(SIGTERM);
        sth_t again;
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(start_server());
        CHECK(get_sth(&again));
        CHECK_EQ(again.size, after.size);
        CHECK_MEM(again.root, after.root, 32);
        check_domain_index(again.size, index);
    }
}

typedef struct {
    const char *what;
    int path[4];
    int mode;
    const char *reason;
} ber_case;

static void test_ber(void)
{
    static const ber_case cases[] = {
        {"outer length in a non-minimal form", {-1}, PKI_BER_LONG_LENGTH, "non-minimal length"},
        {"a length inside the TBSCertificate in a non-minimal form", {0, 4, -1},
         PKI_BER_LONG_LENGTH, "non-minimal length"},
        {"indefinite length", {-1}, PKI_BER_INDEFINITE, "indefinite length"},
        {"indefinite length inside the TBSCertificate", {0, 5, -1}, PKI_BER_INDEFINITE,
         "indefinite length"},
    };
    size_t l, i;
    uint8_t *d = leaf_der(5000, I, k_int, 0, &l);
    sth_t s0, s1;
    body b;
    char msg[512];

    CHECK(d != NULL);
    CHECK(get_sth(&s0));
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t bl;
        uint8_t *ber = pki_ber_variant(d, l, cases[i].path, cases[i].mode, &bl);
        CHECK(ber != NULL);
        CHECK_EQ(post_chain("/ct/v1/add-chain", ber, bl, I_der, I_len, NULL, 0, &b), 400);
        error_of(&b, msg, sizeof(msg));
        printf("BER leaf (%s): %s\n", cases[i].what, msg);
        CHECK(strstr(msg, "certificate 0 is not DER") != NULL);
        CHECK(strstr(msg, cases[i].reason) != NULL);
        free(b.data);
        free(ber);
    }
    CHECK(get_sth(&s1) && s1.size == s0.size);

    /* The DER original: accepted, the SCT is over exactly the submitted
     * bytes, and the log serves those bytes. */
    {
        arb_ct_signed_entry e;
        uint64_t index;
        char path[96];
        json_error_t je;
        json_t *o;
        uint8_t *leaf = NULL;
        size_t leaf_len = 0;
        arb_ct_leaf ml;
        CHECK_EQ(post_chain("/ct/v1/add-chain", d, l, I_der, I_len, NULL, 0, &b), 200);
        x509_entry(&e, d, l);
        check_sct(&b, &e, &index);
        free(b.data);
        snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
                 (unsigned long long)index, (unsigned long long)index);
        CHECK_EQ(http(path, NULL, &b), 200);
        o = json_loadb(b.data, b.len, 0, &je);
        free(b.data);
        CHECK(o != NULL);
        CHECK(b64(&leaf, &leaf_len,
                  json_string_value(json_object_get(
                      json_array_get(json_object_get(o, "entries"), 0), "leaf_input"))) == ARB_OK);
        json_decref(o);
        CHECK(arb_ct_leaf_decode(&ml, leaf, leaf_len) == ARB_OK);
        CHECK(ml.entry.entry_type == ARB_CT_ENTRY_X509);
        CHECK(ml.entry.cert_len == l && memcmp(ml.entry.cert, d, l) == 0);
        free(leaf);
    }
    free(d);
}

static void test_pathlen0_precert(void)
{
    size_t ql, fl;
    uint8_t *q = leaf_der(6000, P0, k_pre, PKI_POISON, &ql);
    uint8_t *f = leaf_der(6000, Ipl0, k_int, 0, &fl);
    arb_ct_signed_entry e;
    uint64_t index;
    body b;

    CHECK(q != NULL && f != NULL);
    CHECK_EQ(post_chain("/ct/v1/add-pre-chain", q, ql, P0_der, P0_len, Ipl0_der, Ipl0_len, &b),
             200);
    memset(&e, 0, sizeof(e));
    e.entry_type = ARB_CT_ENTRY_PRECERT;
    CHECK(pki_raw_tbs(f, fl, &e.cert, &e.cert_len));
    CHECK(pki_spki_hash(Ipl0_der, Ipl0_len, e.issuer_key_hash));
    check_sct(&b, &e, &index);
    free(b.data);
    free(q);
    free(f);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, n, f) == n;

    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

static int setup(void)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec sr = {"Root", NULL, 1, now - 86400, now + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, now - 86400, now + 86400 * 365, PKI_CA};
    pki_spec sl = {"Intermediate pathlen 0", NULL, 3, now - 86400, now + 86400 * 365,
                   PKI_CA | PKI_PATHLEN0};
    pki_spec sp = {"Precert Signer", NULL, 4, now - 86400, now + 86400 * 365,
                   PKI_CA | PKI_PRE_SIGNER};
    arb_ct_signer *s = NULL;
    char *pem = NULL, *pub = NULL;
    size_t pem_len, pub_len;
    arb_errbuf eb;
    int ok;

    k_root = pki_key();
    k_int = pki_key();
    k_pre = pki_key();
    k_leaf = pki_key();
    R = pki_cert(&sr, k_root, NULL, NULL);
    I = pki_cert(&si, k_int, R, k_root);
    Ipl0 = pki_cert(&sl, k_int, R, k_root);
    P0 = pki_cert(&sp, k_pre, Ipl0, k_int);
    if (!R || !I || !Ipl0 || !P0)
        return 0;
    I_der = pki_der(I, &I_len);
    Ipl0_der = pki_der(Ipl0, &Ipl0_len);
    P0_der = pki_der(P0, &P0_len);
    if (I_der == NULL || Ipl0_der == NULL || P0_der == NULL ||
        arb_test_tmpdir(tmpdir, sizeof(tmpdir)) != 0)
        return 0;
    snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
    snprintf(datadir, sizeof(datadir), "%s/data", mnt);
    snprintf(keyfile, sizeof(keyfile), "%s/log-key.pem", tmpdir);
    snprintf(rootsfile, sizeof(rootsfile), "%s/roots.pem", tmpdir);
    if (arb_ct_signer_generate(&s, &eb) != ARB_OK ||
        arb_ct_signer_private_pem(s, &pem, &pem_len) != ARB_OK ||
        arb_ct_signer_public_pem(s, &pub, &pub_len) != ARB_OK)
        return 0;
    ok = write_file(keyfile, pem, pem_len) &&
         arb_ct_verifier_from_pem(&verifier, pub, pub_len, &eb) == ARB_OK;
    free(pem);
    free(pub);
    arb_ct_signer_free(s);
    pem = pki_pem(R, &pem_len);
    ok = ok && pem != NULL && write_file(rootsfile, pem, pem_len);
    free(pem);
    return ok && mkdir(mnt, 0700) == 0;
}

int main(void)
{
    int mounted = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    if (!setup()) {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
    } else if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m") != 0) {
        /* Without a mount the full-disk part cannot run, and this test has
         * nothing else to stand on: a failure, not a skip. */
        arb_test_fail(__FILE__, __LINE__,
                      "cannot mount a tmpfs for the data directory (%s); run as root",
                      strerror(errno));
    } else {
        mounted = 1;
        test_disk_full();
        if (child > 0) {
            test_ber();
            test_pathlen0_precert();
        }
    }
    if (child > 0)
        stop_server(SIGKILL);
    if (mounted)
        umount2(mnt, MNT_DETACH);
    if (arb_test_failed == 0)
        arb_test_rmtree(tmpdir);
    else
        fprintf(stderr, "kept %s (arbord.log)\n", tmpdir);
    arb_ct_verifier_free(verifier);
    arb_sha256_free(sha);
    X509_free(R);
    X509_free(I);
    X509_free(Ipl0);
    X509_free(P0);
    free(I_der);
    free(Ipl0_der);
    free(P0_der);
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_pre);
    EVP_PKEY_free(k_leaf);
    curl_global_cleanup();
    return arb_test_done();
}
