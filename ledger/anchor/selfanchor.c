/* Self-anchoring; see selfanchor.h. */
#include "ledger/anchor/selfanchor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/schnorr.h"
#include "ledger/chain/stateview.h"
#include "ledger/chain/tx.h"
#include "merkle/buf.h"
#include "merkle/file.h"

struct arb_selfanchor {
    arb_chainapi *chain;
    arb_log *log;
    arb_http_server *http;
    arb_logger logger;
    arb_selfanchor_config cfg;
    uint8_t spki[ARB_ANCHOR_SPKI_MAX];
    size_t spki_len;
    uint8_t log_id[32];
    uint8_t seckey[32];
    uint8_t pubkey[32];
    char address[ARB_ADDR_MAX];
    arb_schnorr *schnorr;
    arb_sha256 *sha;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    /* Schedule (thread only). */
    int started;
    uint32_t next_height;    /* block schedule: attempt at this height or later */
    uint32_t retry_height;   /* after a failure: not before this height */
    int pending;             /* a submitted anchor not yet in the chain's state */
    arb_hash pending_txid;
    uint64_t pending_size, pending_ts;
    int funds_warned;
    /* The last head the chain refused as another tree's, over which anchored
     * size: not tried again until the log or the anchored head changes. */
    int refused;
    uint64_t refused_size, refused_base;
    uint8_t refused_root[32];
};

/* ---------------------------------------------------------------- the key */

arb_err arb_selfanchor_key_load(const char *path, uint8_t seckey32[static 32], int *created,
                                arb_errbuf *eb)
{
    arb_schnorr *sch = NULL;
    uint8_t pub[32];
    char text[80];
    ssize_t n;
    int fd, ok;
    arb_err err;

    *created = 0;
    memset(seckey32, 0, 32);
    if ((err = arb_schnorr_new(&sch)) != ARB_OK)
        return arb_errf(eb, err, "cannot create a secp256k1 context");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, text, sizeof text - 1);
        close(fd);
        if (n < 64 || !arb_hex_decode(seckey32, 32, text, 64) ||
            (n > 64 && !(n == 65 && text[64] == '\n')) || !arb_schnorr_pubkey(sch, pub, seckey32)) {
            OPENSSL_cleanse(text, sizeof text);
            OPENSSL_cleanse(seckey32, 32);
            arb_schnorr_free(sch);
            return arb_errf(eb, ARB_ERR_PARSE,
                            "%s: not an anchor key (64 hex digits of a secp256k1 secret)", path);
        }
        OPENSSL_cleanse(text, sizeof text);
        arb_schnorr_free(sch);
        return ARB_OK;
    }
    if (errno != ENOENT) {
        arb_schnorr_free(sch);
        return arb_errf(eb, ARB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    do {
        if (RAND_bytes(seckey32, 32) != 1) {
            arb_schnorr_free(sch);
            return arb_errf(eb, ARB_ERR_CRYPTO, "no randomness for the anchor key");
        }
    } while (!arb_schnorr_pubkey(sch, pub, seckey32));
    arb_schnorr_free(sch);
    arb_hex_encode(text, seckey32, 32);
    text[64] = '\n';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        OPENSSL_cleanse(text, sizeof text);
        OPENSSL_cleanse(seckey32, 32);
        return arb_errf(eb, ARB_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    ok = write(fd, text, 65) == 65 && fsync(fd) == 0;
    ok &= close(fd) == 0;
    OPENSSL_cleanse(text, sizeof text);
    if (!ok || arb_file_sync_parent(path, eb) != ARB_OK) {
        unlink(path);
        OPENSSL_cleanse(seckey32, 32);
        return arb_errf(eb, ARB_ERR_IO, "cannot write %s", path);
    }
    *created = 1;
    return ARB_OK;
}

/* ---------------------------------------------------------------- one attempt */

typedef struct {
    arb_chainstate *cs;
    arb_mempool *mp;
    uint32_t maturity, height;
    arb_outpoint best;
    uint64_t best_amount;
    int found;
} coin_pick;

/* The largest spendable coin of the key: mature, not spent by the mempool. */
static int pick_coin(void *ud, const arb_outpoint *op, uint64_t amount)
{
    coin_pick *p = ud;
    arb_coin c;
    if (arb_chainstate_get_coin(p->cs, op, &c) != ARB_OK)
        return 0;
    if (c.coinbase && (uint64_t)c.height + p->maturity > (uint64_t)p->height + 1)
        return 0;
    if (arb_mempool_spends(p->mp, op))
        return 0;
    if (!p->found || amount > p->best_amount) {
        p->best = *op;
        p->best_amount = amount;
        p->found = 1;
    }
    return 0;
}

static void metric(arb_selfanchor *s, const char *name)
{
    if (s->http != NULL)
        arb_http_metric_add(s->http, name, 1);
}

/* The chain's anchored head of this log (found 0 when none), its tip, and
 * whether the pending transaction is still in the mempool. */
static arb_err read_chain(arb_selfanchor *s, arb_chain_tip *tip, arb_anchor_head *head,
                          int *found, int *pending_in_pool)
{
    uint8_t rec[ARB_SREC_MAX];
    size_t len = 0;
    arb_chainstate *cs = arb_chainapi_lock(s->chain);
    arb_err err;

    arb_chainstate_tip(cs, tip);
    err = arb_chainstate_state_get(cs, ARB_SREC_ANCHOR, s->log_id, rec, &len);
    arb_chainapi_unlock(s->chain);
    *found = 0;
    if (err == ARB_OK) {
        if (arb_anchor_head_decode(head, rec, len) != ARB_OK)
            return ARB_ERR_INTERNAL;
        *found = 1;
    } else if (err != ARB_ERR_NOT_FOUND) {
        return err;
    }
    *pending_in_pool = s->pending &&
                       arb_mempool_get(arb_chainapi_mempool(s->chain), &s->pending_txid, NULL,
                                       NULL) == ARB_OK;
    return ARB_OK;
}

/* Builds, signs and submits one anchor of sth over prev (NULL: the first).
 * Returns ARB_OK (submitted), ARB_ERR_VERIFY (refused: *reason), or another
 * error (logged by the caller). */
static arb_err anchor_once(arb_selfanchor *s, const arb_log_sth *sth, const arb_anchor_head *prev,
                           uint32_t height, arb_hash *txid, const char **reason, arb_errbuf *eb)
{
    arb_anchor a;
    arb_buf payload = ARB_BUF_INIT;
    arb_hash *path = NULL;
    size_t plen = 0;
    arb_tx tx;
    arb_txout spent;
    arb_sighash_cache cache;
    arb_hash netid;
    uint8_t msg[32];
    arb_check_result res;
    coin_pick pick;
    arb_cur cur;
    uint16_t dlen = 0;
    arb_err err;

    *reason = NULL;
    arb_tx_init(&tx);
    memset(&a, 0, sizeof a);
    a.spki = s->spki;
    a.spki_len = s->spki_len;
    a.tree_size = sth->tree_size;
    a.timestamp = sth->timestamp;
    memcpy(a.root, sth->root, 32);
    /* digitally-signed: hash u8, sig u8, u16 length, signature */
    cur = arb_cur_make(sth->sig, sth->sig_len);
    if (!arb_cur_u8(&cur, &a.sig_hash_alg) || !arb_cur_u8(&cur, &a.sig_sig_alg) ||
        !arb_cur_u16be(&cur, &dlen) || dlen != cur.len || dlen > ARB_ANCHOR_SIG_MAX)
        return arb_errf(eb, ARB_ERR_INTERNAL, "the log's tree head signature is malformed");
    a.sig = sth->sig + 4;
    a.sig_len = dlen;
    if (prev != NULL && prev->tree_size > 0 && prev->tree_size < sth->tree_size) {
        if ((err = arb_log_consistency(s->log, prev->tree_size, sth->tree_size, &path, &plen)) !=
            ARB_OK)
            return arb_errf(eb, err, "consistency proof %llu -> %llu: %s",
                            (unsigned long long)prev->tree_size,
                            (unsigned long long)sth->tree_size, arb_err_str(err));
        if (plen > ARB_ANCHOR_PROOF_MAX) {
            free(path);
            return arb_errf(eb, ARB_ERR_INTERNAL, "consistency proof too long");
        }
        memcpy(a.proof, path, plen * sizeof *path);
        a.proof_len = plen;
        free(path);
    }
    if ((err = arb_anchor_encode(&payload, &a)) != ARB_OK || payload.oom) {
        arb_buf_free(&payload);
        return arb_errf(eb, err ? err : ARB_ERR_NOMEM, "cannot encode the anchor");
    }

    /* Fund it: one coin of the operator key, change back to it. */
    memset(&pick, 0, sizeof pick);
    pick.cs = arb_chainapi_lock(s->chain);
    pick.mp = arb_chainapi_mempool(s->chain);
    pick.maturity = arb_chainapi_params(s->chain)->coinbase_maturity;
    pick.height = height;
    err = arb_chainstate_addr_coins(pick.cs, s->pubkey, pick_coin, &pick);
    arb_chainapi_unlock(s->chain);
    if (err != ARB_OK) {
        arb_buf_free(&payload);
        return arb_errf(eb, err, "cannot read the anchor key's coins: %s", arb_err_str(err));
    }
    if (!pick.found || pick.best_amount <= s->cfg.fee) {
        arb_buf_free(&payload);
        *reason = "anchor-no-funds";
        return arb_errf(eb, ARB_ERR_VERIFY,
                        "anchor-no-funds: the anchor key %s has no spendable coin above the fee "
                        "of %llu",
                        s->address, (unsigned long long)s->cfg.fee);
    }
    if ((err = arb_tx_alloc(&tx, 1, 1)) != ARB_OK) {
        arb_buf_free(&payload);
        return err;
    }
    tx.version = 1;
    tx.in[0] = pick.best;
    tx.out[0].amount = pick.best_amount - s->cfg.fee;
    memcpy(tx.out[0].key, s->pubkey, 32);
    tx.payload_type = ARB_PAYLOAD_LOG_ANCHOR;
    tx.payload = payload.data; /* taken by tx */
    tx.payload_len = payload.len;
    spent.amount = pick.best_amount;
    memcpy(spent.key, s->pubkey, 32);
    arb_chain_network_id(arb_chainapi_params(s->chain), &netid);
    if ((err = arb_tx_sighash_prepare(s->sha, &cache, &tx, &spent)) != ARB_OK) {
        arb_tx_clear(&tx);
        return err;
    }
    arb_tx_sighash(s->sha, msg, &netid, &cache, 0);
    {
        uint8_t aux[32];
        if (RAND_bytes(aux, sizeof aux) != 1 ||
            !arb_schnorr_sign(s->schnorr, tx.sig[0], msg, 32, s->seckey, aux)) {
            arb_tx_clear(&tx);
            return arb_errf(eb, ARB_ERR_CRYPTO, "cannot sign the anchor transaction");
        }
    }
    memset(&res, 0, sizeof res);
    err = arb_chainapi_submit_tx(s->chain, s->sha, &tx, txid, &res);
    arb_tx_clear(&tx);
    if (err == ARB_ERR_VERIFY) {
        *reason = res.reason ? res.reason : "refused";
        return arb_errf(eb, err, "%s: %s", *reason, res.detail.msg);
    }
    if (err != ARB_OK)
        return arb_errf(eb, err, "the mempool did not take the anchor: %s", arb_err_str(err));
    return ARB_OK;
}

static void tick(arb_selfanchor *s)
{
    arb_chain_tip tip;
    arb_anchor_head head;
    arb_log_sth sth;
    int found = 0, in_pool = 0, due = 0;
    uint64_t base;
    arb_hash txid;
    const char *reason = NULL;
    arb_errbuf eb;
    arb_err err;

    if (read_chain(s, &tip, &head, &found, &in_pool) != ARB_OK)
        return;
    arb_log_get_sth(s->log, &sth);
    if (!s->started) {
        s->started = 1;
        s->next_height = tip.height + s->cfg.every_blocks;
    }
    if (s->pending) {
        if (found && head.tree_size >= s->pending_size && head.timestamp >= s->pending_ts) {
            s->pending = 0;
            arb_logf(&s->logger, ARB_LOG_INFO,
                     "anchor: the log's head of size %llu is anchored at height %lu",
                     (unsigned long long)head.tree_size, (unsigned long)head.height);
            metric(s, "anchor_confirmed_total");
        } else if (!in_pool) {
            s->pending = 0;
            arb_logf(&s->logger, ARB_LOG_WARN,
                     "anchor: the pending anchor of size %llu left the mempool unmined; retrying",
                     (unsigned long long)s->pending_size);
            metric(s, "anchor_dropped_total");
            s->retry_height = tip.height;
        } else {
            return; /* one anchor at a time */
        }
    }
    if (found && s->http != NULL)
        arb_http_metric_set(s->http, "anchor_anchored_size", head.tree_size);
    if (tip.height < s->retry_height)
        return;
    base = found ? head.tree_size : 0;
    if (s->cfg.every_blocks && tip.height >= s->next_height)
        due = 1;
    if (s->cfg.every_entries && sth.tree_size >= base + s->cfg.every_entries)
        due = 1;
    if (!due)
        return;
    if (s->cfg.every_blocks && tip.height >= s->next_height)
        s->next_height = tip.height + s->cfg.every_blocks;
    /* Nothing new to anchor: an unchanged tree needs no fee. */
    if (sth.tree_size == 0 || (found && sth.tree_size == head.tree_size &&
                               memcmp(sth.root, head.root, 32) == 0))
        return;
    if (s->refused && s->refused_size == sth.tree_size && s->refused_base == base &&
        memcmp(s->refused_root, sth.root, 32) == 0)
        return; /* refused before, nothing changed: logged once */
    metric(s, "anchor_attempts_total");
    err = anchor_once(s, &sth, found ? &head : NULL, tip.height, &txid, &reason, &eb);
    if (err == ARB_OK) {
        char hex[65];
        arb_chain_hash_hex(hex, &txid);
        s->pending = 1;
        s->pending_txid = txid;
        s->pending_size = sth.tree_size;
        s->pending_ts = sth.timestamp;
        s->funds_warned = 0;
        metric(s, "anchor_submitted_total");
        if (s->http != NULL)
            arb_http_metric_set(s->http, "anchor_submitted_size", sth.tree_size);
        arb_logf(&s->logger, ARB_LOG_INFO,
                 "anchor: submitted the log's head of size %llu (previous anchored size %llu) "
                 "in transaction %s at height %lu",
                 (unsigned long long)sth.tree_size, (unsigned long long)base, hex,
                 (unsigned long)tip.height);
        return;
    }
    /* Retry at the next schedule point: the next block at the earliest. */
    s->retry_height = tip.height + 1;
    metric(s, "anchor_failures_total");
    if (reason != NULL && strcmp(reason, "anchor-no-funds") == 0) {
        if (!s->funds_warned)
            arb_logf(&s->logger, ARB_LOG_WARN, "anchor: %s; fund it to anchor", eb.msg);
        s->funds_warned = 1;
        return;
    }
    if (reason != NULL && (strcmp(reason, "anchor-bad-consistency") == 0 ||
                           strcmp(reason, "anchor-root-changed") == 0 ||
                           strcmp(reason, "anchor-size-decreased") == 0)) {
        metric(s, "anchor_refused_fork_total");
        s->refused = 1;
        s->refused_size = sth.tree_size;
        s->refused_base = base;
        memcpy(s->refused_root, sth.root, 32);
        arb_logf(&s->logger, ARB_LOG_ERROR,
                 "anchor: the chain refuses this log's head of size %llu: %s (the chain holds "
                 "a head of size %llu of another tree under this log key: a forked log)",
                 (unsigned long long)sth.tree_size, eb.msg, (unsigned long long)base);
        return;
    }
    arb_logf(&s->logger, ARB_LOG_WARN, "anchor: the head of size %llu was not submitted: %s",
             (unsigned long long)sth.tree_size, eb.msg);
}

static void *run(void *ud)
{
    arb_selfanchor *s = ud;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec ts;
        pthread_mutex_unlock(&s->mu);
        tick(s);
        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->cfg.poll_ms / 1000;
        ts.tv_nsec += (long)(s->cfg.poll_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!s->stop)
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

arb_err arb_selfanchor_start(arb_selfanchor **out, arb_chainapi *chain, arb_log *log,
                             arb_http_server *http, const uint8_t *spki, size_t spki_len,
                             const arb_logger *logger, const arb_selfanchor_config *cfg,
                             arb_errbuf *eb)
{
    arb_selfanchor *s;
    int created = 0;
    arb_err err;
    const arb_chain_params *p = arb_chainapi_params(chain);

    *out = NULL;
    if ((cfg->every_blocks == 0 && cfg->every_entries == 0) || cfg->key_path == NULL ||
        spki_len == 0 || spki_len > ARB_ANCHOR_SPKI_MAX || p->hrp == NULL)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "self-anchoring: nothing to schedule");
    if ((s = calloc(1, sizeof *s)) == NULL)
        return ARB_ERR_NOMEM;
    s->chain = chain;
    s->log = log;
    s->http = http;
    if (logger != NULL)
        s->logger = *logger;
    s->cfg = *cfg;
    if (s->cfg.fee == 0)
        s->cfg.fee = ARB_SELFANCHOR_DEFAULT_FEE;
    if (s->cfg.poll_ms == 0)
        s->cfg.poll_ms = 200;
    memcpy(s->spki, spki, spki_len);
    s->spki_len = spki_len;
    if ((err = arb_sha256_new(&s->sha)) != ARB_OK || (err = arb_schnorr_new(&s->schnorr)) != ARB_OK)
        goto fail;
    arb_sha256_digest(s->sha, s->log_id, spki, spki_len);
    if ((err = arb_selfanchor_key_load(cfg->key_path, s->seckey, &created, eb)) != ARB_OK)
        goto fail;
    if (!arb_schnorr_pubkey(s->schnorr, s->pubkey, s->seckey) ||
        !arb_address_encode(s->address, p->hrp, s->pubkey)) {
        err = arb_errf(eb, ARB_ERR_CRYPTO, "the anchor key has no public key");
        goto fail;
    }
    arb_logf(&s->logger, ARB_LOG_INFO,
             "anchor: %s the anchor key %s; its address %s pays the anchors' fees (fund it); "
             "anchoring every %u blocks / %llu entries",
             created ? "created" : "loaded", cfg->key_path, s->address, cfg->every_blocks,
             (unsigned long long)cfg->every_entries);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot start the anchoring thread");
        goto fail;
    }
    *out = s;
    return ARB_OK;
fail:
    OPENSSL_cleanse(s->seckey, sizeof s->seckey);
    arb_schnorr_free(s->schnorr);
    arb_sha256_free(s->sha);
    free(s);
    return err;
}

void arb_selfanchor_stop(arb_selfanchor *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    OPENSSL_cleanse(s->seckey, sizeof s->seckey);
    arb_schnorr_free(s->schnorr);
    arb_sha256_free(s->sha);
    free(s);
}

void arb_selfanchor_address(const arb_selfanchor *s, char out[static ARB_ADDR_MAX])
{
    memcpy(out, s->address, ARB_ADDR_MAX);
}
