/* arbor-wallet anchor: puts a transparency log's signed tree head on the
 * chain (docs/anchoring.md, docs/wallet.md "Anchoring a log"). The head comes
 * from the log's get-sth (RFC 6962 4.3), or with --tiles from its
 * static-ct-api checkpoint, and is checked against the log key; when the
 * chain already holds a head of the log, the consistency proof from that
 * head (RFC 6962 4.4 get-sth-consistency, or built from the log's hash tiles,
 * whose root must be the checkpoint's) is checked here with the chain's own
 * rule before anything is paid, so a log that shows a tree which does not
 * extend the anchored one (a split view) is refused locally, with both heads
 * printed as evidence. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "merkle/proof.h"
#include "merkle/tile.h"
#include "wallet/anchorbuild.h"
#include "wallet/cli.h"
#include "wallet/names_node.h"

#define LOG_TIMEOUT_MS 30000
#define KEY_FILE_MAX 16384

/* Reads hash tiles from the log (C2SP tlog-tiles paths under its URL). */
typedef struct {
    arb_node *log;
    arb_errbuf *eb;
} tile_reader;

static arb_err read_tile(void *ud, const arb_tile *tile,
                         uint8_t out[static ARB_TILE_WIDTH * ARB_HASH_SIZE])
{
    tile_reader *tr = ud;
    char path[ARB_TILE_PATH_MAX + 1] = "/";
    uint8_t *b = NULL;
    size_t len = 0;
    arb_err err;

    if ((err = arb_tile_path(tile, path + 1, sizeof(path) - 1)) != ARB_OK)
        return err;
    if ((err = arb_node_get_raw(tr->log, path, (size_t)ARB_TILE_WIDTH * ARB_HASH_SIZE, &b, &len,
                                tr->eb)) != ARB_OK)
        return err;
    if (len != (size_t)tile->width * ARB_HASH_SIZE) {
        free(b);
        return arb_errf(tr->eb, ARB_ERR_PARSE, "%s: %zu bytes, a tile of width %u has %u", path,
                        len, tile->width, tile->width * ARB_HASH_SIZE);
    }
    memcpy(out, b, len);
    free(b);
    return ARB_OK;
}

/* The consistency proof from m to the checkpoint's size n, built from the
 * log's tiles; the tiles must give the checkpoint's root. */
static int tiles_consistency(arb_node *log, arb_sha256 *sha, const arb_wallet_sth *sth, uint64_t m,
                             arb_hash *proof, size_t *n_proof)
{
    arb_errbuf eb = {{0}};
    tile_reader tr = {log, &eb};
    arb_tile_source *ts = malloc(sizeof(*ts));
    arb_merkle_source src;
    arb_hash root;
    int ok = 0;

    if (ts == NULL) {
        errmsg("out of memory");
        return 0;
    }
    arb_tile_source_init(ts, sha, sth->tree_size, read_tile, &tr);
    src.get_node = arb_tile_source_get_node;
    src.ud = ts;
    if (arb_merkle_source_root(sha, &src, sth->tree_size, &root) != ARB_OK) {
        errmsg("log tiles: %s", eb.msg[0] ? eb.msg : "cannot compute the root");
        goto out;
    }
    if (memcmp(root.b, sth->root, 32) != 0) {
        errmsg("the log's tiles do not give its checkpoint's root: a broken or lying tile "
               "server; not anchoring");
        goto out;
    }
    if (arb_merkle_consistency_build(sha, &src, m, sth->tree_size, proof, n_proof) != ARB_OK) {
        errmsg("log tiles: %s", eb.msg[0] ? eb.msg : "cannot build the consistency proof");
        goto out;
    }
    ok = 1;
out:
    free(ts);
    return ok;
}

static void head_text(const char *label, uint64_t size, uint64_t ts, const uint8_t root[32],
                      long long height)
{
    char r[65];
    arb_hex_encode(r, root, 32);
    if (height >= 0)
        fprintf(stderr, "  %s: tree_size %llu, timestamp %llu, root %s (anchored at height %lld)\n",
                label, (unsigned long long)size, (unsigned long long)ts, r, height);
    else
        fprintf(stderr, "  %s: tree_size %llu, timestamp %llu, root %s\n", label,
                (unsigned long long)size, (unsigned long long)ts, r);
}

static json_t *head_json(uint64_t size, uint64_t ts, const uint8_t root[32])
{
    char r[65];
    arb_hex_encode(r, root, 32);
    return json_pack("{s:I, s:I, s:s}", "tree_size", (json_int_t)size, "timestamp",
                     (json_int_t)ts, "root_hash", r);
}

static int read_key(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    size_t n;

    *out = NULL;
    if (f == NULL) {
        errmsg("cannot open the log key %s: %s", path, strerror(errno));
        return 0;
    }
    b = malloc(KEY_FILE_MAX + 1);
    n = b != NULL ? fread(b, 1, KEY_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (b == NULL || n == 0 || n > KEY_FILE_MAX) {
        free(b);
        errmsg("the log key %s is empty, unreadable or too large", path);
        return 0;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return 1;
}

int cmd_anchor(const options *o, int argc, char **argv)
{
    const char *log_url = NULL, *key_path = NULL, *want_id = NULL;
    uint64_t rate = 1;
    int wait = 0, mine = 0, dry = 0, rc = EXIT_FAIL, has = 0, tiles = 0;
    char *pem = NULL, idhex[65];
    size_t pem_len = 0, spki_len = 0, n_proof = 0;
    uint8_t *spki = NULL, *sth_body = NULL, log_id[32];
    size_t sth_len = 0;
    arb_node *log = NULL, *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_tip tip;
    arb_wallet_sth sth;
    arb_node_anchor anc;
    arb_anchor_head prev;
    arb_hash proof[ARB_ANCHOR_PROOF_MAX];
    arb_buf payload = ARB_BUF_INIT;
    arb_errbuf eb = {{0}};
    arb_sha256 *sha = NULL;
    const char *reason = NULL;
    payload_tx p;
    arb_err err;

    memset(&w, 0, sizeof(w));
    w.lock_fd = -1;
    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log_url = argv[++i];
        else if (strcmp(argv[i], "--log-key") == 0 && i + 1 < argc)
            key_path = argv[++i];
        else if (strcmp(argv[i], "--log-id") == 0 && i + 1 < argc)
            want_id = argv[++i];
        else if (strcmp(argv[i], "--fee-rate") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            rate = strtoull(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || argv[i][0] == '-' ||
                rate > 1000000000ULL) {
                errmsg("--fee-rate must be a whole number of units per byte");
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--wait") == 0)
            wait = 1;
        else if (strcmp(argv[i], "--mine") == 0)
            wait = mine = 1;
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry = 1;
        else if (strcmp(argv[i], "--tiles") == 0)
            tiles = 1;
        else {
            errmsg("anchor: unknown argument %s", argv[i]);
            return wallet_usage_error("anchor");
        }
    }
    if (log_url == NULL || key_path == NULL) {
        errmsg("anchor needs --log URL and --log-key FILE (the log's public key, PEM: the "
               "payload carries it)");
        return wallet_usage_error("anchor");
    }
    if (want_id != NULL && (strlen(want_id) != 64 || strspn(want_id, "0123456789abcdef") != 64)) {
        errmsg("--log-id takes 64 lowercase hex digits (SHA-256 of the log key)");
        return EXIT_USAGE;
    }
    if (!read_key(key_path, &pem, &pem_len))
        return EXIT_FAIL;
    if (arb_wallet_spki_from_pem(&spki, &spki_len, pem, pem_len, &eb) != ARB_OK) {
        errmsg("%s: %s", key_path, eb.msg);
        goto out;
    }
    if (arb_sha256_new(&sha) != ARB_OK) {
        errmsg("out of memory");
        goto out;
    }
    arb_sha256_init(sha);
    arb_sha256_update(sha, spki, spki_len);
    arb_sha256_final(sha, log_id);
    arb_hex_encode(idhex, log_id, 32);
    if (want_id != NULL && strcmp(want_id, idhex) != 0) {
        errmsg("the key in %s is log %s, not --log-id %s", key_path, idhex, want_id);
        goto out;
    }
    /* The log's head, checked against its key. */
    if (arb_node_new(&log, log_url, LOG_TIMEOUT_MS, &eb) != ARB_OK) {
        errmsg("--log: %s", eb.msg);
        rc = EXIT_USAGE;
        goto out;
    }
    if (tiles) {
        /* static-ct-api: the checkpoint, and proofs from the tiles. */
        if (arb_node_get_raw(log, "/checkpoint", 1u << 16, &sth_body, &sth_len, &eb) != ARB_OK ||
            arb_wallet_checkpoint_parse(&sth, NULL, (const char *)sth_body, sth_len, spki,
                                        spki_len, &eb) != ARB_OK) {
            errmsg("log %s: %s", log_url, eb.msg);
            goto out;
        }
    } else if (arb_node_get_sth_body(log, &sth_body, &sth_len, &eb) != ARB_OK ||
               arb_wallet_sth_parse(&sth, (const char *)sth_body, sth_len, spki, spki_len,
                                    &eb) != ARB_OK) {
        errmsg("log %s: %s", log_url, eb.msg);
        goto out;
    }
    /* The chain's head of the log. */
    if ((rc = node_wallet_scan(o, &node, &w, &r)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (arb_node_get_tip(node, &tip, &eb) != ARB_OK ||
        arb_node_get_anchor(node, &anc, &has, log_id, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    memset(&prev, 0, sizeof(prev));
    if (has) {
        memcpy(prev.log_id, log_id, 32);
        prev.tree_size = anc.tree_size;
        prev.timestamp = anc.timestamp;
        memcpy(prev.root, anc.root, 32);
        prev.height = anc.height;
        if (sth.tree_size == anc.tree_size && memcmp(sth.root, anc.root, 32) == 0) {
            /* Nothing new: the chain already witnesses this tree. */
            if (o->json) {
                json_t *j = json_pack("{s:s, s:b, s:o, s:I}", "log_id", idhex, "anchored", 0,
                                      "head", head_json(sth.tree_size, sth.timestamp, sth.root),
                                      "anchored_height", (json_int_t)anc.height);
                rc = print_json(j);
            } else {
                printf("log %s: tree size %llu is already anchored (height %u); nothing to do\n",
                       idhex, (unsigned long long)sth.tree_size, (unsigned)anc.height);
                rc = EXIT_OK;
            }
            goto out;
        }
        if (sth.tree_size > anc.tree_size && anc.tree_size > 0) {
            if (tiles) {
                if (!tiles_consistency(log, sha, &sth, anc.tree_size, proof, &n_proof))
                    goto out;
            } else if (arb_node_get_consistency(log, proof, ARB_ANCHOR_PROOF_MAX, &n_proof,
                                                anc.tree_size, sth.tree_size, &eb) != ARB_OK) {
                errmsg("log %s: consistency proof from %llu to %llu: %s", log_url,
                       (unsigned long long)anc.tree_size, (unsigned long long)sth.tree_size,
                       eb.msg);
                goto out;
            }
        }
    }
    err = arb_wallet_anchor_build(&payload, spki, spki_len, &sth, proof, n_proof,
                                  has ? &prev : NULL, tip.height + 1, &reason, &eb);
    if (err == ARB_ERR_VERIFY) {
        int split = reason != NULL && (strcmp(reason, "anchor-root-changed") == 0 ||
                                       strcmp(reason, "anchor-bad-consistency") == 0 ||
                                       strcmp(reason, "anchor-size-decreased") == 0);
        if (split)
            errmsg("%s: SPLIT VIEW: log %s serves a tree head that is not an extension of the "
                   "head the chain anchored; not anchoring. Keep both heads as evidence:",
                   reason, idhex);
        else
            errmsg("%s: the chain would refuse this anchor of log %s", reason ? reason : "?",
                   idhex);
        if (has)
            head_text("anchored", anc.tree_size, anc.timestamp, anc.root, anc.height);
        head_text("served  ", sth.tree_size, sth.timestamp, sth.root, -1);
        if (o->json) {
            json_t *j = json_pack("{s:s, s:s, s:b, s:o}", "log_id", idhex, "error",
                                  reason ? reason : "?", "split_view", split, "served",
                                  head_json(sth.tree_size, sth.timestamp, sth.root));
            if (has && j != NULL)
                json_object_set_new(j, "anchored",
                                    head_json(anc.tree_size, anc.timestamp, anc.root));
            (void)print_json(j);
        }
        goto out;
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    p.type = ARB_PAYLOAD_LOG_ANCHOR;
    p.payload = payload.data;
    p.payload_len = payload.len;
    p.rate = rate;
    p.dry = dry;
    if (send_payload(o, &w, node, &r, &p) != EXIT_OK) {
        if (p.reason[0]) {
            char why[256];
            node_reason(p.reason, why, sizeof(why));
            errmsg("the node refused the anchor: %s", why);
        }
        goto out;
    }
    if (wait && !dry) {
        for (;;) {
            int conf = 0;
            uint32_t h;
            if (!tx_confirmed(node, p.txid, &conf, &h))
                goto out;
            if (conf)
                break;
            if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
                errmsg("%s", eb.msg);
                goto out;
            }
            if (!wait_above(&w, node, tip.height, mine, "waiting for the anchor to confirm",
                            &tip.height))
                goto out;
        }
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:b, s:s, s:o, s:I, s:I, s:I, s:b}", "log_id", idhex,
                              "anchored", !dry, "txid", p.txid, "head",
                              head_json(sth.tree_size, sth.timestamp, sth.root), "proof_hashes",
                              (json_int_t)n_proof, "fee", (json_int_t)p.fee, "size",
                              (json_int_t)p.size, "confirmed", wait && !dry);
        if (j != NULL)
            json_object_set_new(j, "previous",
                                has ? head_json(anc.tree_size, anc.timestamp, anc.root)
                                    : json_null());
        if (dry && j != NULL)
            json_object_set_new(j, "hex", json_string(p.hex));
        rc = print_json(j);
    } else {
        printf("%s log %s at tree size %llu: %s\n", dry ? "dry run, not sent: anchor of"
                                                        : "anchored",
               idhex, (unsigned long long)sth.tree_size, p.txid);
        if (has)
            printf("consistent with the anchored tree size %llu (%zu proof hashes)\n",
                   (unsigned long long)anc.tree_size, n_proof);
        else
            printf("the log's first anchor\n");
        printf("fee: %llu units, size %zu bytes\n", (unsigned long long)p.fee, p.size);
        if (dry)
            printf("%s\n", p.hex);
        rc = EXIT_OK;
    }
out:
    free(p.hex);
    arb_buf_free(&payload);
    arb_sha256_free(sha);
    free(sth_body);
    free(spki);
    free(pem);
    arb_node_free(log);
    scan_clear(&r);
    session_close(&w);
    arb_node_free(node);
    return rc;
}
