/* Offline payments: amounts and change, and signatures checked against the
 * ledger's signature hash with libsecp256k1 directly (not through the wallet
 * or the chain's signing wrapper). */
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "ledger/chain/params.h"
#include "ledger/chain/tx.h"
#include "tests/test.h"
#include "wallet/txbuild.h"
#include "wallet/wallet.h"

static arb_keyctx *ctx;
static secp256k1_context *sc;
static arb_bip32_key acct;

static const char MN[] = "legal winner thank year wave sausage worth useful legal winner thank "
                         "yellow";

static void wallet_key(uint8_t key32[32], uint32_t change, uint32_t index)
{
    char a[ARB_ADDR_MAX];
    if (arb_wallet_address_at(ctx, a, sizeof(a), key32, &acct, "regtest", change, index) != ARB_OK)
        memset(key32, 0, 32);
}

/* Checks every signature of tx against the ledger's sighash for network. */
static int sigs_valid(const arb_tx *tx, const arb_wallet_coin *coins, const char *network)
{
    arb_sha256 *sha = NULL;
    arb_sighash_cache cache;
    arb_txout *spent = calloc(tx->n_in, sizeof(*spent));
    arb_hash id;
    size_t i;
    int ok = 1;

    if (spent == NULL || arb_sha256_new(&sha) != ARB_OK)
        return 0;
    for (i = 0; i < tx->n_in; i++)
        spent[i] = coins[i].spent;
    arb_chain_network_id(arb_chain_params_get(network), &id);
    if (arb_tx_sighash_prepare(sha, &cache, tx, spent) != ARB_OK)
        ok = 0;
    for (i = 0; ok && i < tx->n_in; i++) {
        uint8_t msg[32];
        secp256k1_xonly_pubkey pk;
        arb_tx_sighash(sha, msg, &id, &cache, (uint32_t)i);
        ok = secp256k1_xonly_pubkey_parse(sc, &pk, spent[i].key) &&
             secp256k1_schnorrsig_verify(sc, tx->sig[i], msg, 32, &pk);
    }
    arb_sha256_free(sha);
    free(spent);
    return ok;
}

static void test_pay(void)
{
    arb_wallet_coin coins[3];
    arb_txout dest[2];
    uint8_t change_key[32];
    arb_tx tx, back;
    arb_errbuf eb;
    uint64_t change = 0;
    arb_buf b = ARB_BUF_INIT;
    size_t i;

    memset(coins, 0, sizeof(coins));
    for (i = 0; i < 3; i++) {
        arb_test_rand_bytes(coins[i].prev.txid.b, 32);
        coins[i].prev.index = (uint32_t)i;
    }
    wallet_key(coins[0].spent.key, 0, 0);
    wallet_key(coins[1].spent.key, 0, 2);
    wallet_key(coins[2].spent.key, 1, 1);
    coins[0].spent.amount = 50 * ARB_COIN;
    coins[1].spent.amount = 7;
    coins[2].spent.amount = ARB_COIN;
    arb_test_rand_bytes(dest[0].key, 32);
    dest[0].amount = 30 * ARB_COIN;
    arb_test_rand_bytes(dest[1].key, 32);
    dest[1].amount = 20 * ARB_COIN;
    wallet_key(change_key, 1, 5);
    arb_tx_init(&tx);
    arb_tx_init(&back);
    CHECK_EQ(arb_wallet_tx_build(&tx, &change, coins, 3, dest, 2, 1000, change_key, &eb), ARB_OK);
    CHECK_EQ(change, ARB_COIN + 7 - 1000);
    CHECK_EQ(tx.n_in, 3);
    CHECK_EQ(tx.n_out, 3);
    CHECK_EQ(tx.out[2].amount, change);
    CHECK_MEM(tx.out[2].key, change_key, 32);
    CHECK_MEM(tx.out[0].key, dest[0].key, 32);
    CHECK(!sigs_valid(&tx, coins, "regtest"));
    CHECK_EQ(arb_wallet_tx_sign(ctx, &tx, &acct, "regtest", coins, 3, 5, 5, &eb), ARB_OK);
    CHECK(sigs_valid(&tx, coins, "regtest"));
    /* The signatures commit to the network and to the spent amounts. */
    CHECK(!sigs_valid(&tx, coins, "test"));
    coins[1].spent.amount++;
    CHECK(!sigs_valid(&tx, coins, "regtest"));
    coins[1].spent.amount--;
    /* The serialization decodes to the same transaction. */
    arb_tx_write(&b, &tx, 1);
    CHECK(!b.oom);
    CHECK_EQ(b.len, arb_tx_size(&tx));
    CHECK_EQ(arb_tx_decode(&back, b.data, b.len, &eb), ARB_OK);
    CHECK(sigs_valid(&back, coins, "regtest"));
    arb_buf_free(&b);

    /* Limits too small to find index 2: not the wallet's key; no signature left. */
    CHECK_EQ(arb_wallet_tx_sign(ctx, &tx, &acct, "regtest", coins, 3, 2, 5, &eb),
             ARB_ERR_NOT_FOUND);
    for (i = 0; i < 64; i++)
        CHECK_EQ(tx.sig[0][i], 0);
    /* A foreign key. */
    arb_test_rand_bytes(coins[0].spent.key, 32);
    CHECK_EQ(arb_wallet_tx_sign(ctx, &tx, &acct, "regtest", coins, 3, 5, 5, &eb),
             ARB_ERR_NOT_FOUND);
    /* Coins in another order than the inputs. */
    {
        arb_wallet_coin sw[3] = {coins[1], coins[0], coins[2]};
        CHECK_EQ(arb_wallet_tx_sign(ctx, &tx, &acct, "regtest", sw, 3, 5, 5, &eb),
                 ARB_ERR_INVALID_ARG);
    }
    /* Exact amount: no change output. */
    dest[0].amount = 50 * ARB_COIN + 7 + ARB_COIN - 20 * ARB_COIN - 1;
    CHECK_EQ(arb_wallet_tx_build(&tx, &change, coins, 3, dest, 2, 1, change_key, &eb), ARB_OK);
    CHECK_EQ(change, 0);
    CHECK_EQ(tx.n_out, 2);
    /* One unit short. */
    CHECK_EQ(arb_wallet_tx_build(&tx, &change, coins, 3, dest, 2, 2, change_key, &eb),
             ARB_ERR_VERIFY);
    /* Overflow and bad amounts. */
    dest[0].amount = ARB_MAX_MONEY;
    CHECK_EQ(arb_wallet_tx_build(&tx, &change, coins, 3, dest, 2, 0, change_key, &eb),
             ARB_ERR_INVALID_ARG);
    dest[0].amount = 0;
    CHECK_EQ(arb_wallet_tx_build(&tx, &change, coins, 3, dest, 2, 0, change_key, &eb),
             ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_wallet_tx_build(&tx, &change, coins, 0, dest, 2, 0, change_key, &eb),
             ARB_ERR_INVALID_ARG);
    arb_tx_clear(&tx);
    arb_tx_clear(&back);
}

/* A payload transaction: the burn leaves the amounts (inputs - outputs =
 * burn + fee), input 0 is the first coin, the only output is the change to
 * the acting key, and the payload survives the codec and the signatures. */
static void test_payload(void)
{
    arb_wallet_coin coins[2];
    uint8_t payload[40], key0[32];
    arb_tx tx, back;
    arb_errbuf eb;
    uint64_t change = 0;
    arb_buf b = ARB_BUF_INIT;

    memset(coins, 0, sizeof(coins));
    arb_test_rand_bytes(coins[0].prev.txid.b, 32);
    arb_test_rand_bytes(coins[1].prev.txid.b, 32);
    coins[1].prev.index = 3;
    wallet_key(coins[0].spent.key, 0, 1);
    wallet_key(coins[1].spent.key, 1, 0);
    memcpy(key0, coins[0].spent.key, 32);
    coins[0].spent.amount = 1000;
    coins[1].spent.amount = 5 * ARB_COIN;
    arb_test_rand_bytes(payload, sizeof(payload));
    arb_tx_init(&tx);
    arb_tx_init(&back);
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 5, payload, sizeof(payload),
                                         2 * ARB_COIN, 300, key0, &eb),
             ARB_OK);
    CHECK_EQ(change, 5 * ARB_COIN + 1000 - 2 * ARB_COIN - 300);
    CHECK_EQ(tx.n_in, 2);
    CHECK_EQ(tx.n_out, 1);
    CHECK_MEM(tx.in[0].txid.b, coins[0].prev.txid.b, 32);
    CHECK_EQ(tx.out[0].amount, change);
    CHECK_MEM(tx.out[0].key, key0, 32);
    CHECK_EQ(tx.payload_type, 5);
    CHECK_EQ(tx.payload_len, sizeof(payload));
    CHECK_MEM(tx.payload, payload, sizeof(payload));
    CHECK_EQ(arb_wallet_tx_sign(ctx, &tx, &acct, "regtest", coins, 2, 5, 5, &eb), ARB_OK);
    CHECK(sigs_valid(&tx, coins, "regtest"));
    arb_tx_write(&b, &tx, 1);
    CHECK(!b.oom);
    CHECK_EQ(arb_tx_decode(&back, b.data, b.len, &eb), ARB_OK);
    CHECK_EQ(back.payload_type, 5);
    CHECK_MEM(back.payload, payload, sizeof(payload));
    CHECK(sigs_valid(&back, coins, "regtest"));
    /* The signature commits to the payload. */
    back.payload[0] ^= 1;
    CHECK(!sigs_valid(&back, coins, "regtest"));
    arb_buf_free(&b);
    /* Nothing left for the change output: refused (a transaction needs an
     * output), one unit left: taken. */
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 5, payload, sizeof(payload),
                                         5 * ARB_COIN + 1000 - 300, 300, key0, &eb),
             ARB_ERR_VERIFY);
    CHECK_EQ(tx.n_in, 0);
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 5, payload, sizeof(payload),
                                         5 * ARB_COIN + 1000 - 301, 300, key0, &eb),
             ARB_OK);
    CHECK_EQ(change, 1);
    /* Bad arguments. */
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 0, payload, sizeof(payload), 0,
                                         1, key0, &eb),
             ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 5, payload, 0, 0, 1, key0, &eb),
             ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 0, 5, payload, sizeof(payload), 0,
                                         1, key0, &eb),
             ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 5, payload, sizeof(payload),
                                         ARB_MAX_MONEY, ARB_MAX_MONEY, key0, &eb),
             ARB_ERR_INVALID_ARG);
    {
        uint8_t *big = calloc(ARB_TX_MAX_PAYLOAD + 1, 1);
        CHECK(big != NULL);
        if (big != NULL) {
            CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 11, big,
                                                 ARB_TX_MAX_PAYLOAD + 1, 0, 1, key0, &eb),
                     ARB_ERR_INVALID_ARG);
            CHECK_EQ(arb_wallet_tx_build_payload(&tx, &change, coins, 2, 11, big,
                                                 ARB_TX_MAX_PAYLOAD, 0, 1, key0, &eb),
                     ARB_OK);
        }
        free(big);
    }
    arb_tx_clear(&tx);
    arb_tx_clear(&back);
}

int main(void)
{
    arb_wallet_secret s;
    arb_errbuf eb;

    arb_test_seed_init();
    sc = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (sc == NULL || arb_keyctx_new(&ctx) != ARB_OK ||
        arb_wallet_secret_from_mnemonic(&s, MN, "", &eb) != ARB_OK ||
        arb_wallet_account(ctx, &acct, &s, "regtest", &eb) != ARB_OK)
        return 1;
    test_pay();
    test_payload();
    arb_keyctx_free(ctx);
    secp256k1_context_destroy(sc);
    return arb_test_done();
}
