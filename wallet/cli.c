/* Helpers shared by arbor-wallet's commands: output, the passphrase, the
 * wallet file, the node and the wallet's pending transactions. */
#include "wallet/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ledger/chain/header.h"
#include "wallet/address.h"
#include "wallet/spend.h"

void errmsg(const char *fmt, ...)
{
    va_list ap;

    fputs("arbor-wallet: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Prints a JSON object to stdout and frees it. */
int print_json(json_t *obj)
{
    char *s;

    if (obj == NULL) {
        errmsg("out of memory");
        return EXIT_FAIL;
    }
    s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (s == NULL) {
        errmsg("out of memory");
        return EXIT_FAIL;
    }
    puts(s);
    free(s);
    return EXIT_OK;
}

/* Strips one trailing "\n" or "\r\n". */
static void chomp(char *s)
{
    size_t n = strlen(s);

    if (n > 0 && s[n - 1] == '\n')
        s[--n] = '\0';
    if (n > 0 && s[n - 1] == '\r')
        s[--n] = '\0';
}

/* Reads the first line of a file into buf. Returns 1 or 0 (message printed). */
int read_line_file(const char *path, char *buf, size_t size, const char *what)
{
    FILE *f = fopen(path, "r");
    int ok;

    if (f == NULL) {
        errmsg("%s: cannot open %s: %s", path, what, strerror(errno));
        return 0;
    }
    ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok) {
        buf[0] = '\0'; /* an empty file is an empty line */
        return 1;
    }
    if (strchr(buf, '\n') == NULL && strlen(buf) == size - 1) {
        OPENSSL_cleanse(buf, size);
        errmsg("%s: %s too long", path, what);
        return 0;
    }
    chomp(buf);
    return 1;
}

/* Reads a line from the terminal with echo off. Returns 1, or 0 without a
 * terminal. */
int prompt_noecho(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    FILE *in;
    int ok, restore;

    if (fd < 0)
        return 0;
    in = fdopen(fd, "r+");
    if (in == NULL) {
        close(fd);
        return 0;
    }
    restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fputs(prompt, in);
    fflush(in);
    ok = fgets(buf, (int)size, in) != NULL;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    fclose(in);
    if (!ok)
        buf[0] = '\0';
    chomp(buf);
    return 1;
}

/* The wallet passphrase: --passphrase-file, then ARBOR_PASSPHRASE, then a
 * prompt on the terminal (asked twice when confirm). Returns 1 or 0. */
int get_passphrase(const options *o, int confirm, char *buf, size_t size)
{
    const char *env = getenv("ARBOR_PASSPHRASE");

    if (o->pass_file != NULL) {
        if (!read_line_file(o->pass_file, buf, size, "passphrase"))
            return 0;
    } else if (env != NULL) {
        if (strlen(env) >= size) {
            errmsg("ARBOR_PASSPHRASE is too long");
            return 0;
        }
        memcpy(buf, env, strlen(env) + 1);
    } else {
        if (!prompt_noecho("Wallet passphrase: ", buf, size)) {
            errmsg("no passphrase: use --passphrase-file FILE, set ARBOR_PASSPHRASE, or run on "
                   "a terminal");
            return 0;
        }
        if (confirm) {
            char again[PASS_MAX + 2];
            int same;
            if (!prompt_noecho("Repeat passphrase: ", again, sizeof(again)))
                return 0;
            same = strcmp(again, buf) == 0;
            OPENSSL_cleanse(again, sizeof(again));
            if (!same) {
                OPENSSL_cleanse(buf, size);
                errmsg("the passphrases do not match");
                return 0;
            }
        }
    }
    if (confirm && buf[0] == '\0') {
        errmsg("refusing an empty passphrase: it would leave the wallet unprotected");
        return 0;
    }
    return 1;
}

int need_wallet(const options *o)
{
    if (o->wallet == NULL) {
        errmsg("--wallet FILE is required (see --help)");
        return 0;
    }
    return 1;
}

/* Loads the wallet file and checks it against --network. With lock_fd, the
 * file stays locked (until arb_keystore_unlock) for a read-modify-write. */
int load_wallet(const options *o, arb_keystore *ks, int *lock_fd)
{
    arb_errbuf eb = {{0}};
    arb_err err = lock_fd != NULL ? arb_keystore_load_locked(ks, lock_fd, o->wallet, &eb)
                                  : arb_keystore_load(ks, o->wallet, &eb);

    if (err != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    if (o->network != NULL && strcmp(o->network, ks->network) != 0) {
        errmsg("%s is a %s wallet, not %s", o->wallet, ks->network, o->network);
        arb_keystore_clear(ks);
        if (lock_fd != NULL) {
            arb_keystore_unlock(*lock_fd);
            *lock_fd = -1;
        }
        return 0;
    }
    return 1;
}

/* Loads (locked if lock_fd is non-NULL), asks for the passphrase and
 * decrypts. On failure nothing is held. */
int unlock_wallet(const options *o, arb_keystore *ks, arb_wallet_secret *s, char *pass,
                         size_t pass_size, int *lock_fd)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    if (!load_wallet(o, ks, lock_fd))
        return 0;
    if (!get_passphrase(o, 0, pass, pass_size)) {
        err = ARB_ERR_INVALID_ARG;
        goto fail;
    }
    err = arb_keystore_open(ks, pass, strlen(pass), s, &eb);
    if (err != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto fail;
    }
    return 1;
fail:
    arb_keystore_clear(ks);
    OPENSSL_cleanse(pass, pass_size);
    if (lock_fd != NULL) {
        arb_keystore_unlock(*lock_fd);
        *lock_fd = -1;
    }
    return 0;
}

int account_xpub(const arb_keyctx *ctx, const arb_bip32_key *acct, const char *network,
                        char *out, size_t out_size)
{
    arb_bip32_key pub;
    arb_bip32_net net = strcmp(network, "main") == 0 ? ARB_BIP32_MAINNET : ARB_BIP32_TESTNET;

    return arb_bip32_neuter(ctx, &pub, acct) == ARB_OK &&
           arb_bip32_encode(out, out_size, &pub, net) == ARB_OK;
}

void print_amount(const char *label, uint64_t v)
{
    char s[ARB_AMOUNT_STR_MAX];
    arb_amount_format(s, sizeof(s), v);
    printf("%s%s\n", label, s);
}

json_t *json_amount(uint64_t v)
{
    char s[ARB_AMOUNT_STR_MAX];
    arb_amount_format(s, sizeof(s), v);
    return json_string(s);
}

/* Parses a payment amount in coins; says precisely what is wrong. */
int parse_coins(const char *s, uint64_t *out)
{
    size_t int_digits = strspn(s, "0123456789"), frac = 0;
    const char *dot = s + int_digits;
    char max[ARB_AMOUNT_STR_MAX];

    if (*dot == '.')
        frac = strspn(dot + 1, "0123456789");
    if (int_digits == 0 || (*dot != '\0' && (*dot != '.' || frac == 0 || dot[1 + frac] != '\0'))) {
        errmsg("invalid amount \"%s\": write coins as digits with an optional decimal point, "
               "e.g. 1.5", s);
        return 0;
    }
    if (frac > 8) {
        errmsg("invalid amount \"%s\": at most 8 decimals (0.00000001 is the smallest unit)", s);
        return 0;
    }
    if (!arb_amount_parse(out, s)) {
        arb_amount_format(max, sizeof(max), ARB_MAX_MONEY);
        errmsg("invalid amount \"%s\": more than the %s coins that can ever exist", s, max);
        return 0;
    }
    if (*out == 0) {
        errmsg("invalid amount \"%s\": the amount must be more than 0", s);
        return 0;
    }
    return 1;
}

const char *node_url(const options *o)
{
    const char *env = getenv("ARBOR_NODE");

    if (o->node != NULL)
        return o->node;
    if (env != NULL && env[0] != '\0')
        return env;
    return WALLET_DEFAULT_NODE;
}

int open_node(const options *o, arb_node **n, arb_node_tip *tip)
{
    arb_errbuf eb = {{0}};
    const char *url = node_url(o);
    arb_err err;

    *n = NULL;
    if (arb_node_new(n, url, NODE_TIMEOUT_MS, &eb) != ARB_OK) {
        errmsg("--node %s: %s", url, eb.msg);
        return EXIT_USAGE;
    }
    err = arb_node_get_tip(*n, tip, &eb);
    if (err == ARB_ERR_NET) {
        errmsg("%s; is arbord running there? (choose the node with --node URL or ARBOR_NODE; "
               "default %s)", eb.msg, WALLET_DEFAULT_NODE);
    } else if (err != ARB_OK) {
        errmsg("the node at %s does not answer as an arbord chain node: %s", url, eb.msg);
    } else if (arb_wallet_network_hrp(tip->network) == NULL) {
        errmsg("the node at %s runs network \"%s\", which the wallet does not know", url,
               tip->network);
        err = ARB_ERR_PARSE;
    }
    if (err != ARB_OK) {
        arb_node_free(*n);
        *n = NULL;
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int same_network(const options *o, const char *wallet_network, const arb_node *n,
                 const char *node_network)
{
    if (strcmp(wallet_network, node_network) == 0)
        return 1;
    errmsg("network mismatch: %s is a %s wallet but the node at %s runs %s; use a %s wallet "
           "(create one with --network %s) or a %s node", o->wallet, wallet_network,
           arb_node_url(n), node_network, node_network, node_network, wallet_network);
    return 0;
}

int session_save(const options *o, wallet_session *w)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    if ((err = arb_keystore_seal(&w->ks, &w->s, w->pass, strlen(w->pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&w->ks, o->wallet, 0, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    return 1;
}

const char *pending_state_name(pending_state s)
{
    switch (s) {
    case PENDING_IN_MEMPOOL:
        return "in-mempool";
    case PENDING_REBROADCAST:
        return "rebroadcast";
    case PENDING_REFUSED:
        return "refused";
    case PENDING_CONFIRMED:
        return "confirmed";
    case PENDING_CONFLICTED:
        return "conflicted";
    }
    return "?";
}

/* Decodes a transaction from hex. Returns 1 or 0. */
static int decode_hex_tx(arb_tx *tx, const char *hex)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    arb_errbuf eb;
    int ok;

    arb_tx_init(tx);
    if (arb_hex_decode_alloc(&raw, &len, hex) != ARB_OK)
        return 0;
    ok = arb_tx_decode(tx, raw, len, &eb) == ARB_OK;
    free(raw);
    return ok;
}

/* Looks for a confirmed transaction other than `self` that spends outpoint
 * op: the outpoint's transaction names the address it paid, and the
 * address's history lists every transaction that touched it. Returns 1 (found:
 * other_out gets its txid), 0 (not found) or -1 (node trouble, eb set). */
static int find_conflict(arb_node *node, const char *hrp, const arb_outpoint *op,
                         const char *self, char other_out[static 65], arb_errbuf *eb)
{
    arb_node_txinfo prev, cand;
    arb_node_hist *hist = NULL;
    size_t n_hist = 0;
    char prev_txid[65], addr[ARB_ADDR_MAX];
    arb_tx ptx;
    int found = 0;
    arb_err err;

    arb_chain_hash_hex(prev_txid, &op->txid);
    err = arb_node_get_tx(node, &prev, prev_txid, eb);
    if (err == ARB_ERR_NOT_FOUND)
        return 0; /* the coin's own transaction is gone (a reorg): no verdict */
    if (err != ARB_OK)
        return -1;
    arb_tx_init(&ptx);
    found = prev.confirmed && decode_hex_tx(&ptx, prev.hex) && op->index < ptx.n_out &&
            arb_address_encode(addr, hrp, ptx.out[op->index].key);
    arb_tx_clear(&ptx);
    arb_node_txinfo_clear(&prev);
    if (!found)
        return 0; /* the coin is unconfirmed itself: no confirmed spend yet */
    found = 0;
    if (arb_node_get_history(node, &hist, &n_hist, addr, eb) != ARB_OK)
        return -1;
    for (size_t i = 0; i < n_hist && !found; i++) {
        arb_tx ctx;
        if (hist[i].height < 0 || strcmp(hist[i].txid, self) == 0 ||
            strcmp(hist[i].txid, prev_txid) == 0)
            continue;
        if (arb_node_get_tx(node, &cand, hist[i].txid, eb) != ARB_OK) {
            free(hist);
            return -1;
        }
        if (cand.confirmed && decode_hex_tx(&ctx, cand.hex)) {
            for (size_t k = 0; k < ctx.n_in; k++)
                if (ctx.in[k].index == op->index &&
                    memcmp(ctx.in[k].txid.b, op->txid.b, 32) == 0) {
                    memcpy(other_out, hist[i].txid, 65);
                    found = 1;
                }
            arb_tx_clear(&ctx);
        }
        arb_node_txinfo_clear(&cand);
    }
    free(hist);
    return found;
}

int pending_sync(const options *o, wallet_session *w, arb_node *node, pending_report **out,
                 size_t *n_out)
{
    pending_report *rep;
    const char *hrp = arb_wallet_network_hrp(w->ks.network);
    size_t n = w->ks.n_pending, i = 0, k = 0;
    int changed = 0;

    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 1;
    if ((rep = calloc(n, sizeof(*rep))) == NULL) {
        errmsg("out of memory");
        return 0;
    }
    while (i < w->ks.n_pending) {
        arb_keystore_pending *p = &w->ks.pending[i];
        pending_report *r = &rep[k++];
        arb_node_txinfo info;
        arb_errbuf eb = {{0}};
        char txid[ARB_NODE_HASH_HEX];
        arb_err err;
        int drop = 0;

        memcpy(r->txid, p->txid, 65);
        r->height = -1;
        err = arb_node_get_tx(node, &info, p->txid, &eb);
        if (err == ARB_OK) {
            if (info.confirmed) {
                r->state = PENDING_CONFIRMED;
                r->height = info.height;
                drop = 1;
            } else
                r->state = PENDING_IN_MEMPOOL;
            arb_node_txinfo_clear(&info);
        } else if (err != ARB_ERR_NOT_FOUND) {
            errmsg("%s", eb.msg);
            goto fail;
        } else if ((err = arb_node_post_tx(node, txid, p->hex, &eb)) == ARB_OK) {
            r->state = PENDING_REBROADCAST;
        } else if (err != ARB_ERR_VERIFY) {
            errmsg("%s", eb.msg);
            goto fail;
        } else {
            /* Refused: is an input spent by a confirmed transaction? */
            arb_tx tx;
            snprintf(r->reason, sizeof(r->reason), "%s", eb.msg);
            r->state = PENDING_REFUSED;
            if (decode_hex_tx(&tx, p->hex)) {
                for (size_t j = 0; j < tx.n_in && !drop; j++) {
                    int c = find_conflict(node, hrp, &tx.in[j], p->txid, r->other, &eb);
                    if (c < 0) {
                        arb_tx_clear(&tx);
                        errmsg("%s", eb.msg);
                        goto fail;
                    }
                    if (c == 1) {
                        r->state = PENDING_CONFLICTED;
                        drop = 1;
                    }
                }
                arb_tx_clear(&tx);
            }
        }
        if (drop) {
            arb_keystore_pending_remove(&w->ks, i);
            changed = 1;
        } else
            i++;
    }
    if (changed && !session_save(o, w))
        goto fail;
    *out = rep;
    *n_out = k;
    return 1;
fail:
    free(rep);
    return 0;
}

void pending_report_stderr(const pending_report *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (r[i].state) {
        case PENDING_IN_MEMPOOL:
            break;
        case PENDING_REBROADCAST:
            errmsg("rebroadcast %s (the node did not have it)", r[i].txid);
            break;
        case PENDING_REFUSED:
            errmsg("pending %s: %s; kept, tried again next time", r[i].txid, r[i].reason);
            break;
        case PENDING_CONFIRMED:
            errmsg("%s confirmed at height %lld", r[i].txid, (long long)r[i].height);
            break;
        case PENDING_CONFLICTED:
            errmsg("dropped %s: an input was spent by confirmed transaction %s", r[i].txid,
                   r[i].other);
            break;
        }
    }
}

void scan_clear(scan_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->a[i].hist);
    free(r->a);
    memset(r, 0, sizeof(*r));
}

/* Gap-limit scan: derives receive and change addresses until SCAN_GAP unused
 * ones in a row (an address is used when the node has history for it);
 * keeps the used ones. Returns 1, or 0 with a message printed. */
static int scan_wallet(arb_node *node, const arb_keyctx *ctx, const arb_bip32_key *acct,
                       const char *network, scan_result *r)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    memset(r, 0, sizeof(*r));
    for (uint32_t chain = 0; chain < 2; chain++) {
        uint32_t gap = 0;
        for (uint32_t i = 0; gap < SCAN_GAP && i < ARB_BIP32_HARDENED - 1; i++) {
            scanned s;
            memset(&s, 0, sizeof(s));
            s.change = chain;
            s.index = i;
            err = arb_wallet_address_at(ctx, s.addr, sizeof(s.addr), s.key, acct, network, chain,
                                        i);
            if (err == ARB_ERR_VERIFY)
                continue; /* invalid BIP32 child: skipped */
            if (err != ARB_OK) {
                errmsg("key derivation failed: %s", arb_err_str(err));
                goto fail;
            }
            err = arb_node_get_history(node, &s.hist, &s.n_hist, s.addr, &eb);
            if (err != ARB_OK) {
                errmsg("%s", eb.msg);
                goto fail;
            }
            if (s.n_hist == 0) {
                free(s.hist);
                gap++;
                continue;
            }
            gap = 0;
            r->next[chain] = i + 1;
            {
                scanned *na = realloc(r->a, (r->n + 1) * sizeof(*na));
                if (na == NULL) {
                    free(s.hist);
                    errmsg("out of memory");
                    goto fail;
                }
                r->a = na;
                r->a[r->n++] = s;
            }
        }
    }
    return 1;
fail:
    scan_clear(r);
    return 0;
}

int session_open(const options *o, wallet_session *w)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    memset(w, 0, sizeof(*w));
    w->lock_fd = -1;
    if (!unlock_wallet(o, &w->ks, &w->s, w->pass, sizeof(w->pass), &w->lock_fd))
        return 0;
    if ((err = arb_keyctx_new(&w->ctx)) != ARB_OK ||
        (err = arb_wallet_account(w->ctx, &w->acct, &w->s, w->ks.network, &eb)) != ARB_OK) {
        errmsg("key derivation failed: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    return 1;
}

void session_close(wallet_session *w)
{
    arb_bip32_key_wipe(&w->acct);
    arb_keyctx_free(w->ctx);
    arb_wallet_secret_wipe(&w->s);
    arb_keystore_clear(&w->ks);
    OPENSSL_cleanse(w->pass, sizeof(w->pass));
    if (w->lock_fd >= 0)
        arb_keystore_unlock(w->lock_fd);
    w->lock_fd = -1;
}

/* Raises the keystore's indices to what the scan found, and saves. */
static int session_update_indices(const options *o, wallet_session *w, const scan_result *r)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    if (r->next[0] <= w->ks.next_receive && r->next[1] <= w->ks.next_change)
        return 1;
    if (r->next[0] > w->ks.next_receive)
        w->ks.next_receive = r->next[0];
    if (r->next[1] > w->ks.next_change)
        w->ks.next_change = r->next[1];
    if ((err = arb_keystore_seal(&w->ks, &w->s, w->pass, strlen(w->pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&w->ks, o->wallet, 0, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    return 1;
}

int node_wallet_scan(const options *o, arb_node **node, wallet_session *w, scan_result *r)
{
    arb_node_tip tip;
    pending_report *rep = NULL;
    size_t n_rep = 0;
    int rc;

    memset(r, 0, sizeof(*r));
    if (!need_wallet(o))
        return EXIT_USAGE;
    if ((rc = open_node(o, node, &tip)) != EXIT_OK)
        return rc;
    if (!session_open(o, w))
        return EXIT_FAIL;
    if (!same_network(o, w->ks.network, *node, tip.network))
        return EXIT_FAIL;
    if (!pending_sync(o, w, *node, &rep, &n_rep))
        return EXIT_FAIL;
    pending_report_stderr(rep, n_rep);
    free(rep);
    if (!scan_wallet(*node, w->ctx, &w->acct, w->ks.network, r) ||
        !session_update_indices(o, w, r))
        return EXIT_FAIL;
    return EXIT_OK;
}

/* Hex of a transaction's full serialization and its txid. */
char *tx_hex(const arb_tx *tx, char txid_hex[static 65])
{
    arb_buf raw = ARB_BUF_INIT;
    arb_sha256 *sha = NULL;
    arb_hash txid;
    char *hex = NULL;

    arb_tx_write(&raw, tx, 1);
    if (!raw.oom && arb_sha256_new(&sha) == ARB_OK && arb_tx_txid(sha, &txid, tx) == ARB_OK) {
        arb_chain_hash_hex(txid_hex, &txid);
        hex = malloc(2 * raw.len + 1);
        if (hex != NULL)
            arb_hex_encode(hex, raw.data, raw.len);
    }
    arb_sha256_free(sha);
    arb_buf_free(&raw);
    return hex;
}

