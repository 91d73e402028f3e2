/* Network names for the wallet (see address.h). */
#include "wallet/address.h"

#include <stddef.h>

#include "ledger/chain/params.h"

const char *arb_wallet_network_hrp(const char *network)
{
    const arb_chain_params *p = arb_chain_params_get(network);

    return p != NULL && p->has_ledger ? p->hrp : NULL;
}
