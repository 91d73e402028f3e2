/* Throughput of the log core on one thread: chain validation (leaf,
 * intermediate, root; and a precert through a precertificate signing
 * certificate), SCT signing and verification, STH signing, and
 * MerkleTreeLeaf encoding plus leaf hash. Prints one line per measure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/key.h"
#include "tests/unit/log/pki.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BENCH(label, iters, ...)                                                                   \
    do {                                                                                           \
        double t0_ = now_s();                                                                      \
        for (long i_ = 0; i_ < (iters); i_++) {                                                    \
            __VA_ARGS__;                                                                               \
        }                                                                                          \
        double dt_ = now_s() - t0_;                                                                \
        printf("%-42s %10.0f /s  (%.1f us each)\n", label, (iters) / dt_, dt_ * 1e6 / (iters));    \
    } while (0)

int main(void)
{
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kp = pki_key(), *kl = pki_key();
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    pki_spec sp = {"Precert Signer", NULL, 3, t - 86400, t + 86400 * 365, PKI_CA | PKI_PRE_SIGNER};
    pki_spec sl = {"leaf.example.test", NULL, 4, t - 86400, t + 86400 * 90, 0};
    pki_spec sq = {"leaf.example.test", NULL, 4, t - 86400, t + 86400 * 90, PKI_POISON};
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    X509 *p = pki_cert(&sp, kp, im, ki), *l = pki_cert(&sl, kl, im, ki), *q = pki_cert(&sq, kl, p, kp);
    size_t il, pl, ll, ql, pem_len, pub_len;
    uint8_t *id = pki_der(im, &il), *pd = pki_der(p, &pl), *ld = pki_der(l, &ll), *qd = pki_der(q, &ql);
    char *pem = pki_pem(r, &pem_len), *pub = NULL;
    arb_ct_roots *roots = NULL;
    arb_ct_signer *s = NULL;
    arb_ct_verifier *v = NULL;
    arb_sha256 *sha = NULL;
    arb_errbuf eb;
    arb_ct_cert_ref chain[2] = {{ld, ll}, {id, il}};
    arb_ct_cert_ref pchain[3] = {{qd, ql}, {pd, pl}, {id, il}};
    arb_ct_signed_entry e;
    arb_ct_sct sct;
    uint8_t sigbuf[ARB_CT_SIG_MAX], root[32] = {0};
    int bad = 0;

    if (!pem || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_ct_signer_generate(&s, &eb) != ARB_OK ||
        arb_ct_signer_public_pem(s, &pub, &pub_len) != ARB_OK ||
        arb_ct_verifier_from_pem(&v, pub, pub_len, &eb) != ARB_OK || arb_sha256_new(&sha) != ARB_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    BENCH("validate add-chain (leaf+int, P-256)", 2000, {
        arb_ct_chain *c = NULL;
        if (arb_ct_chain_validate(&c, roots, NULL, 0, chain, 2, &eb) != ARB_OK)
            bad++;
        arb_ct_chain_free(c);
    });
    BENCH("validate add-pre-chain (precert signer)", 2000, {
        arb_ct_chain *c = NULL;
        if (arb_ct_chain_validate(&c, roots, NULL, 1, pchain, 3, &eb) != ARB_OK)
            bad++;
        arb_ct_chain_free(c);
    });
    memset(&e, 0, sizeof(e));
    e.entry_type = ARB_CT_ENTRY_X509;
    e.cert = ld;
    e.cert_len = ll;
    BENCH("SCT sign (P-256)", 5000, {
        if (arb_ct_sct_sign(s, &sct, sigbuf, 1700000000000 + (uint64_t)i_, &e, NULL, 0) != ARB_OK)
            bad++;
    });
    BENCH("SCT verify (P-256)", 5000, {
        if (arb_ct_sct_verify(v, &sct, &e) != ARB_OK)
            bad++;
    });
    BENCH("STH sign (P-256)", 5000, {
        arb_ct_dsig d;
        if (arb_ct_sth_sign(s, &d, sigbuf, 1, (uint64_t)i_, root) != ARB_OK)
            bad++;
    });
    BENCH("MerkleTreeLeaf encode + leaf hash", 200000, {
        arb_ct_leaf leaf = {(uint64_t)i_, e, NULL, 0};
        arb_hash h;
        if (arb_ct_leaf_hash(sha, &h, &leaf) != ARB_OK)
            bad++;
    });
    printf("failures: %d\n", bad);
    arb_ct_roots_free(roots);
    arb_ct_signer_free(s);
    arb_ct_verifier_free(v);
    arb_sha256_free(sha);
    free(pem);
    free(pub);
    free(id);
    free(pd);
    free(ld);
    free(qd);
    X509_free(r);
    X509_free(im);
    X509_free(p);
    X509_free(l);
    X509_free(q);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kp);
    EVP_PKEY_free(kl);
    return bad != 0;
}
