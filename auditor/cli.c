/* Dispatch and shared helpers for the auditor's subcommands. */
#include "auditor/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditor/cli_util.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

uint8_t *cli_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;

    *len_out = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (cap - len < 2) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                fclose(f);
                errno = EIO;
                return NULL;
            }
            break;
        }
    }
    fclose(f);
    buf[len] = 0;
    *len_out = len;
    return buf;
}

uint8_t *cli_read_key(const char *path, size_t *len_out)
{
    uint8_t *data = cli_read_file(path, len_out), *out = NULL;
    BIO *in = NULL, *mem = NULL;
    EVP_PKEY *k = NULL;
    BUF_MEM *bm;

    if (data == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (strstr((const char *)data, "PRIVATE KEY-----") == NULL)
        return data; /* a public key (checked where it is used) */
    /* A private key (e.g. arbord's log-key.pem): keep only the public part. */
    if ((in = BIO_new_mem_buf(data, (int)*len_out)) != NULL &&
        (k = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL)) != NULL &&
        (mem = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_PUBKEY(mem, k) == 1 &&
        BIO_get_mem_ptr(mem, &bm) == 1 && (out = malloc(bm->length + 1)) != NULL) {
        memcpy(out, bm->data, bm->length);
        out[bm->length] = 0;
        *len_out = bm->length;
    } else {
        ERR_clear_error();
        fprintf(stderr, "arbor-audit: %s: holds a private key that cannot be read (an "
                        "encrypted key?); give the log's public key (openssl pkey -in %s "
                        "-pubout)\n", path, path);
        *len_out = 0;
    }
    OPENSSL_cleanse(data, strlen((const char *)data));
    free(data);
    EVP_PKEY_free(k);
    BIO_free(in);
    BIO_free(mem);
    return out;
}

void cli_print_json(json_t *o)
{
    if (o == NULL)
        return;
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    fflush(stdout);
    json_decref(o);
}

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = v;
    return 1;
}

int arb_audit_cli_main(int argc, char **argv, int json)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **, int);
    } cmds[] = {
        {"verify-evidence", cli_verify_evidence}, {"verify-sth", cli_verify_sth},
        {"check-sct", cli_check_sct},             {"witness", cli_witness},
        {"follow", cli_follow},                   {"cosign", cli_cosign},
        {"verify-name", cli_verify_name},         {"verify-anchored", cli_verify_anchored},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            return cmds[i].fn(argc, argv, json);
    fprintf(stderr, "arbor-audit: unknown command \"%s\"\n", argv[0]);
    return CLI_USAGE;
}
