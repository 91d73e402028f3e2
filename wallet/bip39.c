/* BIP39 (see bip39.h). The word list is compiled in from bip39_english.txt
 * (a generated array, arb_bip39_english). */
#include "wallet/bip39.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wallet/crypto_internal.h"

extern const char *const arb_bip39_english[ARB_BIP39_WORDS];

const char *arb_bip39_word(unsigned i)
{
    return i < ARB_BIP39_WORDS ? arb_bip39_english[i] : NULL;
}

int arb_bip39_word_index(const char *word, size_t word_len)
{
    int lo = 0, hi = ARB_BIP39_WORDS - 1;

    if (word_len == 0 || word_len > 8)
        return -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *w = arb_bip39_english[mid];
        size_t wl = strlen(w);
        int c = strncmp(word, w, word_len < wl ? word_len : wl);
        if (c == 0)
            c = word_len < wl ? -1 : word_len > wl ? 1 : 0;
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Bit i (0 = most significant bit of b[0]). */
static unsigned bit_at(const uint8_t *b, size_t i)
{
    return (b[i / 8] >> (7 - i % 8)) & 1u;
}

arb_err arb_bip39_from_entropy(char *out, size_t out_size, const uint8_t *ent, size_t ent_len)
{
    uint8_t buf[33];
    size_t nbits, nwords, i, pos = 0;

    if (out_size > 0)
        out[0] = '\0';
    if (ent_len < 16 || ent_len > 32 || ent_len % 4 != 0 || out_size < ARB_BIP39_MNEMONIC_MAX)
        return ARB_ERR_INVALID_ARG;
    memcpy(buf, ent, ent_len);
    {
        uint8_t h[32];
        if (!arb_wallet_sha256(h, ent, ent_len)) {
            OPENSSL_cleanse(buf, sizeof(buf));
            return ARB_ERR_CRYPTO;
        }
        buf[ent_len] = h[0]; /* checksum: the first ent_len*8/32 <= 8 bits */
        OPENSSL_cleanse(h, sizeof(h));
    }
    nbits = ent_len * 8 + ent_len / 4;
    nwords = nbits / 11;
    for (i = 0; i < nwords; i++) {
        unsigned idx = 0, k;
        const char *w;
        size_t wl;
        for (k = 0; k < 11; k++)
            idx = (idx << 1) | bit_at(buf, i * 11 + k);
        w = arb_bip39_english[idx];
        wl = strlen(w);
        if (i > 0)
            out[pos++] = ' ';
        memcpy(out + pos, w, wl);
        pos += wl;
    }
    out[pos] = '\0';
    OPENSSL_cleanse(buf, sizeof(buf));
    return ARB_OK;
}

arb_err arb_bip39_to_entropy(uint8_t ent32[static 32], size_t *ent_len, const char *mnemonic,
                             arb_errbuf *eb)
{
    uint8_t buf[33];
    uint16_t idx[24];
    size_t nwords = 0, nbits, ent_bytes, i;
    const char *p = mnemonic;
    arb_err err = ARB_OK;
    uint8_t h[32];
    unsigned cs_bits, mask;

    memset(ent32, 0, 32);
    *ent_len = 0;
    for (;;) {
        char word[9];
        size_t wl = 0;
        int ix;
        while (*p != '\0' && isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        while (p[wl] != '\0' && !isspace((unsigned char)p[wl]))
            wl++;
        if (nwords == 24) {
            err = arb_errf(eb, ARB_ERR_PARSE, "more than 24 words");
            goto out;
        }
        if (wl > 8) {
            err = arb_errf(eb, ARB_ERR_PARSE, "word %zu is not in the BIP39 English list",
                           nwords + 1);
            goto out;
        }
        for (i = 0; i < wl; i++)
            word[i] = (char)tolower((unsigned char)p[i]);
        ix = arb_bip39_word_index(word, wl);
        OPENSSL_cleanse(word, sizeof(word));
        if (ix < 0) {
            err = arb_errf(eb, ARB_ERR_PARSE, "word %zu is not in the BIP39 English list",
                           nwords + 1);
            goto out;
        }
        idx[nwords++] = (uint16_t)ix;
        p += wl;
    }
    if (nwords < 12 || nwords % 3 != 0) {
        err = arb_errf(eb, ARB_ERR_PARSE, "%zu words: a mnemonic has 12, 15, 18, 21 or 24", nwords);
        goto out;
    }
    nbits = nwords * 11;
    ent_bytes = nbits * 32 / 33 / 8;
    memset(buf, 0, sizeof(buf));
    for (i = 0; i < nbits; i++) {
        unsigned b = (idx[i / 11] >> (10 - i % 11)) & 1u;
        buf[i / 8] |= (uint8_t)(b << (7 - i % 8));
    }
    if (!arb_wallet_sha256(h, buf, ent_bytes)) {
        err = ARB_ERR_CRYPTO;
        goto out;
    }
    cs_bits = (unsigned)(ent_bytes / 4);
    mask = (0xffu << (8 - cs_bits)) & 0xffu;
    if (((h[0] ^ buf[ent_bytes]) & mask) != 0) {
        err = arb_errf(eb, ARB_ERR_VERIFY, "mnemonic checksum does not match (a word is wrong)");
        goto out;
    }
    memcpy(ent32, buf, ent_bytes);
    *ent_len = ent_bytes;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(idx, sizeof(idx));
    OPENSSL_cleanse(h, sizeof(h));
    return err;
}

static int is_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

arb_err arb_bip39_seed(uint8_t seed64[static 64], const char *mnemonic, const char *passphrase)
{
    char *salt;
    size_t plen;
    int ok;

    memset(seed64, 0, 64);
    if (!is_ascii(mnemonic) || !is_ascii(passphrase))
        return ARB_ERR_INVALID_ARG;
    plen = strlen(passphrase);
    if (plen > 4096 || strlen(mnemonic) > 4096)
        return ARB_ERR_INVALID_ARG;
    salt = malloc(8 + plen + 1);
    if (salt == NULL)
        return ARB_ERR_NOMEM;
    memcpy(salt, "mnemonic", 8);
    memcpy(salt + 8, passphrase, plen);
    ok = PKCS5_PBKDF2_HMAC(mnemonic, (int)strlen(mnemonic), (const unsigned char *)salt,
                           (int)(8 + plen), 2048, EVP_sha512(), 64, seed64);
    OPENSSL_cleanse(salt, 8 + plen);
    free(salt);
    if (ok != 1) {
        memset(seed64, 0, 64);
        return ARB_ERR_CRYPTO;
    }
    return ARB_OK;
}
