/* The node client against a real HTTP server (arb_http) serving canned
 * answers in docs/api.md's shapes: well-formed answers are decoded, malformed
 * ones are parse errors, 4xx answers carry the node's reason, and an
 * unreachable node is a network error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/api/http.h"
#include "tests/test.h"
#include "wallet/node.h"

#define H64 "00000000000000000000000000000000000000000000000000000000000000ab"
#define ADDR "rarb1qxyz"

typedef struct {
    const char *path;  /* path and query */
    int status;
    const char *body;
} canned;

/* Mode 0: good answers; 1: malformed ones. */
static int mode;

static const canned GOOD[] = {
    {"/chain/v1/tip", 200,
     "{\"network\":\"regtest\",\"height\":7,\"hash\":\"" H64 "\",\"bits\":545259519,"
     "\"time\":1700000000,\"chainwork\":\"10\"}"},
    {"/chain/v1/address/" ADDR "/utxos", 200,
     "{\"address\":\"" ADDR "\",\"utxos\":[{\"txid\":\"" H64 "\",\"index\":1,\"amount\":5000000000,"
     "\"height\":3,\"coinbase\":true,\"confirmed\":true,\"mature\":false},"
     "{\"txid\":\"" H64 "\",\"index\":0,\"amount\":12,\"height\":-1,\"coinbase\":false,"
     "\"confirmed\":false,\"mature\":true}]}"},
    {"/chain/v1/address/" ADDR "/balance", 200,
     "{\"address\":\"" ADDR "\",\"confirmed\":100,\"unconfirmed\":-0,\"immature\":5000000000}"},
    {"/chain/v1/address/" ADDR "/history", 200,
     "{\"address\":\"" ADDR "\",\"txs\":[{\"txid\":\"" H64 "\",\"height\":-1,\"received\":0,"
     "\"sent\":7}]}"},
    {"/chain/v1/template?address=" ADDR, 200,
     "{\"height\":8,\"prev_hash\":\"" H64 "\",\"bits\":545259519,\"target\":\"7f\","
     "\"time\":1700000001,\"coinbase_value\":5000000000,\"tx_count\":1,\"hex\":\""
     "0100000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000aa\"}"},
    {"POST /chain/v1/tx", 400, "{\"error\":\"bad-txns-inputs-missingorspent\"}"},
    {"POST /chain/v1/block", 200, "{\"hash\":\"" H64 "\",\"height\":8,\"accepted\":true}"},
    {"/chain/v1/block?height=8", 200,
     "{\"hash\":\"" H64 "\",\"height\":8,\"header\":\"00\",\"confirmations\":1,\"txs\":[],"
     "\"hex\":\"00\"}"},
    {"/chain/v1/block?height=9", 200, "{\"hash\":\"" H64 "\",\"height\":7}"},
};

static const canned BAD[] = {
    {"/chain/v1/tip", 200, "{\"network\":\"regtest\",\"height\":-7,\"hash\":\"" H64 "\"}"},
    {"/chain/v1/address/" ADDR "/utxos", 200,
     "{\"utxos\":[{\"txid\":\"" H64 "\",\"index\":1,\"amount\":\"50\",\"height\":3,"
     "\"coinbase\":true,\"confirmed\":true,\"mature\":false}]}"},
    {"/chain/v1/address/" ADDR "/balance", 200, "[1,2,3]"},
    {"/chain/v1/address/" ADDR "/history", 200,
     "{\"txs\":[{\"txid\":\"" H64 "X\",\"height\":1,\"received\":0,\"sent\":7}]}"},
    {"/chain/v1/template?address=" ADDR, 200,
     "{\"height\":8,\"prev_hash\":\"" H64 "\",\"bits\":1,\"time\":1,\"coinbase_value\":1,"
     "\"hex\":\"0g\"}"},
    {"POST /chain/v1/tx", 200, "{\"txid\":\"" H64 "\", \"txid\":\"" H64 "\"}"},
    {"POST /chain/v1/block", 500, "not json"},
    {"/chain/v1/block?height=8", 200, "{\"hash\":\"" H64 "0\",\"height\":8}"},
};

static void handler(void *ud, arb_http_req *req)
{
    char key[300];
    const char *addr = arb_http_req_query(req, "address");
    const char *height = arb_http_req_query(req, "height");
    const canned *c = mode == 0 ? GOOD : BAD;
    size_t n = mode == 0 ? sizeof(GOOD) / sizeof(GOOD[0]) : sizeof(BAD) / sizeof(BAD[0]);
    (void)ud;
    snprintf(key, sizeof(key), "%s%s%s%s%s%s",
             arb_http_req_method(req) == ARB_HTTP_POST ? "POST " : "", arb_http_req_path(req),
             addr != NULL ? "?address=" : "", addr != NULL ? addr : "",
             height != NULL ? "?height=" : "", height != NULL ? height : "");
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].path, key) == 0) {
            (void)arb_http_respond(req, c[i].status, NULL, NULL, c[i].body, strlen(c[i].body));
            return;
        }
    (void)arb_http_respond_error(req, 404, "not_found", "no such thing");
}

static void test_good(arb_node *n)
{
    arb_errbuf eb;
    arb_node_tip tip;
    arb_node_utxo *u = NULL;
    arb_node_hist *h = NULL;
    arb_node_balance bal;
    arb_node_template t;
    size_t k;
    char id[ARB_NODE_HASH_HEX];
    uint32_t height;
    uint8_t blk[81] = {1};

    mode = 0;
    CHECK(arb_node_get_tip(n, &tip, &eb) == ARB_OK);
    CHECK_STR(tip.network, "regtest");
    CHECK(tip.height == 7 && tip.bits == 545259519u && tip.time == 1700000000u);
    CHECK_STR(tip.hash, H64);
    CHECK(arb_node_get_utxos(n, &u, &k, ADDR, &eb) == ARB_OK);
    CHECK(k == 2);
    CHECK(u[0].index == 1 && u[0].amount == 5000000000ULL && u[0].height == 3 && u[0].coinbase &&
          u[0].confirmed && !u[0].mature);
    CHECK(u[1].height == -1 && !u[1].confirmed && u[1].amount == 12);
    free(u);
    CHECK(arb_node_get_balance(n, &bal, ADDR, &eb) == ARB_OK);
    CHECK(bal.confirmed == 100 && bal.unconfirmed == 0 && bal.immature == 5000000000ULL);
    CHECK(arb_node_get_history(n, &h, &k, ADDR, &eb) == ARB_OK);
    CHECK(k == 1 && h[0].height == -1 && h[0].sent == 7);
    free(h);
    CHECK(arb_node_get_template(n, &t, ADDR, &eb) == ARB_OK);
    CHECK(t.height == 8 && t.block_len == 81 && t.block[0] == 1 && t.block[80] == 0xaa);
    arb_node_template_clear(&t);
    CHECK(arb_node_post_tx(n, id, "00", &eb) == ARB_ERR_VERIFY);
    CHECK(strstr(eb.msg, "bad-txns-inputs-missingorspent") != NULL);
    CHECK(strstr(eb.msg, "400") != NULL);
    CHECK(arb_node_post_block(n, id, &height, blk, sizeof(blk), &eb) == ARB_OK);
    CHECK(height == 8);
    CHECK_STR(id, H64);
    CHECK(arb_node_get_block_hash(n, id, 8, &eb) == ARB_OK);
    CHECK_STR(id, H64);
    /* The answer must be for the height asked. */
    CHECK(arb_node_get_block_hash(n, id, 9, &eb) == ARB_ERR_PARSE && id[0] == '\0');
    CHECK(arb_node_get_block_hash(n, id, 10, &eb) == ARB_ERR_NOT_FOUND);
    CHECK(arb_node_get_balance(n, &bal, "other", &eb) == ARB_ERR_NOT_FOUND);
    CHECK(strstr(eb.msg, "no such thing") != NULL);
    CHECK(arb_node_get_balance(n, &bal, "a/../b", &eb) == ARB_ERR_INVALID_ARG);
}

static void test_bad(arb_node *n)
{
    arb_errbuf eb;
    arb_node_tip tip;
    arb_node_utxo *u = NULL;
    arb_node_hist *h = NULL;
    arb_node_balance bal;
    arb_node_template t;
    size_t k;
    char id[ARB_NODE_HASH_HEX];
    uint32_t height;
    uint8_t blk[81] = {0};

    mode = 1;
    CHECK(arb_node_get_tip(n, &tip, &eb) == ARB_ERR_PARSE);
    CHECK(arb_node_get_utxos(n, &u, &k, ADDR, &eb) == ARB_ERR_PARSE);
    CHECK(u == NULL && k == 0);
    CHECK(arb_node_get_balance(n, &bal, ADDR, &eb) == ARB_ERR_PARSE);
    CHECK(arb_node_get_history(n, &h, &k, ADDR, &eb) == ARB_ERR_PARSE);
    CHECK(h == NULL);
    CHECK(arb_node_get_template(n, &t, ADDR, &eb) == ARB_ERR_PARSE);
    CHECK(t.block == NULL);
    CHECK(arb_node_post_tx(n, id, "00", &eb) == ARB_ERR_PARSE); /* duplicate key */
    CHECK(arb_node_post_block(n, id, &height, blk, sizeof(blk), &eb) == ARB_ERR_VERIFY);
    CHECK(strstr(eb.msg, "500") != NULL);
    CHECK(arb_node_get_block_hash(n, id, 8, &eb) == ARB_ERR_PARSE && id[0] == '\0');
}

static void test_unreachable(void)
{
    char url[64];
    arb_node *n = NULL;
    arb_node_tip tip;
    arb_errbuf eb;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", arb_test_free_port());
    CHECK(arb_node_new(&n, url, 2000, &eb) == ARB_OK);
    CHECK(arb_node_get_tip(n, &tip, &eb) == ARB_ERR_NET);
    CHECK(strstr(eb.msg, "unreachable") != NULL);
    arb_node_free(n);
    CHECK(arb_node_new(&n, "ftp://x", 2000, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(n == NULL);
}

int main(void)
{
    arb_http_config cfg = {"127.0.0.1", 0, 2, 0, {NULL, NULL}};
    arb_http_server *s = NULL;
    arb_node *n = NULL;
    arb_errbuf eb;
    char url[64];

    if (arb_http_server_new(&s, &cfg) != ARB_OK ||
        arb_http_route_add(s, ARB_HTTP_GET, "/chain/v1/", 0, handler, NULL) != ARB_OK ||
        arb_http_route_add(s, ARB_HTTP_POST, "/chain/v1/", 0, handler, NULL) != ARB_OK ||
        arb_http_server_start(s, &eb) != ARB_OK) {
        fprintf(stderr, "cannot start the server\n");
        return 1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", arb_http_server_port(s));
    if (arb_node_new(&n, url, 5000, &eb) != ARB_OK)
        return 1;
    test_good(n);
    test_bad(n);
    arb_node_free(n);
    arb_http_server_free(s);
    test_unreachable();
    return arb_test_done();
}
