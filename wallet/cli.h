/* The subcommands of arbor-wallet and the helpers they share (private to the
 * program). arbor-wallet.c holds the command table {name, handler, args,
 * help} and the global options; each cli_*.c file holds the handlers of one
 * group of commands. Handlers return the exit status: 0 ok, 1 failure,
 * 2 usage. */
#ifndef ARB_WALLET_CLI_H
#define ARB_WALLET_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger/chain/tx.h"
#include "wallet/bip32.h"
#include "wallet/keystore.h"
#include "wallet/node.h"
#include "wallet/wallet.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PASS_MAX ARB_KEYSTORE_PASS_MAX
/* The node asked when neither --node nor ARBOR_NODE is given: arbord's
 * default --listen address (docs/arbord.md). */
#define WALLET_DEFAULT_NODE "http://127.0.0.1:7480"
#define NODE_TIMEOUT_MS 30000
/* Coins the wallet may own: receive and change indices up to this many past
 * the next unused ones. */
#define SCAN_GAP 20

typedef struct {
    const char *node;
    const char *wallet;
    const char *network;
    const char *pass_file;
    const char *bip39_pass_file;
    unsigned log2_n;
    int json;
} options;

typedef struct command {
    const char *name;
    int (*handler)(const options *o, int argc, char **argv);
    const char *args; /* the command's arguments, one line ("" for none) */
    const char *help; /* what it does, one line */
} command;

/* The command named name in the program's table, or NULL. */
const command *wallet_find_command(const char *name);
/* "usage: arbor-wallet [options] NAME ARGS" on stderr; returns EXIT_USAGE. */
int wallet_usage_error(const char *name);

/* ---- output (cli.c) ---- */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON object to stdout and drops the reference. */
int print_json(json_t *obj);
void print_amount(const char *label, uint64_t v);
json_t *json_amount(uint64_t v);
/* Parses a payment amount in coins, printing what is wrong with it. */
int parse_coins(const char *s, uint64_t *out);

/* ---- the wallet file (cli.c) ---- */
/* Reads the first line of a file into buf. Returns 1 or 0 (message printed). */
int read_line_file(const char *path, char *buf, size_t size, const char *what);
int prompt_noecho(const char *prompt, char *buf, size_t size);
int get_passphrase(const options *o, int confirm, char *buf, size_t size);
int need_wallet(const options *o);
/* Loads the wallet file and checks it against --network; locked with lock_fd. */
int load_wallet(const options *o, arb_keystore *ks, int *lock_fd);
int unlock_wallet(const options *o, arb_keystore *ks, arb_wallet_secret *s, char *pass,
                  size_t pass_size, int *lock_fd);
int account_xpub(const arb_keyctx *ctx, const arb_bip32_key *acct, const char *network,
                 char *out, size_t out_size);

/* Everything a command needs from the wallet, unlocked (and locked). */
typedef struct {
    arb_keystore ks;
    arb_wallet_secret s;
    arb_keyctx *ctx;
    arb_bip32_key acct;
    char pass[PASS_MAX + 2];
    int lock_fd;
} wallet_session;

int session_open(const options *o, wallet_session *w);
void session_close(wallet_session *w);
/* Seals and writes the session's keystore. Returns 1 or 0 (message printed). */
int session_save(const options *o, wallet_session *w);

/* ---- the node (cli.c) ---- */
/* The node URL: --node, else ARBOR_NODE, else WALLET_DEFAULT_NODE. */
const char *node_url(const options *o);
/* Opens the node and asks for its tip (which names its network). Returns
 * EXIT_OK, EXIT_USAGE (bad URL) or EXIT_FAIL (unreachable: says what to do). */
int open_node(const options *o, arb_node **n, arb_node_tip *tip);
/* 1 when the wallet's network is the node's; else 0 with a message naming
 * both. */
int same_network(const options *o, const char *wallet_network, const arb_node *n,
                 const char *node_network);

/* A wallet address found by scanning, with what the node says about it. */
typedef struct {
    uint32_t change, index;
    char addr[ARB_ADDR_MAX];
    uint8_t key[32];
    arb_node_hist *hist;
    size_t n_hist;
} scanned;

typedef struct {
    scanned *a;
    size_t n;
    uint32_t next[2]; /* first index after the last used one, per chain */
} scan_result;

void scan_clear(scan_result *r);

/* What rebroadcasting did to one pending transaction. */
typedef enum {
    PENDING_IN_MEMPOOL,   /* the node has it: nothing to do */
    PENDING_REBROADCAST,  /* the node did not have it and took it again */
    PENDING_REFUSED,      /* the node refused it; kept (reason says why) */
    PENDING_CONFIRMED,    /* in a block: dropped from the list */
    PENDING_CONFLICTED    /* an input was spent by another confirmed tx: dropped */
} pending_state;

typedef struct {
    char txid[65];
    pending_state state;
    int64_t height;       /* PENDING_CONFIRMED */
    char other[65];       /* PENDING_CONFLICTED: the transaction that won */
    char reason[256];     /* PENDING_REFUSED */
} pending_report;

/* Walks the wallet's pending transactions, oldest first: drops the confirmed
 * and conflicted ones, rebroadcasts those the node does not have, and saves
 * the wallet when the list changed. *out (malloc'd, *n_out entries) says what
 * happened to each. Returns 1, or 0 with a message printed (node or file
 * trouble). */
int pending_sync(const options *o, wallet_session *w, arb_node *node, pending_report **out,
                 size_t *n_out);
/* Prints the reports of pending_sync on stderr (one line each, for the
 * changes only). */
void pending_report_stderr(const pending_report *r, size_t n);
const char *pending_state_name(pending_state s);

/* Opens node and wallet (locked), checks the networks, syncs the pending
 * transactions (reports on stderr) and scans. */
int node_wallet_scan(const options *o, arb_node **node, wallet_session *w, scan_result *r);

/* Hex of a transaction's full serialization (malloc'd) and its txid. */
char *tx_hex(const arb_tx *tx, char txid_hex[static 65]);

/* ---- payload transactions (cli_names.c) ---- */
/* One payload transaction, built, signed and (unless dry) sent. */
typedef struct {
    uint8_t type;
    const uint8_t *payload;
    size_t payload_len;
    uint64_t burn;
    uint64_t rate;
    const uint8_t *sender; /* the key that must act, or NULL: the largest coin's key */
    int dry;
    /* Called after the transaction is built and before the wallet file is
     * saved, to record more state in the same save (NULL: none). Returns 1,
     * or 0 with a message. */
    int (*record)(void *ud, wallet_session *w, const char *txid);
    void *ud;
    /* out */
    char txid[65];
    uint8_t sender_out[32];
    uint64_t fee, change;
    size_t size;
    char *hex;
    char reason[256]; /* the node's refusal */
} payload_tx;

/* Builds, signs, records (pending, and p->record, in one save of the wallet
 * file) and posts a payload transaction from the wallet's coins: input 0 a
 * coin of p->sender (or of the largest coin's key), the change back to that
 * key. Returns EXIT_OK or EXIT_FAIL (message printed; p->reason holds the
 * node's refusal when it refused). Free p->hex. */
int send_payload(const options *o, wallet_session *w, arb_node *node, const scan_result *r,
                 payload_tx *p);
/* Waits until the node's tip is above height, mining blocks on the node's
 * templates when mine is set, with `what` as progress on stderr. Returns 1
 * with *tip_out, or 0 (message). */
int wait_above(const wallet_session *w, arb_node *node, uint32_t height, int mine,
               const char *what, uint32_t *tip_out);
/* Whether txid is in a block of the node's active chain (and its height).
 * Returns 1, or 0 (message). */
int tx_confirmed(arb_node *node, const char *txid, int *confirmed, uint32_t *height);
/* The reason R out of "node rejected the request: R (HTTP n)". */
void node_reason(const char *msg, char *out, size_t size);

/* ---- handlers ---- */
int cmd_create(const options *o, int argc, char **argv);
int cmd_restore(const options *o, int argc, char **argv);
int cmd_address(const options *o, int argc, char **argv);
int cmd_show(const options *o, int argc, char **argv);
int cmd_export_xpub(const options *o, int argc, char **argv);
int cmd_sign(const options *o, int argc, char **argv);
int cmd_broadcast(const options *o, int argc, char **argv);
int cmd_balance(const options *o, int argc, char **argv);
int cmd_history(const options *o, int argc, char **argv);
int cmd_send(const options *o, int argc, char **argv);
int cmd_rebroadcast(const options *o, int argc, char **argv);
int cmd_mine(const options *o, int argc, char **argv);
int cmd_name(const options *o, int argc, char **argv);
int cmd_namespace(const options *o, int argc, char **argv);
int cmd_anchor(const options *o, int argc, char **argv);

#endif
