/* Log lists (v3 schema): a list built from published log descriptions (the
 * rome2026h1 static-ct-api test log's log.v3.json entry and the Google Pilot
 * key) parses with the published log IDs; malformed lists are refused with a
 * reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auditor/loglist.h"
#include "merkle/buf.h"
#include "tests/test.h"

static json_t *load_json(const char *rel)
{
    size_t len;
    uint8_t *raw = arb_test_read_vector(rel, &len);
    json_t *j = raw ? json_loadb((const char *)raw, len, 0, NULL) : NULL;
    free(raw);
    return j;
}

/* {"version":"3.0","operators":[{"name":"Google","logs":[pilot]},
 *   {"name":"Geomys","tiled_logs":[rome]}]} */
static json_t *make_list(void)
{
    json_t *rome = load_json("ct/static_ct/rome2026h1_test/log.v3.json");
    json_t *pilot = load_json("ct/real_sth_pilot.json");
    json_t *list = NULL;
    if (rome && pilot) {
        json_t *p = json_pack("{s:s, s:O, s:O, s:s, s:i}", "description", "Google 'Pilot' log",
                              "key", json_object_get(pilot, "log_public_key_spki_der_b64"),
                              "log_id", json_object_get(pilot, "log_id_b64"), "url",
                              "https://ct.googleapis.com/pilot", "mmd", 86400);
        list = json_pack("{s:s, s:[{s:s, s:[o]}, {s:s, s:[O]}]}", "version", "3.0", "operators",
                         "name", "Google", "logs", p, "name", "Geomys", "tiled_logs", rome);
    }
    json_decref(rome);
    json_decref(pilot);
    return list;
}

static arb_err parse_json(arb_audit_loglist *l, const json_t *j, arb_errbuf *eb)
{
    char *t = json_dumps(j, 0);
    arb_err e = arb_audit_loglist_parse(l, t, strlen(t), eb);
    free(t);
    return e;
}

static void test_good(void)
{
    json_t *list = make_list();
    arb_audit_loglist l;
    arb_errbuf eb;
    uint8_t id[32];
    size_t n;
    uint8_t *raw = NULL;

    CHECK_OR(list != NULL, );
    CHECK_EQ(parse_json(&l, list, &eb), ARB_OK);
    CHECK_EQ(l.n, 2);
    CHECK_EQ(l.logs[0].tiled, 0);
    CHECK_STR(l.logs[0].url, "https://ct.googleapis.com/pilot/");
    CHECK_STR(l.logs[0].operator_name, "Google");
    CHECK_EQ(l.logs[0].mmd, 86400);
    CHECK(arb_hex_decode(id, 32, "a4b90990b418581487bb13a2cc67700a3c359804f91bdfb8e377cd0ec80ddc10",
                         64));
    CHECK_MEM(l.logs[0].log_id, id, 32);
    CHECK(arb_audit_loglist_find(&l, id) == &l.logs[0]);
    CHECK_EQ(l.logs[1].tiled, 1);
    CHECK_STR(l.logs[1].url, "https://rome2026h1.example.org/");
    CHECK_STR(l.logs[1].origin, "rome2026h1.example.org");
    CHECK_EQ(l.logs[1].mmd, 60);
    CHECK_EQ(arb_base64_decode(&raw, &n, "CKIDXIl+znJaHUyhzhNVaSxIUov59RCXLh3fJXJExnk=", 44), ARB_OK);
    CHECK_MEM(l.logs[1].log_id, raw, 32);
    free(raw);
    arb_audit_loglist_free(&l);
    json_decref(list);
}

/* Each mutation must be refused. */
static void test_bad(void)
{
    static const char *const texts[] = {
        "", "[]", "{}", "{\"operators\":{}}", "{\"operators\":[]}", "{\"operators\":[{\"logs\":[]}]}",
        "{\"operators\":[7]}", "{\"operators\":[{\"logs\":{}}]}",
    };
    arb_audit_loglist l;
    arb_errbuf eb;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        CHECK_EQ(arb_audit_loglist_parse(&l, texts[i], strlen(texts[i]), &eb), ARB_ERR_PARSE);

    for (int m = 0; m < 8; m++) {
        json_t *list = make_list();
        json_t *pilot;
        CHECK_OR(list != NULL, );
        pilot = json_array_get(
            json_object_get(json_array_get(json_object_get(list, "operators"), 0), "logs"), 0);
        switch (m) {
        case 0: /* log_id of another key */
            json_object_set_new(pilot, "log_id",
                                json_string("CKIDXIl+znJaHUyhzhNVaSxIUov59RCXLh3fJXJExnk="));
            break;
        case 1:
            json_object_del(pilot, "key");
            break;
        case 2:
            json_object_set_new(pilot, "url", json_string("ftp://example.org/"));
            break;
        case 3:
            json_object_set_new(pilot, "mmd", json_integer(0));
            break;
        case 4: /* key that is not P-256 SPKI */
            json_object_set_new(pilot, "key", json_string("AAAA"));
            break;
        case 5: /* the same log twice */
            json_array_append(json_object_get(json_array_get(json_object_get(list, "operators"), 0),
                                              "logs"),
                              pilot);
            break;
        case 6:
            json_object_set_new(pilot, "url", json_string("https:///x"));
            break;
        case 7:
            json_object_set_new(pilot, "log_id", json_string("not base64"));
            break;
        }
        CHECK_EQ(parse_json(&l, list, &eb), ARB_ERR_PARSE);
        CHECK(eb.msg[0] != '\0');
        CHECK(l.logs == NULL && l.n == 0);
        json_decref(list);
    }
}

static void test_from_key(void)
{
    size_t len;
    uint8_t *pem = arb_test_read_vector("ct/certs/google-ct-pilot-server-key-public.pem", &len);
    arb_audit_log lg;
    arb_errbuf eb;
    uint8_t id[32];
    char *b64;

    CHECK_OR(pem != NULL, );
    CHECK_EQ(arb_audit_log_from_key(&lg, "http://127.0.0.1:8080", 0, pem, len, 60, &eb), ARB_OK);
    CHECK_STR(lg.url, "http://127.0.0.1:8080/");
    CHECK(arb_hex_decode(id, 32, "a4b90990b418581487bb13a2cc67700a3c359804f91bdfb8e377cd0ec80ddc10",
                         64));
    CHECK_MEM(lg.log_id, id, 32);
    b64 = arb_base64_encode(lg.key, lg.key_len);
    CHECK_STR(b64, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfahLEimAoz2t01p3uMziiLOl/fHTDM0YDOhBRuiBARsV4Uv"
                   "xG2LdNgoIGLrtCzWE0J5APC2em4JlvR8EEEFMoA==");
    free(b64);
    arb_audit_log_clear(&lg);
    CHECK_EQ(arb_audit_log_from_key(&lg, "http://x/", 0, (const uint8_t *)"junk", 4, 60, &eb),
             ARB_ERR_PARSE);
    free(pem);
}

int main(void)
{
    test_good();
    test_bad();
    test_from_key();
    return arb_test_done();
}
