/* Puts a namespace, a name and a log's anchors on the chain of a running
 * regtest arbord, for the explorer's browser test: transactions built and
 * signed here from the libraries (ledger/names, ledger/anchor), posted to
 * POST /chain/v1/tx, each mined into a block of the node's own template.
 *
 *   - mines 101 blocks to a fresh key (its first coinbase matures);
 *   - namespace "explorer": preorder, reveal (names live 1000 blocks), ready;
 *   - name "alice.explorer": preorder, register with a zone-file hash, update
 *     to another zone-file hash;
 *   - a log (a fresh P-256 key): its head of size 8 anchored, then its head of
 *     size 16 with the consistency proof from 8.
 *
 * Prints one JSON line: {"name","namespace","address","zonefile_hash",
 * "register_height","update_height","log_id","anchors":[{"tree_size",
 * "height"},...]}. Exit 0, or 1 with a message on stderr.
 * usage: names_fixture PORT */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/bech32.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "merkle/proof.h"
#include "tests/testlib/names.h"

#define FEE 20000u
#define NS "explorer"
#define NAME "alice." NS

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;

_Noreturn static void die(const char *what, const char *why)
{
    fprintf(stderr, "names_fixture: %s%s%s\n", what, why ? ": " : "", why ? why : "");
    exit(1);
}

/* The node (port from the command line) and what signing needs. */
static arb_tl_http_opts NODE = {.timeout_s = 60};
static arb_tl_chain C;

/* The key that pays for everything, and its one coin (spent and replaced by
 * each transaction). */
static arb_tl_actor ME;

/* Mines the node's template (paying ME); returns the block's height. */
static uint32_t mine(void)
{
    uint32_t height = arb_tl_mine(NODE, ME.addr, 0);
    if (height == 0)
        die("cannot mine a block on the node's template", NULL);
    return height;
}

/* Posts a transaction spending the coin (less burn and FEE back to ME) with
 * the payload, and mines it; returns the block's height. */
static uint32_t op(uint8_t type, const uint8_t *pl, size_t plen, uint64_t burn)
{
    arb_tx tx;
    arb_tl_op_tx(&C, &tx, &ME, type, pl, plen, burn);
    const char *why = arb_tl_post_op(&C, NODE, &ME, &tx);
    if (strcmp(why, "ok") != 0)
        die("transaction refused", why);
    return mine();
}

static uint32_t nameop(const arb_nameop *o)
{
    arb_buf b = ARB_BUF_INIT;
    uint32_t h;
    if (arb_nameop_encode(&b, o) != ARB_OK)
        die("cannot encode a name operation", NULL);
    h = op(o->type, b.data, b.len, arb_nameop_burn(o));
    arb_buf_free(&b);
    return h;
}

/* A synthetic log ("explorer leaf <i>"); its heads of size 8 and 16 are anchored. */
static arb_tl_tree LOG;

static uint32_t anchor(arb_ct_signer *log, const uint8_t *spki, size_t spki_len, uint64_t size,
                       uint64_t ts, uint64_t from)
{
    arb_buf b = ARB_BUF_INIT;
    uint32_t h;
    const char *err =
        arb_tl_anchor_payload(&b, log, spki, spki_len, &LOG, size, ts, ts, from, NULL);
    if (err != NULL)
        die("cannot build an anchor", err);
    h = op(ARB_PAYLOAD_LOG_ANCHOR, b.data, b.len, 0);
    arb_buf_free(&b);
    return h;
}

int main(int argc, char **argv)
{
    arb_nameop o;
    uint8_t salt[32], zf1[32], zf2[32], log_id[32], *spki = NULL;
    size_t spki_len = 0;
    char zh[65], lh[65];
    uint32_t reg_h, upd_h, a1, a2;
    uint64_t price = 0, ts = (uint64_t)time(NULL) * 1000;
    json_t *j = NULL;
    arb_ct_signer *log = NULL;
    FILE *rnd;

    if (argc != 2 || (NODE.port = atoi(argv[1])) <= 0)
        die("usage: names_fixture PORT", NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        die("out of memory", NULL);
    C = (arb_tl_chain){H, S, P, FEE};
    if ((rnd = fopen("/dev/urandom", "rb")) == NULL || fread(ME.sk, 1, 32, rnd) != 32 ||
        fread(salt, 1, 32, rnd) != 32 || fread(zf1, 1, 32, rnd) != 32 ||
        fread(zf2, 1, 32, rnd) != 32)
        die("no random bytes", NULL);
    fclose(rnd);
    if (!arb_schnorr_pubkey(S, ME.pk, ME.sk) || !arb_address_encode(ME.addr, P->hrp, ME.pk))
        die("bad key", NULL);

    /* Coins: block 1's coinbase matures at 101 (of this run's blocks). */
    uint32_t first = mine();
    for (uint32_t k = 0; k < P->coinbase_maturity; k++)
        mine();
    {
        char path[64];
        arb_block b;
        arb_errbuf eb;
        uint8_t *raw = NULL;
        size_t len;
        snprintf(path, sizeof path, "/chain/v1/block?height=%u", first);
        if (arb_tl_http_json(NODE, path, NULL, &j) != 200 ||
            arb_hex_decode_alloc(&raw, &len, arb_tl_jstr(j, "hex")) != ARB_OK)
            die("cannot read the first block", NULL);
        arb_block_init(&b);
        if (arb_block_decode(&b, raw, len, &eb) != ARB_OK ||
            arb_tx_txid(H, &ME.coin.txid, &b.tx[0]) != ARB_OK)
            die("cannot decode the first block", NULL);
        ME.coin.index = 0;
        ME.amount = b.tx[0].out[0].amount;
        arb_block_clear(&b);
        free(raw);
        json_decref(j);
    }

    /* The namespace. */
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, o.commitment, (const uint8_t *)NS, strlen(NS), salt, ME.pk);
    o.burn = arb_names_namespace_price(strlen(NS));
    nameop(&o);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    o.ns_len = strlen(NS);
    memcpy(o.ns, NS, o.ns_len);
    memcpy(o.salt, salt, 32);
    memcpy(o.key, ME.pk, 32);
    o.lifetime = 1000;
    o.price.coeff = 1;
    o.price.base = 10;
    for (int i = 0; i < 16; i++)
        o.price.buckets[i] = 3;
    o.price.nonalpha_discount = 1;
    o.price.no_vowel_discount = 1;
    nameop(&o);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAMESPACE_READY;
    o.ns_len = strlen(NS);
    memcpy(o.ns, NS, o.ns_len);
    nameop(&o);

    /* The name: preorder (its price burned), register, update. */
    if (arb_tl_http_json(NODE, "/names/v1/price/" NAME, NULL, &j) != 200)
        die("no price for " NAME, NULL);
    price = (uint64_t)json_integer_value(json_object_get(j, "price"));
    json_decref(j);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(H, o.commitment, (const uint8_t *)NAME, strlen(NAME), salt, ME.pk);
    o.burn = price;
    nameop(&o);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAME_REGISTER;
    o.full_len = strlen(NAME);
    memcpy(o.full, NAME, o.full_len);
    memcpy(o.salt, salt, 32);
    memcpy(o.key, ME.pk, 32);
    o.has_zonefile = 1;
    memcpy(o.zonefile_hash, zf1, 32);
    reg_h = nameop(&o);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAME_UPDATE;
    o.full_len = strlen(NAME);
    memcpy(o.full, NAME, o.full_len);
    o.has_zonefile = 1;
    memcpy(o.zonefile_hash, zf2, 32);
    upd_h = nameop(&o);

    /* A log's anchors: size 8, then 16 consistent with it. */
    arb_tl_tree_init(&LOG, H, "explorer leaf");
    if (arb_ct_signer_generate(&log, NULL) != ARB_OK ||
        arb_ct_signer_spki(log, &spki, &spki_len) != ARB_OK)
        die("cannot make a log key", NULL);
    arb_sha256_digest(H, log_id, spki, spki_len);
    a1 = anchor(log, spki, spki_len, 8, ts, 0);
    a2 = anchor(log, spki, spki_len, 16, ts + 1000, 8);

    arb_hex_encode(zh, zf2, 32);
    arb_hex_encode(lh, log_id, 32);
    printf("{\"name\":\"%s\",\"namespace\":\"%s\",\"address\":\"%s\",\"zonefile_hash\":\"%s\","
           "\"register_height\":%u,\"update_height\":%u,\"log_id\":\"%s\","
           "\"anchors\":[{\"tree_size\":8,\"height\":%u},{\"tree_size\":16,\"height\":%u}]}\n",
           NAME, NS, ME.addr, zh, reg_h, upd_h, lh, a1, a2);
    free(spki);
    arb_ct_signer_free(log);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    curl_global_cleanup();
    return 0;
}
