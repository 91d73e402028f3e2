/* arbor-wallet's name layer: `name price|preorder|register|pending|update|
 * upload|transfer|renew|revoke|lookup|list` and the operators' `namespace
 * preorder|reveal|import|ready|show` (docs/wallet.md, "Names").
 *
 * Every operation is a transaction whose input 0 spends a coin of the key
 * that acts (the owner, or the namespace's reveal key: the chain's `sender`),
 * whose only output is the change back to that key (so the next operation
 * finds a coin there), and whose payload is the operation (ledger/names).
 * Preorders and renewals burn the price on top of the fee.
 *
 * The one-step `name register` records its state (salt, owner, stage,
 * transaction ids, the zone file) in the wallet file before each step talks
 * to the node, and asks wallet/namereg.h what comes next, so a run that dies
 * anywhere resumes where it stopped and never pays a second preorder while
 * the first is usable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ledger/chain/block.h"
#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"
#include "ledger/chain/params.h"
#include "ledger/names/nameop.h"
#include "ledger/names/names.h"
#include "merkle/buf.h"
#include "wallet/address.h"
#include "wallet/cli.h"
#include "wallet/names_node.h"
#include "wallet/namereg.h"
#include "wallet/spend.h"
#include "wallet/txbuild.h"

/* do_preorder's answer when the name is taken (not an exit status). */
#define EXIT_UNAVAILABLE 10

/* Poll interval while waiting for a block, and how often a progress line is
 * repeated while nothing changes. */
#define POLL_MS 250
#define PROGRESS_EVERY_S 10
/* Blocks before expiry from which owned names are flagged. */
#define EXPIRY_WARN_BLOCKS_MIN 10

/* ---- small helpers ---- */

static int tx_state(arb_node *node, const char *txid, arb_namereg_txstate *st, uint32_t *height);
static int pending_has(const wallet_session *w, const char *txid);

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Reads a whole file of at most max bytes (malloc'd into *out). Returns 1,
 * or 0 with a message. */
static int read_file_max(const char *path, uint8_t **out, size_t *len, size_t max,
                         const char *what)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *b;
    size_t n;

    *out = NULL;
    *len = 0;
    if (f == NULL) {
        errmsg("cannot open %s %s: %s", what, path, strerror(errno));
        return 0;
    }
    b = malloc(max + 1);
    if (b == NULL) {
        if (f != stdin)
            fclose(f);
        errmsg("out of memory");
        return 0;
    }
    n = fread(b, 1, max + 1, f);
    if (ferror(f)) {
        errmsg("cannot read %s %s: %s", what, path, strerror(errno));
        goto fail;
    }
    if (n > max) {
        errmsg("%s %s is larger than %zu bytes", what, path, max);
        goto fail;
    }
    if (n == 0) {
        errmsg("%s %s is empty", what, path);
        goto fail;
    }
    if (f != stdin)
        fclose(f);
    *out = b;
    *len = n;
    return 1;
fail:
    if (f != stdin)
        fclose(f);
    free(b);
    return 0;
}

static int parse_rate(const char *s, uint64_t *rate)
{
    char *end = NULL;
    errno = 0;
    *rate = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || *rate > ARB_MAX_MONEY) {
        errmsg("--fee-rate must be a whole number of units per byte");
        return 0;
    }
    return 1;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *v, const char *what)
{
    char *end = NULL;
    unsigned long long x;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || x > max) {
        errmsg("%s must be a whole number from 0 to %u", what, (unsigned)max);
        return 0;
    }
    *v = (uint32_t)x;
    return 1;
}

/* A full name argument: name.namespace in a-z 0-9 - _. */
static int check_full(const char *s)
{
    size_t nl;
    if (!arb_names_full_valid((const uint8_t *)s, strlen(s), &nl)) {
        errmsg("invalid name \"%s\": a name is NAME.NAMESPACE, 1-48 and 1-20 characters of "
               "a-z 0-9 - _", s);
        return 0;
    }
    return 1;
}

static int check_ns(const char *s)
{
    if (!arb_names_ns_valid((const uint8_t *)s, strlen(s))) {
        errmsg("invalid namespace id \"%s\": 1-20 characters of a-z 0-9 - _", s);
        return 0;
    }
    return 1;
}

static void hex32(char out[65], const uint8_t in[32])
{
    arb_hex_encode(out, in, 32);
}

static const arb_names_params *names_params(const char *network)
{
    return arb_names_params_get(network);
}

/* ---- coins and payload transactions ---- */

typedef struct {
    arb_wallet_coin *coins;
    uint64_t *amounts;
    size_t n;
} coinset;

static void coinset_clear(coinset *c)
{
    free(c->coins);
    free(c->amounts);
    memset(c, 0, sizeof(*c));
}

/* The wallet's spendable coins: confirmed and mature ones, and the
 * unconfirmed outputs at change addresses or at the key `own` (the acting
 * key's change from the wallet's previous operation). */
static int gather_coins(arb_node *node, const scan_result *r, const uint8_t *own, coinset *cs)
{
    arb_errbuf eb = {{0}};

    memset(cs, 0, sizeof(*cs));
    for (size_t i = 0; i < r->n; i++) {
        arb_node_utxo *u = NULL;
        size_t nu = 0;
        int mine_unconf = r->a[i].change == 1 || (own != NULL && memcmp(own, r->a[i].key, 32) == 0);
        if (arb_node_get_utxos(node, &u, &nu, r->a[i].addr, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            coinset_clear(cs);
            return 0;
        }
        for (size_t k = 0; k < nu; k++) {
            arb_wallet_coin *nc;
            uint64_t *na;
            if (!u[k].mature || (!u[k].confirmed && !mine_unconf))
                continue;
            nc = realloc(cs->coins, (cs->n + 1) * sizeof(*nc));
            if (nc != NULL)
                cs->coins = nc;
            na = nc != NULL ? realloc(cs->amounts, (cs->n + 1) * sizeof(*na)) : NULL;
            if (na == NULL || !arb_chain_hash_from_hex(&nc[cs->n].prev.txid, u[k].txid)) {
                free(u);
                errmsg("out of memory");
                coinset_clear(cs);
                return 0;
            }
            cs->amounts = na;
            nc[cs->n].prev.index = u[k].index;
            nc[cs->n].spent.amount = u[k].amount;
            memcpy(nc[cs->n].spent.key, r->a[i].key, 32);
            na[cs->n] = u[k].amount;
            cs->n++;
        }
        free(u);
    }
    return 1;
}

/* The address of key32 on the wallet's network. */
static void key_address(const wallet_session *w, const uint8_t key32[32], char *addr, size_t size)
{
    if (!arb_address_encode(addr, arb_wallet_network_hrp(w->ks.network), key32))
        snprintf(addr, size, "?");
}

/* Builds, signs, records (pending, and p->record) and posts a payload
 * transaction from the wallet's coins. Returns EXIT_OK or EXIT_FAIL (message
 * printed; p->reason holds the node's refusal when it refused). */
int send_payload(const options *o, wallet_session *w, arb_node *node, const scan_result *r,
                 payload_tx *p)
{
    coinset cs;
    arb_wallet_selection sel = {0};
    arb_wallet_coin *pick = NULL;
    arb_tx tx;
    arb_errbuf eb = {{0}};
    arb_err err;
    size_t first = 0;
    int found = 0, rc = EXIT_FAIL;

    arb_tx_init(&tx);
    p->hex = NULL;
    p->reason[0] = '\0';
    if (!gather_coins(node, r, p->sender, &cs))
        return EXIT_FAIL;
    for (size_t i = 0; i < cs.n; i++) {
        if (p->sender != NULL && memcmp(cs.coins[i].spent.key, p->sender, 32) != 0)
            continue;
        if (!found || cs.amounts[i] > cs.amounts[first])
            first = i;
        found = 1;
    }
    if (!found) {
        char addr[ARB_ADDR_MAX];
        if (p->sender == NULL) {
            errmsg("the wallet has no spendable coins (mature and confirmed)");
            goto out;
        }
        key_address(w, p->sender, addr, sizeof(addr));
        errmsg("no spendable coin at %s, the key that must sign this operation (the chain "
               "takes the sender from the first input); send some coins to it first, e.g. "
               "`arbor-wallet send %s 0.001`, and retry once that has confirmed",
               addr, addr);
        goto out;
    }
    err = arb_wallet_select_payload(&sel, cs.amounts, cs.n, first, p->burn, p->rate,
                                    p->payload_len, &eb);
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    if ((pick = calloc(sel.n, sizeof(*pick))) == NULL) {
        errmsg("out of memory");
        goto out;
    }
    for (size_t i = 0; i < sel.n; i++)
        pick[i] = cs.coins[sel.idx[i]];
    memcpy(p->sender_out, pick[0].spent.key, 32);
    if ((err = arb_wallet_tx_build_payload(&tx, &p->change, pick, sel.n, p->type, p->payload,
                                           p->payload_len, p->burn, sel.fee, p->sender_out,
                                           &eb)) != ARB_OK ||
        (err = arb_wallet_tx_sign(w->ctx, &tx, &w->acct, w->ks.network, pick, sel.n,
                                  w->ks.next_receive + SCAN_GAP, w->ks.next_change + SCAN_GAP,
                                  &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    p->fee = sel.fee;
    p->size = arb_tx_size(&tx);
    if ((p->hex = tx_hex(&tx, p->txid)) == NULL) {
        errmsg("out of memory");
        goto out;
    }
    if (p->dry) {
        rc = EXIT_OK;
        goto out;
    }
    /* Durable before the node sees it: a run that dies after the post still
     * knows the transaction (and what it was for). */
    if ((err = arb_keystore_pending_add(&w->ks, p->txid, p->hex, (uint64_t)time(NULL))) !=
        ARB_OK) {
        errmsg("cannot keep the transaction in the wallet file: %s (%d unconfirmed "
               "transactions already; wait for them to confirm)",
               arb_err_str(err), (int)w->ks.n_pending);
        goto out;
    }
    if (p->record != NULL && !p->record(p->ud, w, p->txid)) {
        arb_keystore_pending_remove(&w->ks, w->ks.n_pending - 1);
        goto out;
    }
    if (!session_save(o, w))
        goto out;
    {
        char node_txid[ARB_NODE_HASH_HEX];
        err = arb_node_post_tx(node, node_txid, p->hex, &eb);
    }
    if (err == ARB_ERR_VERIFY || err == ARB_ERR_NOT_FOUND || err == ARB_ERR_PARSE) {
        /* Refused: it will never be valid as it is; forget it. */
        snprintf(p->reason, sizeof(p->reason), "%s", eb.msg);
        for (size_t i = w->ks.n_pending; i-- > 0;)
            if (strcmp(w->ks.pending[i].txid, p->txid) == 0)
                arb_keystore_pending_remove(&w->ks, i);
        (void)session_save(o, w);
        goto out;
    }
    if (err != ARB_OK) {
        errmsg("%s; the transaction is kept in the wallet file and sent again by the next "
               "command that reaches the node", eb.msg);
        goto out;
    }
    rc = EXIT_OK;
out:
    arb_tx_clear(&tx);
    free(pick);
    arb_wallet_selection_clear(&sel);
    coinset_clear(&cs);
    return rc;
}

/* The node's reason for refusing, from "node rejected the request: R (HTTP
 * 400)": R. */
void node_reason(const char *msg, char *out, size_t size)
{
    const char *p = strstr(msg, "request: ");
    const char *e;
    if (p == NULL) {
        snprintf(out, size, "%s", msg);
        return;
    }
    p += 9;
    e = strstr(p, " (HTTP");
    snprintf(out, size, "%.*s", (int)(e != NULL ? (size_t)(e - p) : strlen(p)), p);
}

/* What a refusal means for the user. */
static const char *reason_hint(const char *reason)
{
    static const struct {
        const char *reason, *hint;
    } H[] = {
        {"name-taken", "the name is registered; `name lookup` shows until when"},
        {"name-in-grace", "the name expired but is in its grace period: only its owner may renew "
                          "it; it is free after the grace period"},
        {"name-not-owner", "this wallet's key does not own the name"},
        {"name-expired", "the name expired; its owner may renew it during the grace period"},
        {"name-revoked", "the name was revoked for good"},
        {"name-missing", "the name is not registered"},
        {"namespace-not-ready", "the namespace is not ready: its operator has not launched it"},
        {"namespace-missing", "no such namespace"},
        {"name-preorder-missing", "no matching preorder: run `name register` again to preorder"},
        {"name-preorder-same-block", "the register must be in a later block than the preorder"},
        {"name-preorder-expired", "the preorder expired: `name register` preorders again"},
        {"name-burn-insufficient", "the price went up; run the command again"},
        {"namespace-not-revealer", "only the namespace's reveal key may do this"},
        {"namespace-lapsed", "the namespace was not made ready in time and lapsed"},
        {"namespace-exists", "the namespace exists"},
        {"bad-txns-payload", "this node does not accept name-layer transactions yet"},
    };
    for (size_t i = 0; i < sizeof(H) / sizeof(H[0]); i++)
        if (strncmp(reason, H[i].reason, strlen(H[i].reason)) == 0)
            return H[i].hint;
    return NULL;
}

static void print_refusal(const char *what, const char *msg)
{
    char reason[256];
    const char *hint;
    node_reason(msg, reason, sizeof(reason));
    hint = reason_hint(reason);
    if (hint != NULL)
        errmsg("the node refused the %s: %s (%s)", what, reason, hint);
    else
        errmsg("the node refused the %s: %s", what, reason);
}

/* Encodes op into a payload. Returns 1 or 0 (message). */
static int encode_op(const arb_nameop *op, arb_buf *b)
{
    if (arb_nameop_encode(b, op) != ARB_OK || b->oom) {
        errmsg("cannot encode the %s operation", arb_nameop_type_name(op->type));
        return 0;
    }
    return 1;
}

static int set_full(arb_nameop *op, const char *full)
{
    size_t nl;
    size_t len = strlen(full);
    if (!arb_names_full_valid((const uint8_t *)full, len, &nl))
        return 0;
    memcpy(op->full, full, len);
    op->full_len = len;
    op->name_len = nl;
    memcpy(op->ns, full + nl + 1, len - nl - 1);
    op->ns_len = len - nl - 1;
    return 1;
}

/* ---- waiting for blocks ---- */

/* Mines one block on the node's template (regtest/test), paying to the
 * wallet's first receive address. Returns 1 or 0 (message). */
static int mine_one(const wallet_session *w, arb_node *node)
{
    arb_node_template t = {0};
    arb_block_header h;
    arb_errbuf eb = {{0}};
    char addr[ARB_ADDR_MAX], hash[ARB_NODE_HASH_HEX];
    uint32_t height;
    int ok = 0;

    if (strcmp(w->ks.network, "main") == 0) {
        errmsg("--mine is for regtest and test: on main, wait for the network's blocks "
               "(--wait)");
        return 0;
    }
    if (arb_wallet_address_at(w->ctx, addr, sizeof(addr), NULL, &w->acct, w->ks.network, 0, 0) !=
        ARB_OK) {
        errmsg("cannot derive an address to mine to");
        return 0;
    }
    if (arb_node_get_template(node, &t, addr, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        return 0;
    }
    if (t.block_len < 80) {
        errmsg("the node's block template is too short");
        goto out;
    }
    arb_header_decode(&h, t.block);
    if (!arb_chain_mine_header(&h, 0, UINT64_MAX >> 1)) {
        errmsg("no nonce found for the node's template");
        goto out;
    }
    arb_header_encode(t.block, &h);
    if (arb_node_post_block(node, hash, &height, t.block, t.block_len, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    ok = 1;
out:
    arb_node_template_clear(&t);
    return ok;
}

/* Waits until the node's tip is above `height` (mining with --mine),
 * printing `what` as progress on stderr. Returns 1 with *tip, or 0. */
int wait_above(const wallet_session *w, arb_node *node, uint32_t height, int mine,
               const char *what, uint32_t *tip_out)
{
    arb_node_tip tip;
    arb_errbuf eb = {{0}};
    time_t last = 0;
    uint32_t shown = UINT32_MAX;

    for (;;) {
        if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            return 0;
        }
        if (tip.height > height) {
            *tip_out = tip.height;
            return 1;
        }
        if (tip.height != shown || time(NULL) - last >= PROGRESS_EVERY_S) {
            errmsg("%s (tip %u, waiting for block %u%s)", what, (unsigned)tip.height,
                   (unsigned)height + 1, mine ? ", mining" : "");
            shown = tip.height;
            last = time(NULL);
        }
        if (mine) {
            if (!mine_one(w, node))
                return 0;
        } else
            sleep_ms(POLL_MS);
    }
}

/* What the node knows of txid: confirmed (height), mempool, or unknown. */
int tx_confirmed(arb_node *node, const char *txid, int *confirmed, uint32_t *height)
{
    arb_namereg_txstate st;
    if (!tx_state(node, txid, &st, height))
        return 0;
    *confirmed = st == ARB_NAMEREG_TX_CONFIRMED;
    return 1;
}

static int tx_state(arb_node *node, const char *txid, arb_namereg_txstate *st, uint32_t *height)
{
    arb_node_txinfo info;
    arb_errbuf eb = {{0}};
    arb_err err = arb_node_get_tx(node, &info, txid, &eb);

    *height = 0;
    *st = ARB_NAMEREG_TX_UNKNOWN;
    if (err == ARB_ERR_NOT_FOUND)
        return 1;
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        return 0;
    }
    if (info.confirmed) {
        *st = ARB_NAMEREG_TX_CONFIRMED;
        *height = (uint32_t)info.height;
    } else
        *st = ARB_NAMEREG_TX_MEMPOOL;
    arb_node_txinfo_clear(&info);
    return 1;
}

/* After pending_sync: when the node refused txid for a reason of the name
 * layer or the transaction rules (it will never be taken), drops it from
 * the pending list so the registration sees it lost. Returns 1 or 0. */
static int drop_refused(const options *o, wallet_session *w, const pending_report *rep,
                        size_t n, const char *txid)
{
    for (size_t i = 0; i < n; i++) {
        char reason[256];
        if (rep[i].state != PENDING_REFUSED || strcmp(rep[i].txid, txid) != 0)
            continue;
        node_reason(rep[i].reason, reason, sizeof(reason));
        if (strncmp(reason, "name-", 5) != 0 && strncmp(reason, "namespace-", 10) != 0 &&
            strncmp(reason, "bad-txns", 8) != 0)
            return 1;
        print_refusal("transaction", rep[i].reason);
        for (size_t k = 0; k < w->ks.n_pending; k++)
            if (strcmp(w->ks.pending[k].txid, txid) == 0) {
                arb_keystore_pending_remove(&w->ks, k);
                return session_save(o, w);
            }
    }
    return 1;
}

static int pending_has(const wallet_session *w, const char *txid)
{
    for (size_t i = 0; i < w->ks.n_pending; i++)
        if (strcmp(w->ks.pending[i].txid, txid) == 0)
            return 1;
    return 0;
}

/* Waits until txid is in a block (mining with mine), with progress on
 * stderr. Returns 1 or 0 (message). */
static int wait_confirmed(const wallet_session *w, arb_node *node, const char *txid, int mine,
                          const char *what)
{
    for (;;) {
        arb_namereg_txstate st;
        arb_node_tip tip;
        arb_errbuf eb = {{0}};
        uint32_t h;
        char msg[256];
        if (!tx_state(node, txid, &st, &h))
            return 0;
        if (st == ARB_NAMEREG_TX_CONFIRMED)
            return 1;
        if (st == ARB_NAMEREG_TX_UNKNOWN && !pending_has(w, txid)) {
            errmsg("the %s %s left the node and the wallet (refused or conflicted)", what, txid);
            return 0;
        }
        snprintf(msg, sizeof(msg), "waiting for the %.40s %.16s... to confirm", what, txid);
        if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            return 0;
        }
        if (!wait_above(w, node, tip.height, mine, msg, &tip.height))
            return 0;
    }
}

/* ---- expiry warnings ---- */

/* Blocks before expiry from which a name is flagged: a tenth of its
 * lifetime, at least EXPIRY_WARN_BLOCKS_MIN. */
static int near_expiry(const arb_node_name *r, uint32_t tip, int64_t *left)
{
    int64_t life;
    if (r->expires_at < 0 || strcmp(r->status, "revoked") == 0)
        return 0;
    *left = r->expires_at - (int64_t)tip;
    if (strcmp(r->status, "grace") == 0)
        return 1;
    if (strcmp(r->status, "active") != 0)
        return 0;
    life = r->expires_at - (int64_t)r->renewed_height;
    return *left <= (life / 10 > EXPIRY_WARN_BLOCKS_MIN ? life / 10 : EXPIRY_WARN_BLOCKS_MIN);
}

static void warn_expiry(const arb_node_name *r, uint32_t tip)
{
    int64_t left;
    if (!near_expiry(r, tip, &left))
        return;
    if (strcmp(r->status, "grace") == 0)
        errmsg("warning: %s has expired and is in its grace period until height %lld: renew it "
               "now (`arbor-wallet name renew %s`) or lose it",
               r->name, (long long)r->grace_ends_at, r->name);
    else
        errmsg("warning: %s expires at height %lld (in %lld blocks): renew it with "
               "`arbor-wallet name renew %s`",
               r->name, (long long)r->expires_at, (long long)left, r->name);
}

/* The names owned by the scanned addresses (*out malloc'd). */
static int owned_names(arb_node *node, const scan_result *r, arb_node_name **out, size_t *n_out)
{
    arb_errbuf eb = {{0}};
    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < r->n; i++) {
        arb_node_name *v = NULL, *nv;
        size_t n = 0;
        if (arb_node_get_owner_names(node, &v, &n, r->a[i].addr, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            goto fail;
        }
        if (n == 0) {
            free(v);
            continue;
        }
        nv = realloc(*out, (*n_out + n) * sizeof(*nv));
        if (nv == NULL) {
            for (size_t k = 0; k < n; k++)
                arb_node_name_clear(&v[k]);
            free(v);
            errmsg("out of memory");
            goto fail;
        }
        *out = nv;
        memcpy(nv + *n_out, v, n * sizeof(*v));
        *n_out += n;
        free(v);
    }
    return 1;
fail:
    for (size_t k = 0; k < *n_out; k++)
        arb_node_name_clear(&(*out)[k]);
    free(*out);
    *out = NULL;
    *n_out = 0;
    return 0;
}

/* At the start of a name command: warn about owned names near expiry. */
static void startup_warnings(arb_node *node, const scan_result *r)
{
    arb_node_name *v = NULL;
    size_t n = 0;
    arb_node_tip tip;
    arb_errbuf eb = {{0}};

    if (arb_node_get_tip(node, &tip, &eb) != ARB_OK || !owned_names(node, r, &v, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        warn_expiry(&v[i], tip.height);
        arb_node_name_clear(&v[i]);
    }
    free(v);
}

/* Opens node and wallet, checks networks, syncs pending transactions,
 * scans, and prints expiry warnings. */
static int open_all(const options *o, arb_node **node, wallet_session *w, scan_result *r,
                    arb_node_tip *tip)
{
    arb_errbuf eb = {{0}};
    int rc;

    memset(w, 0, sizeof(*w));
    w->lock_fd = -1;
    rc = node_wallet_scan(o, node, w, r);
    if (rc != EXIT_OK)
        return rc;
    if (names_params(w->ks.network) == NULL) {
        errmsg("the name layer has no parameters for network %s", w->ks.network);
        return EXIT_FAIL;
    }
    if (arb_node_get_tip(*node, tip, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        return EXIT_FAIL;
    }
    startup_warnings(*node, r);
    return EXIT_OK;
}

static void close_all(arb_node *node, wallet_session *w, scan_result *r)
{
    scan_clear(r);
    session_close(w);
    arb_node_free(node);
}

/* ---- name price / lookup / list ---- */

static json_t *name_json(const arb_node_name *r, int with_history)
{
    char owner[65], zh[65];
    json_t *j;

    hex32(owner, r->owner);
    hex32(zh, r->zonefile_hash);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "name", r->name, "namespace",
                  r->ns, "status", r->status, "owner", owner, "address", r->address,
                  "registered_height", (json_int_t)r->registered_height, "renewed_height",
                  (json_int_t)r->renewed_height, "imported", r->imported);
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "zonefile_hash", r->has_zonefile ? json_string(zh) : json_null());
    json_object_set_new(j, "zonefile", r->zonefile ? json_string(r->zonefile) : json_null());
    json_object_set_new(j, "expires_at",
                        r->expires_at >= 0 ? json_integer(r->expires_at) : json_null());
    json_object_set_new(j, "grace_ends_at",
                        r->grace_ends_at >= 0 ? json_integer(r->grace_ends_at) : json_null());
    if (with_history) {
        json_t *h = json_array();
        for (size_t i = 0; h != NULL && i < r->n_history; i++)
            json_array_append_new(h, json_pack("{s:I, s:s, s:s}", "height",
                                               (json_int_t)r->history[i].height, "txid",
                                               r->history[i].txid, "op", r->history[i].op));
        json_object_set_new(j, "history", h != NULL ? h : json_array());
    }
    return j;
}

static void name_text(const arb_node_name *r, int with_history)
{
    char zh[65];
    printf("%s  %s\n", r->name, r->status);
    printf("  owner:      %s\n", r->address);
    if (r->has_zonefile) {
        hex32(zh, r->zonefile_hash);
        printf("  zone file:  %s%s\n", zh, r->zonefile ? "" : " (not on this node)");
    } else
        printf("  zone file:  none\n");
    printf("  registered: %u, renewed %u%s\n", (unsigned)r->registered_height,
           (unsigned)r->renewed_height, r->imported ? " (imported)" : "");
    if (r->expires_at >= 0)
        printf("  expires:    %lld (grace until %lld)\n", (long long)r->expires_at,
               (long long)r->grace_ends_at);
    else
        printf("  expires:    never\n");
    if (with_history)
        for (size_t i = 0; i < r->n_history; i++)
            printf("  %8u  %-18s %s\n", (unsigned)r->history[i].height, r->history[i].op,
                   r->history[i].txid);
    if (with_history && r->zonefile != NULL)
        printf("%s%s", r->zonefile,
               r->zonefile[0] && r->zonefile[strlen(r->zonefile) - 1] == '\n' ? "" : "\n");
}

/* The one argument of a lookup (a full name, or with ns a namespace ID),
 * checked, and the node opened: EXIT_OK with *node (to free) and *tip, or
 * the exit status. */
static int lookup_open(const options *o, int argc, char **argv, int ns, arb_node **node,
                       arb_node_tip *tip)
{
    if (argc != 1)
        return wallet_usage_error(ns ? "namespace" : "name");
    if (!(ns ? check_ns(argv[0]) : check_full(argv[0])))
        return EXIT_USAGE;
    return open_node(o, node, tip);
}

static int name_price(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    arb_node_tip tip;
    arb_node_price p;
    arb_errbuf eb = {{0}};
    arb_err err;
    int rc;

    if ((rc = lookup_open(o, argc, argv, 0, &node, &tip)) != EXIT_OK)
        return rc;
    err = arb_node_get_price(node, &p, argv[0], &eb);
    arb_node_free(node);
    if (err == ARB_ERR_NOT_FOUND) {
        const char *ns = strchr(argv[0], '.') + 1;
        errmsg("namespace %s does not exist", ns);
        return EXIT_FAIL;
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        return EXIT_FAIL;
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:b, s:b}", "name", argv[0], "namespace_ready",
                              p.namespace_ready, "available", p.available);
        json_object_set_new(j, "price", p.has_price ? json_amount(p.price) : json_null());
        json_object_set_new(j, "price_units",
                            p.has_price ? json_integer((json_int_t)p.price) : json_null());
        return print_json(j);
    }
    if (p.has_price)
        print_amount("price:     ", p.price);
    else
        printf("price:     too large (the name cannot be paid for)\n");
    printf("available: %s\nnamespace: %s\n", p.available ? "yes" : "no",
           p.namespace_ready ? "ready" : "not ready (no names may be registered yet)");
    return EXIT_OK;
}

static int name_lookup(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    arb_node_tip tip;
    arb_node_name r;
    arb_errbuf eb = {{0}};
    arb_err err;
    int rc;

    if ((rc = lookup_open(o, argc, argv, 0, &node, &tip)) != EXIT_OK)
        return rc;
    err = arb_node_get_name(node, &r, argv[0], &eb);
    arb_node_free(node);
    if (err == ARB_ERR_NOT_FOUND) {
        /* Not registered: exit status 1, and --json still says so. */
        if (o->json)
            (void)print_json(json_pack("{s:s, s:s}", "name", argv[0], "status", "available"));
        errmsg("%s is not registered", argv[0]);
        return EXIT_FAIL;
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        return EXIT_FAIL;
    }
    warn_expiry(&r, tip.height);
    if (o->json)
        rc = print_json(name_json(&r, 1));
    else {
        name_text(&r, 1);
        rc = EXIT_OK;
    }
    arb_node_name_clear(&r);
    return rc;
}

static int name_list(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_tip tip;
    arb_node_name *v = NULL;
    size_t n = 0;
    int rc;

    (void)argv;
    if (argc != 0)
        return wallet_usage_error("name");
    memset(&r, 0, sizeof(r));
    if ((rc = open_all(o, &node, &w, &r, &tip)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (!owned_names(node, &r, &v, &n))
        goto out;
    if (o->json) {
        json_t *a = json_array(), *p = json_array();
        for (size_t i = 0; a != NULL && i < n; i++) {
            json_t *e = name_json(&v[i], 0);
            int64_t left;
            if (e != NULL)
                json_object_set_new(e, "expiry_warning",
                                    json_boolean(near_expiry(&v[i], tip.height, &left)));
            json_array_append_new(a, e);
        }
        for (size_t i = 0; p != NULL && i < w.ks.n_names; i++)
            json_array_append_new(p, json_pack("{s:s, s:s}", "name", w.ks.names[i].name, "stage",
                                               arb_namereg_stage_name(w.ks.names[i].stage)));
        rc = print_json(json_pack("{s:o, s:o, s:I}", "names", a, "registering", p, "height",
                                  (json_int_t)tip.height));
    } else {
        if (n == 0)
            printf("no names\n");
        for (size_t i = 0; i < n; i++) {
            if (v[i].expires_at >= 0)
                printf("%-40s %-8s expires %lld\n", v[i].name, v[i].status,
                       (long long)v[i].expires_at);
            else
                printf("%-40s %-8s never expires\n", v[i].name, v[i].status);
        }
        for (size_t i = 0; i < w.ks.n_names; i++) {
            if (strchr(w.ks.names[i].name, '.') == NULL)
                printf("%-40s namespace preordered (`namespace reveal` continues)\n",
                       w.ks.names[i].name);
            else
                printf("%-40s registering (stage %s; `name register --resume` continues)\n",
                       w.ks.names[i].name, arb_namereg_stage_name(w.ks.names[i].stage));
        }
        rc = EXIT_OK;
    }
out:
    for (size_t i = 0; i < n; i++)
        arb_node_name_clear(&v[i]);
    free(v);
    close_all(node, &w, &r);
    return rc;
}

/* ---- the one-step register ---- */

typedef struct {
    const char *full;
    const uint8_t *zf;
    size_t zf_len;
    uint64_t rate;
    int mine, no_wait;
} reg_args;

/* Records for send_payload: a new registration entry at stage PREORDER (or
 * an existing one moved back to PREORDER with a new salt and preorder). */
typedef struct {
    arb_keystore_namereg rec;
    int replace; /* the entry exists: update it in place */
} rec_preorder_ud;

static int record_preorder(void *ud, wallet_session *w, const char *txid)
{
    rec_preorder_ud *u = ud;
    arb_keystore_namereg *e;
    arb_err err;

    memcpy(u->rec.preorder_txid, txid, 65);
    u->rec.register_txid[0] = '\0';
    u->rec.stage = ARB_NAMEREG_PREORDER;
    if (u->replace && (e = arb_keystore_namereg_find(&w->ks, u->rec.name)) != NULL) {
        memcpy(e->salt, u->rec.salt, 32);
        memcpy(e->owner, u->rec.owner, 32);
        e->burn = u->rec.burn;
        memcpy(e->preorder_txid, txid, 65);
        e->register_txid[0] = '\0';
        e->stage = ARB_NAMEREG_PREORDER;
        return 1;
    }
    if ((err = arb_keystore_namereg_add(&w->ks, &u->rec)) != ARB_OK) {
        errmsg("cannot record the registration in the wallet file: %s (at most %d "
               "registrations in progress)",
               arb_err_str(err), ARB_KEYSTORE_NAMES_MAX);
        return 0;
    }
    return 1;
}

/* The registration's stage back to PREORDER (the register was refused at
 * once: nothing was paid, and a later run may send it again). */
static void unrecord_register(const options *o, wallet_session *w, const char *name)
{
    arb_keystore_namereg *e = arb_keystore_namereg_find(&w->ks, name);
    if (e == NULL)
        return;
    e->stage = ARB_NAMEREG_PREORDER;
    e->register_txid[0] = '\0';
    (void)session_save(o, w);
}

static int record_register(void *ud, wallet_session *w, const char *txid)
{
    arb_keystore_namereg *e = arb_keystore_namereg_find(&w->ks, (const char *)ud);
    if (e == NULL) {
        errmsg("the registration left the wallet file");
        return 0;
    }
    memcpy(e->register_txid, txid, 65);
    e->stage = ARB_NAMEREG_REGISTER;
    return 1;
}

/* Sends the preorder op of id (a full name, or a namespace ID for a
 * namespace preorder) in two builds of p: a dry one picks the key that pays
 * (p->sender, or the wallet's choice when NULL), which becomes the owner
 * that the commitment binds (u->rec.owner, with u->rec.salt); then the real
 * one, recorded with u in the same save. A refusal is printed as `what`.
 * Returns EXIT_OK or EXIT_FAIL; p->hex is the caller's to free. */
static int send_preorder(const options *o, wallet_session *w, arb_node *node, const scan_result *r,
                         arb_nameop *op, const char *id, payload_tx *p, rec_preorder_ud *u,
                         const char *what)
{
    arb_buf b = ARB_BUF_INIT;
    arb_sha256 *sha = NULL;
    int rc = EXIT_FAIL;

    /* The payload's size does not depend on the commitment: build the real
     * payload once the key is known. */
    memset(op->commitment, 0, sizeof(op->commitment));
    if (!encode_op(op, &b))
        goto out;
    p->payload = b.data;
    p->payload_len = b.len;
    p->dry = 1;
    if (send_payload(o, w, node, r, p) != EXIT_OK)
        goto out;
    free(p->hex);
    p->hex = NULL;
    memcpy(u->rec.owner, p->sender_out, 32);
    if (arb_sha256_new(&sha) != ARB_OK) {
        errmsg("out of memory");
        goto out;
    }
    if (op->type == ARB_NAMEOP_NAMESPACE_PREORDER)
        arb_nameop_ns_commitment(sha, op->commitment, (const uint8_t *)id, strlen(id),
                                 u->rec.salt, u->rec.owner);
    else
        arb_nameop_name_commitment(sha, op->commitment, (const uint8_t *)id, strlen(id),
                                   u->rec.salt, u->rec.owner);
    arb_buf_free(&b);
    b = (arb_buf)ARB_BUF_INIT;
    if (!encode_op(op, &b))
        goto out;
    p->payload = b.data;
    p->payload_len = b.len;
    p->sender = u->rec.owner;
    p->dry = 0;
    p->record = record_preorder;
    p->ud = u;
    if (send_payload(o, w, node, r, p) != EXIT_OK) {
        if (p->reason[0])
            print_refusal(what, p->reason);
        goto out;
    }
    rc = EXIT_OK;
out:
    p->payload = NULL;
    p->payload_len = 0;
    arb_sha256_free(sha);
    arb_buf_free(&b);
    return rc;
}

/* Sends a (new) preorder for the registration of a->full: checks the
 * name is available and its price, draws a salt, and records it all in the
 * same save as the transaction. sender: the key to act with (NULL: the
 * wallet's largest coin's). */
static int do_preorder(const options *o, wallet_session *w, arb_node *node, const scan_result *r,
                       const char *full, const uint8_t *zf, size_t zf_len, uint64_t rate,
                       const uint8_t *sender, int replace, json_t *log)
{
    arb_node_price price;
    arb_node_name cur;
    arb_errbuf eb = {{0}};
    arb_err err;
    rec_preorder_ud u;
    arb_nameop op;
    payload_tx p;
    int rc = EXIT_FAIL;

    memset(&u, 0, sizeof(u));
    memset(&op, 0, sizeof(op));
    memset(&p, 0, sizeof(p));
    err = arb_node_get_price(node, &price, full, &eb);
    if (err == ARB_ERR_NOT_FOUND) {
        errmsg("namespace %s does not exist", strchr(full, '.') + 1);
        return EXIT_FAIL;
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        return EXIT_FAIL;
    }
    if (!price.namespace_ready) {
        errmsg("namespace %s is not ready: no names may be registered in it yet",
               strchr(full, '.') + 1);
        return EXIT_FAIL;
    }
    if (!price.available) {
        if (arb_node_get_name(node, &cur, full, &eb) == ARB_OK) {
            if (strcmp(cur.status, "grace") == 0)
                errmsg("name-in-grace: %s expired but its owner may renew it until height %lld",
                       full, (long long)cur.grace_ends_at);
            else if (cur.expires_at >= 0)
                errmsg("name-taken: %s is registered until height %lld (grace until %lld)", full,
                       (long long)cur.expires_at, (long long)cur.grace_ends_at);
            else
                errmsg("name-taken: %s is registered and never expires", full);
            arb_node_name_clear(&cur);
        } else
            errmsg("name-taken: %s is not available", full);
        return EXIT_UNAVAILABLE;
    }
    if (!price.has_price) {
        errmsg("name-price-overflow: %s cannot be paid for in its namespace", full);
        return EXIT_FAIL;
    }
    snprintf(u.rec.name, sizeof(u.rec.name), "%s", full);
    u.rec.burn = price.price;
    u.rec.time = (uint64_t)time(NULL);
    u.rec.zonefile = (uint8_t *)zf;
    u.rec.zonefile_len = zf_len;
    u.replace = replace;
    if (RAND_bytes(u.rec.salt, 32) != 1) {
        errmsg("no random salt");
        return EXIT_FAIL;
    }
    /* The owner is the sender: the register must come from the preorder's
     * key, and the preorder's change back to that key pays for it. Pick the
     * key first (a dry build), then commit to it. */
    p.type = ARB_NAMEOP_NAME_PREORDER;
    p.burn = price.price;
    p.rate = rate;
    p.sender = sender;
    op.type = ARB_NAMEOP_NAME_PREORDER;
    op.burn = price.price;
    if (send_preorder(o, w, node, r, &op, full, &p, &u, "preorder") != EXIT_OK)
        goto out;
    {
        char amt[ARB_AMOUNT_STR_MAX];
        arb_amount_format(amt, sizeof(amt), price.price);
        errmsg("preordered %s: %s burned, fee %llu units, transaction %s", full, amt,
               (unsigned long long)p.fee, p.txid);
    }
    if (log != NULL)
        json_array_append_new(log, json_pack("{s:s, s:s, s:I, s:I}", "step", "preorder", "txid",
                                             p.txid, "burn", (json_int_t)price.price, "fee",
                                             (json_int_t)p.fee));
    rc = EXIT_OK;
out:
    OPENSSL_cleanse(u.rec.salt, 32);
    free(p.hex);
    return rc;
}

static int do_register(const options *o, wallet_session *w, arb_node *node, const scan_result *r,
                       arb_keystore_namereg *e, uint64_t rate, json_t *log)
{
    arb_nameop op;
    arb_buf b = ARB_BUF_INIT;
    arb_sha256 *sha = NULL;
    payload_tx p;
    char name[ARB_KEYSTORE_NAME_MAX + 1];
    int rc = EXIT_FAIL;

    memset(&op, 0, sizeof(op));
    memset(&p, 0, sizeof(p));
    snprintf(name, sizeof(name), "%s", e->name);
    op.type = ARB_NAMEOP_NAME_REGISTER;
    if (!set_full(&op, e->name)) {
        errmsg("bad name in the wallet file");
        return EXIT_FAIL;
    }
    memcpy(op.salt, e->salt, 32);
    memcpy(op.key, e->owner, 32);
    if (e->zonefile_len > 0) {
        if (arb_sha256_new(&sha) != ARB_OK ||
            arb_names_zonefile_hash(sha, op.zonefile_hash, e->zonefile, e->zonefile_len) !=
                ARB_OK) {
            errmsg("cannot hash the zone file");
            goto out;
        }
        op.has_zonefile = 1;
    }
    if (!encode_op(&op, &b))
        goto out;
    p.type = ARB_NAMEOP_NAME_REGISTER;
    p.payload = b.data;
    p.payload_len = b.len;
    p.rate = rate;
    p.sender = e->owner;
    p.record = record_register;
    p.ud = name;
    if (send_payload(o, w, node, r, &p) != EXIT_OK) {
        if (p.reason[0]) {
            print_refusal("register", p.reason);
            unrecord_register(o, w, name);
        }
        goto out;
    }
    errmsg("sent the register of %s: fee %llu units, transaction %s", name,
           (unsigned long long)p.fee, p.txid);
    if (log != NULL)
        json_array_append_new(log, json_pack("{s:s, s:s, s:I}", "step", "register", "txid",
                                             p.txid, "fee", (json_int_t)p.fee));
    rc = EXIT_OK;
out:
    OPENSSL_cleanse(&op, sizeof(op));
    free(p.hex);
    arb_sha256_free(sha);
    arb_buf_free(&b);
    return rc;
}

/* Uploads the zone file. Returns 1 (stored), 0 (retry later: said why) or
 * -1 (failed for good: message). */
static int do_upload(arb_node *node, const uint8_t *zf, size_t len, const char *name, int quiet)
{
    char hash[ARB_NODE_HASH_HEX];
    arb_errbuf eb = {{0}};
    arb_err err = arb_node_post_zonefile(node, hash, zf, len, &eb);

    if (err == ARB_OK) {
        errmsg("uploaded the zone file of %s (%s)", name, hash);
        return 1;
    }
    if (err == ARB_ERR_NOT_FOUND) {
        if (!quiet)
            errmsg("the node does not take the zone file of %s yet (%s); it is kept in the "
                   "wallet file and uploaded by the next `name register --resume`",
                   name, eb.msg);
        return 0;
    }
    if (err == ARB_ERR_NET) {
        errmsg("%s; the zone file is kept and uploaded by the next `name register --resume`",
               eb.msg);
        return 0;
    }
    errmsg("the node refused the zone file of %s: %s", name, eb.msg);
    return -1;
}

static int remove_entry(const options *o, wallet_session *w, const char *name)
{
    for (size_t i = 0; i < w->ks.n_names; i++)
        if (strcmp(w->ks.names[i].name, name) == 0) {
            arb_keystore_namereg_remove(&w->ks, i);
            return session_save(o, w);
        }
    return 1;
}

/* Rebroadcasts the wallet's pending transactions and drops the
 * registration's preorder (which = 0) or register (1) when the node refuses
 * it for good. */
static int sync_pending(const options *o, wallet_session *w, arb_node *node, const char *full,
                        int which)
{
    pending_report *rep = NULL;
    size_t nrep = 0;
    arb_keystore_namereg *e;
    char txid[65];
    int ok;

    if (!pending_sync(o, w, node, &rep, &nrep))
        return 0;
    pending_report_stderr(rep, nrep);
    e = arb_keystore_namereg_find(&w->ks, full);
    ok = 1;
    if (e != NULL) {
        memcpy(txid, which ? e->register_txid : e->preorder_txid, 65);
        ok = drop_refused(o, w, rep, nrep, txid);
    }
    free(rep);
    return ok;
}

/* A `name register NAME` for a name that a key of this wallet already owns
 * (a registration that finished, or a re-run after the program was killed
 * once everything was done): says so instead of trying to buy it again, and
 * uploads the zone file when it is the one on-chain and the node lacks it.
 * Returns 1 when handled (*rc set), 0 when the name is not ours. */
static int register_already_ours(const options *o, wallet_session *w, arb_node *node,
                                 const scan_result *r, const char *full, const uint8_t *zf,
                                 size_t zf_len, int *rc)
{
    arb_node_name cur;
    arb_errbuf eb = {{0}};
    int owned = 0, uploaded = 0;
    uint32_t ch, idx;

    memset(&cur, 0, sizeof(cur));
    if (arb_node_get_name(node, &cur, full, &eb) != ARB_OK)
        return 0;
    if (strcmp(cur.status, "active") != 0 && strcmp(cur.status, "grace") != 0) {
        arb_node_name_clear(&cur);
        return 0;
    }
    for (size_t i = 0; i < r->n; i++)
        if (memcmp(r->a[i].key, cur.owner, 32) == 0)
            owned = 1;
    if (!owned)
        owned = arb_wallet_find_key(w->ctx, &ch, &idx, &w->acct, cur.owner,
                                    w->ks.next_receive + SCAN_GAP,
                                    w->ks.next_change + SCAN_GAP) == ARB_OK;
    if (!owned) {
        arb_node_name_clear(&cur);
        return 0;
    }
    *rc = EXIT_OK;
    if (zf != NULL) {
        uint8_t h[32];
        arb_sha256 *sha = NULL;
        int hashed = arb_sha256_new(&sha) == ARB_OK &&
                     arb_names_zonefile_hash(sha, h, zf, zf_len) == ARB_OK;
        arb_sha256_free(sha);
        if (!hashed) {
            errmsg("cannot hash the zone file");
            *rc = EXIT_FAIL;
        } else if (!cur.has_zonefile || memcmp(h, cur.zonefile_hash, 32) != 0) {
            errmsg("%s is already registered to this wallet with another zone file; "
                   "`arbor-wallet name update %s --zonefile FILE` sets this one",
                   full, full);
            *rc = EXIT_FAIL;
        } else if (cur.zonefile == NULL) {
            int up = do_upload(node, zf, zf_len, full, 0);
            if (up < 0)
                *rc = EXIT_FAIL;
            uploaded = up == 1;
        }
    }
    if (*rc == EXIT_OK) {
        if (cur.expires_at >= 0)
            errmsg("%s is already registered to this wallet (%s until height %lld)", full,
                   cur.status, (long long)cur.expires_at);
        else
            errmsg("%s is already registered to this wallet (it never expires)", full);
        if (o->json)
            *rc = print_json(json_pack("{s:s, s:s, s:b, s:b}", "name", full, "stage", "done",
                                       "already_registered", 1, "zonefile_uploaded", uploaded));
    }
    arb_node_name_clear(&cur);
    return 1;
}

/* Says that full's register confirmed at height (and logs the step). */
static void note_registered(const char *full, uint32_t height, json_t *log)
{
    errmsg("%s: registered at height %u", full, (unsigned)height);
    if (log != NULL)
        json_array_append_new(log, json_pack("{s:s, s:I}", "step", "registered", "height",
                                             (json_int_t)height));
}

/* Runs the registration of `full` (recorded in the wallet file) until it is
 * done, fails, or (no_wait) must wait. *done is 1 when finished. */
static int run_register(const options *o, wallet_session *w, arb_node *node, scan_result *r,
                        const char *full, const reg_args *a, json_t *log, int *done)
{
    const arb_names_params *np = names_params(w->ks.network);
    int uploads_deferred = 0;

    *done = 0;
    for (;;) {
        arb_keystore_namereg *e = arb_keystore_namereg_find(&w->ks, full);
        arb_namereg_obs ob;
        arb_node_tip tip;
        arb_errbuf eb = {{0}};
        arb_namereg_action act;
        char what[512];

        if (e == NULL) {
            errmsg("no registration of %s in the wallet file", full);
            return EXIT_FAIL;
        }
        memset(&ob, 0, sizeof(ob));
        if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            return EXIT_FAIL;
        }
        ob.tip = tip.height;
        ob.preorder_ttl = np->preorder_ttl;
        if (!tx_state(node, e->preorder_txid, &ob.preorder, &ob.preorder_height))
            return EXIT_FAIL;
        /* A transaction neither on the node nor in the wallet's pending list
         * was dropped (conflicted or refused for good). */
        ob.preorder_lost =
            ob.preorder == ARB_NAMEREG_TX_UNKNOWN && !pending_has(w, e->preorder_txid);
        if (e->stage >= ARB_NAMEREG_REGISTER && e->register_txid[0]) {
            if (!tx_state(node, e->register_txid, &ob.reg, &ob.register_height))
                return EXIT_FAIL;
            ob.register_lost = ob.reg == ARB_NAMEREG_TX_UNKNOWN && !pending_has(w, e->register_txid);
        }
        if (e->stage == ARB_NAMEREG_UPLOAD)
            ob.reg = ARB_NAMEREG_TX_CONFIRMED;
        act = arb_namereg_next(e, &ob);
        switch (act) {
        case ARB_NAMEREG_WAIT_PREORDER:
            if (a->no_wait && !a->mine)
                goto later;
            snprintf(what, sizeof(what), "%s: waiting for the preorder %.16s... to confirm", full,
                     e->preorder_txid);
            if (!wait_above(w, node, tip.height, a->mine, what, &tip.height))
                return EXIT_FAIL;
            /* Rebroadcast what the node lost meanwhile. */
            if (!sync_pending(o, w, node, full, 0))
                return EXIT_FAIL;
            break;
        case ARB_NAMEREG_WAIT_BLOCK:
            if (a->no_wait && !a->mine)
                goto later;
            snprintf(what, sizeof(what),
                     "%s: preorder confirmed at %u; the register goes in a later block", full,
                     (unsigned)ob.preorder_height);
            if (!wait_above(w, node, ob.preorder_height, a->mine, what, &tip.height))
                return EXIT_FAIL;
            break;
        case ARB_NAMEREG_REPREORDER: {
            int rc;
            if (ob.preorder == ARB_NAMEREG_TX_CONFIRMED)
                errmsg("%s: the preorder at height %u expired unused (a register must be in a "
                       "block below %u); preordering again, which burns the price again",
                       full, (unsigned)ob.preorder_height,
                       (unsigned)(ob.preorder_height + np->preorder_ttl));
            else
                errmsg("%s: the preorder %s was dropped (an input was spent elsewhere); "
                       "preordering again",
                       full, e->preorder_txid);
            if (e->register_txid[0] != '\0') {
                /* The register can no longer enter a block: stop sending it. */
                for (size_t k = 0; k < w->ks.n_pending; k++)
                    if (strcmp(w->ks.pending[k].txid, e->register_txid) == 0) {
                        arb_keystore_pending_remove(&w->ks, k);
                        break;
                    }
            }
            rc = do_preorder(o, w, node, r, full, e->zonefile, e->zonefile_len, a->rate, NULL, 1,
                             log);
            if (rc == EXIT_UNAVAILABLE) {
                /* Someone else has it now: nothing left to resume. */
                errmsg("%s: forgetting the registration (the burned price is lost)", full);
                (void)remove_entry(o, w, full);
                return EXIT_FAIL;
            }
            if (rc != EXIT_OK)
                return rc;
            break;
        }
        case ARB_NAMEREG_SEND_REGISTER:
            if (do_register(o, w, node, r, e, a->rate, log) != EXIT_OK)
                return EXIT_FAIL;
            break;
        case ARB_NAMEREG_WAIT_REGISTER:
            if (a->no_wait && !a->mine)
                goto later;
            snprintf(what, sizeof(what), "%s: waiting for the register %.16s... to confirm", full,
                     e->register_txid);
            if (!wait_above(w, node, tip.height, a->mine, what, &tip.height))
                return EXIT_FAIL;
            if (!sync_pending(o, w, node, full, 1))
                return EXIT_FAIL;
            break;
        case ARB_NAMEREG_UPLOAD_ZONEFILE: {
            int up;
            if (e->stage != ARB_NAMEREG_UPLOAD) {
                note_registered(full, ob.register_height, log);
                e->stage = ARB_NAMEREG_UPLOAD;
                if (!session_save(o, w))
                    return EXIT_FAIL;
            }
            up = do_upload(node, e->zonefile, e->zonefile_len, full, uploads_deferred > 0);
            if (up < 0)
                return EXIT_FAIL;
            if (up == 0) {
                /* Retry later: within this run only when waiting anyway. */
                uploads_deferred++;
                if (a->no_wait || uploads_deferred > 2)
                    goto later;
                sleep_ms(1000);
                break;
            }
            if (log != NULL)
                json_array_append_new(log, json_pack("{s:s}", "step", "zonefile-uploaded"));
            if (!remove_entry(o, w, full))
                return EXIT_FAIL;
            *done = 1;
            return EXIT_OK;
        }
        case ARB_NAMEREG_DONE:
            if (e->stage != ARB_NAMEREG_UPLOAD)
                note_registered(full, ob.register_height, log);
            if (!remove_entry(o, w, full))
                return EXIT_FAIL;
            *done = 1;
            return EXIT_OK;
        case ARB_NAMEREG_FAILED:
            errmsg("%s: the register %s was refused for good and the price paid with the "
                   "preorder is lost; forgetting the registration",
                   full, e->register_txid);
            (void)remove_entry(o, w, full);
            return EXIT_FAIL;
        }
    }
later:
    {
        arb_keystore_namereg *e = arb_keystore_namereg_find(&w->ks, full);
        errmsg("%s: stage %s recorded in the wallet file; run `arbor-wallet name register %s` "
               "(or `name register --resume`) again to continue",
               full, e != NULL ? arb_namereg_stage_name(e->stage) : "?", full);
    }
    return EXIT_OK;
}

static int name_register(const options *o, int argc, char **argv, int preorder_only)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_tip tip;
    reg_args a;
    const char *zf_path = NULL;
    uint8_t *zf = NULL;
    size_t zf_len = 0;
    int resume = 0, rc;
    json_t *log = NULL, *results = NULL;
    const char *cmd = preorder_only ? "name preorder" : "name register";

    memset(&a, 0, sizeof(a));
    memset(&r, 0, sizeof(r));
    a.rate = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--zonefile") == 0 && i + 1 < argc)
            zf_path = argv[++i];
        else if (strcmp(argv[i], "--fee-rate") == 0 && i + 1 < argc) {
            if (!parse_rate(argv[++i], &a.rate))
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--mine") == 0 && !preorder_only)
            a.mine = 1;
        else if (strcmp(argv[i], "--no-wait") == 0 && !preorder_only)
            a.no_wait = 1;
        else if (strcmp(argv[i], "--resume") == 0 && !preorder_only)
            resume = 1;
        else if (argv[i][0] == '-') {
            errmsg("%s: unknown option %s", cmd, argv[i]);
            return EXIT_USAGE;
        } else if (a.full == NULL)
            a.full = argv[i];
        else {
            errmsg("%s: too many arguments", cmd);
            return EXIT_USAGE;
        }
    }
    if (a.full == NULL && !resume) {
        errmsg("%s needs a NAME%s", cmd, preorder_only ? "" : " (or --resume)");
        return wallet_usage_error("name");
    }
    if (a.full != NULL && !check_full(a.full))
        return EXIT_USAGE;
    if (zf_path != NULL && !read_file_max(zf_path, &zf, &zf_len, ARB_NAMES_ZONEFILE_MAX,
                                          "zone file"))
        return EXIT_FAIL;
    if ((rc = open_all(o, &node, &w, &r, &tip)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    log = json_array();
    results = json_array();
    if (a.full != NULL && arb_keystore_namereg_find(&w.ks, a.full) == NULL) {
        if (!preorder_only && register_already_ours(o, &w, node, &r, a.full, zf, zf_len, &rc))
            goto out;
        if (do_preorder(o, &w, node, &r, a.full, zf, zf_len, a.rate, NULL, 0, log) != EXIT_OK) {
            rc = EXIT_FAIL;
            goto out;
        }
        if (preorder_only) {
            rc = o->json ? print_json(json_pack("{s:s, s:s, s:O}", "name", a.full, "stage",
                                                "preorder", "steps", log))
                         : EXIT_OK;
            if (!o->json)
                printf("preordered %s; `arbor-wallet name register %s` registers it once the "
                       "preorder has confirmed\n",
                       a.full, a.full);
            goto out;
        }
    } else if (a.full != NULL) {
        arb_keystore_namereg *e = arb_keystore_namereg_find(&w.ks, a.full);
        errmsg("resuming the registration of %s from stage %s (recorded in the wallet file)",
               a.full, arb_namereg_stage_name(e->stage));
        if (zf != NULL && (e->zonefile_len != zf_len || memcmp(e->zonefile, zf, zf_len) != 0))
            errmsg("note: the recorded zone file is used, not %s (the register commits to it)",
                   zf_path);
        if (preorder_only) {
            errmsg("%s is already preordered", a.full);
            goto out;
        }
    }
    rc = EXIT_OK;
    {
        /* The names to run: the one named, or every recorded one. */
        char names[ARB_KEYSTORE_NAMES_MAX][ARB_KEYSTORE_NAME_MAX + 1];
        size_t n = 0;
        if (a.full != NULL)
            snprintf(names[n++], sizeof(names[0]), "%s", a.full);
        else
            for (size_t i = 0; i < w.ks.n_names && n < ARB_KEYSTORE_NAMES_MAX; i++)
                snprintf(names[n++], sizeof(names[0]), "%s", w.ks.names[i].name);
        if (n == 0 && !o->json)
            printf("no registrations in progress\n");
        for (size_t i = 0; i < n; i++) {
            int done = 0, one;
            json_t *steps = json_array();
            if (strchr(names[i], '.') == NULL) /* a namespace preorder: not ours to run */
                continue;
            one = run_register(o, &w, node, &r, names[i], &a, steps, &done);
            if (one != EXIT_OK)
                rc = one;
            if (!o->json && done)
                printf("registered %s\n", names[i]);
            else if (!o->json && one == EXIT_OK) {
                arb_keystore_namereg *e = arb_keystore_namereg_find(&w.ks, names[i]);
                printf("%s: in progress, stage %s (run the command again to continue)\n",
                       names[i], e != NULL ? arb_namereg_stage_name(e->stage) : "?");
            }
            json_array_append_new(results, json_pack("{s:s, s:b, s:o}", "name", names[i], "done",
                                                     done, "steps", steps));
        }
    }
    if (o->json) {
        int prc = print_json(json_pack("{s:O}", "registrations", results));
        if (rc == EXIT_OK)
            rc = prc;
    }
out:
    json_decref(log);
    json_decref(results);
    free(zf);
    close_all(node, &w, &r);
    return rc;
}

static int name_pending(const options *o, int argc, char **argv)
{
    arb_keystore ks;
    int lock_fd = -1;

    (void)argv;
    if (argc != 0)
        return wallet_usage_error("name");
    if (!need_wallet(o) || !load_wallet(o, &ks, &lock_fd))
        return EXIT_FAIL;
    if (o->json) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < ks.n_names; i++) {
            char owner[65];
            hex32(owner, ks.names[i].owner);
            json_array_append_new(
                a, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "name", ks.names[i].name,
                             "stage", arb_namereg_stage_name(ks.names[i].stage), "owner", owner,
                             "burn", (json_int_t)ks.names[i].burn, "preorder_txid",
                             ks.names[i].preorder_txid, "register_txid",
                             ks.names[i].register_txid, "zonefile_bytes",
                             (json_int_t)ks.names[i].zonefile_len, "started",
                             (json_int_t)ks.names[i].time));
        }
        arb_keystore_clear(&ks);
        arb_keystore_unlock(lock_fd);
        return print_json(json_pack("{s:o}", "registrations", a));
    }
    if (ks.n_names == 0)
        printf("no registrations in progress\n");
    for (size_t i = 0; i < ks.n_names; i++) {
        char amt[ARB_AMOUNT_STR_MAX];
        arb_amount_format(amt, sizeof(amt), ks.names[i].burn);
        printf("%-40s stage %-8s preorder %s (burned %s)%s%s\n", ks.names[i].name,
               arb_namereg_stage_name(ks.names[i].stage), ks.names[i].preorder_txid, amt,
               ks.names[i].register_txid[0] ? ", register " : "", ks.names[i].register_txid);
    }
    arb_keystore_clear(&ks);
    arb_keystore_unlock(lock_fd);
    return EXIT_OK;
}

/* ---- update / transfer / renew / revoke ---- */

/* An operation by the owner of `full`: looks the name up, checks the
 * wallet holds the owner key, builds op (filled by the caller except full),
 * sends. zf: the zone file to upload once confirmed (update). */
static int owner_op(const options *o, const char *full, arb_nameop *op, uint64_t rate, int wait,
                    int mine, const uint8_t *zf, size_t zf_len, json_t *extra)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_tip tip;
    arb_node_name cur;
    arb_errbuf eb = {{0}};
    arb_err err;
    arb_buf b = ARB_BUF_INIT;
    payload_tx p;
    int owned = 0, rc;
    const char *what = arb_nameop_type_name(op->type);

    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    memset(&cur, 0, sizeof(cur));
    if ((rc = open_all(o, &node, &w, &r, &tip)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    err = arb_node_get_name(node, &cur, full, &eb);
    if (err == ARB_ERR_NOT_FOUND) {
        errmsg("name-missing: %s is not registered", full);
        goto out;
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    for (size_t i = 0; i < r.n; i++)
        if (memcmp(r.a[i].key, cur.owner, 32) == 0)
            owned = 1;
    if (!owned) {
        uint32_t ch, idx;
        owned = arb_wallet_find_key(w.ctx, &ch, &idx, &w.acct, cur.owner,
                                    w.ks.next_receive + SCAN_GAP,
                                    w.ks.next_change + SCAN_GAP) == ARB_OK;
    }
    if (!owned) {
        errmsg("name-not-owner: %s is owned by %s, not by a key of this wallet", full,
               cur.address);
        goto out;
    }
    if (strcmp(cur.status, "revoked") == 0) {
        errmsg("name-revoked: %s was revoked", full);
        goto out;
    }
    if (op->type != ARB_NAMEOP_NAME_RENEW && strcmp(cur.status, "active") != 0) {
        errmsg("name-expired: %s is %s%s", full, cur.status,
               strcmp(cur.status, "grace") == 0 ? "; renew it first (`name renew`)" : "");
        goto out;
    }
    if (op->type == ARB_NAMEOP_NAME_RENEW) {
        arb_node_price pr;
        if (cur.expires_at < 0) {
            errmsg("name-never-expires: %s never expires; nothing to renew", full);
            goto out;
        }
        if (strcmp(cur.status, "active") != 0 && strcmp(cur.status, "grace") != 0) {
            errmsg("name-expired: %s is past its grace period; it can only be registered again",
                   full);
            goto out;
        }
        if (arb_node_get_price(node, &pr, full, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            goto out;
        }
        if (!pr.has_price) {
            errmsg("name-price-overflow: %s cannot be paid for", full);
            goto out;
        }
        op->burn = pr.price;
    }
    if (!set_full(op, full) || !encode_op(op, &b))
        goto out;
    p.type = op->type;
    p.payload = b.data;
    p.payload_len = b.len;
    p.burn = op->burn;
    p.rate = rate;
    p.sender = cur.owner;
    if (send_payload(o, &w, node, &r, &p) != EXIT_OK) {
        if (p.reason[0])
            print_refusal(what, p.reason);
        goto out;
    }
    if (!wait && zf != NULL)
        errmsg("upload the zone file once the %s has confirmed: `arbor-wallet name upload %s "
               "--zonefile FILE` (or pass --wait to do it now)",
               what, full);
    if (wait) {
        /* Wait for the block (the zone file is taken only once its hash is
         * on-chain). */
        if (!wait_confirmed(&w, node, p.txid, mine, what))
            goto out;
        if (zf != NULL && do_upload(node, zf, zf_len, full, 0) < 0)
            goto out;
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", full, "op", what, "txid",
                              p.txid, "fee", (json_int_t)p.fee, "burn", (json_int_t)p.burn,
                              "size", (json_int_t)p.size);
        if (extra != NULL)
            json_object_update(j, extra);
        rc = print_json(j);
    } else {
        printf("sent %s of %s: %s\n", what, full, p.txid);
        if (p.burn > 0)
            print_amount("burned: ", p.burn);
        printf("fee:    %llu units\n", (unsigned long long)p.fee);
        rc = EXIT_OK;
    }
out:
    free(p.hex);
    arb_buf_free(&b);
    arb_node_name_clear(&cur);
    close_all(node, &w, &r);
    return rc;
}

/* Common flags of the owner operations. */
typedef struct {
    const char *pos[2];
    int n_pos;
    uint64_t rate;
    int wait, mine, keep_zf;
    const char *zf_path;
} op_args;

static int parse_op_args(const char *cmd, int argc, char **argv, op_args *a, int allow_zf,
                         int allow_keep)
{
    memset(a, 0, sizeof(*a));
    a->rate = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--fee-rate") == 0 && i + 1 < argc) {
            if (!parse_rate(argv[++i], &a->rate))
                return 0;
        } else if (strcmp(argv[i], "--wait") == 0)
            a->wait = 1;
        else if (strcmp(argv[i], "--mine") == 0)
            a->mine = a->wait = 1;
        else if (allow_zf && strcmp(argv[i], "--zonefile") == 0 && i + 1 < argc)
            a->zf_path = argv[++i];
        else if (allow_keep && strcmp(argv[i], "--keep-zonefile") == 0)
            a->keep_zf = 1;
        else if (argv[i][0] == '-') {
            errmsg("%s: unknown option %s", cmd, argv[i]);
            return 0;
        } else if (a->n_pos < 2)
            a->pos[a->n_pos++] = argv[i];
        else {
            errmsg("%s: too many arguments", cmd);
            return 0;
        }
    }
    return 1;
}

static int name_update(const options *o, int argc, char **argv)
{
    op_args a;
    arb_nameop op;
    uint8_t *zf = NULL;
    size_t zf_len = 0;
    arb_sha256 *sha = NULL;
    int rc;

    if (!parse_op_args("name update", argc, argv, &a, 1, 0) || a.n_pos != 1 || a.zf_path == NULL)
        return a.n_pos != 1 || a.zf_path == NULL ? (errmsg("name update needs NAME and "
                                                           "--zonefile FILE"),
                                                    wallet_usage_error("name"))
                                                 : EXIT_USAGE;
    if (!check_full(a.pos[0]))
        return EXIT_USAGE;
    if (!read_file_max(a.zf_path, &zf, &zf_len, ARB_NAMES_ZONEFILE_MAX, "zone file"))
        return EXIT_FAIL;
    memset(&op, 0, sizeof(op));
    op.type = ARB_NAMEOP_NAME_UPDATE;
    op.has_zonefile = 1;
    if (arb_sha256_new(&sha) != ARB_OK ||
        arb_names_zonefile_hash(sha, op.zonefile_hash, zf, zf_len) != ARB_OK) {
        arb_sha256_free(sha);
        free(zf);
        errmsg("cannot hash the zone file");
        return EXIT_FAIL;
    }
    arb_sha256_free(sha);
    rc = owner_op(o, a.pos[0], &op, a.rate, a.wait, a.mine, zf, zf_len, NULL);
    free(zf);
    return rc;
}

static int name_upload(const options *o, int argc, char **argv)
{
    op_args a;
    arb_node *node = NULL;
    arb_node_tip tip;
    uint8_t *zf = NULL;
    size_t zf_len = 0;
    int rc, up;

    if (!parse_op_args("name upload", argc, argv, &a, 1, 0))
        return EXIT_USAGE;
    if (a.n_pos != 1 || a.zf_path == NULL) {
        errmsg("name upload needs NAME and --zonefile FILE");
        return wallet_usage_error("name");
    }
    if (!check_full(a.pos[0]))
        return EXIT_USAGE;
    if (!read_file_max(a.zf_path, &zf, &zf_len, ARB_NAMES_ZONEFILE_MAX, "zone file"))
        return EXIT_FAIL;
    if ((rc = open_node(o, &node, &tip)) != EXIT_OK) {
        free(zf);
        return rc;
    }
    up = do_upload(node, zf, zf_len, a.pos[0], 0);
    arb_node_free(node);
    free(zf);
    if (o->json)
        print_json(json_pack("{s:s, s:b}", "name", a.pos[0], "uploaded", up == 1));
    return up == 1 ? EXIT_OK : EXIT_FAIL;
}

/* text, an address of the wallet's network (the wallet file is read for
 * it), decoded into key32. EXIT_OK, EXIT_FAIL (no wallet) or EXIT_USAGE (not
 * such an address), with the reason on stderr. */
static int wallet_address_key(const options *o, const char *text, uint8_t key32[32])
{
    arb_errbuf eb = {{0}};
    arb_keystore ks;
    int lock_fd = -1;
    const char *hrp;

    if (!need_wallet(o) || !load_wallet(o, &ks, &lock_fd))
        return EXIT_FAIL;
    hrp = arb_wallet_network_hrp(ks.network);
    arb_keystore_clear(&ks);
    arb_keystore_unlock(lock_fd);
    if (arb_address_decode(key32, hrp, text, &eb) != ARB_OK) {
        errmsg("invalid address \"%s\": %s", text, eb.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int name_transfer(const options *o, int argc, char **argv)
{
    op_args a;
    arb_nameop op;
    int rc;

    if (!parse_op_args("name transfer", argc, argv, &a, 0, 1))
        return EXIT_USAGE;
    if (a.n_pos != 2) {
        errmsg("name transfer needs NAME and ADDRESS");
        return wallet_usage_error("name");
    }
    if (!check_full(a.pos[0]))
        return EXIT_USAGE;
    memset(&op, 0, sizeof(op));
    op.type = ARB_NAMEOP_NAME_TRANSFER;
    op.keep_zonefile = (uint8_t)a.keep_zf;
    if ((rc = wallet_address_key(o, a.pos[1], op.key)) != EXIT_OK)
        return rc;
    return owner_op(o, a.pos[0], &op, a.rate, a.wait, a.mine, NULL, 0, NULL);
}

/* `name renew` (type ARB_NAMEOP_NAME_RENEW) or `name revoke`. */
static int name_simple(const options *o, int argc, char **argv, int type)
{
    const char *cmd = type == ARB_NAMEOP_NAME_RENEW ? "name renew" : "name revoke";
    op_args a;
    arb_nameop op;

    if (!parse_op_args(cmd, argc, argv, &a, 0, 0))
        return EXIT_USAGE;
    if (a.n_pos != 1) {
        errmsg("%s needs NAME", cmd);
        return wallet_usage_error("name");
    }
    if (!check_full(a.pos[0]))
        return EXIT_USAGE;
    memset(&op, 0, sizeof(op));
    op.type = (uint8_t)type;
    return owner_op(o, a.pos[0], &op, a.rate, a.wait, a.mine, NULL, 0, NULL);
}

/* A subcommand of `name` or `namespace`: run(o, argc, argv), or, when run
 * is NULL, run_with(o, argc, argv, with). */
typedef struct {
    const char *name;
    int (*run)(const options *o, int argc, char **argv);
    int (*run_with)(const options *o, int argc, char **argv, int with);
    int with;
} subcommand;

/* Runs the subcommand argv[0] of `group` found in table[0..n). */
static int run_subcommand(const options *o, const char *group, const subcommand *table, size_t n,
                          int argc, char **argv)
{
    if (argc < 1) {
        errmsg("%s needs a subcommand", group);
        return wallet_usage_error(group);
    }
    for (size_t i = 0; i < n; i++) {
        const subcommand *c = &table[i];
        if (strcmp(argv[0], c->name) != 0)
            continue;
        if (c->run != NULL)
            return c->run(o, argc - 1, argv + 1);
        return c->run_with(o, argc - 1, argv + 1, c->with);
    }
    errmsg("unknown %s subcommand \"%s\"", group, argv[0]);
    return wallet_usage_error(group);
}

int cmd_name(const options *o, int argc, char **argv)
{
    static const subcommand table[] = {
        {"price", name_price, NULL, 0},
        {"lookup", name_lookup, NULL, 0},
        {"list", name_list, NULL, 0},
        {"preorder", NULL, name_register, 1},
        {"register", NULL, name_register, 0},
        {"pending", name_pending, NULL, 0},
        {"update", name_update, NULL, 0},
        {"upload", name_upload, NULL, 0},
        {"transfer", name_transfer, NULL, 0},
        {"renew", NULL, name_simple, ARB_NAMEOP_NAME_RENEW},
        {"revoke", NULL, name_simple, ARB_NAMEOP_NAME_REVOKE},
    };
    return run_subcommand(o, "name", table, sizeof(table) / sizeof(table[0]), argc, argv);
}

/* ---- namespaces ---- */

/* A namespace preorder is recorded like a name registration, under the
 * bare id (no dot): its salt must survive until the reveal. */
static int ns_preorder(const options *o, int argc, char **argv)
{
    op_args a;
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_tip tip;
    arb_node_namespace cur;
    arb_errbuf eb = {{0}};
    arb_err err;
    rec_preorder_ud u;
    arb_nameop op;
    payload_tx p;
    int rc;

    if (!parse_op_args("namespace preorder", argc, argv, &a, 0, 0))
        return EXIT_USAGE;
    if (a.n_pos != 1) {
        errmsg("namespace preorder needs an ID");
        return wallet_usage_error("namespace");
    }
    if (!check_ns(a.pos[0]))
        return EXIT_USAGE;
    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    memset(&u, 0, sizeof(u));
    memset(&op, 0, sizeof(op));
    if ((rc = open_all(o, &node, &w, &r, &tip)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    err = arb_node_get_namespace(node, &cur, a.pos[0], &eb);
    if (err == ARB_OK && strcmp(cur.status, "lapsed") != 0) {
        errmsg("namespace-exists: %s was revealed at height %u (%s)", a.pos[0],
               (unsigned)cur.reveal_height, cur.status);
        goto out;
    }
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
        errmsg("%s", eb.msg);
        goto out;
    }
    if (arb_keystore_namereg_find(&w.ks, a.pos[0]) != NULL) {
        errmsg("namespace %s is already preordered by this wallet: reveal it with `arbor-wallet "
               "namespace reveal %s ...`",
               a.pos[0], a.pos[0]);
        goto out;
    }
    /* Recorded under the bare id (no dot), apart from names. */
    snprintf(u.rec.name, sizeof(u.rec.name), "%s", a.pos[0]);
    u.rec.burn = arb_names_namespace_price(strlen(a.pos[0]));
    u.rec.time = (uint64_t)time(NULL);
    if (RAND_bytes(u.rec.salt, 32) != 1) {
        errmsg("no random salt");
        goto out;
    }
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    op.burn = u.rec.burn;
    p.type = op.type;
    p.burn = op.burn;
    p.rate = a.rate;
    if (send_preorder(o, &w, node, &r, &op, a.pos[0], &p, &u, "namespace preorder") != EXIT_OK)
        goto out;
    if (a.wait && !wait_confirmed(&w, node, p.txid, a.mine, "namespace preorder"))
        goto out;
    if (o->json) {
        char key[ARB_ADDR_MAX];
        key_address(&w, u.rec.owner, key, sizeof(key));
        rc = print_json(json_pack("{s:s, s:s, s:I, s:I, s:s}", "namespace", a.pos[0], "txid",
                                  p.txid, "burn", (json_int_t)p.burn, "fee", (json_int_t)p.fee,
                                  "reveal_address", key));
    } else {
        printf("preordered namespace %s: %s\n", a.pos[0], p.txid);
        print_amount("burned: ", p.burn);
        printf("reveal it in a later block, within %u blocks: `arbor-wallet namespace reveal %s "
               "...`\n",
               (unsigned)names_params(w.ks.network)->preorder_ttl, a.pos[0]);
        rc = EXIT_OK;
    }
out:
    OPENSSL_cleanse(u.rec.salt, 32);
    free(p.hex);
    close_all(node, &w, &r);
    return rc;
}

/* Parses "e1,e2,...,e16". */
static int parse_buckets(const char *s, uint8_t out[16])
{
    size_t n = 0;
    const char *p = s;
    while (n < 16) {
        char *end = NULL;
        unsigned long v;
        errno = 0;
        v = strtoul(p, &end, 10);
        if (errno != 0 || end == p || v > 255)
            return 0;
        out[n++] = (uint8_t)v;
        if (*end == '\0')
            break;
        if (*end != ',')
            return 0;
        p = end + 1;
    }
    return n == 16 && strchr(p, ',') == NULL;
}

/* An operation of the namespace's reveal key (import, ready) or the reveal. */
static int ns_keyed_op(const options *o, const char *id, arb_nameop *op, uint64_t rate,
                       int mine_wait, const char *what)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_tip tip;
    arb_node_namespace ns;
    arb_errbuf eb = {{0}};
    arb_err err;
    arb_buf b = ARB_BUF_INIT;
    payload_tx p;
    uint8_t key[32];
    int rc;

    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    if ((rc = open_all(o, &node, &w, &r, &tip)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (op->type == ARB_NAMEOP_NAMESPACE_REVEAL) {
        arb_keystore_namereg *e = arb_keystore_namereg_find(&w.ks, id);
        if (e == NULL) {
            errmsg("namespace-preorder-missing: this wallet has no preorder of namespace %s "
                   "(`arbor-wallet namespace preorder %s` first)",
                   id, id);
            goto out;
        }
        memcpy(op->salt, e->salt, 32);
        memcpy(op->key, e->owner, 32);
        memcpy(key, e->owner, 32);
    } else {
        err = arb_node_get_namespace(node, &ns, id, &eb);
        if (err == ARB_ERR_NOT_FOUND) {
            errmsg("namespace-missing: namespace %s is not revealed", id);
            goto out;
        }
        if (err != ARB_OK) {
            errmsg("%s", eb.msg);
            goto out;
        }
        if (strcmp(ns.status, "revealed") != 0) {
            errmsg("namespace %s is %s: %s", id, ns.status,
                   strcmp(ns.status, "ready") == 0 ? "namespace-already-ready"
                                                   : "namespace-lapsed");
            goto out;
        }
        memcpy(key, ns.reveal_key, 32);
    }
    if (arb_nameop_encode(&b, op) != ARB_OK || b.oom) {
        errmsg("cannot encode the %s", what);
        goto out;
    }
    p.type = op->type;
    p.payload = b.data;
    p.payload_len = b.len;
    p.rate = rate;
    p.sender = key;
    if (send_payload(o, &w, node, &r, &p) != EXIT_OK) {
        if (p.reason[0])
            print_refusal(what, p.reason);
        goto out;
    }
    if (op->type == ARB_NAMEOP_NAMESPACE_REVEAL) {
        /* The salt served its purpose. */
        if (!remove_entry(o, &w, id))
            goto out;
    }
    if (mine_wait && !wait_confirmed(&w, node, p.txid, mine_wait > 1, what))
        goto out;
    if (o->json)
        rc = print_json(json_pack("{s:s, s:s, s:s, s:I}", "namespace", id, "op", what, "txid",
                                  p.txid, "fee", (json_int_t)p.fee));
    else {
        printf("sent %s of %s: %s\n", what, id, p.txid);
        rc = EXIT_OK;
    }
out:
    free(p.hex);
    arb_buf_free(&b);
    close_all(node, &w, &r);
    return rc;
}

static int ns_reveal(const options *o, int argc, char **argv)
{
    const char *id = NULL;
    arb_nameop op;
    uint64_t rate = 1;
    uint32_t v;
    int have_buckets = 0, mw = 0;

    memset(&op, 0, sizeof(op));
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    /* BNS's defaults for a cheap test namespace are not assumed: every
     * field has a flag, and these defaults (1, 1, all buckets 1, no
     * discounts) keep names cheap unless the operator says otherwise. */
    op.price.coeff = 1;
    op.price.base = 1;
    memset(op.price.buckets, 1, sizeof(op.price.buckets));
    op.price.nonalpha_discount = 1;
    op.price.no_vowel_discount = 1;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--fee-rate") == 0 && i + 1 < argc) {
            if (!parse_rate(argv[++i], &rate))
                return EXIT_USAGE;
        } else if (strcmp(f, "--lifetime") == 0 && i + 1 < argc) {
            if (!parse_u32(argv[++i], UINT32_MAX, &op.lifetime, "--lifetime"))
                return EXIT_USAGE;
        } else if ((strcmp(f, "--coeff") == 0 || strcmp(f, "--base") == 0) && i + 1 < argc) {
            if (!parse_u32(argv[++i], 255, &v, f))
                return EXIT_USAGE;
            *(strcmp(f, "--coeff") == 0 ? &op.price.coeff : &op.price.base) = (uint8_t)v;
        } else if ((strcmp(f, "--nonalpha-discount") == 0 ||
                    strcmp(f, "--no-vowel-discount") == 0) &&
                   i + 1 < argc) {
            if (!parse_u32(argv[++i], 15, &v, f) || v == 0) {
                errmsg("%s must be 1 to 15", f);
                return EXIT_USAGE;
            }
            *(strcmp(f, "--nonalpha-discount") == 0 ? &op.price.nonalpha_discount
                                                    : &op.price.no_vowel_discount) = (uint8_t)v;
        } else if (strcmp(f, "--buckets") == 0 && i + 1 < argc) {
            if (!parse_buckets(argv[++i], op.price.buckets)) {
                errmsg("--buckets takes 16 exponents 0-15, comma-separated");
                return EXIT_USAGE;
            }
            have_buckets = 1;
        } else if (strcmp(f, "--wait") == 0)
            mw = mw > 1 ? mw : 1;
        else if (strcmp(f, "--mine") == 0)
            mw = 2;
        else if (f[0] == '-') {
            errmsg("namespace reveal: unknown option %s", f);
            return EXIT_USAGE;
        } else if (id == NULL)
            id = f;
        else {
            errmsg("namespace reveal: too many arguments");
            return EXIT_USAGE;
        }
    }
    (void)have_buckets;
    if (id == NULL) {
        errmsg("namespace reveal needs an ID");
        return wallet_usage_error("namespace");
    }
    if (!check_ns(id))
        return EXIT_USAGE;
    if (!arb_names_price_fn_valid(&op.price)) {
        errmsg("namespace-price-function-invalid: buckets 0-15, discounts 1-15");
        return EXIT_USAGE;
    }
    memcpy(op.ns, id, strlen(id));
    op.ns_len = strlen(id);
    return ns_keyed_op(o, id, &op, rate, mw, "namespace-reveal");
}

static int ns_import(const options *o, int argc, char **argv)
{
    op_args a;
    arb_nameop op;
    int rc;
    char id[ARB_NAMES_NS_MAX + 1];

    if (!parse_op_args("namespace import", argc, argv, &a, 1, 0))
        return EXIT_USAGE;
    if (a.n_pos != 2) {
        errmsg("namespace import needs NAME and OWNER_ADDRESS");
        return wallet_usage_error("namespace");
    }
    if (!check_full(a.pos[0]))
        return EXIT_USAGE;
    memset(&op, 0, sizeof(op));
    op.type = ARB_NAMEOP_NAME_IMPORT;
    if ((rc = wallet_address_key(o, a.pos[1], op.key)) != EXIT_OK)
        return rc;
    if (a.zf_path != NULL) {
        uint8_t *zf = NULL;
        size_t zl = 0;
        arb_sha256 *sha = NULL;
        if (!read_file_max(a.zf_path, &zf, &zl, ARB_NAMES_ZONEFILE_MAX, "zone file"))
            return EXIT_FAIL;
        if (arb_sha256_new(&sha) != ARB_OK ||
            arb_names_zonefile_hash(sha, op.zonefile_hash, zf, zl) != ARB_OK) {
            arb_sha256_free(sha);
            free(zf);
            return EXIT_FAIL;
        }
        arb_sha256_free(sha);
        free(zf);
        op.has_zonefile = 1;
    }
    set_full(&op, a.pos[0]);
    snprintf(id, sizeof(id), "%s", strchr(a.pos[0], '.') + 1);
    return ns_keyed_op(o, id, &op, a.rate, a.mine ? 2 : a.wait, "name-import");
}

static int ns_ready(const options *o, int argc, char **argv)
{
    op_args a;
    arb_nameop op;

    if (!parse_op_args("namespace ready", argc, argv, &a, 0, 0))
        return EXIT_USAGE;
    if (a.n_pos != 1) {
        errmsg("namespace ready needs an ID");
        return wallet_usage_error("namespace");
    }
    if (!check_ns(a.pos[0]))
        return EXIT_USAGE;
    memset(&op, 0, sizeof(op));
    op.type = ARB_NAMEOP_NAMESPACE_READY;
    memcpy(op.ns, a.pos[0], strlen(a.pos[0]));
    op.ns_len = strlen(a.pos[0]);
    return ns_keyed_op(o, a.pos[0], &op, a.rate, a.mine ? 2 : a.wait, "namespace-ready");
}

static int ns_show(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    arb_node_tip tip;
    arb_node_namespace ns;
    arb_errbuf eb = {{0}};
    arb_err err;
    char key[65];
    int rc;

    if ((rc = lookup_open(o, argc, argv, 1, &node, &tip)) != EXIT_OK)
        return rc;
    err = arb_node_get_namespace(node, &ns, argv[0], &eb);
    arb_node_free(node);
    if (err == ARB_ERR_NOT_FOUND) {
        errmsg("namespace %s does not exist", argv[0]);
        return EXIT_FAIL;
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        return EXIT_FAIL;
    }
    hex32(key, ns.reveal_key);
    if (o->json) {
        json_t *b = json_array();
        for (int i = 0; b != NULL && i < 16; i++)
            json_array_append_new(b, json_integer(ns.price.buckets[i]));
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:i, s:i, s:o, s:i, s:i}}", "id",
                              ns.id, "status", ns.status, "reveal_key", key, "reveal_height",
                              (json_int_t)ns.reveal_height, "lifetime", (json_int_t)ns.lifetime,
                              "price_function", "coeff", ns.price.coeff, "base", ns.price.base,
                              "buckets", b, "nonalpha_discount", ns.price.nonalpha_discount,
                              "no_vowel_discount", ns.price.no_vowel_discount);
        if (j != NULL)
            json_object_set_new(j, "ready_height", ns.ready_height >= 0
                                                       ? json_integer(ns.ready_height)
                                                       : json_null());
        return print_json(j);
    }
    printf("namespace %s  %s\n", ns.id, ns.status);
    printf("  reveal key: %s (revealed at %u)\n", key, (unsigned)ns.reveal_height);
    if (ns.ready_height >= 0)
        printf("  ready at:   %lld\n", (long long)ns.ready_height);
    printf("  lifetime:   %u blocks%s\n", (unsigned)ns.lifetime,
           ns.lifetime == 0 ? " (names never expire)" : "");
    printf("  price:      coeff %u, base %u, buckets", ns.price.coeff, ns.price.base);
    for (int i = 0; i < 16; i++)
        printf("%c%u", i ? ',' : ' ', ns.price.buckets[i]);
    printf(", non-alpha discount %u, no-vowel discount %u\n", ns.price.nonalpha_discount,
           ns.price.no_vowel_discount);
    return EXIT_OK;
}

int cmd_namespace(const options *o, int argc, char **argv)
{
    static const subcommand table[] = {
        {"preorder", ns_preorder, NULL, 0}, {"reveal", ns_reveal, NULL, 0},
        {"import", ns_import, NULL, 0},     {"ready", ns_ready, NULL, 0},
        {"show", ns_show, NULL, 0},
    };
    return run_subcommand(o, "namespace", table, sizeof(table) / sizeof(table[0]), argc, argv);
}
