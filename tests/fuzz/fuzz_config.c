/* Fuzzes arbord's settings parsers: the input is split at NUL bytes into an
 * argv when it starts with 'A', otherwise read as a config file. Invariants:
 * no crash, no leak; a successful parse has a data directory, a known network
 * and a port in range; a failure leaves a one-line message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* whole: after arb_config_parse, which also checks settings against each
 * other (a config file read alone is not). */
static void check(const arb_config *c, int whole)
{
    if (c->datadir == NULL || c->network == NULL || c->listen_port < 0 ||
        c->listen_port > 65535 || c->n_connect > ARB_CONFIG_MAX_CONNECT)
        abort();
    if (strcmp(c->network, "main") && strcmp(c->network, "test") && strcmp(c->network, "regtest"))
        abort();
    /* The log policy keys: never both reject flags, a monitoring URL only
     * with a URL, lists within bounds, a rate in range. */
    if ((whole && c->log_reject_expired && c->log_reject_unexpired) ||
        (whole && c->log_monitoring_url != NULL && c->log_url == NULL) ||
        c->log_ext_key_usages.n > ARB_CT_OIDS_MAX || c->log_reject_extensions.n > ARB_CT_OIDS_MAX ||
        !(c->log_rate_limit >= 0 && c->log_rate_limit <= 1e6))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_config c;
    arb_errbuf eb;

    if (size > 0 && data[0] == 'A') {
        char *copy = malloc(size + 1), *argv[66];
        int argc = 0;
        if (copy == NULL)
            return 0;
        memcpy(copy, data + 1, size - 1);
        copy[size - 1] = '\0';
        argv[argc++] = "arbord";
        for (char *p = copy; p < copy + size - 1 && argc < 65; p += strlen(p) + 1)
            if (strncmp(p, "--config", 8) != 0) /* no file system access */
                argv[argc++] = p;
        argv[argc] = NULL;
        eb.msg[0] = 0;
        if (arb_config_parse(&c, argc, argv, &eb) == ARB_OK) {
            check(&c, 1);
            arb_config_free(&c);
        } else if (strchr(eb.msg, '\n') != NULL || c.datadir != NULL) {
            abort();
        }
        free(copy);
        return 0;
    }
    {
        char *const argv[] = {"arbord", NULL};
        FILE *f;
        if (arb_config_parse(&c, 1, argv, &eb) != ARB_OK)
            abort();
        f = fmemopen((void *)data, size ? size : 1, "r");
        if (f == NULL) {
            arb_config_free(&c);
            return 0;
        }
        if (size == 0 || arb_config_load_stream(&c, f, "fuzz.conf", &eb) == ARB_OK)
            check(&c, 0);
        fclose(f);
        arb_config_free(&c);
    }
    return 0;
}
