/* The one-step name registration's state machine (see namereg.h). */
#include "wallet/namereg.h"

#include <stddef.h>

/* 1 when a register in block tip + 1 is inside the window of a preorder
 * confirmed at h (docs/names.md: a later block, below h + ttl). */
static int window_open(uint32_t h, uint32_t tip, uint32_t ttl)
{
    uint64_t next = (uint64_t)tip + 1;
    return next > h && next < (uint64_t)h + ttl;
}

static int window_closed(uint32_t h, uint32_t tip, uint32_t ttl)
{
    return (uint64_t)tip + 1 >= (uint64_t)h + ttl;
}

arb_namereg_action arb_namereg_next(const arb_keystore_namereg *r, const arb_namereg_obs *o)
{
    int has_zf = r->zonefile_len > 0;

    switch (r->stage) {
    case ARB_NAMEREG_PREORDER:
        if (o->preorder != ARB_NAMEREG_TX_CONFIRMED)
            return o->preorder_lost ? ARB_NAMEREG_REPREORDER : ARB_NAMEREG_WAIT_PREORDER;
        if (window_open(o->preorder_height, o->tip, o->preorder_ttl))
            return ARB_NAMEREG_SEND_REGISTER;
        if (window_closed(o->preorder_height, o->tip, o->preorder_ttl))
            return ARB_NAMEREG_REPREORDER;
        return ARB_NAMEREG_WAIT_BLOCK;
    case ARB_NAMEREG_REGISTER:
        if (o->reg == ARB_NAMEREG_TX_CONFIRMED)
            return has_zf ? ARB_NAMEREG_UPLOAD_ZONEFILE : ARB_NAMEREG_DONE;
        if (o->preorder == ARB_NAMEREG_TX_CONFIRMED &&
            window_closed(o->preorder_height, o->tip, o->preorder_ttl))
            return ARB_NAMEREG_REPREORDER;
        if (o->register_lost)
            return ARB_NAMEREG_FAILED;
        if (o->preorder != ARB_NAMEREG_TX_CONFIRMED)
            /* The preorder left the chain (a reorg): it comes back with
             * the rebroadcast, and the register after it. */
            return o->preorder_lost ? ARB_NAMEREG_REPREORDER : ARB_NAMEREG_WAIT_PREORDER;
        return ARB_NAMEREG_WAIT_REGISTER;
    case ARB_NAMEREG_UPLOAD:
        return has_zf ? ARB_NAMEREG_UPLOAD_ZONEFILE : ARB_NAMEREG_DONE;
    }
    return ARB_NAMEREG_FAILED;
}

const char *arb_namereg_action_name(arb_namereg_action a)
{
    switch (a) {
    case ARB_NAMEREG_WAIT_PREORDER:
        return "wait-preorder";
    case ARB_NAMEREG_WAIT_BLOCK:
        return "wait-block";
    case ARB_NAMEREG_REPREORDER:
        return "preorder-again";
    case ARB_NAMEREG_SEND_REGISTER:
        return "send-register";
    case ARB_NAMEREG_WAIT_REGISTER:
        return "wait-register";
    case ARB_NAMEREG_UPLOAD_ZONEFILE:
        return "upload-zonefile";
    case ARB_NAMEREG_DONE:
        return "done";
    case ARB_NAMEREG_FAILED:
        return "failed";
    }
    return "?";
}
