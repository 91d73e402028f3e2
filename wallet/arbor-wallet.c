/* arbor-wallet: keys, mnemonics, the encrypted wallet file, addresses,
 * balances, payments and mining.
 *
 *   arbor-wallet [--node URL] --wallet FILE [options] COMMAND [ARGS]
 *
 * The program is argument parsing and wiring: the command table below
 * ({name, handler, args, help}) hands each command to its handler in
 * wallet/cli_*.c; the work is done by the arb_wallet library
 * (wallet/wallet.h, keystore.h, bip32.h, bip39.h, node.h, spend.h).
 * Exit status: 0 success, 1 failure, 2 usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wallet/address.h"
#include "wallet/cli.h"

static const command COMMANDS[] = {
    {"create", cmd_create, "",
     "create a new wallet (24-word mnemonic, printed once) and show its first address;\n"
     "the network is the node's unless --network is given"},
    {"restore", cmd_restore, "",
     "create a wallet from a mnemonic read from standard input (network as for create)"},
    {"address", cmd_address, "", "hand out the next receive address"},
    {"show", cmd_show, "", "show the wallet's network, account key and addresses"},
    {"export-xpub", cmd_export_xpub, "", "print the account's extended public key"},
    {"sign", cmd_sign, "--coin TXID:INDEX:AMOUNT:ADDRESS... --to ADDRESS:AMOUNT... --fee AMOUNT",
     "build and sign a payment from the given coins (offline; amounts in base units)"},
    {"balance", cmd_balance, "", "confirmed, unconfirmed and immature balance (from the node)"},
    {"history", cmd_history, "",
     "the wallet's transactions (from the node), with the sends not yet confirmed"},
    {"send", cmd_send, "ADDRESS AMOUNT [--fee-rate UNITS_PER_BYTE] [--dry-run]",
     "pay AMOUNT coins to ADDRESS from the wallet's coins (default fee rate 1); the\n"
     "payment is kept in the wallet file and rebroadcast until it confirms"},
    {"rebroadcast", cmd_rebroadcast, "",
     "resubmit the wallet's unconfirmed payments the node lost; forget those that confirmed\n"
     "or lost an input to another confirmed transaction (every node command does this too)"},
    {"broadcast", cmd_broadcast, "HEX|FILE",
     "submit a signed transaction: hex, or a file (- for stdin) holding it, e.g. sign's output"},
    {"mine", cmd_mine, "[--blocks N] [--threads T] [--address A]",
     "mine blocks on the node's templates (default: 1 block, one thread per core)"},
    {"name", cmd_name, "SUBCOMMAND NAME [ARGS]",
     "the name layer (names are NAME.NAMESPACE):\n"
     "  price NAME                 the price, and whether the name is free\n"
     "  register NAME [--zonefile FILE] [--mine] [--no-wait]\n"
     "                             preorder, wait for a later block, register, upload the\n"
     "                             zone file; the state is kept in the wallet file, so a\n"
     "                             re-run (or `register --resume`) continues where it stopped\n"
     "  preorder NAME [--zonefile FILE]   only the preorder (register continues)\n"
     "  pending                    the registrations in progress\n"
     "  update NAME --zonefile FILE [--wait|--mine]   a new zone file (uploaded once on-chain)\n"
     "  upload NAME --zonefile FILE   upload a zone file whose hash is on-chain\n"
     "  transfer NAME ADDRESS [--keep-zonefile]   give the name to ADDRESS\n"
     "  renew NAME                 a new lease (burns the price again)\n"
     "  revoke NAME                revoke the name for good\n"
     "  lookup NAME                the name's record and history\n"
     "  list                       the names this wallet owns (warns of expiry)\n"
     "  (operations: --fee-rate UNITS_PER_BYTE, default 1; --wait, or --mine on regtest)"},
    {"namespace", cmd_namespace, "SUBCOMMAND ID [ARGS]",
     "namespaces, for their operators:\n"
     "  preorder ID                burn the namespace price (the salt stays in the wallet file)\n"
     "  reveal ID [--lifetime BLOCKS] [--coeff N] [--base N] [--buckets E1,...,E16]\n"
     "         [--nonalpha-discount N] [--no-vowel-discount N]   in a later block\n"
     "  import NAME ADDRESS [--zonefile FILE]   give NAME to ADDRESS (reveal key only)\n"
     "  ready ID                   launch: anyone may register names from then on\n"
     "  show ID                    the namespace's record"},
    {"anchor", cmd_anchor,
     "--log URL --log-key FILE [--log-id HEX] [--tiles] [--fee-rate N] [--wait|--mine] [--dry-run]",
     "anchor a log's signed tree head on the chain: get-sth from the log (--tiles: its\n"
     "checkpoint), a consistency proof from the head the chain holds (--tiles: built from\n"
     "the log's tiles), checked here (a split view is refused and both heads are\n"
     "printed), then a transaction paid from the wallet"},
};
#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

const command *wallet_find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, COMMANDS[i].name) == 0)
            return &COMMANDS[i];
    return NULL;
}

/* The help text, indented under the command name. */
static void print_help_text(FILE *f, const char *help, const char *indent)
{
    for (const char *p = help; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        fprintf(f, "%s%.*s\n", indent, (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

static void command_usage(FILE *f, const command *c)
{
    fprintf(f, "usage: arbor-wallet [options] %s%s%s\n", c->name, c->args[0] ? " " : "", c->args);
    print_help_text(f, c->help, "  ");
}

int wallet_usage_error(const char *name)
{
    const command *c = wallet_find_command(name);
    if (c != NULL)
        command_usage(stderr, c);
    return EXIT_USAGE;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: arbor-wallet [--node URL] --wallet FILE [options] COMMAND [ARGS]\n"
            "       arbor-wallet COMMAND --help\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(f, "  %s%s%s\n", COMMANDS[i].name, COMMANDS[i].args[0] ? " " : "",
                COMMANDS[i].args);
        print_help_text(f, COMMANDS[i].help, "      ");
    }
    fprintf(f,
            "\n"
            "options:\n"
            "  --wallet FILE              the encrypted wallet file\n"
            "  --node URL                 arbord's HTTP API (default: the environment variable\n"
            "                             ARBOR_NODE, else " WALLET_DEFAULT_NODE ")\n"
            "  --network NAME             main, test or regtest: for create/restore without a\n"
            "                             node; otherwise checked against the wallet's\n"
            "  --passphrase-file FILE     read the wallet passphrase from the first line of "
            "FILE\n"
            "  --bip39-passphrase-file FILE  optional BIP39 passphrase (create/restore; ASCII)\n"
            "  --scrypt-log2n N           scrypt cost 2^N for new files (1..20, default 15;\n"
            "                             small values are for tests only)\n"
            "  --json                     machine-readable output\n"
            "  --help, --version\n"
            "\n"
            "The passphrase comes from --passphrase-file, else the environment variable\n"
            "ARBOR_PASSPHRASE, else a prompt on the terminal.\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* Options may come before or after the command; `COMMAND --help` shows the
 * command's own usage. */
int main(int argc, char **argv)
{
    options o = {NULL, NULL, NULL, NULL, NULL, ARB_KEYSTORE_LOG2N_DEFAULT, 0};
    char **rest;
    int nrest = 0, i, help = 0, version = 0;
    const command *cmd = NULL;
    int rc;

    rest = calloc((size_t)argc + 1, sizeof(char *));
    if (rest == NULL)
        return EXIT_FAIL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = 1;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            version = 1;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
            continue;
        }
        if (strcmp(a, "--node") == 0)
            target = &o.node;
        else if (strcmp(a, "--wallet") == 0)
            target = &o.wallet;
        else if (strcmp(a, "--network") == 0)
            target = &o.network;
        else if (strcmp(a, "--passphrase-file") == 0)
            target = &o.pass_file;
        else if (strcmp(a, "--bip39-passphrase-file") == 0)
            target = &o.bip39_pass_file;
        else if (strcmp(a, "--scrypt-log2n") == 0) {
            char *end = NULL;
            unsigned long v;
            if (i + 1 >= argc) {
                errmsg("--scrypt-log2n needs a value");
                free(rest);
                return EXIT_USAGE;
            }
            errno = 0;
            v = strtoul(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || v < 1 ||
                v > ARB_KEYSTORE_LOG2N_MAX) {
                errmsg("--scrypt-log2n must be 1..%d", ARB_KEYSTORE_LOG2N_MAX);
                free(rest);
                return EXIT_USAGE;
            }
            o.log2_n = (unsigned)v;
            continue;
        } else if (strncmp(a, "--", 2) == 0 && nrest > 0) {
            rest[nrest++] = argv[i]; /* the command's own option */
            continue;
        } else if (strncmp(a, "--", 2) == 0) {
            errmsg("unknown option %s (see --help)", a);
            free(rest);
            return EXIT_USAGE;
        } else {
            rest[nrest++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            errmsg("%s needs a value", a);
            free(rest);
            return EXIT_USAGE;
        }
        *target = argv[++i];
    }
    if (version) {
        if (o.json)
            printf("{\"program\":\"arbor-wallet\",\"version\":\"%s\"}\n", ARB_VERSION);
        else
            printf("arbor-wallet %s\n", ARB_VERSION);
        free(rest);
        return EXIT_OK;
    }
    if (help) {
        cmd = nrest > 0 ? wallet_find_command(rest[0]) : NULL;
        if (cmd != NULL)
            command_usage(stdout, cmd);
        else
            usage(stdout);
        free(rest);
        return EXIT_OK;
    }
    if (nrest == 0) {
        usage(stderr);
        free(rest);
        return EXIT_USAGE;
    }
    if (o.network != NULL && arb_wallet_network_hrp(o.network) == NULL) {
        errmsg("unknown network %s (main, test or regtest)", o.network);
        free(rest);
        return EXIT_USAGE;
    }
    cmd = wallet_find_command(rest[0]);
    if (cmd == NULL) {
        errmsg("unknown command %s (see --help)", rest[0]);
        free(rest);
        return EXIT_USAGE;
    }
    rc = cmd->handler(&o, nrest - 1, rest + 1);
    free(rest);
    return rc;
}
