/* A stock RFC 6962 client against a real arbord: the Go client of Google's
 * certificate-transparency project (Debian's golang-github-google-
 * certificate-transparency-dev), built into ct-go-client from
 * tests/interop/ctgo/. It submits a chain made here (root -> intermediate ->
 * leaf), checks the SCT's and the STH's signatures with its own code, decodes
 * every entry with its own TLS decoders and rebuilds the tree to the signed
 * root. Done on a log with earlier entries too. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "tests/proc.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

/* arbord; main stops it even when a check ends run() early */
static arb_proc *d;
static char dir[512], arbord[4096], goclient[4096];

static int write_text(const char *path, const char *a, const char *b, const char *c)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fputs(a, f) >= 0 && (b == NULL || fputs(b, f) >= 0) &&
             (c == NULL || fputs(c, f) >= 0);
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

/* Runs the Go client once for a new leaf `cn`, the size-th entry of the log;
 * returns its exit status, -1 also when it exited 0 without reporting a tree
 * of `size` entries all decoded by the library (a client that checked
 * nothing must not pass). */
static int submit(const char *url, const char *pub, X509 *root, X509 *inter, EVP_PKEY *ik,
                  const char *cn, long serial, long size)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec ls = {cn, NULL, serial, now - 3600, now + 86400 * 30, 0};
    EVP_PKEY *lk = pki_key();
    X509 *leaf = pki_cert(&ls, lk, inter, ik);
    size_t l0, l1, l2;
    char *p0 = pki_pem(leaf, &l0), *p1 = pki_pem(inter, &l1), *p2 = pki_pem(root, &l2);
    char chain[700], line[512] = "";
    const char *argv[] = {goclient, url, pub, chain, NULL};
    arb_proc *p = NULL;
    int st = -1;
    char want[96];

    snprintf(chain, sizeof chain, "%s/chain-%ld.pem", dir, serial);
    if (p0 && p1 && p2 && write_text(chain, p0, p1, p2) && arb_proc_spawn(&p, argv) == 0) {
        st = arb_proc_wait(p, 60000);
        snprintf(want, sizeof want, "{\"ok\":true,\"tree_size\":%ld,\"entries_parsed\":%ld,", size,
                 size);
        if (arb_proc_wait_line(p, ARB_PROC_STDOUT, want, line, sizeof line, 1000))
            printf("%s\n", line);
        else {
            char *o = arb_proc_output(p, ARB_PROC_STDOUT);
            char *err = arb_proc_output(p, ARB_PROC_STDERR);
            fprintf(stderr, "ct-go-client (exit %d) did not report %s...; its output:\n%s%s", st,
                    want, o ? o : "", err ? err : "");
            free(o);
            free(err);
            if (st == 0)
                st = -1;
        }
    }
    arb_proc_free(p);
    free(p0);
    free(p1);
    free(p2);
    X509_free(leaf);
    EVP_PKEY_free(lk);
    return st;
}

static void run(void)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec rs = {"Interop Root", NULL, 1, now - 86400, now + 86400 * 365, PKI_CA};
    pki_spec is = {"Interop Intermediate", NULL, 2, now - 86400, now + 86400 * 365, PKI_CA};
    EVP_PKEY *rk, *ik, *logkey;
    X509 *root, *inter;
    char roots[600], keyf[600], pub[600], data[600], url[64];
    char *rootpem;
    size_t rootlen;
    FILE *f;
    int port;

    CHECK_OR(arb_test_bin(arbord, sizeof arbord, "arbord") != NULL &&
                 arb_test_bin(goclient, sizeof goclient, "ct-go-client") != NULL &&
                 arb_test_tmpdir(dir, sizeof dir) == 0,
             );
    rk = pki_key();
    ik = pki_key();
    logkey = pki_key();
    root = pki_cert(&rs, rk, NULL, NULL);
    inter = pki_cert(&is, ik, root, rk);
    CHECK_OR(root && inter && logkey, );
    snprintf(roots, sizeof roots, "%s/roots.pem", dir);
    snprintf(keyf, sizeof keyf, "%s/log-key.pem", dir);
    snprintf(pub, sizeof pub, "%s/log-pub.pem", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    rootpem = pki_pem(root, &rootlen);
    CHECK_OR(rootpem && write_text(roots, rootpem, NULL, NULL), );
    free(rootpem);
    f = fopen(keyf, "w");
    CHECK_OR(f && PEM_write_PrivateKey(f, logkey, NULL, NULL, 0, NULL, NULL) == 1, );
    fclose(f);
    f = fopen(pub, "w");
    CHECK_OR(f && PEM_write_PUBKEY(f, logkey) == 1, );
    fclose(f);
    {
        const char *argv[] = {arbord, "--datadir", data, "--listen", "127.0.0.1:0", "--network",
                              "regtest", "--log-key", keyf, "--log-roots", roots, "--json", NULL};
        CHECK_OR(arb_proc_spawn(&d, argv) == 0, );
    }
    port = arb_proc_wait_port(d, 30000);
    CHECK_OR(port > 0, );
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

    /* The first entry, then two more: each run rebuilds the whole tree. */
    CHECK_EQ(submit(url, pub, root, inter, ik, "one.interop.test", 100, 1), 0);
    CHECK_EQ(submit(url, pub, root, inter, ik, "two.interop.test", 101, 2), 0);
    CHECK_EQ(submit(url, pub, root, inter, ik, "three.interop.test", 102, 3), 0);

    arb_proc_kill(d, SIGTERM);
    CHECK_EQ(arb_proc_wait(d, 30000), 0);
    arb_proc_free(d);
    d = NULL;
    X509_free(root);
    X509_free(inter);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(logkey);
    arb_test_rmtree(dir);
}

int main(void)
{
    arb_test_seed_init();
    run();
    arb_proc_free(d); /* SIGKILLs it if a failed check left it running */
    return arb_test_done();
}
