/* The encrypted wallet file (keystore).
 *
 * A keystore is a small JSON document:
 *
 *   {"format": "arbor-wallet-keystore", "version": 1, "network": "regtest",
 *    "next_receive": 3, "next_change": 0,
 *    "kdf": {"name": "scrypt", "log2_n": 15, "r": 8, "p": 1, "salt": "<16 bytes hex>"},
 *    "cipher": {"name": "aes-256-gcm", "nonce": "<12 bytes hex>", "tag": "<16 bytes hex>"},
 *    "ciphertext": "<hex>",
 *    "pending": [{"txid": "<64 hex>", "hex": "<transaction hex>", "time": 1700000000}],
 *    "names": [{"name": "alice.id", "stage": "preorder", "salt": "<32 bytes hex>",
 *               "owner": "<32 bytes hex>", "burn": 1000, "preorder_txid": "<64 hex>",
 *               "register_txid": "", "zonefile": "<hex>", "time": 1700000000}]}
 *
 * "pending" (optional, absent when empty) lists the transactions this wallet
 * sent that were not yet seen confirmed, oldest first, so that they can be
 * rebroadcast until they confirm or conflict (docs/wallet.md).
 *
 * "names" (optional, absent when empty) lists the name registrations in
 * progress (`name register`, docs/wallet.md): the salt of the preorder
 * commitment, the owner key, the price burned and the stage reached, so that
 * an interrupted registration resumes instead of paying a second preorder.
 *
 * The secret (BIP39 entropy and the optional BIP39 passphrase) is encrypted
 * with AES-256-GCM under a key derived from the user's passphrase with scrypt.
 * The wallet's bookkeeping (network, next address indices, KDF parameters,
 * the pending transactions)
 * stays readable but is bound to the ciphertext as GCM associated data, so
 * changing any byte of the file makes decryption fail. Every save draws a
 * fresh salt and nonce.
 *
 * Files are written atomically (temporary file in the same directory, fsync,
 * rename or link, fsync of the directory) with mode 0600.
 *
 * Functions are thread-safe as long as different threads use different
 * arb_keystore objects. */
#ifndef ARB_WALLET_KEYSTORE_H
#define ARB_WALLET_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

#define ARB_KEYSTORE_VERSION 1
#define ARB_KEYSTORE_LOG2N_DEFAULT 15 /* N = 2^15, r = 8, p = 1: 32 MiB */
#define ARB_KEYSTORE_LOG2N_MAX 20
#define ARB_KEYSTORE_FILE_MAX (1u << 20) /* larger files are refused unread */
#define ARB_KEYSTORE_PENDING_MAX 64      /* most unconfirmed transactions kept */
#define ARB_KEYSTORE_TX_HEX_MAX 200000   /* longest pending transaction, hex digits */
#define ARB_KEYSTORE_PASS_MAX 1024    /* longest BIP39 passphrase stored */
#define ARB_KEYSTORE_NAMES_MAX 4         /* most name registrations in progress */
#define ARB_KEYSTORE_NAME_MAX 69         /* longest full name ("name.namespace") */
#define ARB_KEYSTORE_ZONEFILE_MAX 40960  /* longest zone file kept, bytes */

/* What the keystore protects. */
typedef struct {
    uint8_t entropy[32];
    size_t entropy_len;          /* 16..32, a multiple of 4 */
    char bip39_pass[ARB_KEYSTORE_PASS_MAX + 1]; /* ASCII, "" for none */
} arb_wallet_secret;

/* A transaction sent by the wallet and not yet seen confirmed. */
typedef struct {
    char txid[65];               /* 64 lowercase hex digits */
    char *hex;                   /* full serialization, lowercase hex (malloc'd) */
    uint64_t time;               /* when it was sent, Unix seconds */
} arb_keystore_pending;

/* Stages of a name registration in progress. */
typedef enum {
    ARB_NAMEREG_PREORDER = 1, /* preorder built and recorded (maybe sent, maybe confirmed) */
    ARB_NAMEREG_REGISTER = 2, /* register built and recorded (maybe sent, maybe confirmed) */
    ARB_NAMEREG_UPLOAD = 3    /* register confirmed; the zone file still to upload */
} arb_namereg_stage;

/* A name registration in progress, or (name without a dot) a namespace
 * preorder waiting for its reveal. */
typedef struct {
    char name[ARB_KEYSTORE_NAME_MAX + 1]; /* full name (one '.'), or a namespace id */
    arb_namereg_stage stage;
    uint8_t salt[32];             /* of the preorder commitment */
    uint8_t owner[32];            /* x-only key: owner, and the key input 0 spends */
    uint64_t burn;                /* the preorder's burn (the price paid) */
    char preorder_txid[65];       /* 64 lowercase hex digits */
    char register_txid[65];       /* "" before ARB_NAMEREG_REGISTER */
    uint8_t *zonefile;            /* malloc'd, or NULL when there is none */
    size_t zonefile_len;          /* 0..ARB_KEYSTORE_ZONEFILE_MAX */
    uint64_t time;                /* when it started, Unix seconds */
} arb_keystore_namereg;

/* A keystore as read from or written to a file. */
typedef struct {
    char network[16];            /* "main", "test" or "regtest" */
    uint32_t next_receive;       /* next unused index on the receive chain */
    uint32_t next_change;        /* next unused index on the change chain */
    unsigned log2_n;             /* scrypt cost: N = 2^log2_n, 1..20 */
    uint32_t r, p;               /* scrypt block size 1..32, parallelism 1..16 */
    uint8_t salt[16];
    uint8_t nonce[12];
    uint8_t tag[16];
    uint8_t *ct;                 /* ciphertext (malloc'd) */
    size_t ct_len;
    arb_keystore_pending *pending; /* malloc'd array, oldest first */
    size_t n_pending;              /* 0..ARB_KEYSTORE_PENDING_MAX */
    arb_keystore_namereg *names;   /* malloc'd array, oldest first */
    size_t n_names;                /* 0..ARB_KEYSTORE_NAMES_MAX */
} arb_keystore;

/* Wipes a secret (OPENSSL_cleanse). */
void arb_wallet_secret_wipe(arb_wallet_secret *s);

/* Appends a pending transaction (copies hex). Returns ARB_OK,
 * ARB_ERR_INVALID_ARG (bad txid or hex, or the list is full), ARB_ERR_NOMEM. */
arb_err arb_keystore_pending_add(arb_keystore *ks, const char *txid, const char *hex,
                                 uint64_t time) ARB_WARN_UNUSED;
/* Removes entry i (0 <= i < ks->n_pending), keeping the order. */
void arb_keystore_pending_remove(arb_keystore *ks, size_t i);

/* Appends a copy of a name registration (its zone file copied too).
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (bad fields, a registration of the same
 * name already listed, or the list is full), ARB_ERR_NOMEM. */
arb_err arb_keystore_namereg_add(arb_keystore *ks, const arb_keystore_namereg *r) ARB_WARN_UNUSED;
/* The registration of name, or NULL. */
arb_keystore_namereg *arb_keystore_namereg_find(arb_keystore *ks, const char *name);
/* Removes entry i (0 <= i < ks->n_names), keeping the order. */
void arb_keystore_namereg_remove(arb_keystore *ks, size_t i);
/* "preorder", "register", "upload"; "?" otherwise. */
const char *arb_namereg_stage_name(arb_namereg_stage s);

/* Frees ks->ct, ks->pending, ks->names and wipes ks (ks itself is caller storage; NULL is fine). */
void arb_keystore_clear(arb_keystore *ks);

/* Encrypts secret under passphrase with fresh salt and nonce; the public
 * fields (network, indices, log2_n, r, p) are taken from ks as the caller set
 * them, and ks->salt/nonce/tag/ct are filled in (an old ct is freed).
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (bad parameters or network, non-ASCII
 * BIP39 passphrase), ARB_ERR_NOMEM or ARB_ERR_CRYPTO. */
arb_err arb_keystore_seal(arb_keystore *ks, const arb_wallet_secret *secret, const char *pass,
                          size_t pass_len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Decrypts ks with passphrase into *secret. Returns ARB_OK; ARB_ERR_VERIFY
 * for a wrong passphrase or any change to the file; ARB_ERR_PARSE if the
 * authenticated plaintext is malformed; ARB_ERR_NOMEM / ARB_ERR_CRYPTO.
 * *secret is wiped on failure. */
arb_err arb_keystore_open(const arb_keystore *ks, const char *pass, size_t pass_len,
                          arb_wallet_secret *secret, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Parses keystore JSON strictly (known keys only, no duplicates, exact hex
 * lengths, parameters in range). Returns ARB_OK or ARB_ERR_PARSE (eb says
 * why), or ARB_ERR_NOMEM; on failure ks is cleared. */
arb_err arb_keystore_parse(arb_keystore *ks, const char *json, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Serializes ks as JSON (a malloc'd NUL-terminated string; free()). Returns
 * ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_keystore_format(char **out, const arb_keystore *ks) ARB_WARN_UNUSED;

/* Reads and parses a keystore file. Returns ARB_OK, ARB_ERR_NOT_FOUND (no such
 * file), ARB_ERR_IO, ARB_ERR_PARSE (including files over
 * ARB_KEYSTORE_FILE_MAX bytes). */
arb_err arb_keystore_load(arb_keystore *ks, const char *path, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Like arb_keystore_load, but first takes an exclusive lock (flock) on the
 * file, waiting for other holders, so that a read-modify-write by one
 * process (hand out an address, record it) cannot interleave with another's.
 * Because a save replaces the file, the lock is taken on the file that is in
 * place after locking (re-checked by inode). *lock_fd receives the locked
 * descriptor: keep it until the save is done, then arb_keystore_unlock.
 * Errors as arb_keystore_load; *lock_fd is -1 on failure. */
arb_err arb_keystore_load_locked(arb_keystore *ks, int *lock_fd, const char *path,
                                 arb_errbuf *eb) ARB_WARN_UNUSED;
/* Releases a lock from arb_keystore_load_locked (-1 is fine). */
void arb_keystore_unlock(int lock_fd);

/* Writes ks to path atomically with mode 0600. With create_new the call fails
 * with ARB_ERR_EXISTS if path exists (and leaves it alone); otherwise it
 * replaces path. On any failure the previous file is untouched and no
 * temporary file is left behind. Returns ARB_OK, ARB_ERR_EXISTS, ARB_ERR_IO
 * or ARB_ERR_NOMEM. */
arb_err arb_keystore_save(const arb_keystore *ks, const char *path, int create_new,
                          arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
