/* Gossip between auditors; see gossip.h. */
#include "auditor/gossip.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"

arb_err arb_audit_gossip_parse(arb_audit_gossip_head **heads, size_t *n, const char *text,
                               size_t len, arb_errbuf *eb)
{
    json_error_t je;
    json_t *doc, *arr, *h;
    arb_audit_gossip_head *out = NULL;
    arb_err err = ARB_OK;
    size_t i;

    *heads = NULL;
    *n = 0;
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "not JSON (%s)", je.text);
    arr = json_object_get(doc, "heads");
    if (!json_is_object(doc) || !json_is_array(arr)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "not an object with a \"heads\" array");
        goto out;
    }
    if (json_array_size(arr) > ARB_AUDIT_GOSSIP_MAX_HEADS) {
        err = arb_errf(eb, ARB_ERR_PARSE, "%zu heads, at most %u", json_array_size(arr),
                       ARB_AUDIT_GOSSIP_MAX_HEADS);
        goto out;
    }
    if ((out = calloc(json_array_size(arr) + 1, sizeof *out)) == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    json_array_foreach(arr, i, h) {
        const char *id64 = json_string_value(json_object_get(h, "log_id"));
        uint8_t *id = NULL;
        size_t idl = 0;
        arb_errbuf e2;
        if (!json_is_object(h) || id64 == NULL ||
            arb_base64_decode(&id, &idl, id64, strlen(id64)) != ARB_OK || idl != 32) {
            free(id);
            err = arb_errf(eb, ARB_ERR_PARSE, "heads[%zu]: \"log_id\" is not 32 bytes of base64",
                           i);
            goto out;
        }
        memcpy(out[i].log_id, id, 32);
        free(id);
        if (arb_audit_sth_from_json(&out[i].sth, json_object_get(h, "sth"), &e2) != ARB_OK) {
            err = arb_errf(eb, ARB_ERR_PARSE, "heads[%zu]: \"sth\": %s", i, e2.msg);
            goto out;
        }
    }
    *heads = out;
    *n = json_array_size(arr);
    out = NULL;
out:
    free(out);
    json_decref(doc);
    return err;
}

static json_t *error_answer(arb_audit_follower *f, const char *source, const char *kind,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static json_t *error_answer(arb_audit_follower *f, const char *source, const char *kind,
                            const char *fmt, ...)
{
    char msg[600], line[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s refused (%s): %s", source, kind, msg);
    arb_audit_follower_notice(f, NULL, "gossip-bad-push", line);
    return json_pack("{s:s}", "error", msg);
}

static const char *result_name(arb_audit_check_result r)
{
    switch (r) {
    case ARB_AUDIT_CHECK_CONSISTENT: return "consistent";
    case ARB_AUDIT_CHECK_NO_HEAD: return "no-head";
    case ARB_AUDIT_CHECK_BAD_SIGNATURE: return "bad-signature";
    case ARB_AUDIT_CHECK_MISBEHAVIOUR: return "misbehaviour";
    case ARB_AUDIT_CHECK_UNVERIFIED: break;
    }
    return "unverified";
}

int arb_audit_gossip_receive(arb_audit_follower *f, const uint8_t *body, size_t len,
                             const char *source, json_t **answer, const char **kind)
{
    arb_audit_gossip_head *heads = NULL;
    size_t n = 0, i;
    arb_errbuf eb;
    arb_err err;
    json_t *results;
    int status = 200;

    *answer = NULL;
    if (arb_audit_gossip_parse(&heads, &n, (const char *)body, len, &eb) != ARB_OK) {
        *kind = "malformed";
        *answer = error_answer(f, source, *kind, "not a gossip document: %s", eb.msg);
        return 400;
    }
    /* Everything is checked that needs no log before anything is compared. */
    for (i = 0; i < n; i++) {
        char *id = arb_base64_encode(heads[i].log_id, 32);
        err = arb_audit_follower_verify_head(f, heads[i].log_id, &heads[i].sth, &eb);
        if (err == ARB_ERR_NOT_FOUND) {
            status = 404;
            *kind = "unknown_log";
            *answer = error_answer(f, source, *kind, "unknown log %s", id ? id : "?");
        } else if (err != ARB_OK) {
            status = 403;
            *kind = "bad_signature";
            *answer = error_answer(f, source, *kind, "the head of log %s is not signed by it: %s",
                                   id ? id : "?", eb.msg);
        }
        free(id);
        if (status != 200) {
            free(heads);
            return status;
        }
    }
    *kind = "accepted";
    results = json_array();
    for (i = 0; i < n && results; i++) {
        arb_audit_check_result r;
        char *id = arb_base64_encode(heads[i].log_id, 32);
        /* the outcome is in r (and in events); the error adds nothing */
        err = arb_audit_follower_check_head_result(f, heads[i].log_id, &heads[i].sth, source, &r);
        (void)err;
        if (id)
            json_array_append_new(results,
                                  json_pack("{s:s, s:I, s:s}", "log_id", id, "tree_size",
                                            (json_int_t)heads[i].sth.tree_size, "result",
                                            result_name(r)));
        free(id);
    }
    free(heads);
    *answer = results ? json_pack("{s:o}", "results", results) : NULL;
    return 200;
}

static void peer_url(char *out, size_t cap, const char *peer)
{
    size_t pl = strlen(peer);
    snprintf(out, cap, "%s%sgossip/v1/heads", peer, pl && peer[pl - 1] == '/' ? "" : "/");
}

size_t arb_audit_gossip_pull(arb_audit_follower *f, arb_audit_client *c, const char *peer)
{
    char url[2200], line[2700];
    uint8_t *body = NULL;
    size_t len = 0, n = 0, bad = 0;
    long status = 0;
    arb_errbuf eb;
    arb_audit_gossip_head *heads = NULL;

    peer_url(url, sizeof url, peer);
    if (arb_audit_http(c, url, NULL, 0, NULL, &status, &body, &len, &eb) != ARB_OK ||
        status != 200) {
        if (status)
            snprintf(line, sizeof line, "%s: HTTP status %ld", url, status);
        else
            snprintf(line, sizeof line, "%s", eb.msg);
        arb_audit_follower_notice(f, NULL, "peer-unreachable", line);
        free(body);
        return 1;
    }
    if (arb_audit_gossip_parse(&heads, &n, (const char *)body, len, &eb) != ARB_OK) {
        snprintf(line, sizeof line, "%s: %s", url, eb.msg);
        arb_audit_follower_notice(f, NULL, "peer-bad-answer", line);
        free(body);
        return 1;
    }
    free(body);
    for (size_t i = 0; i < n; i++)
        if (arb_audit_follower_check_head(f, heads[i].log_id, &heads[i].sth, url) ==
            ARB_ERR_VERIFY)
            bad++;
    free(heads);
    return bad;
}

size_t arb_audit_gossip_push(arb_audit_follower *f, arb_audit_client *c, const char *peer)
{
    char url[2200], line[2600];
    size_t bad = 0;

    peer_url(url, sizeof url, peer);
    for (size_t i = 0; i < arb_audit_follower_nlogs(f); i++) {
        json_t *h = arb_audit_follower_head_json(f, i), *doc;
        char *text;
        uint8_t *ans = NULL;
        size_t al = 0;
        long status = 0;
        arb_errbuf eb;
        arb_err err;

        if (h == NULL)
            continue; /* no verified head of this log yet */
        doc = json_pack("{s:[o]}", "heads", h);
        text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (text == NULL)
            return bad + 1;
        err = arb_audit_http(c, url, (const uint8_t *)text, strlen(text), "application/json",
                             &status, &ans, &al, &eb);
        free(text);
        if (err != ARB_OK) {
            arb_audit_follower_notice(f, NULL, "peer-unreachable", eb.msg);
            free(ans);
            return bad + 1;
        }
        if (status != 200 && status != 404) {
            snprintf(line, sizeof line, "%s: HTTP status %ld: %.200s", url, status,
                     ans ? (const char *)ans : "");
            arb_audit_follower_notice(f, NULL, "peer-refused", line);
            bad++;
        }
        free(ans);
    }
    return bad;
}
