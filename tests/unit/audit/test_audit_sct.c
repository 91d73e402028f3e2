/* SCT checks against the certificate-transparency test PKI (sct_expected.json):
 * every embedded SCT of the final certificates and every x509 .proof SCT
 * verifies under the test log key, with the published timestamps and leaf
 * hashes; the hacked certificate's SCT and a log outside the list fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auditor/sct.h"
#include "merkle/buf.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

static arb_audit_loglist logs;

static int load_logs(const char *keyrel)
{
    size_t len;
    uint8_t *pem = arb_test_read_vector(keyrel, &len);
    arb_errbuf eb;
    int ok;
    logs.logs = calloc(1, sizeof *logs.logs);
    logs.n = 1;
    ok = pem && logs.logs &&
         arb_audit_log_from_key(&logs.logs[0], "http://127.0.0.1:9/", 0, pem, len, 86400, &eb) ==
             ARB_OK;
    free(pem);
    return ok;
}

static uint8_t *der_of(const char *file, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ct/certs/%s", file);
    return pki_pem_file_der(rel, len);
}

static void test_cases(void)
{
    size_t len;
    uint8_t *raw = arb_test_read_vector("ct/sct_expected.json", &len);
    json_t *doc = raw ? json_loadb((const char *)raw, len, 0, NULL) : NULL, *c;
    size_t i, checked = 0;
    arb_errbuf eb;

    CHECK_OR(doc != NULL, );
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        const char *type = json_string_value(json_object_get(c, "entry_type"));
        uint8_t want_hash[32];
        const char *hh = json_string_value(json_object_get(c, "merkle_leaf_hash_hex"));
        uint64_t ts = (uint64_t)json_integer_value(json_object_get(c, "timestamp_ms"));
        CHECK(arb_hex_decode(want_hash, 32, hh, 64));
        if (strcmp(type, "x509_entry") == 0) {
            size_t cl, sl;
            uint8_t *cert = der_of(json_string_value(json_object_get(c, "submitted_file")), &cl);
            char rel[256];
            uint8_t *sct;
            arb_audit_sct_result r;
            snprintf(rel, sizeof rel, "ct/certs/%s",
                     json_string_value(json_object_get(c, "sct_file")));
            sct = arb_test_read_vector(rel, &sl);
            CHECK_OR(cert && sct, );
            CHECK_EQ(arb_audit_sct_check_x509(&r, cert, cl, sct, sl, &logs, &eb), ARB_OK);
            CHECK(r.sig_ok);
            CHECK(r.log == &logs.logs[0]);
            CHECK_EQ(r.timestamp, ts);
            CHECK_MEM(r.leaf_hash.b, want_hash, 32);
            /* the SCT of one certificate does not verify for another */
            if (i == 0) {
                size_t ol;
                uint8_t *o = der_of("test-intermediate-cert.pem", &ol);
                CHECK_EQ(arb_audit_sct_check_x509(&r, o, ol, sct, sl, &logs, &eb), ARB_OK);
                CHECK(!r.sig_ok);
                free(o);
                CHECK_EQ(arb_audit_sct_check_x509(&r, cert, cl, sct, sl - 1, &logs, &eb),
                         ARB_ERR_PARSE);
            }
            free(cert);
            free(sct);
            checked++;
        } else {
            size_t cl, il, n = 0;
            uint8_t *cert = der_of(json_string_value(json_object_get(c, "final_cert_file")), &cl);
            uint8_t *iss = der_of(json_string_value(json_object_get(c, "issuer_file")), &il);
            arb_audit_sct_result *r = NULL;
            CHECK_OR(cert && iss, );
            CHECK_EQ(arb_audit_sct_check_embedded(&r, &n, cert, cl, iss, il, &logs, &eb), ARB_OK);
            CHECK_EQ(n, 1);
            CHECK(r[0].sig_ok);
            CHECK(r[0].is_precert);
            CHECK_EQ(r[0].timestamp, ts);
            CHECK_MEM(r[0].leaf_hash.b, want_hash, 32);
            free(r);
            /* wrong issuer: the issuer key hash differs, the signature fails */
            CHECK_EQ(arb_audit_sct_check_embedded(&r, &n, cert, cl, cert, cl, &logs, &eb), ARB_OK);
            CHECK(!r[0].sig_ok);
            free(r);
            /* unknown log */
            CHECK_EQ(arb_audit_sct_check_embedded(&r, &n, cert, cl, iss, il, NULL, &eb), ARB_OK);
            CHECK(r[0].log == NULL && !r[0].sig_ok);
            free(r);
            free(cert);
            free(iss);
            checked++;
        }
    }
    CHECK_EQ(checked, 6);
    json_decref(doc);
    free(raw);
}

static void test_invalid(void)
{
    size_t cl, il, n = 0;
    uint8_t *cert = der_of("test-invalid-embedded-cert.pem", &cl);
    uint8_t *iss = der_of("ca-cert.pem", &il);
    arb_audit_sct_result *r = NULL;
    arb_errbuf eb;
    CHECK_OR(cert && iss, );
    CHECK_EQ(arb_audit_sct_check_embedded(&r, &n, cert, cl, iss, il, &logs, &eb), ARB_OK);
    CHECK_EQ(n, 1);
    CHECK(r[0].log != NULL);
    CHECK(!r[0].sig_ok);
    free(r);
    /* a certificate without SCTs */
    free(cert);
    cert = der_of("test-cert.pem", &cl);
    CHECK_EQ(arb_audit_sct_check_embedded(&r, &n, cert, cl, iss, il, &logs, &eb), ARB_ERR_NOT_FOUND);
    free(cert);
    free(iss);
}

int main(void)
{
    CHECK_OR(load_logs("ct/certs/ct-server-key-public.pem"), 1);
    test_cases();
    test_invalid();
    arb_audit_loglist_free(&logs);
    return arb_test_done();
}
