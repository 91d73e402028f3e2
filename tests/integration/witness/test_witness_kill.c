/* A witness's cosignature survives kill -9 at any moment.
 *
 * A real `arbor-audit witness` process cosigns a growing log (real Merkle
 * tree, real consistency proofs, checkpoints signed by the log's key): the
 * test posts add-checkpoint requests one after another, each extending the
 * last cosigned size by one, while a second thread SIGKILLs the witness at a
 * random moment. After each restart the witness must still know at least the
 * largest size it answered with a cosignature (never a rollback below an
 * acknowledged cosignature), at most one more (a state written whose answer
 * was lost), and must go on cosigning from there: before the killer is armed
 * again, the test gets one cosignature answered after each restart. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditor/client.h"
#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "merkle/note.h"
#include "merkle/proof.h"
#include "merkle/range.h"
#include "tests/proc.h"
#include "tests/test.h"

#define MAX_LEAVES 4096

static arb_hash leaves[MAX_LEAVES];
static arb_sha256 *sha;

/* Node source over the in-memory leaves: any perfect subtree, hashed on
 * demand. */
static arb_err get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    arb_merkle_range r;
    uint64_t first = index << level, n = (uint64_t)1 << level;

    (void)ud;
    if (level > 12 || first + n > MAX_LEAVES)
        return ARB_ERR_INVALID_ARG;
    arb_merkle_range_init(&r);
    if (arb_merkle_range_append_many(&r, sha, leaves + first, (size_t)n) != ARB_OK)
        return ARB_ERR_INTERNAL;
    arb_merkle_range_root(&r, sha, out);
    return ARB_OK;
}

/* "old M\n" + proof lines + "\n" + the checkpoint of size n signed by s. */
static uint8_t *request(size_t *len, uint64_t m, uint64_t n, const arb_note_signer *s,
                        const char *origin)
{
    arb_merkle_source src = {get_node, NULL};
    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t pl = 0, nl = 0;
    arb_checkpoint cp;
    uint8_t *note = NULL;
    arb_buf b = ARB_BUF_INIT;
    char line[64];
    arb_errbuf eb;

    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)origin;
    cp.size = n;
    cp.ext = (char *)"";
    if (arb_merkle_source_root(sha, &src, n, &cp.root) != ARB_OK ||
        (m > 0 && arb_merkle_consistency_build(sha, &src, m, n, proof, &pl) != ARB_OK) ||
        arb_checkpoint_sign(&note, &nl, &cp, &s, 1, 1700000000000ULL + n, &eb) != ARB_OK)
        return NULL;
    snprintf(line, sizeof line, "old %llu\n", (unsigned long long)m);
    arb_buf_put(&b, line, strlen(line));
    for (size_t i = 0; i < pl; i++) {
        char *b64 = arb_base64_encode(proof[i].b, 32);
        if (b64 == NULL)
            abort();
        arb_buf_put(&b, b64, strlen(b64));
        arb_buf_put(&b, "\n", 1);
        free(b64);
    }
    arb_buf_put(&b, "\n", 1);
    arb_buf_put(&b, note, nl);
    free(note);
    return arb_buf_take(&b, len);
}

typedef struct {
    arb_proc *p;
    long delay_ms;
} killer;

static void *kill_later(void *arg)
{
    killer *k = arg;
    struct timespec ts = {k->delay_ms / 1000, (k->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    arb_proc_kill(k->p, SIGKILL);
    return NULL;
}

/* Starts the witness and returns its port (0 on failure). */
static int start(arb_proc **p, const char *bin, const char *key, const char *state,
                 const char *vkey)
{
    const char *argv[] = {bin, "witness", "--key", key, "--state", state, "--listen",
                          "127.0.0.1:0", "--log-vkey", vkey, NULL};
    char line[512], *colon;

    if (arb_proc_spawn(p, argv) != 0)
        return 0;
    if (!arb_proc_wait_line(*p, ARB_PROC_STDERR, "arbor-audit: witness", line, sizeof line,
                            30000)) {
        char *err = arb_proc_output(*p, ARB_PROC_STDERR);
        fprintf(stderr, "the witness did not start (exit %d): %s\n", arb_proc_wait(*p, 0),
                err ? err : "");
        free(err);
        return 0;
    }
    colon = strrchr(line, ':');
    return colon ? atoi(colon + 1) : 0;
}

/* Posts body; returns 1 with *status and *out (NUL-terminated) when the
 * witness answered, 0 when it did not (dead). */
static int post(arb_audit_client *c, const char *url, const uint8_t *body, size_t len,
                long *status, char **out)
{
    uint8_t *o = NULL;
    size_t ol = 0;
    arb_errbuf eb;

    *out = NULL;
    if (arb_audit_http(c, url, body, len, "text/plain", status, &o, &ol, &eb) != ARB_OK)
        return 0;
    *out = (char *)o;
    return 1;
}

static void run(void)
{
    char bin[4096], dir[512], key[600], state[600], vkfile[600], url[128];
    arb_note_signer *log = NULL;
    char *log_vkey = NULL, *body = NULL;
    arb_audit_client *c = NULL;
    arb_errbuf eb;
    uint64_t acked = 0, cur = 0, cosigned = 0;
    unsigned long rounds = arb_test_count(12);

    CHECK_OR(arb_test_bin(bin, sizeof bin, "arbor-audit") != NULL, );
    CHECK_OR(arb_test_tmpdir(dir, sizeof dir) == 0, );
    CHECK_OR(arb_sha256_new(&sha) == ARB_OK, );
    /* Generous: a synced write on a loaded machine can be slow, and a timeout
     * in the restart check would be a failure the witness did not cause. */
    CHECK_OR(arb_audit_client_new(&c, 30000) == ARB_OK, );
    for (size_t i = 0; i < MAX_LEAVES; i++) {
        uint8_t data[16];
        arb_test_rand_bytes(data, sizeof data);
        arb_merkle_leaf_hash(sha, &leaves[i], data, sizeof data);
    }
    snprintf(key, sizeof key, "%s/witness.key", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(vkfile, sizeof vkfile, "%s/witness.vkey", dir);
    {
        const char *argv[] = {bin, "witness", "--key", key, "--generate", "witness.test/kill",
                              NULL};
        arb_proc *g = NULL;
        CHECK_OR(arb_proc_spawn(&g, argv) == 0, );
        CHECK_OR(arb_proc_wait(g, 30000) == 0, );
        arb_proc_free(g);
    }
    CHECK_OR(arb_note_signer_generate(&log, "log.test/kill", ARB_NOTE_ED25519, NULL, &log_vkey,
                                      &eb) == ARB_OK,
             );

    for (unsigned long r = 0; r < rounds && cur + 400 < MAX_LEAVES; r++) {
        arb_proc *w = NULL;
        killer k;
        pthread_t t;
        int port = start(&w, bin, key, state, log_vkey);
        long status = 0;
        uint8_t *req;
        size_t len;

        CHECK(port > 0);
        if (port <= 0) {
            arb_proc_free(w);
            break;
        }
        snprintf(url, sizeof url, "http://127.0.0.1:%d/add-checkpoint", port);
        /* After a restart: the state is the last acknowledged size, or one
         * more if the last write landed but its answer was lost. That holds
         * from the first kill on, before any answer too: a kill during the
         * very first request can leave the witness at size 1 with acked 0
         * (tlog-witness: it then answers 409 with 1 to "old 0"). */
        if (r > 0) {
            req = request(&len, acked, acked + 1, log, "log.test/kill");
            CHECK(req != NULL && post(c, url, req, len, &status, &body));
            free(req);
            if (status == 200) {
                cur = acked + 1;
                cosigned++;
            } else {
                unsigned long long known = body ? strtoull(body, NULL, 10) : 0;
                CHECK_EQ(status, 409);
                if (known < acked)
                    fprintf(stderr, "rollback: witness knows %llu, cosigned %llu\n", known,
                            (unsigned long long)acked);
                CHECK(known == acked + 1);
                cur = known;
                /* ... and goes on cosigning from there. */
                free(body);
                body = NULL;
                req = request(&len, cur, cur + 1, log, "log.test/kill");
                CHECK(req != NULL && post(c, url, req, len, &status, &body));
                free(req);
                CHECK_EQ(status, 200);
                cur++;
                cosigned++;
            }
            free(body);
            body = NULL;
            acked = cur;
        }
        /* Cosign one size after another until the killer strikes. */
        k.p = w;
        k.delay_ms = 5 + (long)arb_test_rand_below(80);
        CHECK(pthread_create(&t, NULL, kill_later, &k) == 0);
        for (;;) {
            req = request(&len, cur, cur + 1, log, "log.test/kill");
            CHECK(req != NULL);
            if (req == NULL || !post(c, url, req, len, &status, &body)) {
                free(req);
                break;
            }
            free(req);
            if (status != 200) {
                /* Only a kill may interrupt the sequence. */
                fprintf(stderr, "witness answered %ld: %s\n", status, body ? body : "");
                CHECK_EQ(status, 200);
                free(body);
                body = NULL;
                break;
            }
            free(body);
            body = NULL;
            cur++;
            acked = cur;
            cosigned++;
            if (cur + 2 >= MAX_LEAVES)
                break;
        }
        pthread_join(t, NULL);
        CHECK(arb_proc_wait(w, 30000) >= 0);
        arb_proc_free(w);
    }
    /* A clean start at the end still knows the last cosigned size. */
    {
        arb_proc *w = NULL;
        int port = start(&w, bin, key, state, log_vkey);
        long status = 0;
        size_t len;
        uint8_t *req = request(&len, 0, 1, log, "log.test/kill");

        CHECK(port > 0 && req != NULL);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/add-checkpoint", port);
        CHECK(post(c, url, req, len, &status, &body));
        CHECK_EQ(status, 409);
        CHECK(body != NULL && strtoull(body, NULL, 10) >= acked);
        free(body);
        free(req);
        arb_proc_kill(w, SIGTERM);
        CHECK_EQ(arb_proc_wait(w, 30000), 0);
        arb_proc_free(w);
    }
    printf("%llu cosignatures over %lu kills, last cosigned size %llu\n",
           (unsigned long long)cosigned, rounds, (unsigned long long)acked);
    /* Every restart was followed by an answered cosignature before the next
     * kill was armed (the killer may strike before the first answer of a
     * round, so that is what can be counted on, not one per round). */
    CHECK(cosigned + 1 >= rounds);
    arb_audit_client_free(c);
    arb_note_signer_free(log);
    free(log_vkey);
    arb_sha256_free(sha);
    arb_test_rmtree(dir);
}

int main(void)
{
    arb_test_seed_init();
    run();
    return arb_test_done();
}
