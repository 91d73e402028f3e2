/* arbord's settings: flags, the config file, precedence, host:port parsing,
 * and the data directory lock (checked from a forked child). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/config.h"
#include "tests/test.h"

static char tmp[1024];

#define ARGV(...) ((char *const[]){"arbord", __VA_ARGS__, NULL})

static arb_err parse(arb_config *c, int argc, char *const argv[], arb_errbuf *eb)
{
    return arb_config_parse(c, argc, argv, eb);
}

static void test_defaults_and_flags(void)
{
    arb_config c;
    arb_errbuf eb;
    char *const a0[] = {"arbord", NULL};
    CHECK(parse(&c, 1, a0, &eb) == ARB_OK);
    CHECK_STR(c.datadir, ARB_CONFIG_DEFAULT_DATADIR);
    CHECK_STR(c.network, "main");
    CHECK_STR(c.listen_host, "127.0.0.1");
    CHECK_EQ(c.listen_port, 7480);
    CHECK(c.log_key == NULL && c.log_roots == NULL && c.n_connect == 0 && !c.json);
    arb_config_free(&c);

    char *const *a = ARGV("--datadir", "/d", "--listen=0.0.0.0:0", "--network", "regtest",
                          "--log-key", "k.pem", "--log-roots=roots.pem", "--connect",
                          "10.0.0.1:7000", "--connect", "[::1]:7001", "--json",
                          "--http-workers", "3");
    CHECK(parse(&c, 16, a, &eb) == ARB_OK);
    CHECK_STR(c.datadir, "/d");
    CHECK_STR(c.listen_host, "0.0.0.0");
    CHECK_EQ(c.listen_port, 0);
    CHECK_STR(c.network, "regtest");
    CHECK_STR(c.log_key, "k.pem");
    CHECK_STR(c.log_roots, "roots.pem");
    CHECK_EQ(c.n_connect, 2);
    CHECK_STR(c.connect[1], "[::1]:7001");
    CHECK_EQ(c.json, 1);
    CHECK_EQ(c.http_workers, 3);
    arb_config_free(&c);

    char *const *h = ARGV("--bogus", "--help");
    CHECK(parse(&c, 3, h, &eb) == ARB_ERR_INVALID_ARG); /* order: unknown flag first */
    char *const *h2 = ARGV("--help", "--datadir", "x");
    CHECK(parse(&c, 4, h2, &eb) == ARB_OK);
    CHECK_EQ(c.help, 1);
    arb_config_free(&c);
}

static void test_usage_errors(void)
{
    static const char *bad[][3] = {
        {"--bogus", NULL, NULL},       {"--datadir", NULL, NULL},
        {"--network", "foo", NULL},    {"--listen", "localhost:80", NULL},
        {"--listen", "1.2.3.4", NULL}, {"--listen", "1.2.3.4:70000", NULL},
        {"--listen", "1.2.3.4:-1", NULL}, {"--connect", "1.2.3.4:0", NULL},
        {"--http-workers", "0", NULL}, {"--json=1", NULL, NULL},
        {"positional", NULL, NULL},    {"--datadir=", NULL, NULL},
        {"--listen", "[::1]80", NULL},
        {"--network", "a\nb", NULL},  {"--x\ny", NULL, NULL},
        {"stray\nline", NULL, NULL},
        {"--anchor-every-blocks", "0", NULL}, {"--anchor-every-blocks", "1000001", NULL},
        {"--anchor-every-entries", "x", NULL}, {"--anchor-fee", "100000001", NULL},
        {"--anchor-key", "", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        arb_config c;
        arb_errbuf eb;
        char *argv[4] = {"arbord", (char *)bad[i][0], (char *)bad[i][1], NULL};
        int argc = bad[i][1] ? 3 : 2;
        eb.msg[0] = 0;
        CHECK(parse(&c, argc, argv, &eb) == ARB_ERR_INVALID_ARG);
        CHECK(eb.msg[0] != 0 && strchr(eb.msg, '\n') == NULL);
        CHECK(c.datadir == NULL); /* nothing left allocated */
    }
}

static void test_hostport(void)
{
    char h[64];
    int p;
    CHECK(arb_config_split_hostport("127.0.0.1:80", h, sizeof h, &p) == ARB_OK);
    CHECK_STR(h, "127.0.0.1");
    CHECK_EQ(p, 80);
    CHECK(arb_config_split_hostport("[::1]:65535", h, sizeof h, &p) == ARB_OK);
    CHECK_STR(h, "::1");
    CHECK_EQ(p, 65535);
    CHECK(arb_config_split_hostport("::1:80", h, sizeof h, &p) == ARB_ERR_INVALID_ARG);
    CHECK(arb_config_split_hostport("1.2.3:80", h, sizeof h, &p) == ARB_ERR_INVALID_ARG);
    CHECK(arb_config_split_hostport("1.2.3.4:", h, sizeof h, &p) == ARB_ERR_INVALID_ARG);
    CHECK(arb_config_split_hostport(":80", h, sizeof h, &p) == ARB_ERR_INVALID_ARG);
    CHECK(arb_config_split_hostport("1.2.3.4:8x", h, sizeof h, &p) == ARB_ERR_INVALID_ARG);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_config_file(void)
{
    char path[1200], arg[1300];
    arb_config c;
    arb_errbuf eb;

    snprintf(path, sizeof path, "%s/a.conf", tmp);
    write_file(path, "# comment\n\n datadir = /from/file \nnetwork=test\nlisten = 127.0.0.1:9\n"
                     "connect = 10.0.0.1:1\nconnect = 10.0.0.2:2\njson = yes\n");
    snprintf(arg, sizeof arg, "--config=%s", path);
    {
        char *argv[] = {"arbord", arg, NULL};
        CHECK(parse(&c, 2, argv, &eb) == ARB_OK);
        CHECK_STR(c.datadir, "/from/file");
        CHECK_STR(c.network, "test");
        CHECK_EQ(c.listen_port, 9);
        CHECK_EQ(c.n_connect, 2);
        CHECK_EQ(c.json, 1);
        CHECK_STR(c.config_file, path);
        arb_config_free(&c);
    }
    {
        /* Flags win, wherever they stand relative to --config; a --connect on
         * the command line replaces the file's list. */
        char *argv[] = {"arbord", "--network", "regtest", arg, "--connect", "10.9.9.9:9", NULL};
        CHECK(parse(&c, 6, argv, &eb) == ARB_OK);
        CHECK_STR(c.network, "regtest");
        CHECK_STR(c.datadir, "/from/file");
        CHECK_EQ(c.n_connect, 1);
        CHECK_STR(c.connect[0], "10.9.9.9:9");
        arb_config_free(&c);
    }
    {
        static const char *bad[] = {"network = moon\n", "just words\n", "colour = red\n",
                                    "config = other.conf\n", "json = maybe\n"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            char *argv[] = {"arbord", arg, NULL};
            char want[1300];
            write_file(path, bad[i]);
            CHECK(parse(&c, 2, argv, &eb) == ARB_ERR_INVALID_ARG);
            snprintf(want, sizeof want, "%s:1: ", path);
            CHECK(strncmp(eb.msg, want, strlen(want)) == 0);
        }
    }
    {
        char *argv[] = {"arbord", "--config", "/nonexistent/x.conf", NULL};
        CHECK(parse(&c, 3, argv, &eb) == ARB_ERR_IO);
    }
}

static void test_datadir(void)
{
    char dir[1200];
    arb_errbuf eb;
    int fd = -1, st;
    pid_t pid;
    struct stat sb;

    snprintf(dir, sizeof dir, "%s/x/y/z", tmp);
    CHECK(arb_datadir_create(dir, &eb) == ARB_OK);
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK_EQ(sb.st_mode & 0777, 0700);
    CHECK(arb_datadir_create(dir, &eb) == ARB_OK); /* exists: fine */
    CHECK(arb_datadir_lock(dir, &fd, &eb) == ARB_OK);
    /* Another process cannot take it and is told who holds it. */
    pid = fork();
    if (pid == 0) {
        int fd2;
        arb_errbuf eb2;
        arb_err e = arb_datadir_lock(dir, &fd2, &eb2);
        char want[64];
        snprintf(want, sizeof want, "(pid %ld)", (long)getppid());
        _exit(e == ARB_ERR_BUSY && strstr(eb2.msg, want) != NULL ? 0 : 1);
    }
    CHECK(pid > 0);
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
    /* Released: it can be taken again. */
    CHECK(arb_datadir_lock(dir, &fd, &eb) == ARB_OK);
    close(fd);
    {
        char file[1300];
        snprintf(file, sizeof file, "%s/file", tmp);
        write_file(file, "x");
        CHECK(arb_datadir_create(file, &eb) == ARB_ERR_IO);
    }
}

/* The self-anchoring settings: off by default, each flag and its bounds. */
static void test_anchor_settings(void)
{
    arb_config c;
    arb_errbuf eb;
    char *a0[] = {"arbord", NULL};
    char *a[] = {"arbord", "--anchor-every-blocks", "1000000", "--anchor-every-entries=1099511627776",
                 "--anchor-key", "k.hex", "--anchor-fee", "1", NULL};
    CHECK(parse(&c, 1, a0, &eb) == ARB_OK);
    CHECK_EQ(c.anchor_every_blocks, 0);
    CHECK_EQ(c.anchor_every_entries, 0);
    CHECK(c.anchor_key == NULL);
    CHECK_EQ(c.anchor_fee, 0);
    arb_config_free(&c);
    CHECK(parse(&c, 8, a, &eb) == ARB_OK);
    CHECK_EQ(c.anchor_every_blocks, 1000000);
    CHECK_EQ(c.anchor_every_entries, 1ULL << 40);
    CHECK_STR(c.anchor_key, "k.hex");
    CHECK_EQ(c.anchor_fee, 1);
    arb_config_free(&c);
}

int main(void)
{
    if (arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    test_defaults_and_flags();
    test_usage_errors();
    test_hostport();
    test_config_file();
    test_datadir();
    test_anchor_settings();
    arb_test_rmtree(tmp);
    return arb_test_done();
}
