/* hub.c — models by name from the Hugging Face Hub (hub.h says the protocol). */
#include "hub.h"
#include "cmds.h"
#include "paths.h"
#include "sha256.h"

#include <cjson/cJSON.h>
#include <curl/curl.h> /* types and constants only: libcurl itself is opened with dlopen */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const HubModel HUB[] = {
    {"gpt2", "openai-community/gpt2", "548 MB"},
    {"gpt2-medium", "openai-community/gpt2-medium", "1.52 GB"},
    {"gpt2-large", "openai-community/gpt2-large", "3.25 GB"},
    {"gpt2-xl", "openai-community/gpt2-xl", "6.43 GB"},
    {"distilgpt2", "distilbert/distilgpt2", "353 MB"},
    {NULL, NULL, NULL},
};

/* model.safetensors and config.json are needed; the tokenizer files are optional (the
 * GPT-2 tokenizer ships with gptrepl). */
const char *const HUB_FILE_NAMES[HUB_FILES] = {"config.json", "vocab.json", "merges.txt", "model.safetensors"};
static const int HUB_REQUIRED[HUB_FILES] = {1, 0, 0, 1};

const HubModel *hub_find(const char *name)
{
    for (const HubModel *h = HUB; h->name; h++)
        if (!strcmp(h->name, name)) return h;
    return NULL;
}

const char *hub_choices(void)
{
    static char buf[256];
    if (!buf[0])
        for (const HubModel *h = HUB; h->name; h++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", h == HUB ? "" : "|", h->name);
    return buf;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

int hub_cache_dir(const char *repo, char *buf, size_t n, GrErr *e)
{
    char base[4096];
    if (paths_cache_dir("hub", base, sizeof base, e)) return -1;
    char flat[256];
    snprintf(flat, sizeof flat, "%s", repo);
    for (char *p = flat; *p; p++)
        if (*p == '/') *p = '-', memmove(p + 2, p + 1, strlen(p + 1) + 1), p[1] = '-', p++;
    if ((size_t)snprintf(buf, n, "%s/%s", base, flat) >= n) return gr_fail(e, "cache path too long");
    return 0;
}

/* ~/.cache/huggingface/hub/models--OWNER--NAME/snapshots/REV/ holding model.safetensors:
 * the revision refs/main names, else any snapshot that has the file. */
static int hf_cache_snapshot(const char *repo, char *dir, size_t n)
{
    char root[2048];
    const char *hc = getenv("HF_HUB_CACHE"), *hh = getenv("HF_HOME"), *xc = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (hc && *hc) snprintf(root, sizeof root, "%s", hc);
    else if (hh && *hh) snprintf(root, sizeof root, "%s/hub", hh);
    else if (xc && *xc == '/') snprintf(root, sizeof root, "%s/huggingface/hub", xc);
    else snprintf(root, sizeof root, "%s/.cache/huggingface/hub", home && *home ? home : ".");
    char flat[256], repo_dir[2400], p[4400];
    snprintf(flat, sizeof flat, "models--%s", repo);
    for (char *q = flat; *q; q++)
        if (*q == '/') *q = '-', memmove(q + 2, q + 1, strlen(q + 1) + 1), q[1] = '-', q++;
    snprintf(repo_dir, sizeof repo_dir, "%s/%s", root, flat);
    snprintf(p, sizeof p, "%s/refs/main", repo_dir);
    FILE *f = fopen(p, "r");
    char rev[128] = "";
    if (f) {
        if (fgets(rev, sizeof rev, f)) rev[strcspn(rev, "\r\n")] = 0;
        fclose(f);
    }
    if (rev[0] && !strchr(rev, '/')) {
        snprintf(dir, n, "%s/snapshots/%s", repo_dir, rev);
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        if (is_file(p)) return 0;
    }
    snprintf(p, sizeof p, "%s/snapshots", repo_dir);
    DIR *d = opendir(p);
    struct dirent *de;
    int found = 0;
    while (d && !found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        snprintf(dir, n, "%s/snapshots/%s", repo_dir, de->d_name);
        char m[4400];
        snprintf(m, sizeof m, "%s/model.safetensors", dir);
        found = is_file(m);
    }
    if (d) closedir(d);
    return found ? 0 : -1;
}

int hub_locate(const HubModel *hm, char *path, size_t n, GrErr *e)
{
    const char *dirs[8];
    int nd = paths_model_dirs(dirs, 8);
    for (int i = 0; i < nd; i++) {
        snprintf(path, n, "%s/%s/model.safetensors", dirs[i], hm->name);
        if (is_file(path)) return 0;
        snprintf(path, n, "%s/%s.safetensors", dirs[i], hm->name);
        if (is_file(path)) return 0;
    }
    char dir[4200];
    GrErr ce;
    if (!hub_cache_dir(hm->repo, dir, sizeof dir, &ce)) {
        snprintf(path, n, "%s/model.safetensors", dir);
        if (is_file(path)) return 0;
    }
    if (!hf_cache_snapshot(hm->repo, dir, sizeof dir)) {
        snprintf(path, n, "%s/model.safetensors", dir);
        return 0;
    }
    return gr_fail(e, "%s is not downloaded (looked in the model folders, the gptrepl cache and the Hugging Face cache)",
                   hm->name);
}

/* ---- libcurl, opened at run time ---- */

typedef struct {
    void *so;
    CURL *(*easy_init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    CURLcode (*getinfo)(CURL *, CURLINFO, ...);
    void (*cleanup)(CURL *);
    const char *(*strerr)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free)(struct curl_slist *);
} Curl;

static int curl_open(Curl *c, GrErr *e)
{
    static const char *const NAMES[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so", NULL};
    memset(c, 0, sizeof *c);
    for (int i = 0; NAMES[i] && !c->so; i++) c->so = dlopen(NAMES[i], RTLD_NOW | RTLD_LOCAL);
    if (!c->so) return gr_fail(e, "downloads need libcurl, which is not installed (Debian: apt-get install libcurl4)");
#define SYM(field, name) *(void **)&c->field = dlsym(c->so, name)
    SYM(easy_init, "curl_easy_init");
    SYM(setopt, "curl_easy_setopt");
    SYM(perform, "curl_easy_perform");
    SYM(getinfo, "curl_easy_getinfo");
    SYM(cleanup, "curl_easy_cleanup");
    SYM(strerr, "curl_easy_strerror");
    SYM(slist_append, "curl_slist_append");
    SYM(slist_free, "curl_slist_free_all");
#undef SYM
    if (!c->easy_init || !c->setopt || !c->perform || !c->getinfo || !c->cleanup || !c->strerr || !c->slist_append ||
        !c->slist_free) {
        dlclose(c->so);
        return gr_fail(e, "the libcurl found lacks curl_easy_*: downloads are not possible");
    }
    return 0;
}

static void curl_close(Curl *c)
{
    if (c->so) dlclose(c->so);
}

/* One response: its status and the headers we read. */
typedef struct {
    long status;
    char location[4096], etag[160], ctype[128];
    long long linked_size, length;
    /* the body goes to f when the status is 2xx (else kept, a little of it, in small) */
    FILE *f;
    int write_errno;
    long long written;
    char small[512];
    size_t nsmall;
    /* progress */
    Session *s;
    const char *what;
    long long base, total;
    double t0, last;
} Resp;

static void trim(char *v)
{
    size_t n = strlen(v);
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) v[--n] = 0;
    while (*v == ' ') memmove(v, v + 1, strlen(v));
}

static size_t on_header(char *buf, size_t sz, size_t nm, void *ud)
{
    Resp *r = ud;
    size_t n = sz * nm;
    char line[4300];
    size_t k = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, buf, k);
    line[k] = 0;
    if (!strncmp(line, "HTTP/", 5)) {
        /* a new response (after a 100 Continue, say): start over */
        const char *sp = strchr(line, ' ');
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->location[0] = r->etag[0] = r->ctype[0] = 0;
        r->linked_size = r->length = -1;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon) return n;
    *colon = 0;
    char *v = colon + 1;
    trim(v);
    if (!strcasecmp(line, "location")) snprintf(r->location, sizeof r->location, "%s", v);
    else if (!strcasecmp(line, "x-linked-etag")) snprintf(r->etag, sizeof r->etag, "%s", v);
    else if (!strcasecmp(line, "x-linked-size")) r->linked_size = strtoll(v, NULL, 10);
    else if (!strcasecmp(line, "content-length")) r->length = strtoll(v, NULL, 10);
    else if (!strcasecmp(line, "content-type")) snprintf(r->ctype, sizeof r->ctype, "%s", v);
    return n;
}

static size_t on_body(char *buf, size_t sz, size_t nm, void *ud)
{
    Resp *r = ud;
    size_t n = sz * nm;
    if (r->status >= 200 && r->status < 300 && r->f) {
        errno = 0;
        if (fwrite(buf, 1, n, r->f) != n) {
            r->write_errno = errno ? errno : EIO;
            return 0; /* curl stops: CURLE_WRITE_ERROR */
        }
        r->written += (long long)n;
        return n;
    }
    size_t k = n < sizeof r->small - 1 - r->nsmall ? n : sizeof r->small - 1 - r->nsmall;
    memcpy(r->small + r->nsmall, buf, k);
    r->nsmall += k;
    r->small[r->nsmall] = 0;
    return n;
}

static void human(char *b, size_t n, double v)
{
    if (v >= 1e9) snprintf(b, n, "%.2f GB", v / 1e9);
    else if (v >= 1e6) snprintf(b, n, "%.1f MB", v / 1e6);
    else if (v >= 1e3) snprintf(b, n, "%.0f kB", v / 1e3);
    else snprintf(b, n, "%.0f B", v);
}

/* The progress bar (size, speed, time left); Ctrl-C stops the transfer. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ut, curl_off_t un)
{
    (void)ut, (void)un;
    Resp *r = ud;
    if (g_interrupted) return 1;
    Session *s = r->s;
    double t = now_ms();
    if (!s || !s->is_tty || t - r->last < 200 || r->status < 200 || r->status >= 300) return 0;
    r->last = t;
    long long total = r->total > 0 ? r->total : dltotal > 0 ? r->base + dltotal : 0, have = r->base + dlnow;
    double secs = (t - r->t0) / 1e3, rate = secs > 0 ? dlnow / secs : 0;
    char a[32], b[32], c[32];
    human(a, sizeof a, (double)have);
    human(b, sizeof b, (double)total);
    human(c, sizeof c, rate);
    int width = 24, fill = total > 0 ? (int)(width * (double)have / (double)total) : 0;
    sb_printf(&s->out, "\r\x1b[K%s [", r->what);
    for (int i = 0; i < width; i++) sb_puts(&s->out, i < fill ? "\xe2\x96\x88" : "\xc2\xb7");
    sb_printf(&s->out, "] %s / %s  %s/s", a, total > 0 ? b : "?", c);
    if (total > 0 && rate > 0) sb_printf(&s->out, "  %.0f s left", (double)(total - have) / rate);
    if (s->flush) s->flush(s);
    return 0;
}

typedef struct {
    CURLcode rc;
    char err[CURL_ERROR_SIZE];
} Got;

/* GET url (no redirects followed), from byte `from` on; the body to r->f when 2xx. */
static Got http_get(Curl *c, const char *url, long long from, Resp *r)
{
    Got g = {CURLE_OK, ""};
    CURL *h = c->easy_init();
    if (!h) {
        g.rc = CURLE_FAILED_INIT;
        snprintf(g.err, sizeof g.err, "curl_easy_init failed");
        return g;
    }
    char range[64];
    r->status = 0;
    r->linked_size = r->length = -1;
    r->location[0] = r->etag[0] = r->ctype[0] = 0;
    r->nsmall = 0;
    r->small[0] = 0;
    r->t0 = r->last = now_ms();
    c->setopt(h, CURLOPT_URL, url);
    c->setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    c->setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    c->setopt(h, CURLOPT_HEADERDATA, r);
    c->setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    c->setopt(h, CURLOPT_WRITEDATA, r);
    c->setopt(h, CURLOPT_NOPROGRESS, 0L);
    c->setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    c->setopt(h, CURLOPT_XFERINFODATA, r);
    c->setopt(h, CURLOPT_USERAGENT, "gptrepl/" GPTREPL_VERSION);
    c->setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    c->setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled connection ends, and resumes */
    c->setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    c->setopt(h, CURLOPT_NOSIGNAL, 1L);
    c->setopt(h, CURLOPT_ERRORBUFFER, g.err);
    if (from > 0) {
        snprintf(range, sizeof range, "%lld-", from);
        c->setopt(h, CURLOPT_RANGE, range);
    }
    g.rc = c->perform(h);
    if (g.rc != CURLE_OK && !g.err[0]) snprintf(g.err, sizeof g.err, "%s", c->strerr(g.rc));
    c->cleanup(h);
    return g;
}

static const char *endpoint(void)
{
    const char *e = getenv("GPTREPL_HF_ENDPOINT");
    if (!e || !*e) e = getenv("HF_ENDPOINT");
    return e && *e ? e : "https://huggingface.co";
}

static int offline(void)
{
    const char *o = getenv("HF_HUB_OFFLINE");
    return o && *o && strcmp(o, "0") != 0;
}

/* A body that is a web page, not the file (a login or an error page). */
static int is_html(const Resp *r, const char *path)
{
    if (!strncasecmp(r->ctype, "text/html", 9)) return 1;
    char head[64] = "";
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t k = fread(head, 1, sizeof head - 1, f);
        head[k] = 0;
        fclose(f);
    }
    const char *p = head;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return !strncasecmp(p, "<!doctype html", 14) || !strncasecmp(p, "<html", 5);
}

/* One file into dir/name, through dir/name.part. */
static int fetch_file(Session *s, Curl *c, const HubModel *hm, const char *name, const char *dir, int required,
                      GrErr *e)
{
    char final[4400], part[4400], url[4400], resolve[4400];
    snprintf(final, sizeof final, "%s/%s", dir, name);
    snprintf(part, sizeof part, "%s/%s.part", dir, name);
    snprintf(resolve, sizeof resolve, "%s/%s/resolve/main/%s", endpoint(), hm->repo, name);
    if (is_file(final)) return 0;
    char what[96];
    snprintf(what, sizeof what, "%s %s", hm->name, name);
    Resp r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.what = what;
    char want_sha[80] = "";
    long long want_size = -1;
    char rpart[4410];
    snprintf(rpart, sizeof rpart, "%s/%s.resolve", dir, name);
    for (int attempt = 0; attempt < 6; attempt++) {
        /* 1. the resolve URL: a small file itself (its body to name.resolve), or a
         *    redirect to the storage host (the bytes so far in name.part stay) */
        FILE *f = fopen(rpart, "wb");
        if (!f) return gr_fail(e, "cannot write %s: %s", rpart, strerror(errno));
        r.f = f;
        r.base = 0;
        r.total = -1;
        r.written = 0;
        r.write_errno = 0;
        Got g = http_get(c, resolve, 0, &r);
        int st = (int)r.status, werr = r.write_errno;
        if (fclose(f) != 0 && !werr) werr = errno;
        if (st < 200 || st >= 300) unlink(rpart);
        if (g.rc == CURLE_ABORTED_BY_CALLBACK) {
            unlink(rpart);
            return gr_fail(e, "download of %s stopped (Ctrl-C); 'load %s' goes on from there", name, hm->name);
        }
        if (g.rc != CURLE_OK && r.status == 0)
            return gr_fail(e, "cannot reach %s (%s): put %s from %s/%s into %s, or set HF_ENDPOINT to a mirror",
                           endpoint(), g.err, name, endpoint(), hm->repo, dir);
        if (st == 404 && !required) return 0;
        if (st == 404) return gr_fail(e, "%s has no %s on %s (404)", hm->repo, name, endpoint());
        if (st == 401 || st == 403)
            return gr_fail(e, "%s refused %s/%s (%d): it needs a login or is gated", endpoint(), hm->repo, name, st);
        if (st >= 500) return gr_fail(e, "%s answered %d (a server error) for %s; try again later", endpoint(), st, name);
        if (st == 200) {
            if (werr) { unlink(rpart); return gr_fail(e, "cannot write %s: %s", rpart, strerror(werr)); }
            if (is_html(&r, rpart)) {
                unlink(rpart);
                return gr_fail(e, "%s sent an HTML page instead of %s (a login or error page?)", endpoint(), name);
            }
            if (g.rc != CURLE_OK) { unlink(rpart); continue; } /* cut: a small file starts again */
            if (r.length >= 0) want_size = r.length;
            if (rename(rpart, part) != 0) return gr_fail(e, "cannot place %s: %s", part, strerror(errno));
        } else if (st >= 300 && st < 400) {
            if (!r.location[0]) return gr_fail(e, "%s redirected %s without a Location", endpoint(), name);
            if (r.location[0] == '/') { /* the repository moved: ask there */
                snprintf(resolve, sizeof resolve, "%s%s", endpoint(), r.location);
                continue;
            }
            /* the sha256 and size of the file, from the first response */
            if (r.etag[0]) {
                const char *q = r.etag;
                if (!strncmp(q, "W/", 2)) q += 2;
                if (*q == '"') q++;
                snprintf(want_sha, sizeof want_sha, "%.64s", q);
            }
            if (r.linked_size >= 0) want_size = r.linked_size;
            snprintf(url, sizeof url, "%s", r.location);
            /* 2. the storage host, from the bytes we have (Range); its URL expires */
            long long have = file_size(part);
            if (have < 0) have = 0;
            if (want_size >= 0 && have > want_size) { unlink(part); have = 0; }
            if (want_size < 0 || have < want_size) {
                f = fopen(part, have > 0 ? "ab" : "wb");
                if (!f) return gr_fail(e, "cannot write %s: %s", part, strerror(errno));
                r.f = f;
                r.base = have;
                r.total = want_size;
                r.written = 0;
                r.write_errno = 0;
                g = http_get(c, url, have, &r);
                st = (int)r.status;
                werr = r.write_errno;
                if (fclose(f) != 0 && !werr) werr = errno;
                if (st >= 200 && st < 300 && is_html(&r, part)) {
                    unlink(part);
                    return gr_fail(e, "the storage host sent an HTML page instead of %s (a login or error page?)", name);
                }
                if (st == 200 && have > 0) { /* the server ignored Range: start over */
                    unlink(part);
                    continue;
                }
                if (werr)
                    return gr_fail(e, "cannot write %s: %s (the partial file is kept for a resume)", part, strerror(werr));
                if (g.rc == CURLE_ABORTED_BY_CALLBACK) {
                    if (s && s->is_tty) sb_puts(&s->out, "\n");
                    return gr_fail(e, "download of %s stopped (Ctrl-C) at %lld of %lld bytes; 'load %s' goes on from there",
                                   name, file_size(part), want_size, hm->name);
                }
                if (st == 403 || st == 410) continue; /* the redirect expired: resolve again */
                if (st == 416) {
                    if (!(want_size >= 0 && file_size(part) == want_size)) { unlink(part); continue; }
                } else if (st == 404) {
                    return gr_fail(e, "the storage host has no %s (404)", name);
                } else if (st >= 500) {
                    return gr_fail(e, "the storage host answered %d for %s; try again later", st, name);
                } else if (g.rc != CURLE_OK || (st != 200 && st != 206)) {
                    continue; /* dropped mid-way: resume */
                }
            }
        } else {
            return gr_fail(e, "%s answered %d for %s/%s", endpoint(), st, hm->repo, name);
        }
        if (want_size >= 0 && file_size(part) < want_size) continue; /* short: resume */
        if (s && s->is_tty) sb_puts(&s->out, "\n");
        if (is_html(&r, part)) {
            unlink(part);
            return gr_fail(e, "%s sent an HTML page instead of %s (a login or error page?)", endpoint(), name);
        }
        long long got = file_size(part);
        if (want_size >= 0 && got != want_size) {
            unlink(part);
            return gr_fail(e, "%s: got %lld bytes, the Hub says %lld; removed it", name, got, want_size);
        }
        if (strlen(want_sha) == 64) {
            char hex[65];
            if (sha256_file_hex(part, hex)) return gr_fail(e, "cannot read back %s", part);
            if (strcasecmp(hex, want_sha)) {
                unlink(part);
                return gr_fail(e, "%s: sha256 %.12s… is not the Hub's %.12s… (corrupted on the way); removed it", name, hex,
                               want_sha);
            }
        }
        if (!strcmp(name, "config.json") || !strcmp(name, "vocab.json")) {
            /* small files come without a checksum: they must at least be JSON */
            FILE *jf = fopen(part, "rb");
            char *txt = NULL;
            long n = -1;
            if (jf && fseek(jf, 0, SEEK_END) == 0 && (n = ftell(jf)) >= 0 && fseek(jf, 0, SEEK_SET) == 0 &&
                (txt = malloc((size_t)n + 1)) && fread(txt, 1, (size_t)n, jf) == (size_t)n) {
                txt[n] = 0;
            } else {
                free(txt);
                txt = NULL;
            }
            if (jf) fclose(jf);
            cJSON *j = txt ? cJSON_Parse(txt) : NULL;
            free(txt);
            int ok = j && cJSON_IsObject(j);
            cJSON_Delete(j);
            if (!ok) {
                unlink(part);
                return gr_fail(e, "%s from %s is not JSON (an error page?); removed it", name, endpoint());
            }
        }
        if (rename(part, final) != 0) return gr_fail(e, "cannot place %s: %s", final, strerror(errno));
        return 0;
    }
    return gr_fail(e, "%s: the download kept failing (6 tries); 'load %s' tries again from where it stopped", name,
                   hm->name);
}

int hub_fetch(Session *s, const HubModel *hm, char *path, size_t n, GrErr *e)
{
    GrErr le;
    if (!hub_locate(hm, path, n, &le)) return 0;
    char dir[4200];
    if (hub_cache_dir(hm->repo, dir, sizeof dir, e)) return -1;
    if (s->lesson)
        return gr_fail(e, "this lesson needs %s, which is not downloaded; lessons never download: 'load %s' at the "
                          "prompt fetches it (%s)", hm->name, hm->name, hm->size);
    if (offline())
        return gr_fail(e, "%s is not downloaded and HF_HUB_OFFLINE is set: put model.safetensors and config.json from "
                          "%s/%s into %s", hm->name, endpoint(), hm->repo, dir);
    GrErr me;
    if (paths_mkdirs(dir, &me) || access(dir, W_OK) != 0)
        return gr_fail(e, "cannot write the download cache %s (%s): set XDG_CACHE_HOME to a folder you can write, or "
                          "put the files in a folder of GPTREPL_MODELS", dir, me.msg[0] ? me.msg : strerror(errno));
    Curl c;
    if (curl_open(&c, e)) return -1;
    sb_printf(&s->out, "fetching %s (%s) from %s/%s into %s\n", hm->name, hm->size, endpoint(), hm->repo, dir);
    if (s->flush) s->flush(s);
    int rc = 0;
    for (int i = 0; i < HUB_FILES && !rc; i++) rc = fetch_file(s, &c, hm, HUB_FILE_NAMES[i], dir, HUB_REQUIRED[i], e);
    curl_close(&c);
    if (rc) return -1;
    snprintf(path, n, "%s/model.safetensors", dir);
    return 0;
}

void hub_list(StrBuf *out)
{
    sb_puts(out, "models by name ('load NAME' fetches what is missing from the Hugging Face Hub):\n");
    for (const HubModel *h = HUB; h->name; h++) {
        char path[4400];
        GrErr e;
        if (!hub_locate(h, path, sizeof path, &e)) {
            char sz[32];
            human(sz, sizeof sz, (double)file_size(path));
            sb_printf(out, "  %-12s %-30s %9s  %s\n", h->name, h->repo, sz, path);
        } else {
            sb_printf(out, "  %-12s %-30s %9s  not downloaded\n", h->name, h->repo, h->size);
        }
    }
    const char *dirs[8];
    int nd = paths_model_dirs(dirs, 8);
    sb_puts(out, "in the model folders:\n");
    int any = 0;
    for (int i = 0; i < nd; i++) {
        DIR *d = opendir(dirs[i]);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            size_t l = strlen(de->d_name);
            if (l > 12 && !strcmp(de->d_name + l - 12, ".safetensors")) {
                char p[4400], sz[32];
                snprintf(p, sizeof p, "%s/%s", dirs[i], de->d_name);
                human(sz, sizeof sz, (double)file_size(p));
                sb_printf(out, "  %-43.*s %9s  %s\n", (int)(l - 12), de->d_name, sz, p);
                any = 1;
            }
        }
        if (d) closedir(d);
    }
    if (!any) sb_puts(out, "  (none)\n");
}
