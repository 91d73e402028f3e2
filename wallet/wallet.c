/* The wallet's key scheme (see wallet.h). */
#include "wallet/wallet.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wallet/address.h"
#include "wallet/bip39.h"

long arb_wallet_coin_type(const char *network)
{
    if (strcmp(network, "main") == 0)
        return ARB_COIN_MAIN;
    if (strcmp(network, "test") == 0 || strcmp(network, "regtest") == 0)
        return ARB_COIN_TEST;
    return -1;
}

arb_err arb_wallet_secret_from_mnemonic(arb_wallet_secret *s, const char *mnemonic,
                                        const char *bip39_pass, arb_errbuf *eb)
{
    arb_err err;
    size_t pl;
    const char *p;

    memset(s, 0, sizeof(*s));
    if (bip39_pass == NULL)
        bip39_pass = "";
    pl = strlen(bip39_pass);
    for (p = bip39_pass; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "the BIP39 passphrase must be ASCII (Unicode normalization is not "
                            "supported)");
    if (pl > ARB_KEYSTORE_PASS_MAX)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "BIP39 passphrase too long");
    err = arb_bip39_to_entropy(s->entropy, &s->entropy_len, mnemonic, eb);
    if (err != ARB_OK) {
        arb_wallet_secret_wipe(s);
        return err;
    }
    memcpy(s->bip39_pass, bip39_pass, pl + 1);
    return ARB_OK;
}

arb_err arb_wallet_mnemonic(char *out, size_t out_size, const arb_wallet_secret *s)
{
    return arb_bip39_from_entropy(out, out_size, s->entropy, s->entropy_len);
}

arb_err arb_wallet_account(const arb_keyctx *ctx, arb_bip32_key *account,
                           const arb_wallet_secret *s, const char *network, arb_errbuf *eb)
{
    char mn[ARB_BIP39_MNEMONIC_MAX], path[64];
    uint8_t seed[ARB_BIP39_SEED_SIZE];
    arb_bip32_key root;
    long coin = arb_wallet_coin_type(network);
    arb_err err;

    memset(account, 0, sizeof(*account));
    memset(&root, 0, sizeof(root));
    if (coin < 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown network \"%s\"", network);
    if ((err = arb_wallet_mnemonic(mn, sizeof(mn), s)) != ARB_OK)
        goto out;
    if ((err = arb_bip39_seed(seed, mn, s->bip39_pass)) != ARB_OK) {
        arb_errf(eb, err, "cannot compute the BIP39 seed");
        goto out;
    }
    if ((err = arb_bip32_from_seed(ctx, &root, seed, sizeof(seed))) != ARB_OK) {
        arb_errf(eb, err, "the seed gives no valid master key");
        goto out;
    }
    snprintf(path, sizeof(path), "m/86'/%ld'/0'", coin);
    err = arb_bip32_derive_path(ctx, account, &root, path, eb);
out:
    OPENSSL_cleanse(mn, sizeof(mn));
    OPENSSL_cleanse(seed, sizeof(seed));
    arb_bip32_key_wipe(&root);
    return err;
}

/* account/change/index */
static arb_err leaf(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *account,
                    uint32_t change, uint32_t index)
{
    arb_err err;

    if (change > 1 || index >= ARB_BIP32_HARDENED)
        return ARB_ERR_INVALID_ARG;
    if ((err = arb_bip32_derive(ctx, out, account, change)) != ARB_OK)
        return err;
    return arb_bip32_derive(ctx, out, out, index);
}

arb_err arb_wallet_address_at(const arb_keyctx *ctx, char *addr, size_t addr_size,
                              uint8_t *key32, const arb_bip32_key *account, const char *network,
                              uint32_t change, uint32_t index)
{
    const char *hrp = arb_wallet_network_hrp(network);
    arb_bip32_key k;
    uint8_t out32[32];
    arb_err err;

    if (addr_size > 0)
        addr[0] = '\0';
    if (hrp == NULL)
        return ARB_ERR_INVALID_ARG;
    if ((err = leaf(ctx, &k, account, change, index)) != ARB_OK)
        goto out;
    if ((err = arb_bip32_taproot_keys(ctx, NULL, out32, &k)) != ARB_OK)
        goto out;
    if (addr_size < ARB_ADDR_MAX || !arb_address_encode(addr, hrp, out32)) {
        err = ARB_ERR_INVALID_ARG;
        goto out;
    }
    if (key32 != NULL)
        memcpy(key32, out32, 32);
out:
    arb_bip32_key_wipe(&k);
    return err;
}

arb_err arb_wallet_signing_key(const arb_keyctx *ctx, uint8_t seckey32[static 32],
                               const arb_bip32_key *account, uint32_t change, uint32_t index)
{
    arb_bip32_key k;
    arb_err err;

    memset(seckey32, 0, 32);
    if (!account->is_private)
        return ARB_ERR_INVALID_ARG;
    if ((err = leaf(ctx, &k, account, change, index)) == ARB_OK)
        err = arb_bip32_taproot_seckey(ctx, seckey32, &k);
    arb_bip32_key_wipe(&k);
    return err;
}
