/* A sparse Merkle tree over 256-bit keys (compact form): the state
 * commitment of the ledger (name records, anchored log heads).
 *
 * Tree. Keys are 32 bytes, read as a path of 256 bits, most significant bit
 * of byte 0 first (bit 0 chooses the side at the root: 0 left, 1 right). The
 * hash of a subtree at depth d holding the set S of (key, value hash) pairs
 * (all keys in S share their first d bits) is
 *   |S| = 0:  EMPTY = 32 zero bytes
 *   |S| = 1:  leaf  = SHA-256("arbor/smt/leaf" || key (32) || value_hash (32))
 *   |S| >= 2: node  = SHA-256("arbor/smt/node" || H(left half) || H(right half))
 * so a leaf sits at the shortest prefix that is unique to its key (as in
 * Diem's Jellyfish Merkle tree) and an interior node always has at least
 * two leaves below it (one of its children may be EMPTY). The prefixes are 14
 * ASCII bytes; no input starts with RFC 6962's 0x00 or 0x01, and both inputs
 * are 78 bytes, two SHA-256 blocks. The root of the empty tree is EMPTY.
 *
 * Values are opaque to the tree: callers store a 32-byte value hash, which
 * the layer above defines (ledger/names, ledger/anchor).
 *
 * Nodes live in a content-addressed store given as callbacks (get/put by
 * hash). An update never changes or deletes a stored node; it writes the new
 * nodes and returns the new root, so every earlier root stays readable and a
 * block is undone by going back to the previous root. A caller that prunes
 * wraps `put` to record the nodes each block wrote.
 *
 * Proofs (arb_smt_proof_encode describes the bytes) hold the non-empty
 * siblings on the path from the root to where the key's search ends, and a
 * verifier needs only (root, key, value hash or absent, proof).
 *
 * No globals. Thread-safety is that of the arb_sha256 engine and the store
 * passed in; an arb_smt_mem store is not thread-safe. */
#ifndef ARB_MERKLE_SMT_H
#define ARB_MERKLE_SMT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_SMT_DEPTH 256
#define ARB_SMT_LEAF_PREFIX "arbor/smt/leaf"
#define ARB_SMT_NODE_PREFIX "arbor/smt/node"
#define ARB_SMT_PREFIX_LEN 14
/* Size of a stored node (arb_smt_node_encode). */
#define ARB_SMT_NODE_SIZE 65
/* Longest proof encoding: kind, CompactSize 256 (3 bytes), 32-byte bitmap,
 * 256 siblings, other leaf. */
#define ARB_SMT_PROOF_MAX (1 + 3 + 32 + 256 * 32 + 64)

enum { ARB_SMT_NODE_LEAF = 1, ARB_SMT_NODE_INNER = 2 };

/* A stored node. LEAF: a = key, b = value hash. INNER: a = left child's hash,
 * b = right child's hash (either may be EMPTY, not both). */
typedef struct {
    uint8_t kind;
    arb_hash a, b;
} arb_smt_node;

/* The node store. get: fills *out with the node whose hash is *hash, or
 * returns ARB_ERR_NOT_FOUND (any other error is passed on). put: stores node
 * under hash; storing the same node twice must be harmless. EMPTY is never
 * stored or asked for. The store is the node's own (local) database: what it
 * returns is not re-hashed, only checked for shape (kind, a leaf on its key's
 * path, depth). */
typedef struct {
    arb_err (*get)(void *ud, const arb_hash *hash, arb_smt_node *out);
    arb_err (*put)(void *ud, const arb_hash *hash, const arb_smt_node *node);
    void *ud;
} arb_smt_store;

/* Stored form of a node: kind (1 byte: 1 leaf, 2 inner) || a (32) || b (32). */
void arb_smt_node_encode(uint8_t out[static ARB_SMT_NODE_SIZE], const arb_smt_node *n);
/* Strict: exactly 65 bytes, kind 1 or 2, an inner node not both EMPTY.
 * Returns ARB_OK or ARB_ERR_PARSE (*n zeroed). */
arb_err arb_smt_node_decode(arb_smt_node *n, const uint8_t *in, size_t len) ARB_WARN_UNUSED;

/* The hashes of the tree. */
void arb_smt_empty(arb_hash *out);
int arb_smt_is_empty(const arb_hash *h);
void arb_smt_leaf_hash(arb_sha256 *h, arb_hash *out, const uint8_t key32[static 32],
                       const arb_hash *value_hash);
void arb_smt_node_hash(arb_sha256 *h, arb_hash *out, const arb_hash *left, const arb_hash *right);
/* Bit `depth` (0..255) of key: 0 left, 1 right. */
static inline int arb_smt_key_bit(const uint8_t key32[static 32], unsigned depth)
{
    return key32[depth >> 3] >> (7 - (depth & 7)) & 1;
}

/* One change of a batch: set key to value_hash, or delete key (deleting an
 * absent key changes nothing). */
typedef struct {
    uint8_t key[32];
    int del; /* 1: delete; 0: insert or update to value_hash */
    arb_hash value_hash;
} arb_smt_op;

/* Applies ops[0..n) to the tree with root *root and writes the new root.
 * Keys in one batch must be distinct (any order). Cost: O(n x 256) node
 * reads, writes and hashes at most; nothing outside the changed paths is
 * touched. Returns ARB_OK; ARB_ERR_INVALID_ARG (a key twice); ARB_ERR_NOMEM;
 * ARB_ERR_INTERNAL when the store holds a node that cannot be in a valid
 * tree at its place or lacks a node of the tree (a corrupt store); or the
 * store's error. On error *new_root is zeroed; nodes already written stay
 * (they are unreachable from any root the caller keeps). new_root may alias
 * root. */
arb_err arb_smt_update(arb_sha256 *h, const arb_smt_store *st, const arb_hash *root,
                       const arb_smt_op *ops, size_t n, arb_hash *new_root) ARB_WARN_UNUSED;

/* Looks key up: *found = 1 and *value_hash set when present, *found = 0
 * otherwise. Returns ARB_OK, ARB_ERR_INTERNAL (corrupt store) or the store's
 * error. */
arb_err arb_smt_get(const arb_smt_store *st, const arb_hash *root, const uint8_t key32[static 32],
                    int *found, arb_hash *value_hash) ARB_WARN_UNUSED;

/* A proof, decoded. Siblings are listed from the root down: sib[i] is the
 * hash of the other child of the path's node at depth i, for 0 <= i < depth;
 * EMPTY where that child is empty. The search for the key ends at depth
 * `depth` on: the key's own leaf (INCLUDED), an empty subtree (ABSENT_EMPTY),
 * or the leaf of another key sharing the first `depth` bits (ABSENT_LEAF,
 * with that leaf's key and value hash). */
enum { ARB_SMT_INCLUDED = 0, ARB_SMT_ABSENT_EMPTY = 1, ARB_SMT_ABSENT_LEAF = 2 };
typedef struct {
    uint8_t kind;
    unsigned depth; /* 0..256 */
    arb_hash sib[ARB_SMT_DEPTH];
    uint8_t other_key[32];
    arb_hash other_value_hash;
} arb_smt_proof;

/* Builds the proof for key against root (presence or absence, whichever is
 * true). Returns ARB_OK, ARB_ERR_INTERNAL (corrupt store) or the store's
 * error. */
arb_err arb_smt_prove(const arb_smt_store *st, const arb_hash *root, const uint8_t key32[static 32],
                      arb_smt_proof *out) ARB_WARN_UNUSED;

/* Proof encoding (all of it; integers as DESIGN.md's CompactSize):
 *   kind      u8: 0 included, 1 absent (empty), 2 absent (other leaf)
 *   depth     CompactSize, 0..256
 *   bitmap    ceil(depth / 8) bytes; bit i (byte i / 8, bit i % 8 counting
 *             from the least significant) is 1 when sib[i] is non-empty;
 *             bits at or above depth are 0, and bit depth-1 is 1 when
 *             depth > 0 (the deepest sibling of a canonical path is never
 *             empty)
 *   siblings  32 bytes for each 1 bit, in order of i; none is all zero
 *   other     kind 2 only: the other leaf's key (32) and value hash (32)
 * Appends to out; check out->oom. */
void arb_smt_proof_encode(arb_buf *out, const arb_smt_proof *p);
/* Strict decoder: the exact encoding above and nothing else (trailing
 * bytes, non-minimal CompactSize, depth > 256, stray or missing bitmap bits,
 * an all-zero sibling are ARB_ERR_PARSE, reason in eb; *p zeroed). */
arb_err arb_smt_proof_decode(arb_smt_proof *p, const uint8_t *in, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The root a decoded proof leads to for key with value_hash (NULL: absent).
 * Returns ARB_OK or ARB_ERR_VERIFY when the proof cannot speak for this key
 * (kind does not match presence, the other leaf has the same key or leaves
 * the key's path, a non-canonical shape); *root zeroed then. */
arb_err arb_smt_proof_root(arb_sha256 *h, const arb_smt_proof *p, const uint8_t key32[static 32],
                           const arb_hash *value_hash, arb_hash *root, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Verifies an encoded proof: ARB_OK when it shows that key maps to
 * value_hash (or, with value_hash NULL, that key is absent) in the tree with
 * root `root`. ARB_ERR_PARSE for a malformed proof, ARB_ERR_VERIFY otherwise;
 * reason in eb (may be NULL). */
arb_err arb_smt_verify(arb_sha256 *h, const arb_hash *root, const uint8_t key32[static 32],
                       const arb_hash *value_hash, const uint8_t *proof, size_t proof_len,
                       arb_errbuf *eb) ARB_WARN_UNUSED;

/* An in-memory node store (a hash table; never forgets a node). Not
 * thread-safe. arb_smt_mem_store fills a store that uses it. */
typedef struct arb_smt_mem arb_smt_mem;
arb_err arb_smt_mem_new(arb_smt_mem **out) ARB_WARN_UNUSED;
void arb_smt_mem_free(arb_smt_mem *m);
void arb_smt_mem_store(arb_smt_mem *m, arb_smt_store *st);
/* Number of distinct nodes held. */
size_t arb_smt_mem_count(const arb_smt_mem *m);

#endif
