/* Writes the log's static-ct-api read path into a directory as the log grows,
 * so that any web server or CDN can serve it (the layout of the URLs: a
 * directory served at the log's monitoring URL answers exactly what arbord
 * answers at /checkpoint, /tile/... and /issuer/...):
 *
 *   DIR/checkpoint                  the signed checkpoint, written last
 *   DIR/tile/<L>/<N>[.p/<W>]        hash tiles, full and the partial rightmost
 *   DIR/tile/data/<N>[.p/<W>]       data tiles
 *   DIR/issuer/<hex fingerprint>    every chain certificate
 *
 * Each file is written to a hidden temporary name beside it, fsynced and
 * renamed into place, and its directory fsynced (new directories too), so a
 * reader never sees a torn file and a crash never leaves a checkpoint that
 * names tiles which are not on disk: for each published tree head the tiles
 * and issuers it needs are made durable first, the checkpoint last. Full
 * tiles and issuers never change and are written once (an existing file is
 * kept); a partial tile of a given width never changes either; once a tile
 * is full its partial versions (`<N>.p/`) are removed. Every byte comes from
 * the same functions arbord's HTTP routes serve, so the files are identical
 * to arbord's answers.
 *
 * A thread polls the published tree head (every 100 ms) and exports each new
 * one; heads published in between are skipped (the next export covers them).
 * A failed export is logged and retried after 5 s; the log itself is never
 * held up by the export. Thread-safety: start and stop from one thread. */
#ifndef ARB_LEDGER_LOG_EXPORT_H
#define ARB_LEDGER_LOG_EXPORT_H

#include <stdint.h>

#include "ledger/log/log.h"
#include "merkle/error.h"

typedef struct arb_log_export arb_log_export;

/* Creates dir (mode 0755, with parents) if needed and starts the export
 * thread, which first exports the current tree head. The log is borrowed and
 * must outlive the exporter. Returns ARB_OK, ARB_ERR_IO (dir unusable) or
 * ARB_ERR_NOMEM. */
arb_err arb_log_export_start(arb_log_export **out, arb_log *log, const char *dir, arb_logger lg,
                             arb_errbuf *eb) ARB_WARN_UNUSED;
/* Exports the latest tree head once more (so a drained log's last batch is
 * on disk), stops the thread and frees. NULL does nothing. */
void arb_log_export_stop(arb_log_export *ex);

/* Exports the latest published tree head now, on the calling thread (the
 * thread's own work; tests call it too). Returns ARB_OK, ARB_ERR_IO or
 * ARB_ERR_NOMEM; eb says which file failed. Not concurrently with the thread:
 * use it only on an exporter made by arb_log_export_open. */
arb_err arb_log_export_once(arb_log_export *ex, arb_errbuf *eb) ARB_WARN_UNUSED;
/* An exporter without a thread (for tests): export with arb_log_export_once,
 * free with arb_log_export_stop. */
arb_err arb_log_export_open(arb_log_export **out, arb_log *log, const char *dir, arb_logger lg,
                            arb_errbuf *eb) ARB_WARN_UNUSED;
/* The tree size of the last checkpoint written (0 before the first). */
uint64_t arb_log_export_size(arb_log_export *ex);

#endif
