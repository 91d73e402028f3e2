/* The one-step name registration (`arbor-wallet name register`) as a state
 * machine over what the wallet file records (keystore.h,
 * arb_keystore_namereg) and what the node says: which step comes next.
 * Pure: no node, no file; the program does the step, records it durably
 * (the wallet file, synced and atomic) before it talks to the node, and asks
 * again. docs/wallet.md ("Names") walks through the stages.
 *
 * Thread-safe (no state). */
#ifndef ARB_WALLET_NAMEREG_H
#define ARB_WALLET_NAMEREG_H

#include <stdint.h>

#include "wallet/keystore.h"

/* What the node knows of one recorded transaction. */
typedef enum {
    ARB_NAMEREG_TX_UNKNOWN = 0, /* neither confirmed nor in the mempool */
    ARB_NAMEREG_TX_MEMPOOL,     /* in the node's mempool */
    ARB_NAMEREG_TX_CONFIRMED    /* in a block of the active chain */
} arb_namereg_txstate;

/* The observations the next step depends on. */
typedef struct {
    uint32_t tip;                    /* the node's tip height */
    uint32_t preorder_ttl;           /* arb_names_params: register below preorder height + this */
    arb_namereg_txstate preorder;    /* the recorded preorder */
    uint32_t preorder_height;        /* its block, when confirmed */
    int preorder_lost;               /* not rebroadcastable: dropped as conflicted or refused */
    arb_namereg_txstate reg;         /* the recorded register (stage >= REGISTER) */
    uint32_t register_height;        /* its block, when confirmed */
    int register_lost;               /* refused by the node for good */
} arb_namereg_obs;

typedef enum {
    ARB_NAMEREG_WAIT_PREORDER = 1, /* the preorder is not in a block yet: wait (it is rebroadcast) */
    ARB_NAMEREG_WAIT_BLOCK,        /* confirmed at the tip: the register must go in a later block */
    ARB_NAMEREG_REPREORDER,        /* the preorder expired (or was lost) unused: preorder again */
    ARB_NAMEREG_SEND_REGISTER,     /* build, record and send the register */
    ARB_NAMEREG_WAIT_REGISTER,     /* the register is not in a block yet: wait */
    ARB_NAMEREG_UPLOAD_ZONEFILE,   /* the register is confirmed: upload the zone file */
    ARB_NAMEREG_DONE,              /* registered (and the zone file, if any, uploaded) */
    ARB_NAMEREG_FAILED             /* the register was refused for good (reason from the node) */
} arb_namereg_action;

/* The next step for registration r given the observations. Rules:
 *  - stage PREORDER: a confirmed preorder at height h allows a register in
 *    the next block (tip + 1) iff h < tip + 1 < h + ttl: SEND_REGISTER;
 *    tip + 1 <= h: WAIT_BLOCK; tip + 1 >= h + ttl: REPREORDER. A preorder not
 *    confirmed: WAIT_PREORDER, or REPREORDER when lost.
 *  - stage REGISTER: a confirmed register: UPLOAD_ZONEFILE (or DONE without
 *    a zone file). Else, when the preorder's window has closed (the register
 *    can no longer enter a block): REPREORDER; a register the node refused
 *    for good (name-taken, ...): FAILED; a preorder no longer confirmed (a
 *    reorg): WAIT_PREORDER, or REPREORDER when lost; otherwise WAIT_REGISTER.
 *  - stage UPLOAD: UPLOAD_ZONEFILE, or DONE without a zone file. */
arb_namereg_action arb_namereg_next(const arb_keystore_namereg *r, const arb_namereg_obs *o);

/* "wait-preorder", "wait-block", ... for messages and --json. */
const char *arb_namereg_action_name(arb_namereg_action a);

#endif
