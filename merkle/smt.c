#include "merkle/smt.h"

#include <stdlib.h>
#include <string.h>

/* ---- hashes ---- */

void arb_smt_empty(arb_hash *out)
{
    memset(out, 0, sizeof *out);
}

int arb_smt_is_empty(const arb_hash *h)
{
    static const uint8_t zero[ARB_HASH_SIZE];
    return memcmp(h->b, zero, ARB_HASH_SIZE) == 0; /* public data: no need for constant time */
}

static void hash2(arb_sha256 *h, arb_hash *out, const char *prefix, const uint8_t a[32],
                  const uint8_t b[32])
{
    uint8_t buf[ARB_SMT_PREFIX_LEN + 64];
    memcpy(buf, prefix, ARB_SMT_PREFIX_LEN);
    memcpy(buf + ARB_SMT_PREFIX_LEN, a, 32);
    memcpy(buf + ARB_SMT_PREFIX_LEN + 32, b, 32);
    arb_sha256_digest(h, out->b, buf, sizeof buf);
}

void arb_smt_leaf_hash(arb_sha256 *h, arb_hash *out, const uint8_t key32[static 32],
                       const arb_hash *value_hash)
{
    hash2(h, out, ARB_SMT_LEAF_PREFIX, key32, value_hash->b);
}

void arb_smt_node_hash(arb_sha256 *h, arb_hash *out, const arb_hash *left, const arb_hash *right)
{
    hash2(h, out, ARB_SMT_NODE_PREFIX, left->b, right->b);
}

/* ---- stored nodes ---- */

void arb_smt_node_encode(uint8_t out[static ARB_SMT_NODE_SIZE], const arb_smt_node *n)
{
    out[0] = n->kind;
    memcpy(out + 1, n->a.b, 32);
    memcpy(out + 33, n->b.b, 32);
}

static int node_ok(const arb_smt_node *n)
{
    if (n->kind == ARB_SMT_NODE_LEAF)
        return 1;
    return n->kind == ARB_SMT_NODE_INNER && !(arb_smt_is_empty(&n->a) && arb_smt_is_empty(&n->b));
}

arb_err arb_smt_node_decode(arb_smt_node *n, const uint8_t *in, size_t len)
{
    memset(n, 0, sizeof *n);
    if (len != ARB_SMT_NODE_SIZE)
        return ARB_ERR_PARSE;
    n->kind = in[0];
    memcpy(n->a.b, in + 1, 32);
    memcpy(n->b.b, in + 33, 32);
    if (!node_ok(n)) {
        memset(n, 0, sizeof *n);
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

/* 1 when a and b agree on their first `bits` bits (0..256). */
static int prefix_eq(const uint8_t a[32], const uint8_t b[32], unsigned bits)
{
    unsigned whole = bits >> 3, rest = bits & 7;
    if (memcmp(a, b, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[whole] ^ b[whole]) >> (8 - rest)) == 0;
}

/* Reads a node the tree refers to; a missing node means a corrupt store. */
static arb_err load(const arb_smt_store *st, const arb_hash *hash, arb_smt_node *out)
{
    arb_err err = st->get(st->ud, hash, out);
    if (err == ARB_ERR_NOT_FOUND)
        return ARB_ERR_INTERNAL;
    if (err != ARB_OK)
        return err;
    return node_ok(out) ? ARB_OK : ARB_ERR_INTERNAL;
}

/* ---- updates ---- */

/* A subtree result: its hash and what it is. UNKNOWN: a kept, non-empty
 * subtree whose root node was not read. */
enum { SUB_EMPTY = 0, SUB_LEAF = 1, SUB_INNER = 2, SUB_UNKNOWN = 3 };
typedef struct {
    arb_hash h;
    int kind;
} sub;

typedef struct {
    arb_sha256 *sha;
    const arb_smt_store *st;
} upd_ctx;

static arb_err put_leaf(upd_ctx *c, const uint8_t key[32], const arb_hash *vh, sub *out)
{
    arb_smt_node n;
    n.kind = ARB_SMT_NODE_LEAF;
    memcpy(n.a.b, key, 32);
    n.b = *vh;
    arb_smt_leaf_hash(c->sha, &out->h, key, vh);
    out->kind = SUB_LEAF;
    return c->st->put(c->st->ud, &out->h, &n);
}

/* Joins two children into their parent at some depth: the compact rule
 * (a lone leaf moves up, an empty pair is empty) or a new inner node. */
static arb_err join(upd_ctx *c, sub *l, sub *r, sub *out)
{
    arb_smt_node n;
    arb_err err;

    if (l->kind == SUB_EMPTY && r->kind == SUB_EMPTY) {
        arb_smt_empty(&out->h);
        out->kind = SUB_EMPTY;
        return ARB_OK;
    }
    if (l->kind == SUB_EMPTY || r->kind == SUB_EMPTY) {
        sub *o = l->kind == SUB_EMPTY ? r : l;
        if (o->kind == SUB_UNKNOWN) {
            arb_smt_node on;
            if ((err = load(c->st, &o->h, &on)) != ARB_OK)
                return err;
            o->kind = on.kind == ARB_SMT_NODE_LEAF ? SUB_LEAF : SUB_INNER;
        }
        if (o->kind == SUB_LEAF) {
            *out = *o;
            return ARB_OK;
        }
    }
    n.kind = ARB_SMT_NODE_INNER;
    n.a = l->h;
    n.b = r->h;
    arb_smt_node_hash(c->sha, &out->h, &l->h, &r->h);
    out->kind = SUB_INNER;
    return c->st->put(c->st->ud, &out->h, &n);
}

/* The first index in ops[0..n) (sorted, sharing `depth` bits) whose key has
 * bit `depth` set. */
static size_t split_at(const arb_smt_op *ops, size_t n, unsigned depth)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (arb_smt_key_bit(ops[mid].key, depth))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Builds the subtree at `depth` holding exactly the non-deleted entries of
 * ops[0..n) (sorted, distinct, sharing `depth` bits). */
static arb_err build(upd_ctx *c, unsigned depth, const arb_smt_op *ops, size_t n, sub *out)
{
    size_t live = 0, last = 0, m;
    sub l, r;
    arb_err err;

    for (size_t i = 0; i < n && live < 2; i++)
        if (!ops[i].del) {
            live++;
            last = i;
        }
    if (live == 0) {
        arb_smt_empty(&out->h);
        out->kind = SUB_EMPTY;
        return ARB_OK;
    }
    if (live == 1) /* the loop saw every entry */
        return put_leaf(c, ops[last].key, &ops[last].value_hash, out);
    if (depth >= ARB_SMT_DEPTH)
        return ARB_ERR_INTERNAL; /* two live entries with one key */
    m = split_at(ops, n, depth);
    if ((err = build(c, depth + 1, ops, m, &l)) != ARB_OK ||
        (err = build(c, depth + 1, ops + m, n - m, &r)) != ARB_OK)
        return err;
    return join(c, &l, &r, out);
}

static arb_err update_at(upd_ctx *c, const arb_hash *cur, unsigned depth, const arb_smt_op *ops,
                         size_t n, sub *out);

/* A child that no op reaches keeps its hash. */
static arb_err child(upd_ctx *c, const arb_hash *h, unsigned depth, const arb_smt_op *ops,
                     size_t n, sub *out)
{
    if (n > 0)
        return update_at(c, h, depth, ops, n, out);
    out->h = *h;
    out->kind = arb_smt_is_empty(h) ? SUB_EMPTY : SUB_UNKNOWN;
    return ARB_OK;
}

/* The subtree at `depth` with hash *cur after ops[0..n) (n >= 1, sorted,
 * distinct, sharing `depth` bits). */
static arb_err update_at(upd_ctx *c, const arb_hash *cur, unsigned depth, const arb_smt_op *ops,
                         size_t n, sub *out)
{
    arb_smt_node node;
    arb_err err;

    if (arb_smt_is_empty(cur))
        return build(c, depth, ops, n, out);
    if ((err = load(c->st, cur, &node)) != ARB_OK)
        return err;
    if (node.kind == ARB_SMT_NODE_LEAF) {
        /* Merge the stored leaf into the batch unless the batch names its key. */
        arb_smt_op *merged;
        size_t pos = n;
        int named = 0;

        if (!prefix_eq(node.a.b, ops[0].key, depth))
            return ARB_ERR_INTERNAL;
        for (size_t i = 0; i < n; i++) {
            int cmp = memcmp(ops[i].key, node.a.b, 32);
            if (cmp == 0)
                named = 1;
            if (cmp >= 0 && pos == n)
                pos = i;
        }
        if (named)
            return build(c, depth, ops, n, out);
        if ((merged = malloc((n + 1) * sizeof *merged)) == NULL)
            return ARB_ERR_NOMEM;
        memcpy(merged, ops, pos * sizeof *merged);
        memcpy(merged[pos].key, node.a.b, 32);
        merged[pos].del = 0;
        merged[pos].value_hash = node.b;
        memcpy(merged + pos + 1, ops + pos, (n - pos) * sizeof *merged);
        err = build(c, depth, merged, n + 1, out);
        free(merged);
        return err;
    } else {
        size_t m;
        sub l, r;
        if (depth >= ARB_SMT_DEPTH)
            return ARB_ERR_INTERNAL;
        m = split_at(ops, n, depth);
        if ((err = child(c, &node.a, depth + 1, ops, m, &l)) != ARB_OK ||
            (err = child(c, &node.b, depth + 1, ops + m, n - m, &r)) != ARB_OK)
            return err;
        return join(c, &l, &r, out);
    }
}

static int op_cmp(const void *a, const void *b)
{
    return memcmp(((const arb_smt_op *)a)->key, ((const arb_smt_op *)b)->key, 32);
}

arb_err arb_smt_update(arb_sha256 *h, const arb_smt_store *st, const arb_hash *root,
                       const arb_smt_op *ops, size_t n, arb_hash *new_root)
{
    arb_smt_op *sorted = NULL;
    upd_ctx c = {h, st};
    arb_hash cur = *root;
    sub res;
    arb_err err = ARB_OK;

    if (n == 0) {
        *new_root = cur;
        return ARB_OK;
    }
    if (n > SIZE_MAX / sizeof *sorted - 1) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    if ((sorted = malloc(n * sizeof *sorted)) == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    memcpy(sorted, ops, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, op_cmp);
    for (size_t i = 1; i < n; i++)
        if (memcmp(sorted[i - 1].key, sorted[i].key, 32) == 0) {
            err = ARB_ERR_INVALID_ARG;
            goto out;
        }
    if ((err = update_at(&c, &cur, 0, sorted, n, &res)) != ARB_OK)
        goto out;
    *new_root = res.h;
out:
    free(sorted);
    if (err != ARB_OK)
        memset(new_root, 0, sizeof *new_root);
    return err;
}

/* ---- lookups and proofs ---- */

/* Walks from root towards key. Fills p (siblings, depth, kind and other leaf). */
static arb_err walk(const arb_smt_store *st, const arb_hash *root, const uint8_t key[32],
                    arb_smt_proof *p, arb_hash *value_hash)
{
    arb_hash cur = *root;
    arb_smt_node node;
    arb_err err;

    memset(p, 0, sizeof *p);
    for (unsigned depth = 0;; depth++) {
        if (arb_smt_is_empty(&cur)) {
            p->kind = ARB_SMT_ABSENT_EMPTY;
            p->depth = depth;
            break;
        }
        if ((err = load(st, &cur, &node)) != ARB_OK)
            return err;
        if (node.kind == ARB_SMT_NODE_LEAF) {
            if (!prefix_eq(node.a.b, key, depth))
                return ARB_ERR_INTERNAL;
            p->depth = depth;
            if (memcmp(node.a.b, key, 32) == 0) {
                p->kind = ARB_SMT_INCLUDED;
                *value_hash = node.b;
            } else {
                p->kind = ARB_SMT_ABSENT_LEAF;
                memcpy(p->other_key, node.a.b, 32);
                p->other_value_hash = node.b;
            }
            break;
        }
        if (depth >= ARB_SMT_DEPTH)
            return ARB_ERR_INTERNAL;
        if (arb_smt_key_bit(key, depth)) {
            p->sib[depth] = node.a;
            cur = node.b;
        } else {
            p->sib[depth] = node.b;
            cur = node.a;
        }
    }
    /* A canonical tree never leaves the deepest sibling empty. */
    if (p->depth > 0 && arb_smt_is_empty(&p->sib[p->depth - 1]))
        return ARB_ERR_INTERNAL;
    return ARB_OK;
}

arb_err arb_smt_get(const arb_smt_store *st, const arb_hash *root, const uint8_t key32[static 32],
                    int *found, arb_hash *value_hash)
{
    arb_smt_proof *p = malloc(sizeof *p);
    arb_err err;

    *found = 0;
    memset(value_hash, 0, sizeof *value_hash);
    if (p == NULL)
        return ARB_ERR_NOMEM;
    err = walk(st, root, key32, p, value_hash);
    if (err == ARB_OK && p->kind == ARB_SMT_INCLUDED)
        *found = 1;
    else
        memset(value_hash, 0, sizeof *value_hash);
    free(p);
    return err;
}

arb_err arb_smt_prove(const arb_smt_store *st, const arb_hash *root, const uint8_t key32[static 32],
                      arb_smt_proof *out)
{
    arb_hash vh;
    arb_err err = walk(st, root, key32, out, &vh);
    if (err != ARB_OK)
        memset(out, 0, sizeof *out);
    return err;
}

void arb_smt_proof_encode(arb_buf *out, const arb_smt_proof *p)
{
    uint8_t bitmap[32];
    size_t nb = (p->depth + 7) / 8;

    memset(bitmap, 0, sizeof bitmap);
    for (unsigned i = 0; i < p->depth; i++)
        if (!arb_smt_is_empty(&p->sib[i]))
            bitmap[i >> 3] |= (uint8_t)(1u << (i & 7));
    arb_buf_u8(out, p->kind);
    arb_buf_compact(out, p->depth);
    arb_buf_put(out, bitmap, nb);
    for (unsigned i = 0; i < p->depth; i++)
        if (!arb_smt_is_empty(&p->sib[i]))
            arb_buf_put(out, p->sib[i].b, 32);
    if (p->kind == ARB_SMT_ABSENT_LEAF) {
        arb_buf_put(out, p->other_key, 32);
        arb_buf_put(out, p->other_value_hash.b, 32);
    }
}

arb_err arb_smt_proof_decode(arb_smt_proof *p, const uint8_t *in, size_t len, arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t kind, bitmap[32];
    uint64_t depth;
    size_t nb;
    const char *why;

    memset(p, 0, sizeof *p);
    if (!arb_cur_u8(&c, &kind)) {
        why = "truncated kind";
        goto bad;
    }
    if (kind > ARB_SMT_ABSENT_LEAF) {
        why = "unknown proof kind";
        goto bad;
    }
    if (!arb_cur_compact(&c, &depth)) {
        why = "bad depth";
        goto bad;
    }
    if (depth > ARB_SMT_DEPTH) {
        why = "depth above 256";
        goto bad;
    }
    nb = ((size_t)depth + 7) / 8;
    memset(bitmap, 0, sizeof bitmap);
    if (!arb_cur_get(&c, bitmap, nb)) {
        why = "truncated bitmap";
        goto bad;
    }
    if (depth % 8 != 0 && (bitmap[nb - 1] >> (depth % 8)) != 0) {
        why = "bitmap bits beyond depth";
        goto bad;
    }
    if (depth > 0 && !(bitmap[(depth - 1) >> 3] >> ((depth - 1) & 7) & 1)) {
        why = "deepest sibling empty";
        goto bad;
    }
    for (unsigned i = 0; i < depth; i++) {
        if (!(bitmap[i >> 3] >> (i & 7) & 1))
            continue;
        if (!arb_cur_get(&c, p->sib[i].b, 32)) {
            why = "truncated siblings";
            goto bad;
        }
        if (arb_smt_is_empty(&p->sib[i])) {
            why = "empty sibling marked present";
            goto bad;
        }
    }
    if (kind == ARB_SMT_ABSENT_LEAF &&
        (!arb_cur_get(&c, p->other_key, 32) || !arb_cur_get(&c, p->other_value_hash.b, 32))) {
        why = "truncated other leaf";
        goto bad;
    }
    if (c.len != 0) {
        why = "trailing bytes";
        goto bad;
    }
    p->kind = kind;
    p->depth = (unsigned)depth;
    return ARB_OK;
bad:
    memset(p, 0, sizeof *p);
    return arb_errf(eb, ARB_ERR_PARSE, "smt proof: %s", why);
}

arb_err arb_smt_proof_root(arb_sha256 *h, const arb_smt_proof *p, const uint8_t key32[static 32],
                           const arb_hash *value_hash, arb_hash *root, arb_errbuf *eb)
{
    arb_hash cur;
    const char *why;

    if (p->depth > ARB_SMT_DEPTH || (p->depth > 0 && arb_smt_is_empty(&p->sib[p->depth - 1]))) {
        why = "non-canonical proof shape";
        goto bad;
    }
    if (value_hash != NULL) {
        if (p->kind != ARB_SMT_INCLUDED) {
            why = "proof of absence for a present value";
            goto bad;
        }
        arb_smt_leaf_hash(h, &cur, key32, value_hash);
    } else if (p->kind == ARB_SMT_ABSENT_EMPTY) {
        arb_smt_empty(&cur);
    } else if (p->kind == ARB_SMT_ABSENT_LEAF) {
        if (memcmp(p->other_key, key32, 32) == 0) {
            why = "other leaf has the key itself";
            goto bad;
        }
        if (!prefix_eq(p->other_key, key32, p->depth)) {
            why = "other leaf is off the key's path";
            goto bad;
        }
        arb_smt_leaf_hash(h, &cur, p->other_key, &p->other_value_hash);
    } else {
        why = "proof of presence for an absent value";
        goto bad;
    }
    for (unsigned i = p->depth; i-- > 0;) {
        if (arb_smt_key_bit(key32, i))
            arb_smt_node_hash(h, &cur, &p->sib[i], &cur);
        else
            arb_smt_node_hash(h, &cur, &cur, &p->sib[i]);
    }
    *root = cur;
    return ARB_OK;
bad:
    memset(root, 0, sizeof *root);
    return arb_errf(eb, ARB_ERR_VERIFY, "smt proof: %s", why);
}

arb_err arb_smt_verify(arb_sha256 *h, const arb_hash *root, const uint8_t key32[static 32],
                       const arb_hash *value_hash, const uint8_t *proof, size_t proof_len,
                       arb_errbuf *eb)
{
    arb_smt_proof *p = malloc(sizeof *p);
    arb_hash got;
    arb_err err;

    if (p == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "smt proof: out of memory");
    if ((err = arb_smt_proof_decode(p, proof, proof_len, eb)) != ARB_OK)
        goto out;
    if ((err = arb_smt_proof_root(h, p, key32, value_hash, &got, eb)) != ARB_OK)
        goto out;
    if (!arb_hash_eq(&got, root))
        err = arb_errf(eb, ARB_ERR_VERIFY, "smt proof: root mismatch");
out:
    free(p);
    return err;
}

/* ---- in-memory store ---- */

typedef struct {
    arb_hash hash;
    arb_smt_node node;
} mem_entry;

struct arb_smt_mem {
    mem_entry *e;     /* dense array of count entries */
    size_t count, cap;
    /* Open addressing with linear probing: 0 free, else (tag << 32) |
     * (index + 1), the tag being 32 more bits of the hash so that most
     * probes are decided without touching the entry (a cache miss). */
    uint64_t *slot;
    size_t nslots;    /* power of two; at most half full */
};

static size_t slot_of(const arb_hash *h, size_t mask)
{
    uint64_t v;
    memcpy(&v, h->b, sizeof v);
    return (size_t)v & mask;
}

static uint64_t tag_of(const arb_hash *h)
{
    uint32_t t;
    memcpy(&t, h->b + 8, sizeof t);
    return (uint64_t)t << 32;
}

static int mem_grow(arb_smt_mem *m)
{
    size_t ns = m->nslots ? m->nslots * 2 : 1024;
    uint64_t *slot;

    if (ns > ((size_t)1 << 32) || ns > SIZE_MAX / sizeof *slot)
        return 0;
    if ((slot = calloc(ns, sizeof *slot)) == NULL)
        return 0;
    for (size_t i = 0; i < m->count; i++) {
        size_t s = slot_of(&m->e[i].hash, ns - 1);
        while (slot[s] != 0)
            s = (s + 1) & (ns - 1);
        slot[s] = tag_of(&m->e[i].hash) | (uint64_t)(i + 1);
    }
    free(m->slot);
    m->slot = slot;
    m->nslots = ns;
    return 1;
}

static mem_entry *mem_find(const arb_smt_mem *m, const arb_hash *h, size_t *free_slot)
{
    size_t mask = m->nslots - 1, s = slot_of(h, mask);
    uint64_t tag = tag_of(h);
    while (m->slot[s] != 0) {
        if ((m->slot[s] & 0xffffffff00000000ULL) == tag) {
            mem_entry *e = &m->e[(m->slot[s] & 0xffffffffULL) - 1];
            if (memcmp(e->hash.b, h->b, 32) == 0)
                return e;
        }
        s = (s + 1) & mask;
    }
    if (free_slot != NULL)
        *free_slot = s;
    return NULL;
}

static arb_err mem_get(void *ud, const arb_hash *hash, arb_smt_node *out)
{
    const arb_smt_mem *m = ud;
    const mem_entry *e = mem_find(m, hash, NULL);
    if (e == NULL) {
        memset(out, 0, sizeof *out);
        return ARB_ERR_NOT_FOUND;
    }
    *out = e->node;
    return ARB_OK;
}

static arb_err mem_put(void *ud, const arb_hash *hash, const arb_smt_node *node)
{
    arb_smt_mem *m = ud;
    size_t s;

    if (mem_find(m, hash, &s) != NULL)
        return ARB_OK;
    if ((m->count + 1) * 2 > m->nslots) {
        if (!mem_grow(m))
            return ARB_ERR_NOMEM;
        (void)mem_find(m, hash, &s);
    }
    if (m->count == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        mem_entry *ne;
        if (nc > SIZE_MAX / sizeof *ne || (ne = realloc(m->e, nc * sizeof *ne)) == NULL)
            return ARB_ERR_NOMEM;
        m->e = ne;
        m->cap = nc;
    }
    m->e[m->count].hash = *hash;
    m->e[m->count].node = *node;
    m->count++;
    m->slot[s] = tag_of(hash) | (uint64_t)m->count;
    return ARB_OK;
}

arb_err arb_smt_mem_new(arb_smt_mem **out)
{
    arb_smt_mem *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL || !mem_grow(m)) {
        free(m);
        return ARB_ERR_NOMEM;
    }
    *out = m;
    return ARB_OK;
}

void arb_smt_mem_free(arb_smt_mem *m)
{
    if (m == NULL)
        return;
    free(m->e);
    free(m->slot);
    free(m);
}

void arb_smt_mem_store(arb_smt_mem *m, arb_smt_store *st)
{
    st->get = mem_get;
    st->put = mem_put;
    st->ud = m;
}

size_t arb_smt_mem_count(const arb_smt_mem *m)
{
    return m->count;
}
