/* Zone-file replication (p2p/zonesync.h) with a real store, a test oracle and
 * peers that are connection ids whose messages the test reads and writes:
 *   - rarest first: with two peers busy, the one free peer is asked for the
 *     hashes only it announced, not those three peers announced;
 *   - a timeout and a notfound move a request to another peer; a hash nobody
 *     announced is asked of each peer in turn, and after all failed, again
 *     a while later;
 *   - an answer is stored and no longer wanted; at most 8 in flight per peer;
 *   - a mismatched, an unsolicited not-on-chain, an oversize and a malformed
 *     zone file get their sender penalised; an answer whose hash left the
 *     chain since it was asked for does not;
 *   - a new peer is told every stored hash (in pages), every peer is told a
 *     newly stored one; getdata is answered or refused (notfound);
 *   - one peer's announcements are bounded. */
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/params.h"
#include "ledger/names/zonefiles.h"
#include "ledger/store/store.h"
#include "merkle/hash.h"
#include "p2p/msg.h"
#include "p2p/zonesync.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- test oracle */

typedef struct {
    uint8_t (*h)[32]; /* sorted */
    size_t n;
} oracle;

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void oracle_add(oracle *o, const uint8_t h[32])
{
    if (o->n > 0 && bsearch(h, o->h, o->n, 32, cmp32) != NULL)
        return;
    o->h = realloc(o->h, (o->n + 1) * 32);
    memcpy(o->h[o->n++], h, 32);
    qsort(o->h, o->n, 32, cmp32);
}

static void oracle_del(oracle *o, const uint8_t h[32])
{
    uint8_t(*p)[32] = o->n > 0 ? bsearch(h, o->h, o->n, 32, cmp32) : NULL;
    if (p != NULL) {
        size_t i = (size_t)(p - o->h);
        memmove(o->h[i], o->h[i + 1], (o->n - i - 1) * 32);
        o->n--;
    }
}

static int o_onchain(void *ud, const uint8_t hash32[32])
{
    oracle *o = ud;
    return o->n > 0 && bsearch(hash32, o->h, o->n, 32, cmp32) != NULL;
}

static arb_err o_each(void *ud, const uint8_t *after32,
                      int (*fn)(void *fn_ud, const uint8_t hash32[32]), void *fn_ud)
{
    oracle *o = ud;
    for (size_t i = 0; i < o->n; i++)
        if ((after32 == NULL || memcmp(o->h[i], after32, 32) > 0) && fn(fn_ud, o->h[i]))
            break;
    return ARB_OK;
}

/* ---------------------------------------------------------------- fake io */

typedef struct {
    uint64_t conn;
    uint8_t type;
    uint8_t *pl;
    size_t len;
} sent;

typedef struct {
    const arb_chain_params *p;
    sent *s;
    size_t n;
    uint64_t bad_conn[64];
    char bad_reason[64][48];
    size_t n_bad;
    char mname[32][48];
    uint64_t mval[32];
    size_t n_m;
} io_log;

static void io_send(void *ud, uint64_t conn, const uint8_t *frame, size_t len)
{
    io_log *l = ud;
    uint8_t type;
    const uint8_t *pl;
    size_t plen;
    const char *why;
    if (arb_p2p_frame_decode(frame, len, l->p->magic, &type, &pl, &plen, &why) != ARB_OK)
        abort(); /* the replicator must send well-formed frames */
    l->s = realloc(l->s, (l->n + 1) * sizeof *l->s);
    l->s[l->n].conn = conn;
    l->s[l->n].type = type;
    l->s[l->n].pl = malloc(plen ? plen : 1);
    memcpy(l->s[l->n].pl, pl, plen);
    l->s[l->n++].len = plen;
}

static void io_misbehave(void *ud, uint64_t conn, const char *reason)
{
    io_log *l = ud;
    if (l->n_bad < 64) {
        l->bad_conn[l->n_bad] = conn;
        snprintf(l->bad_reason[l->n_bad++], 48, "%s", reason);
    }
}

static void io_metric(void *ud, const char *name, uint64_t v, int gauge)
{
    io_log *l = ud;
    size_t i;
    for (i = 0; i < l->n_m; i++)
        if (strcmp(l->mname[i], name) == 0)
            break;
    if (i == l->n_m) {
        if (l->n_m == 32)
            return;
        snprintf(l->mname[l->n_m], 48, "%s", name);
        l->mval[l->n_m++] = 0;
    }
    l->mval[i] = gauge ? v : l->mval[i] + v;
}

static uint64_t mget(const io_log *l, const char *name)
{
    for (size_t i = 0; i < l->n_m; i++)
        if (strcmp(l->mname[i], name) == 0)
            return l->mval[i];
    return 0;
}

static void log_clear(io_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->s[i].pl);
    free(l->s);
    l->s = NULL;
    l->n = 0;
    l->n_bad = 0;
}

/* The zone-file hashes of the inv-style messages of `type` sent to conn,
 * concatenated into out (cap entries); returns how many. */
static size_t sent_invs(const io_log *l, uint64_t conn, uint8_t type, uint8_t (*out)[32],
                        size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        arb_p2p_inv *v;
        size_t m;
        if (l->s[i].conn != conn || l->s[i].type != type)
            continue;
        if (arb_p2p_inv_read(&v, &m, l->s[i].pl, l->s[i].len) != ARB_OK)
            abort();
        for (size_t j = 0; j < m; j++)
            if (v[j].type == ARB_INV_ZONEFILE && k < cap)
                memcpy(out[k++], v[j].hash.b, 32);
        free(v);
    }
    return k;
}

static int in_list(uint8_t (*v)[32], size_t n, const uint8_t h[32])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i], h, 32) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- fixtures */

static arb_sha256 *sha;
static char dir[1024];

typedef struct {
    oracle o;
    arb_store *store;
    arb_zonefiles *z;
    arb_zonesync *zs;
    io_log io;
} fixture;

static int fx_open(fixture *f, const char *sub)
{
    char d[1200];
    const char *names[2] = {"default", arb_zonefiles_cf_names()[0]};
    arb_errbuf eb;
    memset(f, 0, sizeof *f);
    f->io.p = arb_chain_params_get("regtest");
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    arb_zonefiles_oracle zo = {o_onchain, o_each, &f->o};
    arb_zonesync_io io = {io_send, io_misbehave, io_metric, &f->io};
    if (arb_store_open(&f->store, d, names, 2, NULL, &eb) != ARB_OK ||
        arb_zonefiles_open(&f->z, f->store, 1, &zo, &eb) != ARB_OK ||
        arb_zonesync_new(&f->zs, f->z, f->io.p->magic, &io) != ARB_OK)
        return -1;
    return 0;
}

static void fx_close(fixture *f)
{
    arb_zonesync_free(f->zs);
    arb_zonefiles_free(f->z);
    arb_store_close(f->store);
    log_clear(&f->io);
    free(f->o.h);
}

static void zf_text(char *out, size_t cap, unsigned i)
{
    snprintf(out, cap, "$ORIGIN n%u.id\n$TTL 3600\n@ TXT \"zone %u\"\n", i, i);
}

static void hash_text(uint8_t out[32], const char *t)
{
    arb_sha256_digest(sha, out, t, strlen(t));
}

/* A zonefile message payload. */
static void zf_msg(arb_buf *b, const uint8_t h[32], const char *t, size_t len)
{
    arb_buf_reset(b);
    arb_p2p_zonefile_write(b, h, (const uint8_t *)t, len);
}

/* ---------------------------------------------------------------- tests */

static void test_rarest_first(void)
{
    fixture f;
    uint8_t B[16][32], R[8][32], S[8][32], got[64][32];
    const uint64_t P1 = 11, P2 = 12, P3 = 13;
    int64_t t = 1000000;
    CHECK(fx_open(&f, "rarest") == 0);
    for (int i = 0; i < 16; i++) {
        arb_test_rand_bytes(B[i], 32);
        oracle_add(&f.o, B[i]);
    }
    for (int i = 0; i < 8; i++) {
        arb_test_rand_bytes(R[i], 32);
        arb_test_rand_bytes(S[i], 32);
        oracle_add(&f.o, R[i]);
        oracle_add(&f.o, S[i]);
    }
    arb_zonesync_peer_add(f.zs, P1);
    arb_zonesync_peer_add(f.zs, P2);
    arb_zonesync_peer_add(f.zs, P3);
    /* P2 and P3 announce B: each is asked for 8 of them (the per-peer bound). */
    for (int i = 0; i < 16; i++) {
        arb_zonesync_on_inv(f.zs, P2, B[i]);
        arb_zonesync_on_inv(f.zs, P3, B[i]);
    }
    arb_zonesync_tick(f.zs, t);
    size_t n2 = sent_invs(&f.io, P2, ARB_P2P_GETDATA, got, 64);
    CHECK_EQ(n2, ARB_ZONESYNC_MAX_INFLIGHT);
    size_t n3 = sent_invs(&f.io, P3, ARB_P2P_GETDATA, got + n2, 64 - n2);
    CHECK_EQ(n3, ARB_ZONESYNC_MAX_INFLIGHT);
    for (int i = 0; i < 16; i++)
        CHECK(in_list(got, 16, B[i])); /* every B asked once, of one of them */
    CHECK_EQ(sent_invs(&f.io, P1, ARB_P2P_GETDATA, got, 64), 0);
    CHECK_EQ(mget(&f.io, "zonefiles_missing"), 32);
    log_clear(&f.io);

    /* P1 announces R (only P1 has them) and S (P2 and P3 too). P1 is the only
     * peer with room: it is asked for the rarest, R. */
    for (int i = 0; i < 8; i++) {
        arb_zonesync_on_inv(f.zs, P1, S[i]);
        arb_zonesync_on_inv(f.zs, P2, S[i]);
        arb_zonesync_on_inv(f.zs, P3, S[i]);
        arb_zonesync_on_inv(f.zs, P1, R[i]);
    }
    arb_zonesync_tick(f.zs, t + 100);
    size_t n1 = sent_invs(&f.io, P1, ARB_P2P_GETDATA, got, 64);
    CHECK_EQ(n1, 8);
    for (int i = 0; i < 8; i++)
        CHECK(in_list(got, n1, R[i]));
    CHECK_EQ(sent_invs(&f.io, P2, ARB_P2P_GETDATA, got, 64), 0);
    log_clear(&f.io);

    /* Everything times out: each request moves to another source. */
    uint8_t asked2[8][32];
    /* which B did P2 have in flight? ask again after the timeout and compare */
    arb_zonesync_tick(f.zs, t + 100 + ARB_ZONESYNC_TIMEOUT_MS + 1);
    CHECK_EQ(mget(&f.io, "p2p_zonefile_request_timeouts"), 24);
    size_t k2 = sent_invs(&f.io, P2, ARB_P2P_GETDATA, asked2, 8);
    CHECK_EQ(k2, 8);
    /* R's only source failed and nobody else announced them: they are asked
     * of the others now, after the S's and B's that still have sources. */
    size_t k1 = sent_invs(&f.io, P1, ARB_P2P_GETDATA, got, 64);
    CHECK_EQ(k1, 8);
    for (size_t i = 0; i < k1; i++)
        CHECK(!in_list(R, 8, got[i]));
    fx_close(&f);
}

static void test_deliver_and_penalties(void)
{
    fixture f;
    char t[8][128];
    uint8_t h[8][32], got[16][32];
    const uint64_t A = 21, Bp = 22, C = 23;
    int64_t now = 5000000;
    arb_buf m = ARB_BUF_INIT;
    CHECK(fx_open(&f, "deliver") == 0);
    for (unsigned i = 0; i < 8; i++) {
        zf_text(t[i], sizeof t[i], i);
        hash_text(h[i], t[i]);
    }
    for (unsigned i = 0; i < 4; i++)
        oracle_add(&f.o, h[i]);
    arb_zonesync_peer_add(f.zs, A);
    arb_zonesync_peer_add(f.zs, Bp);
    arb_zonesync_on_inv(f.zs, A, h[0]);
    arb_zonesync_on_inv(f.zs, A, h[1]);
    arb_zonesync_on_inv(f.zs, Bp, h[1]);
    arb_zonesync_tick(f.zs, now);
    /* h0 only at A; h1 at both: one request each, the less busy peer (B) for
     * h1; h2 and h3 nobody announced: they wait for an announcement first. */
    size_t na = sent_invs(&f.io, A, ARB_P2P_GETDATA, got, 16);
    size_t nb = sent_invs(&f.io, Bp, ARB_P2P_GETDATA, got + na, 16 - na);
    CHECK_EQ(na, 1);
    CHECK_EQ(nb, 1);
    CHECK(in_list(got, na, h[0]));
    CHECK(in_list(got + na, nb, h[1]));
    log_clear(&f.io);

    /* A delivers h0: stored, counted, not asked again. */
    zf_msg(&m, h[0], t[0], strlen(t[0]));
    arb_zonesync_on_zonefile(f.zs, A, m.data, m.len);
    CHECK(arb_zonefiles_has(f.z, h[0]));
    CHECK_EQ(f.io.n_bad, 0);
    CHECK_EQ(mget(&f.io, "p2p_zonefile_received"), 1);

    /* A answers h1 with other bytes: mismatch, penalised, nothing stored. */
    zf_msg(&m, h[1], t[5], strlen(t[5]));
    arb_zonesync_on_zonefile(f.zs, A, m.data, m.len);
    CHECK(!arb_zonefiles_has(f.z, h[1]));
    CHECK_EQ(f.io.n_bad, 1);
    CHECK_STR(f.io.bad_reason[0], "zonefile-mismatch");
    CHECK_EQ(f.io.bad_conn[0], A);
    /* An unsolicited zone file whose hash is not on chain. */
    zf_msg(&m, h[6], t[6], strlen(t[6]));
    arb_zonesync_on_zonefile(f.zs, Bp, m.data, m.len);
    CHECK(!arb_zonefiles_has(f.z, h[6]));
    CHECK_EQ(f.io.n_bad, 2);
    CHECK_STR(f.io.bad_reason[1], "zonefile-not-on-chain");
    /* Oversize (the length field) and malformed. */
    {
        static uint8_t big[ARB_P2P_MAX_ZONEFILE + 1];
        arb_buf_reset(&m);
        arb_p2p_zonefile_write(&m, h[2], big, sizeof big);
        arb_zonesync_on_zonefile(f.zs, C, m.data, m.len);
        CHECK_EQ(f.io.n_bad, 3);
        CHECK_STR(f.io.bad_reason[2], "zonefile-oversize");
        arb_zonesync_on_zonefile(f.zs, C, m.data, 20);
        CHECK_EQ(f.io.n_bad, 4);
        CHECK_STR(f.io.bad_reason[3], "malformed-zonefile");
    }
    CHECK(!arb_zonefiles_has(f.z, h[2]));
    /* An unsolicited zone file that is on chain and missing is taken. */
    zf_msg(&m, h[3], t[3], strlen(t[3]));
    arb_zonesync_on_zonefile(f.zs, C, m.data, m.len);
    CHECK(arb_zonefiles_has(f.z, h[3]));
    CHECK_EQ(f.io.n_bad, 4);
    CHECK_EQ(mget(&f.io, "p2p_zonefile_unsolicited"), 1);
    log_clear(&f.io);

    /* h1 is asked of B now (A failed it); B delivers after the chain dropped
     * h1 (a reorganization): not stored, nobody penalised. */
    arb_zonesync_tick(f.zs, now + 100);
    na = sent_invs(&f.io, A, ARB_P2P_GETDATA, got, 16);
    CHECK(!in_list(got, na, h[1]));
    nb = sent_invs(&f.io, Bp, ARB_P2P_GETDATA, got, 16);
    CHECK(!in_list(got, nb, h[1])); /* still in flight from B */
    CHECK(arb_zonefiles_is_missing(f.z, h[1]));
    /* After the blind delay h2 (nobody announced it) is asked of someone. */
    log_clear(&f.io);
    arb_zonesync_tick(f.zs, now + 6000);
    na = sent_invs(&f.io, A, ARB_P2P_GETDATA, got, 16);
    nb = sent_invs(&f.io, Bp, ARB_P2P_GETDATA, got + na, 16 - na);
    CHECK_EQ(na + nb, 1);
    CHECK_MEM(got[0], h[2], 32);
    oracle_del(&f.o, h[1]);
    arb_zonesync_tip_changed(f.zs);
    zf_msg(&m, h[1], t[1], strlen(t[1]));
    arb_zonesync_on_zonefile(f.zs, Bp, m.data, m.len);
    CHECK(!arb_zonefiles_has(f.z, h[1]));
    CHECK_EQ(f.io.n_bad, 0);
    CHECK_EQ(mget(&f.io, "p2p_zonefile_dropped_not_on_chain"), 1);
    log_clear(&f.io);

    /* getdata: a stored file is served, an unknown one is not. */
    CHECK_EQ(arb_zonesync_serve(f.zs, A, h[0]), 1);
    CHECK_EQ(f.io.n, 1);
    CHECK_EQ(f.io.s[0].type, ARB_P2P_ZONEFILE);
    {
        uint8_t hh[32];
        const uint8_t *v;
        size_t n;
        int over;
        CHECK_EQ(arb_p2p_zonefile_read(hh, &v, &n, &over, f.io.s[0].pl, f.io.s[0].len), ARB_OK);
        CHECK_MEM(hh, h[0], 32);
        CHECK_EQ(n, strlen(t[0]));
        CHECK_MEM(v, t[0], n);
    }
    CHECK_EQ(arb_zonesync_serve(f.zs, A, h[7]), 0);
    arb_buf_free(&m);
    fx_close(&f);
}

/* A hash nobody announced: asked of each peer in turn as notfounds come,
 * then (all failed) again after the retry delay. */
static void test_blind_and_notfound(void)
{
    fixture f;
    char t[128];
    uint8_t h[32], got[8][32];
    const uint64_t peers[3] = {31, 32, 33};
    int asked[3] = {0, 0, 0};
    int64_t now = 9000000;
    CHECK(fx_open(&f, "blind") == 0);
    zf_text(t, sizeof t, 77);
    hash_text(h, t);
    oracle_add(&f.o, h);
    for (int i = 0; i < 3; i++)
        arb_zonesync_peer_add(f.zs, peers[i]);
    /* Nobody announced it: it waits a few seconds for an announcement. */
    arb_zonesync_tick(f.zs, now);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(sent_invs(&f.io, peers[i], ARB_P2P_GETDATA, got, 8), 0);
    now += 5001;
    for (int round = 0; round < 3; round++) {
        arb_zonesync_tick(f.zs, now + round);
        int who = -1;
        for (int i = 0; i < 3; i++)
            if (sent_invs(&f.io, peers[i], ARB_P2P_GETDATA, got, 8) == 1) {
                CHECK(who == -1);
                CHECK_MEM(got[0], h, 32);
                who = i;
            }
        CHECK(who >= 0);
        CHECK(!asked[who]); /* never the same peer twice */
        asked[who] = 1;
        log_clear(&f.io);
        arb_zonesync_on_notfound(f.zs, peers[who], h);
    }
    /* Everyone said notfound: nothing until the retry delay has passed. */
    arb_zonesync_tick(f.zs, now + 10);
    arb_zonesync_tick(f.zs, now + 2000);
    size_t any = 0;
    for (int i = 0; i < 3; i++)
        any += sent_invs(&f.io, peers[i], ARB_P2P_GETDATA, got, 8);
    CHECK_EQ(any, 0);
    arb_zonesync_tick(f.zs, now + 10 + ARB_ZONESYNC_RETRY_MS + 1);
    for (int i = 0; i < 3; i++)
        any += sent_invs(&f.io, peers[i], ARB_P2P_GETDATA, got, 8);
    CHECK_EQ(any, 1);
    /* The peer it is in flight from leaves: it is asked of another. */
    uint64_t from = 0;
    for (int i = 0; i < 3; i++)
        if (sent_invs(&f.io, peers[i], ARB_P2P_GETDATA, got, 8) == 1)
            from = peers[i];
    log_clear(&f.io);
    arb_zonesync_peer_remove(f.zs, from);
    arb_zonesync_tick(f.zs, now + ARB_ZONESYNC_RETRY_MS + 200);
    any = 0;
    for (int i = 0; i < 3; i++)
        if (peers[i] != from)
            any += sent_invs(&f.io, peers[i], ARB_P2P_GETDATA, got, 8);
    CHECK_EQ(any, 1);
    fx_close(&f);
}

/* Asks the peers in turn for h until each said notfound; returns how many
 * were asked (0 when nobody was asked at `now`). */
static int fail_round(fixture *f, const uint8_t h[32], const uint64_t *peers, int n, int64_t now)
{
    uint8_t got[8][32];
    int asked = 0;
    for (int r = 0; r < n; r++) {
        arb_zonesync_tick(f->zs, now + r);
        int who = -1;
        for (int i = 0; i < n; i++)
            if (sent_invs(&f->io, peers[i], ARB_P2P_GETDATA, got, 8) > 0)
                who = i;
        log_clear(&f->io);
        if (who < 0)
            break;
        asked++;
        arb_zonesync_on_notfound(f->zs, peers[who], h);
    }
    return asked;
}

/* A file nobody has: the rounds of asking back off, 30 s, 60 s, 120 s... */
static void test_backoff(void)
{
    fixture f;
    uint8_t h[32];
    const uint64_t peers[2] = {61, 62};
    int64_t t = 20000000;
    CHECK(fx_open(&f, "backoff") == 0);
    arb_test_rand_bytes(h, 32);
    oracle_add(&f.o, h);
    arb_zonesync_peer_add(f.zs, peers[0]);
    arb_zonesync_peer_add(f.zs, peers[1]);
    arb_zonesync_tick(f.zs, t); /* the want appears; it waits for announcements */
    log_clear(&f.io);
    t += 5001;
    CHECK_EQ(fail_round(&f, h, peers, 2, t), 2);
    arb_zonesync_tick(f.zs, t + 10); /* everyone failed: the first delay starts */
    t += 10;
    CHECK_EQ(fail_round(&f, h, peers, 2, t + ARB_ZONESYNC_RETRY_MS - 100), 0);
    CHECK_EQ(fail_round(&f, h, peers, 2, t + ARB_ZONESYNC_RETRY_MS + 1001), 2); /* a pass a second */
    t += ARB_ZONESYNC_RETRY_MS + 1010;
    arb_zonesync_tick(f.zs, t);
    /* the second round waits twice as long */
    CHECK_EQ(fail_round(&f, h, peers, 2, t + ARB_ZONESYNC_RETRY_MS + 1), 0);
    CHECK_EQ(fail_round(&f, h, peers, 2, t + 2 * ARB_ZONESYNC_RETRY_MS + 1001), 2);
    fx_close(&f);
}

/* Announcements: a new peer learns every stored hash in pages of 1,000; a
 * newly stored file is announced to every peer. */
static void test_announce(void)
{
    fixture f;
    enum { N = 1500 };
    static uint8_t h[N][32], got[N + 10][32];
    char t[128];
    arb_errbuf eb;
    CHECK(fx_open(&f, "announce") == 0);
    for (unsigned i = 0; i < N; i++) {
        uint8_t g[32];
        zf_text(t, sizeof t, 10000 + i);
        hash_text(h[i], t);
        oracle_add(&f.o, h[i]);
        CHECK_EQ(arb_zonefiles_add(f.z, (const uint8_t *)t, strlen(t), NULL, g, NULL, &eb), ARB_OK);
    }
    arb_zonesync_tick(f.zs, 1); /* the news of the N files goes to nobody */
    log_clear(&f.io);
    arb_zonesync_peer_add(f.zs, 41);
    arb_zonesync_tick(f.zs, 2);
    CHECK_EQ(sent_invs(&f.io, 41, ARB_P2P_INV, got, N + 10), 1000);
    arb_zonesync_tick(f.zs, 3);
    CHECK_EQ(sent_invs(&f.io, 41, ARB_P2P_INV, got, N + 10), N);
    for (unsigned i = 0; i < N; i++)
        CHECK(in_list(got, N, h[i]));
    arb_zonesync_tick(f.zs, 4);
    CHECK_EQ(sent_invs(&f.io, 41, ARB_P2P_INV, got, N + 10), N); /* done */
    log_clear(&f.io);
    /* A new file (as from an HTTP upload) reaches both peers. */
    arb_zonesync_peer_add(f.zs, 42);
    arb_zonesync_tick(f.zs, 5);
    arb_zonesync_tick(f.zs, 6);
    log_clear(&f.io);
    uint8_t hn[32], g[32];
    zf_text(t, sizeof t, 99999);
    hash_text(hn, t);
    oracle_add(&f.o, hn);
    CHECK_EQ(arb_zonefiles_add(f.z, (const uint8_t *)t, strlen(t), NULL, g, NULL, &eb), ARB_OK);
    arb_zonesync_tick(f.zs, 7);
    CHECK_EQ(sent_invs(&f.io, 41, ARB_P2P_INV, got, 4), 1);
    CHECK_MEM(got[0], hn, 32);
    CHECK_EQ(sent_invs(&f.io, 42, ARB_P2P_INV, got, 4), 1);
    CHECK_MEM(got[0], hn, 32);
    /* An inv of something we have is not followed by a getdata. */
    log_clear(&f.io);
    arb_zonesync_on_inv(f.zs, 42, hn);
    arb_zonesync_tick(f.zs, 8);
    CHECK_EQ(sent_invs(&f.io, 42, ARB_P2P_GETDATA, got, 4), 0);
    fx_close(&f);
}

/* One peer may be the source of at most ARB_ZONESYNC_PEER_MAX_SOURCES
 * tracked hashes; more are ignored and counted. */
static void test_peer_bound(void)
{
    fixture f;
    uint8_t h[32];
    CHECK(fx_open(&f, "bound") == 0);
    arb_zonesync_peer_add(f.zs, 51);
    for (unsigned i = 0; i < ARB_ZONESYNC_PEER_MAX_SOURCES + 5; i++) {
        arb_test_rand_bytes(h, 32);
        arb_zonesync_on_inv(f.zs, 51, h);
    }
    CHECK_EQ(mget(&f.io, "p2p_zonefile_inv_ignored"), 5);
    /* When it leaves, what only it offered is forgotten. */
    arb_zonesync_peer_remove(f.zs, 51);
    arb_zonesync_tick(f.zs, 1);
    CHECK_EQ(mget(&f.io, "p2p_zonefile_wants"), 0);
    fx_close(&f);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK || arb_test_tmpdir(dir, sizeof dir) != 0)
        return 1;
    test_rarest_first();
    test_deliver_and_penalties();
    test_blind_and_notfound();
    test_backoff();
    test_announce();
    test_peer_bound();
    arb_test_rmtree(dir);
    arb_sha256_free(sha);
    return arb_test_done();
}
