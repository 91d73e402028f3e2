#include "tests/testlib/testlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/test.h"

int arb_tl_log_make(arb_tl_log *l, const char *dir)
{
    int64_t t = (int64_t)time(NULL);
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    char *key = NULL, *roots = NULL;
    size_t key_len = 0, roots_len = 0;
    arb_errbuf eb;
    int ok;

    memset(l, 0, sizeof *l);
    snprintf(l->keyp, sizeof l->keyp, "%s/key.pem", dir);
    snprintf(l->pubp, sizeof l->pubp, "%s/pub.pem", dir);
    snprintf(l->rootsp, sizeof l->rootsp, "%s/roots.pem", dir);
    l->root_key = pki_key();
    l->inter_key = pki_key();
    l->leaf_key = pki_key();
    l->root = pki_cert(&sr, l->root_key, NULL, NULL);
    l->inter = pki_cert(&si, l->inter_key, l->root, l->root_key);
    ok = l->root != NULL && l->inter != NULL && (roots = pki_pem(l->root, &roots_len)) != NULL &&
         arb_ct_signer_generate(&l->signer, &eb) == ARB_OK &&
         arb_ct_signer_private_pem(l->signer, &key, &key_len) == ARB_OK &&
         arb_ct_signer_public_pem(l->signer, &l->pub, &l->pub_len) == ARB_OK &&
         arb_test_write_file(l->keyp, key, key_len) &&
         arb_test_write_file(l->pubp, l->pub, l->pub_len) &&
         arb_test_write_file(l->rootsp, roots, roots_len);
    if (!ok)
        fprintf(stderr, "cannot set up the log's keys in %s\n", dir);
    free(key);
    free(roots);
    return ok;
}

void arb_tl_log_bulk(const arb_tl_log *l, log_bulk_config *bc, const char *datadir,
                     long first_serial, long n)
{
    memset(bc, 0, sizeof *bc);
    bc->datadir = datadir;
    bc->signer = l->signer;
    bc->origin = "arbor.localhost/log"; /* arbord's default */
    bc->root = l->root;
    bc->inter = l->inter;
    bc->inter_key = l->inter_key;
    bc->leaf_key = l->leaf_key;
    bc->first_serial = first_serial;
    bc->n = n;
}

void arb_tl_log_free(arb_tl_log *l)
{
    arb_ct_signer_free(l->signer);
    free(l->pub);
    X509_free(l->root);
    X509_free(l->inter);
    EVP_PKEY_free(l->root_key);
    EVP_PKEY_free(l->inter_key);
    EVP_PKEY_free(l->leaf_key);
    memset(l, 0, sizeof *l);
}
