/* Signed-note throughput: parsing, and signing / verifying a checkpoint with
 * each signature type. Run by hand: bench_note [iterations]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "merkle/checkpoint.h"
#include "merkle/note.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static arb_note_signer *p256_signer(const char *name)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL;
    int n = i2d_PrivateKey(k, &der);
    arb_note_signer *s = NULL;
    if (n <= 0 || arb_note_signer_rfc6962(&s, name, der, (size_t)n, NULL) != ARB_OK)
        s = NULL;
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    return s;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    const char *origin = "bench.example.org/log";
    arb_note_signer *ss[3] = {NULL, NULL, NULL};
    static const char *const names[3] = {"Ed25519 (0x01)", "cosignature/v1 (0x04)",
                                         "RFC6962 ECDSA P-256 (0x05)"};
    arb_checkpoint cp;

    if (arb_note_signer_generate(&ss[0], origin, ARB_NOTE_ED25519, NULL, NULL, NULL) != ARB_OK ||
        arb_note_signer_generate(&ss[1], "witness.example", ARB_NOTE_COSIG_V1, NULL, NULL, NULL) !=
            ARB_OK ||
        (ss[2] = p256_signer(origin)) == NULL) {
        fprintf(stderr, "key setup failed\n");
        return 1;
    }
    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)origin;
    cp.size = 123456789;
    for (int t = 0; t < 3; t++) {
        uint8_t *msg = NULL;
        size_t len = 0;
        arb_note_verifier *v = NULL;
        const arb_note_signer *one = ss[t];
        double t0 = now_s();
        for (long i = 0; i < iters; i++) {
            free(msg);
            if (arb_checkpoint_sign(&msg, &len, &cp, &one, 1, 1767139200000ull + (uint64_t)i,
                                    NULL) != ARB_OK)
                return 1;
        }
        double t1 = now_s();
        if (arb_note_signer_verifier(&v, ss[t]) != ARB_OK)
            return 1;
        const arb_note_verifier *cv = v;
        for (long i = 0; i < iters; i++) {
            arb_checkpoint *got = NULL;
            if (arb_checkpoint_open(&got, NULL, msg, len, origin, &cv, 1, NULL, NULL) != ARB_OK)
                return 1;
            arb_checkpoint_free(got);
        }
        double t2 = now_s();
        arb_note *n = NULL;
        for (long i = 0; i < iters; i++) {
            if (arb_note_parse(&n, msg, len, NULL) != ARB_OK)
                return 1;
            arb_note_free(n);
        }
        double t3 = now_s();
        printf("%-28s sign %8.0f/s   open+verify %8.0f/s   parse only %9.0f/s\n", names[t],
               iters / (t1 - t0), iters / (t2 - t1), iters / (t3 - t2));
        free(msg);
        arb_note_verifier_free(v);
    }
    for (int t = 0; t < 3; t++)
        arb_note_signer_free(ss[t]);
    return 0;
}
