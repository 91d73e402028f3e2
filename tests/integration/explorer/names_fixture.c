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

#define FEE 20000u
#define NS "explorer"
#define NAME "alice." NS
#define LEAVES 16

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static int PORT;

_Noreturn static void die(const char *what, const char *why)
{
    fprintf(stderr, "names_fixture: %s%s%s\n", what, why ? ": " : "", why ? why : "");
    exit(1);
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    arb_buf *b = ud;
    arb_buf_put(b, p, sz * n);
    return b->oom ? 0 : sz * n;
}

static long http(const char *path, const char *body, json_t **out)
{
    char url[2048];
    long status = 0;
    arb_buf resp = ARB_BUF_INIT;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", PORT, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (body != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    *out = resp.len ? json_loadb((const char *)resp.data, resp.len, 0, NULL) : NULL;
    arb_buf_free(&resp);
    return status;
}

static long post_hex(const char *path, const uint8_t *d, size_t n, json_t **out)
{
    char *hex = malloc(2 * n + 1), *body = malloc(2 * n + 16);
    long st;
    if (hex == NULL || body == NULL)
        die("out of memory", NULL);
    arb_hex_encode(hex, d, n);
    snprintf(body, 2 * n + 16, "{\"hex\":\"%s\"}", hex);
    st = http(path, body, out);
    free(hex);
    free(body);
    return st;
}

static const char *jstr(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

/* The key that pays for everything, and its one coin (spent and replaced by
 * each transaction). */
static uint8_t SK[32], PK[32];
static char ADDR[ARB_ADDR_MAX];
static arb_outpoint COIN;
static uint64_t AMOUNT;

/* Mines the node's template (paying PK); returns the block's height. */
static uint32_t mine(void)
{
    char path[256];
    json_t *t = NULL, *r = NULL;
    arb_block b;
    arb_errbuf eb;
    uint8_t *raw = NULL;
    size_t len;
    uint32_t height = 0;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", ADDR);
    if (http(path, NULL, &t) != 200 || arb_hex_decode_alloc(&raw, &len, jstr(t, "hex")) != ARB_OK)
        die("no block template", NULL);
    arb_block_init(&b);
    if (arb_block_decode(&b, raw, len, &eb) != ARB_OK ||
        !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
        die("cannot mine the template", NULL);
    arb_buf buf = ARB_BUF_INIT;
    arb_block_write(&buf, &b);
    if (post_hex("/chain/v1/block", buf.data, buf.len, &r) != 200)
        die("block refused", jstr(r, "error"));
    height = (uint32_t)json_integer_value(json_object_get(r, "height"));
    arb_buf_free(&buf);
    json_decref(r);
    json_decref(t);
    free(raw);
    arb_block_clear(&b);
    return height;
}

/* Posts a transaction spending the coin (less burn and FEE back to PK) with
 * the payload, and mines it; returns the block's height. */
static uint32_t op(uint8_t type, const uint8_t *pl, size_t plen, uint64_t burn)
{
    arb_txout spent = {AMOUNT, {0}};
    arb_tx tx;
    arb_buf buf = ARB_BUF_INIT;
    json_t *j = NULL;
    memcpy(spent.key, PK, 32);
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, 1) != ARB_OK || (tx.payload = malloc(plen)) == NULL)
        die("out of memory", NULL);
    tx.version = 1;
    tx.in[0] = COIN;
    tx.out[0].amount = AMOUNT - burn - FEE;
    memcpy(tx.out[0].key, PK, 32);
    tx.payload_type = type;
    memcpy(tx.payload, pl, plen);
    tx.payload_len = plen;
    if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, SK, NULL) != ARB_OK ||
        arb_tx_txid(H, &COIN.txid, &tx) != ARB_OK)
        die("cannot sign", NULL);
    COIN.index = 0;
    AMOUNT = tx.out[0].amount;
    arb_tx_write(&buf, &tx, 1);
    if (post_hex("/chain/v1/tx", buf.data, buf.len, &j) != 200)
        die("transaction refused", jstr(j, "error"));
    json_decref(j);
    arb_buf_free(&buf);
    arb_tx_clear(&tx);
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

/* A synthetic log of LEAVES leaves. */
static arb_hash LEAF[LEAVES];

static arb_err get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    arb_hash l, r;
    (void)ud;
    if (level == 0) {
        if (index >= LEAVES)
            return ARB_ERR_NOT_FOUND;
        *out = LEAF[index];
        return ARB_OK;
    }
    if (get_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        get_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(H, out, &l, &r);
    return ARB_OK;
}

static uint32_t anchor(arb_ct_signer *log, const uint8_t *spki, size_t spki_len, uint64_t size,
                       uint64_t ts, uint64_t from)
{
    arb_merkle_source src = {get_node, NULL};
    arb_anchor an;
    arb_hash root;
    arb_ct_dsig d;
    uint8_t sig[ARB_CT_SIG_MAX];
    arb_buf b = ARB_BUF_INIT;
    uint32_t h;
    memset(&an, 0, sizeof an);
    if (arb_merkle_source_root(H, &src, size, &root) != ARB_OK ||
        arb_ct_sth_sign(log, &d, sig, ts, size, root.b) != ARB_OK)
        die("cannot sign a tree head", NULL);
    an.spki = spki;
    an.spki_len = spki_len;
    an.tree_size = size;
    an.timestamp = ts;
    memcpy(an.root, root.b, 32);
    an.sig_hash_alg = d.hash_alg;
    an.sig_sig_alg = d.sig_alg;
    an.sig = d.sig;
    an.sig_len = d.sig_len;
    if (from > 0 &&
        arb_merkle_consistency_build(H, &src, from, size, an.proof, &an.proof_len) != ARB_OK)
        die("cannot build a consistency proof", NULL);
    if (arb_anchor_encode(&b, &an) != ARB_OK)
        die("cannot encode an anchor", NULL);
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

    if (argc != 2 || (PORT = atoi(argv[1])) <= 0)
        die("usage: names_fixture PORT", NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        die("out of memory", NULL);
    if ((rnd = fopen("/dev/urandom", "rb")) == NULL || fread(SK, 1, 32, rnd) != 32 ||
        fread(salt, 1, 32, rnd) != 32 || fread(zf1, 1, 32, rnd) != 32 ||
        fread(zf2, 1, 32, rnd) != 32)
        die("no random bytes", NULL);
    fclose(rnd);
    if (!arb_schnorr_pubkey(S, PK, SK) || !arb_address_encode(ADDR, P->hrp, PK))
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
        if (http(path, NULL, &j) != 200 ||
            arb_hex_decode_alloc(&raw, &len, jstr(j, "hex")) != ARB_OK)
            die("cannot read the first block", NULL);
        arb_block_init(&b);
        if (arb_block_decode(&b, raw, len, &eb) != ARB_OK ||
            arb_tx_txid(H, &COIN.txid, &b.tx[0]) != ARB_OK)
            die("cannot decode the first block", NULL);
        COIN.index = 0;
        AMOUNT = b.tx[0].out[0].amount;
        arb_block_clear(&b);
        free(raw);
        json_decref(j);
    }

    /* The namespace. */
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, o.commitment, (const uint8_t *)NS, strlen(NS), salt, PK);
    o.burn = arb_names_namespace_price(strlen(NS));
    nameop(&o);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    o.ns_len = strlen(NS);
    memcpy(o.ns, NS, o.ns_len);
    memcpy(o.salt, salt, 32);
    memcpy(o.key, PK, 32);
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
    if (http("/names/v1/price/" NAME, NULL, &j) != 200)
        die("no price for " NAME, NULL);
    price = (uint64_t)json_integer_value(json_object_get(j, "price"));
    json_decref(j);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(H, o.commitment, (const uint8_t *)NAME, strlen(NAME), salt, PK);
    o.burn = price;
    nameop(&o);
    memset(&o, 0, sizeof o);
    o.type = ARB_NAMEOP_NAME_REGISTER;
    o.full_len = strlen(NAME);
    memcpy(o.full, NAME, o.full_len);
    memcpy(o.salt, salt, 32);
    memcpy(o.key, PK, 32);
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
    for (int i = 0; i < LEAVES; i++) {
        char leaf[32];
        int n = snprintf(leaf, sizeof leaf, "explorer leaf %d", i);
        arb_merkle_leaf_hash(H, &LEAF[i], leaf, (size_t)n);
    }
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
           NAME, NS, ADDR, zh, reg_h, upd_h, lh, a1, a2);
    free(spki);
    arb_ct_signer_free(log);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    curl_global_cleanup();
    return 0;
}
