/* Builds the directory a power loss leaves behind from the record of
 * tests/powerloss/powerloss.c; see powerloss.h. */
#define _GNU_SOURCE
#include "tests/powerloss/powerloss.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/test.h"

/* Directory nesting the image follows; deeper means a loop in the record. */
#define MAX_DEPTH 32

char *arb_powerloss_lib(char *buf, size_t cap)
{
    if (arb_test_bin(buf, cap, "libarb_powerloss.so") == NULL)
        return NULL;
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static int copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb"), *out;
    char buf[65536];
    size_t n;
    int ok = 1;

    out = fopen(dst, "wb");
    if (out == NULL) {
        if (in)
            fclose(in);
        fprintf(stderr, "powerloss image: cannot create %s: %s\n", dst, strerror(errno));
        return 0;
    }
    if (in != NULL) { /* no record: a name whose content was never synced */
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, n, out) != n)
                ok = 0;
        if (ferror(in))
            ok = 0;
        fclose(in);
    }
    if (fclose(out) != 0)
        ok = 0;
    return ok;
}

static int build_dir(const char *shadow, const char *id, const char *out, int depth,
                     arb_powerloss_stats *st)
{
    char rec[PATH_MAX], line[PATH_MAX + 256];
    FILE *f;
    int ok = 1;

    if (depth > MAX_DEPTH || mkdir(out, 0700) != 0) {
        fprintf(stderr, "powerloss image: cannot create %s\n", out);
        return 0;
    }
    st->dirs++;
    snprintf(rec, sizeof rec, "%s/d-%s", shadow, id);
    f = fopen(rec, "r");
    if (f == NULL)
        return 1; /* never synced: empty */
    while (ok && fgets(line, sizeof line, f) != NULL) {
        char kind, cid[128], name[NAME_MAX + 1], path[PATH_MAX + NAME_MAX + 2];
        size_t l = strlen(line);
        if (l == 0 || line[l - 1] != '\n' ||
            sscanf(line, "%c %127s %255[^\n]", &kind, cid, name) != 3 ||
            (kind != 'f' && kind != 'd') || strchr(name, '/') != NULL ||
            strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            fprintf(stderr, "powerloss image: bad record line in %s\n", rec);
            ok = 0;
            break;
        }
        snprintf(path, sizeof path, "%s/%s", out, name);
        if (kind == 'd') {
            ok = build_dir(shadow, cid, path, depth + 1, st);
        } else {
            char content[PATH_MAX];
            snprintf(content, sizeof content, "%s/f-%s", shadow, cid);
            if (access(content, F_OK) != 0)
                st->never_synced++;
            ok = copy_file(content, path);
            st->files++;
        }
    }
    fclose(f);
    return ok;
}

int arb_powerloss_image(const char *watched, const char *shadow, const char *out,
                        arb_powerloss_stats *st)
{
    arb_powerloss_stats dummy;
    char id[128];
    int fd = open(watched, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok;

    if (st == NULL)
        st = &dummy;
    memset(st, 0, sizeof *st);
    if (fd < 0 || !arb_powerloss_file_id(fd, id, sizeof id, NULL)) {
        fprintf(stderr, "powerloss image: cannot examine %s\n", watched);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    ok = build_dir(shadow, id, out, 0, st);
    return ok ? 0 : -1;
}
