/* Loading and generating the log key with OpenSSL 3 (EVP_PKEY, PEM). */
#include "ledger/logkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "merkle/file.h"
#include "merkle/pkey.h"

static arb_err generate_key(const char *path, arb_errbuf *eb)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    FILE *f;
    int fd, ok;
    arb_err err;

    if (k == NULL)
        return arb_errf(eb, ARB_ERR_CRYPTO, "cannot generate a P-256 key");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        EVP_PKEY_free(k);
        return arb_errf(eb, ARB_ERR_IO, "cannot create %s: %s", path, strerror(e));
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        EVP_PKEY_free(k);
        return arb_errf(eb, ARB_ERR_IO, "cannot write %s", path);
    }
    ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    EVP_PKEY_free(k);
    if (!ok) {
        unlink(path);
        return arb_errf(eb, ARB_ERR_IO, "cannot write %s", path);
    }
    /* The new file's directory entry must be durable too before the key
     * signs anything: otherwise a power loss could leave tree heads signed
     * by a key that is gone. */
    if ((err = arb_file_sync_parent(path, eb)) != ARB_OK) {
        unlink(path);
        return err;
    }
    return ARB_OK;
}

arb_err arb_logkey_load(EVP_PKEY **out, const char *path, int generate, int *generated,
                        arb_errbuf *eb)
{
    FILE *f;
    EVP_PKEY *k;
    arb_err err;

    *out = NULL;
    if (generated)
        *generated = 0;
    f = fopen(path, "r");
    if (f == NULL && errno == ENOENT && generate) {
        if ((err = generate_key(path, eb)) != ARB_OK)
            return err;
        if (generated)
            *generated = 1;
        f = fopen(path, "r");
    }
    if (f == NULL) {
        int e = errno;
        if (e == ENOENT)
            return arb_errf(eb, ARB_ERR_NOT_FOUND, "log key %s: no such file", path);
        return arb_errf(eb, ARB_ERR_IO, "cannot read log key %s: %s", path, strerror(e));
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    if (k == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "log key %s: not a PEM private key", path);
    if (!arb_pkey_is_p256(k)) {
        EVP_PKEY_free(k);
        return arb_errf(eb, ARB_ERR_PARSE, "log key %s: not an ECDSA P-256 key", path);
    }
    *out = k;
    return ARB_OK;
}
