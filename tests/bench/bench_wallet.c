/* Wallet timings: BIP39 seed (PBKDF2, 2048 rounds), BIP32 child derivation,
 * one address (two derivations, taproot tweak, bech32m), keystore seal and
 * open at the default scrypt cost. Prints one line per measurement. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wallet/bip39.h"
#include "wallet/keystore.h"
#include "wallet/wallet.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, unsigned n, double secs)
{
    printf("%-40s %8u ops %10.1f ops/s %10.1f us/op\n", what, n, n / secs, secs / n * 1e6);
}

int main(void)
{
    arb_keyctx *ctx = NULL;
    arb_wallet_secret s;
    arb_bip32_key acct, k;
    arb_keystore ks;
    arb_errbuf eb;
    uint8_t seed[64];
    char addr[ARB_ADDR_MAX], mn[ARB_BIP39_MNEMONIC_MAX];
    unsigned i, n;
    double t;

    if (arb_keyctx_new(&ctx) != ARB_OK ||
        arb_wallet_secret_from_mnemonic(&s, "legal winner thank year wave sausage worth useful "
                                            "legal winner thank yellow", "", &eb) != ARB_OK ||
        arb_wallet_account(ctx, &acct, &s, "regtest", &eb) != ARB_OK ||
        arb_wallet_mnemonic(mn, sizeof(mn), &s) != ARB_OK)
        return 1;
    n = 200;
    t = now();
    for (i = 0; i < n; i++)
        if (arb_bip39_seed(seed, mn, "") != ARB_OK)
            return 1;
    report("bip39 seed (PBKDF2-HMAC-SHA512 x2048)", n, now() - t);
    n = 20000;
    t = now();
    for (i = 0; i < n; i++)
        if (arb_bip32_derive(ctx, &k, &acct, i & 0x7fffffff) != ARB_OK)
            return 1;
    report("bip32 private child derivation", n, now() - t);
    n = 5000;
    t = now();
    for (i = 0; i < n; i++)
        if (arb_wallet_address_at(ctx, addr, sizeof(addr), NULL, &acct, "regtest", 0, i) != ARB_OK)
            return 1;
    report("address (2 derivations + tweak + bech32m)", n, now() - t);
    memset(&ks, 0, sizeof(ks));
    snprintf(ks.network, sizeof(ks.network), "regtest");
    ks.log2_n = ARB_KEYSTORE_LOG2N_DEFAULT;
    ks.r = 8;
    ks.p = 1;
    n = 10;
    t = now();
    for (i = 0; i < n; i++)
        if (arb_keystore_seal(&ks, &s, "pass", 4, &eb) != ARB_OK)
            return 1;
    report("keystore seal (scrypt N=2^15 r=8 p=1)", n, now() - t);
    t = now();
    for (i = 0; i < n; i++) {
        arb_wallet_secret out;
        if (arb_keystore_open(&ks, "pass", 4, &out, &eb) != ARB_OK)
            return 1;
        arb_wallet_secret_wipe(&out);
    }
    report("keystore open (scrypt N=2^15 r=8 p=1)", n, now() - t);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
    arb_bip32_key_wipe(&acct);
    arb_bip32_key_wipe(&k);
    arb_keyctx_free(ctx);
    return 0;
}
