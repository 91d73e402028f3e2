/* Keystore: round trips, wrong passphrases, every truncation and single-bit
 * change of a file rejected, atomic replacement that leaves the old file in
 * place when writing fails, no-clobber creation, file mode. Also the wallet
 * key scheme built on it. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "tests/test.h"
#include "wallet/address.h"
#include "wallet/keystore.h"
#include "wallet/wallet.h"

#define PASS "correct horse battery staple"

static void make_secret(arb_wallet_secret *s, const char *bip39_pass)
{
    memset(s, 0, sizeof(*s));
    s->entropy_len = 32;
    arb_test_rand_bytes(s->entropy, 32);
    snprintf(s->bip39_pass, sizeof(s->bip39_pass), "%s", bip39_pass);
}

static void make_ks(arb_keystore *ks, const char *net, unsigned log2_n)
{
    memset(ks, 0, sizeof(*ks));
    snprintf(ks->network, sizeof(ks->network), "%s", net);
    ks->log2_n = log2_n;
    ks->r = 8;
    ks->p = 1;
    ks->next_receive = 7;
    ks->next_change = 2;
}

static void test_roundtrip(void)
{
    arb_wallet_secret s, back;
    arb_keystore ks, parsed;
    arb_errbuf eb;
    char *json = NULL;

    make_secret(&s, "TREZOR");
    make_ks(&ks, "regtest", 4);
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    free(json);
    CHECK_STR(parsed.network, "regtest");
    CHECK_EQ(parsed.next_receive, 7);
    CHECK_EQ(parsed.next_change, 2);
    CHECK_EQ(parsed.log2_n, 4);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_OK);
    CHECK_EQ(back.entropy_len, 32);
    CHECK_MEM(back.entropy, s.entropy, 32);
    CHECK_STR(back.bip39_pass, "TREZOR");
    /* Wrong passphrases: another word, a prefix, empty, one more byte. */
    CHECK_EQ(arb_keystore_open(&parsed, "wrong", 5, &back, &eb), ARB_ERR_VERIFY);
    CHECK_EQ(back.entropy_len, 0);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS) - 1, &back, &eb), ARB_ERR_VERIFY);
    CHECK_EQ(arb_keystore_open(&parsed, "", 0, &back, &eb), ARB_ERR_VERIFY);
    CHECK_EQ(arb_keystore_open(&parsed, PASS "x", strlen(PASS) + 1, &back, &eb), ARB_ERR_VERIFY);
    /* Sealing twice draws a new salt and nonce. */
    {
        uint8_t salt[16], nonce[12];
        memcpy(salt, ks.salt, 16);
        memcpy(nonce, ks.nonce, 12);
        CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
        CHECK(memcmp(salt, ks.salt, 16) != 0 && memcmp(nonce, ks.nonce, 12) != 0);
    }
    arb_keystore_clear(&ks);
    arb_keystore_clear(&parsed);
    /* The default cost (N = 2^15, 32 MiB) works within the memory limit. */
    make_ks(&ks, "main", ARB_KEYSTORE_LOG2N_DEFAULT);
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&ks, PASS, strlen(PASS), &back, &eb), ARB_OK);
    CHECK_MEM(back.entropy, s.entropy, 32);
    arb_keystore_clear(&ks);
    /* Bad parameters are refused before any work. */
    make_ks(&ks, "nonet", 4);
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_ERR_INVALID_ARG);
    make_ks(&ks, "main", 21);
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_ERR_INVALID_ARG);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
    arb_wallet_secret_wipe(&back);
}

/* Decrypts the keystore JSON text; returns the first error. */
static arb_err try_open(const char *json, size_t len)
{
    arb_keystore ks;
    arb_wallet_secret s;
    arb_errbuf eb;
    arb_err err = arb_keystore_parse(&ks, json, len, &eb);

    if (err == ARB_OK)
        err = arb_keystore_open(&ks, PASS, strlen(PASS), &s, &eb);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
    return err;
}

static void test_tamper(void)
{
    arb_wallet_secret s;
    arb_keystore ks;
    arb_errbuf eb;
    char *json = NULL, *copy;
    size_t len, i, bad_parse = 0, bad_verify = 0;

    make_secret(&s, "");
    make_ks(&ks, "test", 1);
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    len = strlen(json);
    CHECK_EQ(try_open(json, len), ARB_OK);
    copy = malloc(len + 1);
    CHECK(copy != NULL);
    /* Every truncation is a parse error. */
    for (i = 0; i < len; i++) {
        arb_err e = try_open(json, i);
        if (e != ARB_ERR_PARSE)
            fprintf(stderr, "truncation at %zu gave %d\n", i, (int)e);
        CHECK_EQ(e, ARB_ERR_PARSE);
    }
    /* Every single-bit change anywhere in the file is refused: the JSON or a
     * field breaks (parse), or the authenticated data, salt, nonce, tag or
     * ciphertext no longer match (verify). */
    for (i = 0; i < len; i++) {
        arb_err e;
        memcpy(copy, json, len + 1);
        copy[i] ^= 0x01;
        e = try_open(copy, len);
        if (e == ARB_OK)
            fprintf(stderr, "bit flip at %zu ('%c') accepted\n", i, json[i]);
        CHECK(e == ARB_ERR_PARSE || e == ARB_ERR_VERIFY);
        if (e == ARB_ERR_PARSE)
            bad_parse++;
        else
            bad_verify++;
    }
    /* Flips that keep a hex digit a hex digit ('0' <-> '1', 'b' <-> 'c', ...)
     * inside salt, nonce, tag and ciphertext reach the decryption. */
    CHECK(bad_verify >= 16 + 12 + 16 + ks.ct_len);
    CHECK(bad_parse > 0);
    /* Changing each byte of the decoded fields directly. */
    {
        arb_keystore t;
        uint8_t *fields[] = {ks.salt, ks.nonce, ks.tag};
        size_t sizes[] = {16, 12, 16}, f, j;
        arb_wallet_secret out;
        for (f = 0; f < 3; f++) {
            for (j = 0; j < sizes[f]; j++) {
                fields[f][j] ^= 0x80;
                CHECK_EQ(arb_keystore_open(&ks, PASS, strlen(PASS), &out, &eb), ARB_ERR_VERIFY);
                fields[f][j] ^= 0x80;
            }
        }
        for (j = 0; j < ks.ct_len; j++) {
            ks.ct[j] ^= 0x80;
            CHECK_EQ(arb_keystore_open(&ks, PASS, strlen(PASS), &out, &eb), ARB_ERR_VERIFY);
            ks.ct[j] ^= 0x80;
        }
        t = ks;
        t.next_receive++;
        CHECK_EQ(arb_keystore_open(&t, PASS, strlen(PASS), &out, &eb), ARB_ERR_VERIFY);
        t = ks;
        snprintf(t.network, sizeof(t.network), "main");
        CHECK_EQ(arb_keystore_open(&t, PASS, strlen(PASS), &out, &eb), ARB_ERR_VERIFY);
        t = ks;
        t.r = 9;
        CHECK_EQ(arb_keystore_open(&t, PASS, strlen(PASS), &out, &eb), ARB_ERR_VERIFY);
        CHECK_EQ(arb_keystore_open(&ks, PASS, strlen(PASS), &out, &eb), ARB_OK);
        arb_wallet_secret_wipe(&out);
    }
    free(copy);
    free(json);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
}

static void test_parse_strict(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "{\"format\":\"arbor-wallet-keystore\",\"version\":2}",
        /* duplicate key */
        "{\"format\":\"arbor-wallet-keystore\",\"format\":\"arbor-wallet-keystore\"}",
    };
    arb_keystore ks;
    arb_errbuf eb;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(arb_keystore_parse(&ks, bad[i], strlen(bad[i]), &eb), ARB_ERR_PARSE);
    /* A field added, a parameter out of range, a short salt. */
    {
#define GOOD_TAIL                                                                                  \
    "\"kdf\":{\"name\":\"scrypt\",\"log2_n\":%u,\"r\":8,\"p\":1,\"salt\":\"%s\"},"                                         \
    "\"cipher\":{\"name\":\"aes-256-gcm\",\"nonce\":\"000000000000000000000000\","                              \
    "\"tag\":\"00000000000000000000000000000000\"},\"ciphertext\":\"00\"%s}"
        char buf[1024], tail[800];
        const char *head = "{\"format\":\"arbor-wallet-keystore\",\"version\":1,"
                           "\"network\":\"regtest\",\"next_receive\":0,\"next_change\":0,";
        snprintf(tail, sizeof(tail), GOOD_TAIL, 4u, "00000000000000000000000000000000", "");
        snprintf(buf, sizeof(buf), "%s%s", head, tail);
        CHECK_EQ(arb_keystore_parse(&ks, buf, strlen(buf), &eb), ARB_OK);
        arb_keystore_clear(&ks);
        snprintf(tail, sizeof(tail), GOOD_TAIL, 4u, "00000000000000000000000000000000",
                 ",\"extra\":1");
        snprintf(buf, sizeof(buf), "%s%s", head, tail);
        CHECK_EQ(arb_keystore_parse(&ks, buf, strlen(buf), &eb), ARB_ERR_PARSE);
        snprintf(tail, sizeof(tail), GOOD_TAIL, 21u, "00000000000000000000000000000000", "");
        snprintf(buf, sizeof(buf), "%s%s", head, tail);
        CHECK_EQ(arb_keystore_parse(&ks, buf, strlen(buf), &eb), ARB_ERR_PARSE);
        snprintf(tail, sizeof(tail), GOOD_TAIL, 0u, "00000000000000000000000000000000", "");
        snprintf(buf, sizeof(buf), "%s%s", head, tail);
        CHECK_EQ(arb_keystore_parse(&ks, buf, strlen(buf), &eb), ARB_ERR_PARSE);
        snprintf(tail, sizeof(tail), GOOD_TAIL, 4u, "000000000000000000000000000000", "");
        snprintf(buf, sizeof(buf), "%s%s", head, tail);
        CHECK_EQ(arb_keystore_parse(&ks, buf, strlen(buf), &eb), ARB_ERR_PARSE);
    }
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_files(void)
{
    char dir[512], path[600];
    arb_wallet_secret s, back;
    arb_keystore ks, loaded;
    arb_errbuf eb;
    struct stat st;
    uint8_t *before, *after;
    size_t blen = 0, alen = 0;
    pid_t pid;
    int status = 0;

    CHECK(arb_test_tmpdir(dir, sizeof(dir)) == 0);
    snprintf(path, sizeof(path), "%s/wallet.json", dir);
    CHECK_EQ(arb_keystore_load(&loaded, path, &eb), ARB_ERR_NOT_FOUND);
    make_secret(&s, "");
    make_ks(&ks, "regtest", 2);
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_save(&ks, path, 1, &eb), ARB_OK);
    CHECK(stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(count_entries(dir), 1);
    CHECK_EQ(arb_keystore_load(&loaded, path, &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&loaded, PASS, strlen(PASS), &back, &eb), ARB_OK);
    CHECK_MEM(back.entropy, s.entropy, 32);
    arb_keystore_clear(&loaded);
    before = arb_test_read_file(path, &blen);
    CHECK(before != NULL);

    /* Creating again never overwrites. */
    CHECK_EQ(arb_keystore_save(&ks, path, 1, &eb), ARB_ERR_EXISTS);
    after = arb_test_read_file(path, &alen);
    CHECK(after != NULL && alen == blen && memcmp(before, after, blen) == 0);
    free(after);
    CHECK_EQ(count_entries(dir), 1);

    /* A write that fails half-way (file size limit) leaves the old file and no
     * temporary file. The limit is set in a child process. */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {64, 64};
        signal(SIGXFSZ, SIG_IGN);
        ks.next_receive = 1000;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(3);
        _exit(arb_keystore_save(&ks, path, 0, &eb) == ARB_ERR_IO ? 0 : 1);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    after = arb_test_read_file(path, &alen);
    CHECK(after != NULL && alen == blen && memcmp(before, after, blen) == 0);
    free(after);
    CHECK_EQ(count_entries(dir), 1);

    /* A successful replacement. */
    ks.next_receive = 8;
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_save(&ks, path, 0, &eb), ARB_OK);
    CHECK_EQ(arb_keystore_load(&loaded, path, &eb), ARB_OK);
    CHECK_EQ(loaded.next_receive, 8);
    CHECK(stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(count_entries(dir), 1);
    arb_keystore_clear(&loaded);

    /* A directory that does not exist. */
    snprintf(path, sizeof(path), "%s/missing/wallet.json", dir);
    CHECK_EQ(arb_keystore_save(&ks, path, 1, &eb), ARB_ERR_IO);

    /* An oversized file is refused unread. */
    snprintf(path, sizeof(path), "%s/big.json", dir);
    {
        FILE *f = fopen(path, "w");
        size_t i;
        CHECK(f != NULL);
        for (i = 0; i < ARB_KEYSTORE_FILE_MAX + 10; i++)
            fputc(' ', f);
        fclose(f);
    }
    CHECK_EQ(arb_keystore_load(&loaded, path, &eb), ARB_ERR_PARSE);
    free(before);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
    arb_wallet_secret_wipe(&back);
    arb_test_rmtree(dir);
}

/* The key scheme: the account xpub derives the same addresses as the private
 * account, and the signing key signs for the address's key. */
static void test_scheme(void)
{
    arb_keyctx *ctx = NULL;
    arb_wallet_secret s;
    arb_bip32_key acct, pub;
    arb_errbuf eb;
    secp256k1_context *sc = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    uint32_t i;

    CHECK(sc != NULL);
    CHECK_EQ(arb_keyctx_new(&ctx), ARB_OK);
    CHECK_EQ(arb_wallet_coin_type("main"), ARB_COIN_MAIN);
    CHECK_EQ(arb_wallet_coin_type("regtest"), 1);
    CHECK_EQ(arb_wallet_coin_type("x"), -1);
    CHECK_EQ(arb_wallet_secret_from_mnemonic(&s, "abandon abandon abandon abandon abandon abandon "
                                                 "abandon abandon abandon abandon abandon about",
                                             "", &eb),
             ARB_OK);
    CHECK_EQ(arb_wallet_account(ctx, &acct, &s, "regtest", &eb), ARB_OK);
    CHECK_EQ(acct.depth, 3);
    CHECK_EQ(acct.child, ARB_BIP32_HARDENED);
    CHECK_EQ(arb_bip32_neuter(ctx, &pub, &acct), ARB_OK);
    for (i = 0; i < 5; i++) {
        char a1[ARB_ADDR_MAX], a2[ARB_ADDR_MAX];
        uint8_t k1[32], k2[32], sk[32], sig[64], msg[32] = {1}, dec[32];
        secp256k1_keypair kp;
        secp256k1_xonly_pubkey xq;
        CHECK_EQ(arb_wallet_address_at(ctx, a1, sizeof(a1), k1, &acct, "regtest", i & 1, i),
                 ARB_OK);
        CHECK_EQ(arb_wallet_address_at(ctx, a2, sizeof(a2), k2, &pub, "regtest", i & 1, i), ARB_OK);
        CHECK_STR(a1, a2);
        CHECK(strncmp(a1, "rarb1p", 6) == 0);
        CHECK_EQ(arb_address_decode(dec, "rarb", a1, &eb), ARB_OK);
        CHECK_MEM(dec, k1, 32);
        CHECK_EQ(arb_wallet_signing_key(ctx, sk, &acct, i & 1, i), ARB_OK);
        CHECK(secp256k1_keypair_create(sc, &kp, sk));
        CHECK(secp256k1_schnorrsig_sign32(sc, sig, msg, &kp, NULL));
        CHECK(secp256k1_xonly_pubkey_parse(sc, &xq, k1));
        CHECK(secp256k1_schnorrsig_verify(sc, sig, msg, 32, &xq));
    }
    {
        char a[ARB_ADDR_MAX];
        uint8_t sk[32];
        CHECK_EQ(arb_wallet_address_at(ctx, a, sizeof(a), NULL, &acct, "regtest", 2, 0),
                 ARB_ERR_INVALID_ARG);
        CHECK_EQ(arb_wallet_signing_key(ctx, sk, &pub, 0, 0), ARB_ERR_INVALID_ARG);
    }
    CHECK_EQ(arb_wallet_secret_from_mnemonic(&s, "abandon about", "", &eb), ARB_ERR_PARSE);
    CHECK_EQ(arb_wallet_secret_from_mnemonic(&s, "abandon abandon abandon abandon abandon abandon "
                                                 "abandon abandon abandon abandon abandon about",
                                             "\xc3\xa4", &eb),
             ARB_ERR_INVALID_ARG);
    secp256k1_context_destroy(sc);
    arb_keyctx_free(ctx);
}

/* The pending list round-trips, is bound to the ciphertext, and is parsed
 * strictly. */
static void test_pending(void)
{
    static const char TXID[] =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    arb_wallet_secret s, back;
    arb_keystore ks, parsed;
    arb_errbuf eb;
    char *json = NULL, *p;

    make_secret(&s, "");
    make_ks(&ks, "regtest", 2);
    CHECK_EQ(arb_keystore_pending_add(&ks, TXID, "0100ff", 1700000000), ARB_OK);
    CHECK_EQ(arb_keystore_pending_add(&ks, "00", "0100", 1), ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_keystore_pending_add(&ks, TXID, "0100F", 1), ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_keystore_pending_add(&ks, TXID, "abcd", 5), ARB_OK);
    arb_keystore_pending_remove(&ks, 0);
    CHECK_EQ(ks.n_pending, 1);
    CHECK_STR(ks.pending[0].hex, "abcd");
    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    CHECK_EQ(parsed.n_pending, 1);
    CHECK_STR(parsed.pending[0].txid, TXID);
    CHECK_STR(parsed.pending[0].hex, "abcd");
    CHECK_EQ(parsed.pending[0].time, 5);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_OK);
    arb_keystore_clear(&parsed);
    /* Changing the pending transaction breaks the seal. */
    p = strstr(json, "\"abcd\"");
    CHECK(p != NULL);
    p[1] = 'e';
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_ERR_VERIFY);
    arb_keystore_clear(&parsed);
    /* Strict: unknown fields, bad hex, an empty list. */
    p[1] = 'a';
    p = strstr(json, "\"time\"");
    CHECK(p != NULL);
    memcpy(p, "\"tame\"", 6);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_ERR_PARSE);
    free(json);
    arb_keystore_pending_remove(&ks, 0);
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK(strstr(json, "pending") == NULL);
    p = strstr(json, "\"ciphertext\"");
    CHECK(p != NULL);
    {
        char *bad = malloc(strlen(json) + 32);
        CHECK(bad != NULL);
        snprintf(bad, strlen(json) + 32, "%.*s\"pending\": [], %s", (int)(p - json), json, p);
        CHECK_EQ(arb_keystore_parse(&parsed, bad, strlen(bad), &eb), ARB_ERR_PARSE);
        free(bad);
    }
    free(json);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
    arb_wallet_secret_wipe(&back);
}

static void fill_reg(arb_keystore_namereg *r, const char *name, arb_namereg_stage stage)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->stage = stage;
    arb_test_rand_bytes(r->salt, 32);
    arb_test_rand_bytes(r->owner, 32);
    r->burn = 123456789;
    memcpy(r->preorder_txid, "aa00112233445566778899aabbccddeeff00112233445566778899aabbccddee", 65);
    if (stage != ARB_NAMEREG_PREORDER)
        memcpy(r->register_txid,
               "bb00112233445566778899aabbccddeeff00112233445566778899aabbccddee", 65);
    r->time = 1700000000;
}

/* Name registrations in progress: they round-trip (zone file, salt, stage),
 * are bound to the ciphertext, are parsed strictly, and the list keeps its
 * limits. */
static void test_names(void)
{
    arb_wallet_secret s, back;
    arb_keystore ks, parsed;
    arb_keystore_namereg r;
    arb_errbuf eb;
    char *json = NULL, *p;
    uint8_t zf[300];

    make_secret(&s, "");
    make_ks(&ks, "regtest", 2);
    arb_test_rand_bytes(zf, sizeof(zf));
    fill_reg(&r, "alice.id", ARB_NAMEREG_REGISTER);
    r.zonefile = zf;
    r.zonefile_len = sizeof(zf);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_OK);
    /* The same name twice, bad names, inconsistent stages. */
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG);
    fill_reg(&r, "Bob.id", ARB_NAMEREG_PREORDER);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG);
    fill_reg(&r, "bob.id.x", ARB_NAMEREG_PREORDER);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG);
    fill_reg(&r, "bob.id", ARB_NAMEREG_PREORDER);
    memcpy(r.register_txid, r.preorder_txid, 65);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG);
    fill_reg(&r, "bob.id", ARB_NAMEREG_UPLOAD);
    r.register_txid[0] = '\0';
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG);
    fill_reg(&r, "bob.id", ARB_NAMEREG_PREORDER);
    r.zonefile_len = 5; /* without bytes */
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG);
    /* A namespace preorder under its bare id. */
    fill_reg(&r, "id", ARB_NAMEREG_PREORDER);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_OK);
    fill_reg(&r, "bob.id", ARB_NAMEREG_PREORDER);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_OK);
    fill_reg(&r, "carol.id", ARB_NAMEREG_UPLOAD);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_OK);
    fill_reg(&r, "dave.id", ARB_NAMEREG_UPLOAD);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_ERR_INVALID_ARG); /* full */
    CHECK_EQ(ks.n_names, ARB_KEYSTORE_NAMES_MAX);
    arb_keystore_namereg_remove(&ks, 1);
    CHECK_EQ(ks.n_names, 3);
    CHECK(arb_keystore_namereg_find(&ks, "id") == NULL);
    CHECK(arb_keystore_namereg_find(&ks, "bob.id") != NULL);

    CHECK_EQ(arb_keystore_seal(&ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    CHECK_EQ(parsed.n_names, 3);
    for (size_t i = 0; i < 3 && i < parsed.n_names; i++) {
        CHECK_STR(parsed.names[i].name, ks.names[i].name);
        CHECK_EQ(parsed.names[i].stage, ks.names[i].stage);
        CHECK_MEM(parsed.names[i].salt, ks.names[i].salt, 32);
        CHECK_MEM(parsed.names[i].owner, ks.names[i].owner, 32);
        CHECK_EQ(parsed.names[i].burn, ks.names[i].burn);
        CHECK_STR(parsed.names[i].preorder_txid, ks.names[i].preorder_txid);
        CHECK_STR(parsed.names[i].register_txid, ks.names[i].register_txid);
        CHECK_EQ(parsed.names[i].zonefile_len, ks.names[i].zonefile_len);
        CHECK_EQ(parsed.names[i].time, ks.names[i].time);
    }
    CHECK_MEM(parsed.names[0].zonefile, zf, sizeof(zf));
    CHECK(parsed.names[1].zonefile == NULL);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_OK);
    arb_keystore_clear(&parsed);
    free(json);
    /* Any change to a registration breaks the seal (the file is formatted
     * again with the change and the old seal): the stage ... */
    ks.names[2].stage = ARB_NAMEREG_REGISTER;
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_ERR_VERIFY);
    arb_keystore_clear(&parsed);
    free(json);
    ks.names[2].stage = ARB_NAMEREG_UPLOAD;
    /* ... the salt ... */
    ks.names[0].salt[5] ^= 1;
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_ERR_VERIFY);
    arb_keystore_clear(&parsed);
    free(json);
    ks.names[0].salt[5] ^= 1;
    /* ... the zone file. */
    ks.names[0].zonefile[299] ^= 0x80;
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&parsed, PASS, strlen(PASS), &back, &eb), ARB_ERR_VERIFY);
    arb_keystore_clear(&parsed);
    free(json);
    ks.names[0].zonefile[299] ^= 0x80;
    /* Strict parsing: an unknown stage, an unknown field, a non-hex salt. */
    CHECK_EQ(arb_keystore_format(&json, &ks), ARB_OK);
    p = strstr(json, "\"register\"");
    CHECK(p != NULL);
    memcpy(p, "\"registe_\"", 10);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_ERR_PARSE);
    memcpy(p, "\"register\"", 10);
    p = strstr(json, "\"burn\"");
    CHECK(p != NULL);
    memcpy(p, "\"barn\"", 6);
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_ERR_PARSE);
    memcpy(p, "\"burn\"", 6);
    p = strstr(json, "\"salt\": \"");
    p = p != NULL ? strstr(p + 8, "\"salt\": \"") : NULL; /* the first is the kdf's */
    CHECK(p != NULL);
    if (p != NULL) {
        char c = p[9];
        p[9] = 'g';
        CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_ERR_PARSE);
        p[9] = c;
    }
    CHECK_EQ(arb_keystore_parse(&parsed, json, strlen(json), &eb), ARB_OK);
    arb_keystore_clear(&parsed);
    free(json);
    arb_keystore_clear(&ks);
    arb_wallet_secret_wipe(&s);
}

int main(void)
{
    arb_test_seed_init();
    test_pending();
    test_names();
    test_roundtrip();
    test_tamper();
    test_parse_strict();
    test_files();
    test_scheme();
    return arb_test_done();
}
