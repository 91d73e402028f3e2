/* The log's domain index: which entries name a DNS domain, so that "every
 * certificate for example.org and its subdomains" is a range scan instead of
 * a download of the whole log (what crt.sh and Cert Spotter offer).
 *
 * The names of an entry are the dNSName subjectAltNames and the subject
 * commonName(s) of its certificate (x509_entry) or TBSCertificate
 * (precert_entry), lowercased, without a trailing dot, kept when they are
 * hostnames (letters, digits, '-', '_', labels of 1..63 bytes, at most 253
 * bytes, an optional leading "*." wildcard label); others are not indexed.
 *
 * The sequencer calls arb_domains_index_entry for each new entry while it
 * builds a batch, so the index rows are written in the same synced RocksDB
 * batch as the entry: the index can never lag behind or run ahead of the
 * tree, even across a crash.
 *
 * Rows, in column family "log_domains":
 *   key   = reversed name ("org.example.www", "org.example.*") || 0x00 || index (8 bytes BE)
 *   value = flags (1 byte: bit 0 precert) || timestamp (8 bytes BE, ms)
 * so one name's entries are one prefix, and a domain's subdomains the keys
 * that start with "org.example.". One more key, 0x00 "complete", says the
 * index covers every entry since entry 0 (names never start with 0x00). 
 *
 * Thread-safety: arb_domains_search may run on many threads at once;
 * arb_domains_index_entry only from the thread preparing the log's batch
 * (the sequencer, or a submitter with submit_inline: one at a time). */
#ifndef ARB_LEDGER_LOG_DOMAINS_H
#define ARB_LEDGER_LOG_DOMAINS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/api/http.h"
#include "ledger/log/ct.h"
#include "ledger/log/log.h"
#include "ledger/store/store.h"
#include "merkle/error.h"

#define ARB_DOMAINS_CF_COUNT 1
extern const char *const arb_domains_cf_names[ARB_DOMAINS_CF_COUNT];

#define ARB_DOMAINS_NAME_MAX 253
#define ARB_DOMAINS_MAX_NAMES 1000 /* most names indexed per entry */
#define ARB_DOMAINS_LIMIT_MAX 1000 /* most results per search */

typedef struct arb_domains arb_domains;

/* The indexable names of a leaf's certificate, deduplicated and sorted.
 * Returns ARB_OK (possibly no names), ARB_ERR_PARSE (the certificate or TBS
 * does not parse), ARB_ERR_NOMEM. Free with arb_domains_names_free. */
arb_err arb_domains_names(const arb_ct_signed_entry *entry, char ***names,
                          size_t *n) ARB_WARN_UNUSED;
void arb_domains_names_free(char **names, size_t n);

/* Normalizes a name as the index does (lowercase, one trailing dot dropped)
 * into out (ARB_DOMAINS_NAME_MAX + 1 bytes). Returns 1 if it is an indexable
 * hostname, else 0. */
int arb_domains_normalize(char *out, const char *name);

/* The index on `store`, column family `cf` (borrowed; both outlive it).
 * Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_domains_new(arb_domains **out, arb_store *store, unsigned cf) ARB_WARN_UNUSED;
void arb_domains_free(arb_domains *d);

/* Adds the rows of entry `index` to batch b (the arb_log_config.index_entry
 * callback; ud is the arb_domains). The names come from chain->leaf_x509
 * when there is one (the certificate as validation parsed it: the same names
 * as the entry's), else from parsing the entry (chain may be NULL). A
 * certificate that does not parse gets no rows. Returns ARB_OK or
 * ARB_ERR_NOMEM. */
arb_err arb_domains_index_entry(void *ud, arb_store_batch *b, uint64_t index,
                                const arb_ct_leaf *leaf, const arb_ct_chain *chain);

typedef struct {
    uint64_t index;
    uint64_t timestamp; /* ms */
    int precert;
    char name[ARB_DOMAINS_NAME_MAX + 1]; /* as in the certificate (normalized) */
} arb_domains_hit;

/* The entries naming `domain` (exactly, or with subdomains also those naming
 * any name below it, wildcards included), ordered by name then index: first
 * the exact name, then the subdomains. At most `limit` (1..ARB_DOMAINS_LIMIT_MAX)
 * hits go to hits[]; *n is how many. `after` (NULL: from the start) resumes
 * after the hit a previous call returned last: pass its name and index.
 * *more is 1 if there are hits after the last one returned.
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (not a hostname, bad limit),
 * ARB_ERR_DB. */
arb_err arb_domains_search(arb_domains *d, const char *domain, int subdomains,
                           const arb_domains_hit *after, arb_domains_hit *hits, size_t limit,
                           size_t *n, int *more) ARB_WARN_UNUSED;

/* The same hits newest first (crt.sh's order): by SCT timestamp, later
 * first, then by entry index, higher first, then by name. `after` (NULL:
 * from the newest) resumes after the hit a previous call returned last (its
 * timestamp, index and name). Every matching row is read to order them: a
 * domain with more than ARB_DOMAINS_DATE_SCAN_MAX rows gives ARB_ERR_BUSY
 * (use the index order). Returns ARB_OK, ARB_ERR_INVALID_ARG, ARB_ERR_BUSY,
 * ARB_ERR_NOMEM, ARB_ERR_DB. */
#define ARB_DOMAINS_DATE_SCAN_MAX 100000
arb_err arb_domains_search_by_date(arb_domains *d, const char *domain, int subdomains,
                                   const arb_domains_hit *after, arb_domains_hit *hits,
                                   size_t limit, size_t *n, int *more) ARB_WARN_UNUSED;
/* Parses a date-order resume point "TIMESTAMP:INDEX:NAME" (a by-date
 * search's `next`). Returns 1, or 0 if it is not one. */
int arb_domains_parse_after_date(arb_domains_hit *out, const char *s);
/* Parses a resume point "NAME:INDEX" (a search's `next`) into out->name
 * (normalized) and out->index (decimal, at most 20 digits, no sign). Returns 1,
 * or 0 if it is not one. */
int arb_domains_parse_after(arb_domains_hit *out, const char *s);

/* Makes the index complete for a log whose entries predate it (a data
 * directory from before the index existed): unless the index says it has
 * been complete since entry 0, indexes every entry of the published tree and
 * then records that, in synced batches. Call once after the log is opened
 * and before it takes submissions (arbord: at startup). *indexed gets the
 * number of entries indexed now (0 when there was nothing to do). Safe to
 * interrupt: a crash makes the next call start over. Returns ARB_OK,
 * ARB_ERR_DB / ARB_ERR_IO, ARB_ERR_NOMEM. */
arb_err arb_domains_backfill(arb_domains *d, arb_log *log, uint64_t *indexed,
                             arb_errbuf *eb) ARB_WARN_UNUSED;

/* Registers GET /log/v1/search?domain=D[&subdomains=1][&limit=N][&order=index|date]
 * [&after=NAME:INDEX or, with order=date, TIMESTAMP:INDEX:NAME]
 * (docs/explorer.md). Before arb_http_server_start. */
arb_err arb_domains_routes_add(arb_domains *d, arb_http_server *http) ARB_WARN_UNUSED;

#endif
