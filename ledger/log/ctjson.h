/* JSON bodies of the RFC 6962 section 4 API that carry signed structures:
 * the add-chain / add-pre-chain request, the SCT answer and the get-sth
 * answer. Field names are RFC 6962's, binary fields standard base64.
 * Parsers are strict (exact types, strict base64, no missing fields) because
 * they face untrusted input on both sides: the server parses requests, the
 * auditor parses answers. Thread-safe. */
#ifndef ARB_LEDGER_LOG_CTJSON_H
#define ARB_LEDGER_LOG_CTJSON_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/ct.h"
#include "merkle/error.h"

/* {"chain": ["<base64 DER>", ...]}: at most max_certs entries of at most
 * max_cert_size bytes each, at least one. On success out->certs[i].der are
 * malloc'd copies; free them all with arb_ct_json_chain_free. Returns ARB_OK,
 * ARB_ERR_PARSE (with a reason in eb) or ARB_ERR_NOMEM. */
arb_err arb_ct_json_chain_parse(arb_ct_cert_list *out, const char *body, size_t len,
                                size_t max_certs, size_t max_cert_size, arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_ct_json_chain_free(arb_ct_cert_list *l);
/* Builds a request body for a chain; malloc'd NUL-terminated string or NULL. */
char *arb_ct_json_chain(const arb_ct_cert_ref *certs, size_t n);

/* {"sct_version":0,"id":..,"timestamp":..,"extensions":..,"signature":..}
 * where signature is the base64 of the digitally-signed structure. */
char *arb_ct_json_sct(const arb_ct_sct *sct);
/* Parses an SCT answer; the views in *sct point into *storage (free()). */
arb_err arb_ct_json_sct_parse(arb_ct_sct *sct, uint8_t **storage, const char *text, size_t len)
    ARB_WARN_UNUSED;

/* {"tree_size":..,"timestamp":..,"sha256_root_hash":..,"tree_head_signature":..} */
char *arb_ct_json_sth(uint64_t tree_size, uint64_t timestamp, const uint8_t root32[static 32],
                      const arb_ct_dsig *sig);
/* Parses a get-sth answer; sig->sig points into *storage (free()). */
arb_err arb_ct_json_sth_parse(uint64_t *tree_size, uint64_t *timestamp, uint8_t root32[static 32],
                              arb_ct_dsig *sig, uint8_t **storage, const char *text, size_t len)
    ARB_WARN_UNUSED;

#endif
