/* Domain search on a real arbord: certificates made with the openssl command
 * (an exact name, subdomains, a wildcard SAN, a precertificate, a bulk of
 * names under one domain) are submitted from several threads while arbord
 * is killed with SIGKILL at a random moment; after a restart everything is
 * submitted again, and the index served by /log/v1/search must equal the one
 * rebuilt from the entries served by get-entries: for every name the exact
 * set of entries, and for the parent domain with subdomains the union, page
 * by page. Hostile queries get 400s. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ledger/log/ct.h"
#include "ledger/log/domains.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"

#define WAIT_MS 20000
#define N_BULK 30
#define N_CHAINS (4 + N_BULK)

static char bin[4096];
static char tmp[1024];
static char *bodies[N_CHAINS];
static const char *paths[N_CHAINS];

/* How this test asks the node on port (tests/testlib/http.h): 30 s a
 * request, no signals. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30, .flags = ARB_TL_HTTP_NOSIGNAL};
    return o;
}

static json_t *get_json(int port, const char *path, long *status)
{
    char *b = NULL;
    json_t *j = NULL;
    *status = arb_tl_http(at(port), path, NULL, &b);
    if (b != NULL)
        j = json_loads(b, 0, NULL);
    free(b);
    return j;
}

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *read_text(const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    return (char *)arb_test_read_file(p, NULL);
}

/* Root, then leaves signed by it; each chain's add-chain body. */
static int make_certs(void)
{
    char cmd[16384];
    int n = snprintf(
        cmd, sizeof cmd,
        "set -e; cd '%s'; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key "
        "-out root.pem -days 30 -subj '/CN=Search Test Root' "
        "-addext basicConstraints=critical,CA:TRUE 2>/dev/null; "
        "openssl x509 -in root.pem -outform DER | base64 -w0 > root.b64; "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
        "-out leaf.csr -subj '/CN=example.org' 2>/dev/null; "
        "mk() { printf '%%s\\n' \"$2\" > $1.cnf; "
        "openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -set_serial $3 -days 20 "
        "-extfile $1.cnf -out $1.pem 2>/dev/null; "
        "openssl x509 -in $1.pem -outform DER | base64 -w0 > $1.b64; }; "
        "mk c0 'subjectAltName=DNS:example.org,DNS:www.example.org' 1; "
        "mk c1 'subjectAltName=DNS:*.example.org' 2; "
        "mk c2 'subjectAltName=DNS:pre.example.org\n1.3.6.1.4.1.11129.2.4.3=critical,DER:05:00' "
        "3; "
        "mk c3 'subjectAltName=DNS:other.net' 4; "
        "for i in $(seq 4 %d); do mk c$i \"subjectAltName=DNS:h$i.bulk.example.org\" $((i+1)); "
        "done",
        tmp, N_CHAINS - 1);
    if (n <= 0 || (size_t)n >= sizeof cmd || sh(cmd) != 0)
        return -1;
    char *root = read_text("root.b64");
    if (root == NULL)
        return -1;
    for (int i = 0; i < N_CHAINS; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d.b64", i);
        char *leaf = read_text(name);
        if (leaf == NULL) {
            free(root);
            return -1;
        }
        size_t cap = strlen(leaf) + strlen(root) + 32;
        bodies[i] = malloc(cap);
        snprintf(bodies[i], cap, "{\"chain\":[\"%s\",\"%s\"]}", leaf, root);
        paths[i] = i == 2 ? "/ct/v1/add-pre-chain" : "/ct/v1/add-chain";
        free(leaf);
    }
    free(root);
    return 0;
}

static arb_proc *start(const char *dir, int *port)
{
    char roots[1200];
    snprintf(roots, sizeof roots, "%s/root.pem", tmp);
    const char *args[] = {"--network", "regtest", "--log-roots", roots, NULL};
    return arb_proc_start_arbord(bin, dir, args, WAIT_MS, port);
}

typedef struct {
    int port, first, step;
} submitter;

static void *submit_some(void *ud)
{
    submitter *s = ud;
    for (int i = s->first; i < N_CHAINS; i += s->step)
        (void)arb_tl_http(at(s->port), paths[i], bodies[i], NULL);
    return NULL;
}

static size_t b64_decode(uint8_t *out, const char *in)
{
    size_t n = strlen(in);
    int l = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (l < 0)
        return 0;
    while (n > 0 && in[n - 1] == '=') {
        n--;
        l--;
    }
    return (size_t)l;
}

typedef struct {
    char name[ARB_DOMAINS_NAME_MAX + 1];
    uint64_t index;
    int precert;
} exp_row;

static exp_row expect[N_CHAINS * 4];
static size_t nexp;

/* The rows rebuilt from the entries served by get-entries. */
static void rebuild(int port, uint64_t size)
{
    char path[128];
    long st;
    nexp = 0;
    for (uint64_t start = 0; start < size;) {
        snprintf(path, sizeof path, "/ct/v1/get-entries?start=%llu&end=%llu",
                 (unsigned long long)start, (unsigned long long)(size - 1));
        json_t *j = get_json(port, path, &st), *e;
        size_t i;
        CHECK_EQ(st, 200);
        json_t *arr = json_object_get(j, "entries");
        CHECK(json_array_size(arr) > 0);
        if (json_array_size(arr) == 0) {
            json_decref(j);
            return;
        }
        json_array_foreach(arr, i, e)
        {
            const char *li = json_string_value(json_object_get(e, "leaf_input"));
            uint8_t *buf = malloc(li ? strlen(li) : 1);
            size_t len = li ? b64_decode(buf, li) : 0;
            arb_ct_leaf leaf;
            char **v;
            size_t n;
            CHECK(arb_ct_leaf_decode(&leaf, buf, len) == ARB_OK);
            CHECK(arb_domains_names(&leaf.entry, &v, &n) == ARB_OK);
            for (size_t k = 0; k < n && nexp < sizeof expect / sizeof *expect; k++) {
                snprintf(expect[nexp].name, sizeof expect[nexp].name, "%s", v[k]);
                expect[nexp].index = start + i;
                expect[nexp].precert = leaf.entry.entry_type == ARB_CT_ENTRY_PRECERT;
                nexp++;
            }
            arb_domains_names_free(v, n);
            free(buf);
        }
        start += json_array_size(arr);
        json_decref(j);
    }
}

/* All hits of a search, following "next" with pages of `limit`. */
static json_t *search_all(int port, const char *domain, int sub, int limit)
{
    json_t *all = json_array();
    char path[1024], after[600] = "";
    for (int guard = 0; guard < 1000; guard++) {
        long st;
        char *esc = curl_easy_escape(NULL, after, 0);
        snprintf(path, sizeof path, "/log/v1/search?domain=%s&subdomains=%d&limit=%d%s%s", domain,
                 sub, limit, after[0] ? "&after=" : "", after[0] ? esc : "");
        curl_free(esc);
        json_t *j = get_json(port, path, &st);
        CHECK_OR(st == 200, all);
        json_t *res = json_object_get(j, "results"), *next = json_object_get(j, "next");
        CHECK_OR((int)json_array_size(res) <= limit, all);
        json_array_extend(all, res);
        if (!json_is_string(next)) {
            json_decref(j);
            break;
        }
        snprintf(after, sizeof after, "%s", json_string_value(next));
        json_decref(j);
    }
    return all;
}

static int hit_has(json_t *hits, const char *name, uint64_t index, int precert)
{
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        if (strcmp(json_string_value(json_object_get(h, "name")), name) == 0 &&
            (uint64_t)json_integer_value(json_object_get(h, "index")) == index)
            return json_is_true(json_object_get(h, "precert")) == precert ? 1 : -1;
    }
    return 0;
}

static int under(const char *name, const char *dom)
{
    size_t n = strlen(name), l = strlen(dom);
    return strcmp(name, dom) == 0 || (n > l + 1 && name[n - l - 1] == '.' && !strcmp(name + n - l, dom));
}

static void test_crash_and_rebuild(void)
{
    char dir[1200];
    int port;
    arb_proc *p;
    long st;

    snprintf(dir, sizeof dir, "%s/node", tmp);
    CHECK_EQ(make_certs(), 0);
    p = start(dir, &port);
    CHECK(p != NULL && port > 0);
    if (p == NULL || port <= 0)
        return;

    /* Submissions from 4 threads; SIGKILL at a random moment. */
    {
        pthread_t th[4];
        submitter s[4];
        for (int i = 0; i < 4; i++) {
            s[i] = (submitter){port, i, 4};
            CHECK(pthread_create(&th[i], NULL, submit_some, &s[i]) == 0);
        }
        arb_test_seed_init();
        struct timespec ts = {0, (long)arb_test_rand_below(400) * 1000000L};
        nanosleep(&ts, NULL);
        CHECK_EQ(arb_proc_kill(p, SIGKILL), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 128 + SIGKILL);
        arb_proc_free(p);
    }

    /* Restart: what was logged is indexed; submit the rest. */
    p = start(dir, &port);
    CHECK(p != NULL && port > 0);
    if (p == NULL || port <= 0)
        return;
    for (int i = 0; i < N_CHAINS; i++)
        CHECK_EQ(arb_tl_http(at(port), paths[i], bodies[i], NULL), 200);
    json_t *sth = get_json(port, "/ct/v1/get-sth", &st);
    uint64_t size = (uint64_t)json_integer_value(json_object_get(sth, "tree_size"));
    json_decref(sth);
    CHECK_EQ(size, N_CHAINS);
    rebuild(port, size);
    /* Every certificate has the subject CN example.org (one CSR); then
     * www, the wildcard, pre, other.net and one bulk name each. */
    CHECK_EQ(nexp, N_CHAINS + 4 + N_BULK);

    /* Every name: the exact set. */
    for (size_t i = 0; i < nexp; i++) {
        json_t *hits = search_all(port, expect[i].name, 0, 1000);
        size_t want = 0;
        for (size_t k = 0; k < nexp; k++)
            want += strcmp(expect[k].name, expect[i].name) == 0;
        CHECK_EQ(json_array_size(hits), want);
        CHECK_EQ(hit_has(hits, expect[i].name, expect[i].index, expect[i].precert), 1);
        json_decref(hits);
    }
    /* The domain with subdomains, in pages of 1, 7 and 1000: the union. */
    const int limits[] = {1, 7, 1000};
    for (size_t l = 0; l < 3; l++) {
        json_t *hits = search_all(port, "example.org", 1, limits[l]);
        size_t want = 0;
        for (size_t k = 0; k < nexp; k++)
            if (under(expect[k].name, "example.org")) {
                want++;
                CHECK_EQ(hit_has(hits, expect[k].name, expect[k].index, expect[k].precert), 1);
            }
        CHECK_EQ(json_array_size(hits), want);
        CHECK_EQ(want, nexp - 1); /* all but other.net */
        json_decref(hits);
    }
    /* The cases by name: exact, subdomain, wildcard, precert. */
    {
        json_t *h = search_all(port, "www.example.org", 0, 100);
        CHECK_EQ(json_array_size(h), 1);
        json_decref(h);
        h = search_all(port, "example.org", 0, 100); /* exact: the CNs, not www or the wildcard */
        CHECK_EQ(json_array_size(h), N_CHAINS);
        json_decref(h);
        h = search_all(port, "%2A.example.org", 0, 100); /* the wildcard SAN itself */
        CHECK_EQ(json_array_size(h), 1);
        json_decref(h);
        h = search_all(port, "pre.example.org", 0, 100);
        CHECK_EQ(json_array_size(h), 1);
        CHECK(json_is_true(json_object_get(json_array_get(h, 0), "precert")));
        json_decref(h);
        h = search_all(port, "bulk.example.org", 1, 100);
        CHECK_EQ(json_array_size(h), N_BULK);
        json_decref(h);
        h = search_all(port, "net", 1, 100);
        CHECK_EQ(json_array_size(h), 1);
        CHECK_STR(json_string_value(json_object_get(json_array_get(h, 0), "name")), "other.net");
        json_decref(h);
    }
    /* Hostile and bad queries. */
    {
        const char *bad[] = {"/log/v1/search",
                             "/log/v1/search?domain=%3Cscript%3E",
                             "/log/v1/search?domain=a..b",
                             "/log/v1/search?domain=example.org&limit=0",
                             "/log/v1/search?domain=example.org&limit=1001",
                             "/log/v1/search?domain=example.org&limit=-1",
                             "/log/v1/search?domain=example.org&subdomains=maybe",
                             "/log/v1/search?domain=example.org&after=x",
                             "/log/v1/search?domain=example.org&after=a%20b:1",
                             "/log/v1/search?domain=example.org&after=a:99999999999999999999"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            json_t *j = get_json(port, bad[i], &st);
            CHECK_EQ(st, 400);
            CHECK(json_is_string(json_object_get(j, "error")));
            json_decref(j);
        }
    }
    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
    arb_proc_free(p);
}

int main(void)
{
    if (!arb_tl_begin(bin, sizeof bin, tmp, sizeof tmp))
        return 1;
    test_crash_and_rebuild();
    for (int i = 0; i < N_CHAINS; i++)
        free(bodies[i]);
    return arb_tl_end(tmp);
}
