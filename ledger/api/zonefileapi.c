/* See zonefileapi.h. */
#include "ledger/api/zonefileapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"

#define GET_PREFIX "/names/v1/zonefile/"

static void on_post(void *ud, arb_http_req *req)
{
    arb_zonefiles *z = ud;
    arb_http_server *s = arb_http_req_server(req);
    size_t len;
    const uint8_t *body = arb_http_req_body(req, &len);
    uint8_t hash[32];
    char hex[65], out[96];
    arb_errbuf eb;
    arb_err err = arb_zonefiles_add(z, body, len, NULL, hash, NULL, &eb);
    switch (err) {
    case ARB_OK:
        arb_hex_encode(hex, hash, 32);
        snprintf(out, sizeof out, "{\"hash\":\"%s\"}", hex);
        arb_http_metric_add(s, "zonefiles_posted", 1);
        (void)arb_http_respond(req, 200, NULL, NULL, out, strlen(out));
        break;
    case ARB_ERR_INVALID_ARG:
        (void)arb_http_respond_error(req, 413, "zonefile_too_large", "zonefile-too-large");
        break;
    case ARB_ERR_NOT_FOUND:
        (void)arb_http_respond_error(req, 404, "zonefile_not_on_chain", "zonefile-not-on-chain");
        break;
    default:
        (void)arb_http_respond_error(req, 500, "zonefile_store", "zone file store failed");
        break;
    }
}

static void on_get(void *ud, arb_http_req *req)
{
    arb_zonefiles *z = ud;
    const char *hex = arb_http_req_path(req) + strlen(GET_PREFIX);
    uint8_t hash[32], *zf = NULL;
    size_t len;
    if (strlen(hex) != 64 || !arb_hex_decode(hash, 32, hex, 64)) {
        (void)arb_http_respond_error(req, 400, "bad_request", "bad zone-file hash");
        return;
    }
    arb_err err = arb_zonefiles_get(z, hash, &zf, &len, NULL);
    if (err == ARB_ERR_NOT_FOUND) {
        (void)arb_http_respond_error(req, 404, "not_found", "zonefile not found");
        return;
    }
    if (err != ARB_OK) {
        (void)arb_http_respond_error(req, 500, "zonefile_store", "zone file store failed");
        return;
    }
    /* Content-addressed: the answer for a hash never changes. */
    (void)arb_http_respond(req, 200, "application/octet-stream",
                           "Cache-Control: public, max-age=31536000, immutable\r\n", zf, len);
    free(zf);
}

arb_err arb_zonefileapi_add(arb_http_server *http, arb_zonefiles *z)
{
    arb_err err = arb_http_route_add(http, ARB_HTTP_POST, "/names/v1/zonefile",
                                     ARB_ZONEFILEAPI_MAX_BODY, on_post, z);
    if (err == ARB_OK)
        err = arb_http_route_add(http, ARB_HTTP_GET, GET_PREFIX, 0, on_get, z);
    return err;
}
