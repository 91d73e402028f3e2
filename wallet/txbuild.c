/* Offline transaction building and signing (see txbuild.h). */
#include "wallet/txbuild.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "ledger/chain/schnorr.h"
#include "merkle/hash.h"
#include "wallet/wallet.h"

static int add_amount(uint64_t *sum, uint64_t v)
{
    if (v > ARB_MAX_MONEY || *sum > ARB_MAX_MONEY - v)
        return 0;
    *sum += v;
    return 1;
}

arb_err arb_wallet_tx_build(arb_tx *tx, uint64_t *change_out, const arb_wallet_coin *coins,
                            size_t n_coins, const arb_txout *dests, size_t n_dests, uint64_t fee,
                            const uint8_t change_key32[static 32], arb_errbuf *eb)
{
    uint64_t in = 0, out = 0, change;
    size_t i, n_out;
    arb_err err;

    arb_tx_clear(tx);
    *change_out = 0;
    if (n_coins == 0 || n_dests == 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "a payment needs coins and destinations");
    if (n_coins > ARB_TX_MAX_INPUTS || n_dests >= ARB_TX_MAX_OUTPUTS)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "too many inputs or outputs");
    for (i = 0; i < n_coins; i++)
        if (!add_amount(&in, coins[i].spent.amount))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "coin amounts overflow");
    for (i = 0; i < n_dests; i++) {
        if (dests[i].amount == 0)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "destination %zu has amount 0", i + 1);
        if (!add_amount(&out, dests[i].amount))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "destination amounts overflow");
    }
    if (!add_amount(&out, fee))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "fee overflows");
    if (in < out)
        return arb_errf(eb, ARB_ERR_VERIFY,
                        "coins hold %llu units, outputs and fee need %llu (%llu short)",
                        (unsigned long long)in, (unsigned long long)out,
                        (unsigned long long)(out - in));
    change = in - out;
    n_out = n_dests + (change > 0 ? 1 : 0);
    if ((err = arb_tx_alloc(tx, n_coins, n_out)) != ARB_OK)
        return err;
    tx->version = ARB_WALLET_TX_VERSION;
    tx->lock_time = 0;
    for (i = 0; i < n_coins; i++)
        tx->in[i] = coins[i].prev;
    for (i = 0; i < n_dests; i++)
        tx->out[i] = dests[i];
    if (change > 0) {
        tx->out[n_dests].amount = change;
        memcpy(tx->out[n_dests].key, change_key32, 32);
    }
    *change_out = change;
    return ARB_OK;
}

arb_err arb_wallet_tx_build_payload(arb_tx *tx, uint64_t *change_out, const arb_wallet_coin *coins,
                                    size_t n_coins, uint8_t payload_type, const uint8_t *payload,
                                    size_t payload_len, uint64_t burn, uint64_t fee,
                                    const uint8_t change_key32[static 32], arb_errbuf *eb)
{
    uint64_t in = 0, out = 0;
    arb_err err;

    arb_tx_clear(tx);
    *change_out = 0;
    if (n_coins == 0 || n_coins > ARB_TX_MAX_INPUTS)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "a transaction needs 1 to %u coins",
                        (unsigned)ARB_TX_MAX_INPUTS);
    if (payload_type == 0 || payload_len == 0 || payload_len > ARB_TX_MAX_PAYLOAD)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "payload type %u with %zu bytes (1..%u)",
                        (unsigned)payload_type, payload_len, (unsigned)ARB_TX_MAX_PAYLOAD);
    for (size_t i = 0; i < n_coins; i++)
        if (!add_amount(&in, coins[i].spent.amount))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "coin amounts overflow");
    if (!add_amount(&out, burn) || !add_amount(&out, fee))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "burn and fee overflow");
    if (in <= out)
        return arb_errf(eb, ARB_ERR_VERIFY,
                        "coins hold %llu units, burn and fee need %llu and change at least 1 "
                        "(%llu short)",
                        (unsigned long long)in, (unsigned long long)out,
                        (unsigned long long)(out - in + 1));
    if ((err = arb_tx_alloc(tx, n_coins, 1)) != ARB_OK)
        return err;
    if ((tx->payload = malloc(payload_len)) == NULL) {
        arb_tx_clear(tx);
        return ARB_ERR_NOMEM;
    }
    memcpy(tx->payload, payload, payload_len);
    tx->payload_len = payload_len;
    tx->payload_type = payload_type;
    tx->version = ARB_WALLET_TX_VERSION;
    tx->lock_time = 0;
    for (size_t i = 0; i < n_coins; i++)
        tx->in[i] = coins[i].prev;
    tx->out[0].amount = in - out;
    memcpy(tx->out[0].key, change_key32, 32);
    *change_out = in - out;
    return ARB_OK;
}

/* Output keys of chain/0 .. chain/limit-1, compared to key32. */
static arb_err scan_chain(const arb_keyctx *ctx, uint32_t *index, const arb_bip32_key *account,
                          uint32_t chain, uint32_t limit, const uint8_t key32[static 32])
{
    arb_bip32_key ck, k;
    uint8_t out32[32];
    uint32_t i;
    arb_err err;

    if (limit == 0)
        return ARB_ERR_NOT_FOUND;
    if ((err = arb_bip32_derive(ctx, &ck, account, chain)) != ARB_OK)
        return err;
    err = ARB_ERR_NOT_FOUND;
    for (i = 0; i < limit && i < ARB_BIP32_HARDENED; i++) {
        if (arb_bip32_derive(ctx, &k, &ck, i) != ARB_OK)
            continue; /* BIP32's skipped index */
        if (arb_bip32_taproot_keys(ctx, NULL, out32, &k) == ARB_OK &&
            CRYPTO_memcmp(out32, key32, 32) == 0) {
            *index = i;
            err = ARB_OK;
            break;
        }
    }
    arb_bip32_key_wipe(&ck);
    arb_bip32_key_wipe(&k);
    return err;
}

arb_err arb_wallet_find_key(const arb_keyctx *ctx, uint32_t *change, uint32_t *index,
                            const arb_bip32_key *account, const uint8_t key32[static 32],
                            uint32_t receive_limit, uint32_t change_limit)
{
    arb_err err;

    *change = 0;
    *index = 0;
    err = scan_chain(ctx, index, account, 0, receive_limit, key32);
    if (err != ARB_ERR_NOT_FOUND)
        return err;
    err = scan_chain(ctx, index, account, 1, change_limit, key32);
    if (err == ARB_OK)
        *change = 1;
    return err;
}

arb_err arb_wallet_tx_sign(const arb_keyctx *ctx, arb_tx *tx, const arb_bip32_key *account,
                           const char *network, const arb_wallet_coin *coins, size_t n_coins,
                           uint32_t receive_limit, uint32_t change_limit, arb_errbuf *eb)
{
    const arb_chain_params *params = arb_chain_params_get(network);
    arb_txout *spent = NULL;
    arb_sha256 *sha = NULL;
    arb_schnorr *sch = NULL;
    arb_sighash_cache cache;
    arb_hash netid;
    uint8_t sk[32], msg[32], aux[32], pub[32];
    size_t i;
    arb_err err;

    if (params == NULL || !params->has_ledger)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown network \"%s\"", network);
    if (!account->is_private)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "signing needs the private account key");
    if (n_coins != tx->n_in || n_coins == 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "one coin per input expected");
    for (i = 0; i < n_coins; i++)
        if (memcmp(&tx->in[i], &coins[i].prev, sizeof(arb_outpoint)) != 0)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "coin %zu is not input %zu", i + 1, i + 1);
    spent = calloc(n_coins, sizeof(*spent));
    if (spent == NULL)
        return ARB_ERR_NOMEM;
    for (i = 0; i < n_coins; i++)
        spent[i] = coins[i].spent;
    if ((err = arb_sha256_new(&sha)) != ARB_OK || (err = arb_schnorr_new(&sch)) != ARB_OK)
        goto out;
    arb_chain_network_id(params, &netid);
    if ((err = arb_tx_sighash_prepare(sha, &cache, tx, spent)) != ARB_OK)
        goto out;
    for (i = 0; i < n_coins; i++) {
        uint32_t change = 0, index = 0;
        err = arb_wallet_find_key(ctx, &change, &index, account, spent[i].key, receive_limit,
                                  change_limit);
        if (err == ARB_ERR_NOT_FOUND) {
            arb_errf(eb, err, "coin %zu is not locked to a key of this wallet", i + 1);
            goto out;
        }
        if (err != ARB_OK)
            goto out;
        if ((err = arb_wallet_signing_key(ctx, sk, account, change, index)) != ARB_OK)
            goto out;
        arb_tx_sighash(sha, msg, &netid, &cache, (uint32_t)i);
        if (RAND_bytes(aux, sizeof(aux)) != 1 || !arb_schnorr_pubkey(sch, pub, sk) ||
            CRYPTO_memcmp(pub, spent[i].key, 32) != 0 ||
            !arb_schnorr_sign(sch, tx->sig[i], msg, sizeof(msg), sk, aux) ||
            !arb_schnorr_verify(sch, tx->sig[i], msg, sizeof(msg), spent[i].key)) {
            err = arb_errf(eb, ARB_ERR_CRYPTO, "signing input %zu failed", i + 1);
            goto out;
        }
    }
    err = ARB_OK;
out:
    if (err != ARB_OK && tx->sig != NULL)
        memset(tx->sig, 0, tx->n_in * ARB_SIG_SIZE);
    OPENSSL_cleanse(sk, sizeof(sk));
    arb_schnorr_free(sch);
    arb_sha256_free(sha);
    free(spent);
    return err;
}
