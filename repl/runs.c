/* runs.c — named runs (`run --as`, `runs`) and weight snapshots (`snapshot`, `restore`). */
#include "runs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "names.h"

#define MAX_RUNS ((int)(sizeof ((Session *)0)->runs / sizeof ((Session *)0)->runs[0]))
#define MAX_SNAPS ((int)(sizeof ((Session *)0)->snaps / sizeof ((Session *)0)->snaps[0]))

size_t runs_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    double half = pages > 0 && psz > 0 ? (double)pages * psz / 2 : 4e9;
    return (size_t)(half < 8e9 ? half : 8e9);
}

size_t runs_bytes(const Session *s)
{
    size_t n = 0;
    for (int i = 0; i < s->nruns; i++) n += s->runs[i].a->bytes;
    for (int i = 0; i < s->nsnaps; i++) n += s->snaps[i].total * sizeof(float);
    return n;
}

int runs_name_ok(const Session *s, const char *name, GrErr *e)
{
    size_t n = strlen(name);
    int ok = n > 0 && n < sizeof s->runs[0].name && islower((unsigned char)name[0]);
    for (size_t i = 0; ok && i < n; i++) ok = islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_';
    if (!ok)
        return gr_fail(e, "'%s' cannot name a run: lowercase letters, digits and _, starting with a letter, at most %zu",
                       name, sizeof s->runs[0].name - 1);
    if (names_reserved((Session *)s, name))
        return gr_fail(e, "'%s' cannot name a run: %s.… would also mean the model's own '%s'", name, name, name);
    return 0;
}

static int find(const Session *s, const char *name)
{
    for (int i = 0; i < s->nruns; i++)
        if (!strcmp(s->runs[i].name, name)) return i;
    return -1;
}

int runs_keep(Session *s, const char *name, const Acts *a, const char *text, GrErr *e)
{
    if (runs_name_ok(s, name, e)) return -1;
    int i = find(s, name);
    if (i < 0 && s->nruns == MAX_RUNS) return gr_fail(e, "at most %d named runs ('runs drop NAME' makes room)", MAX_RUNS);
    size_t have = runs_bytes(s) - (i >= 0 ? s->runs[i].a->bytes : 0), budget = runs_budget();
    if (have + a->bytes > budget)
        return gr_fail(e, "keeping run '%s' needs %.1f MB; kept runs and snapshots hold %.1f MB of %.1f MB ('runs drop "
                          "NAME' frees some)", name, a->bytes / 1e6, have / 1e6, budget / 1e6);
    Acts *c = acts_clone(a, e);
    char *t = c ? strdup(text ? text : "") : NULL;
    if (!t) {
        if (c) acts_free(s->m, c);
        return c ? gr_fail(e, "out of memory") : -1;
    }
    if (i < 0) i = s->nruns++;
    else {
        acts_free(s->m, s->runs[i].a);
        free(s->runs[i].text);
    }
    snprintf(s->runs[i].name, sizeof s->runs[i].name, "%s", name);
    s->runs[i].a = c;
    s->runs[i].text = t;
    return 0;
}

const Acts *runs_get(Session *s, const char *name, GrErr *e)
{
    if (!strcmp(name, "last")) {
        if (!s->trace) return gr_fail(e, "no last run yet"), NULL;
        return s->trace;
    }
    int i = find(s, name);
    if (i >= 0) return s->runs[i].a;
    if (!s->nruns) return gr_fail(e, "no run named '%s' (keep one with run --as %s TEXT)", name, name), NULL;
    StrBuf b;
    sb_init(&b);
    for (int k = 0; k < s->nruns; k++) sb_printf(&b, "%s%s", k ? ", " : "", s->runs[k].name);
    gr_fail(e, "no run named '%s' (runs: %s, and last)", name, b.s);
    sb_free(&b);
    return NULL;
}

const Acts *runs_split(const Session *s, const char *name, const char **rest)
{
    const char *dot = strchr(name, '.');
    if (!dot) return NULL;
    for (int i = 0; i < s->nruns; i++)
        if (strlen(s->runs[i].name) == (size_t)(dot - name) && !strncmp(s->runs[i].name, name, (size_t)(dot - name))) {
            *rest = dot + 1;
            return s->runs[i].a;
        }
    return NULL;
}

int runs_drop(Session *s, const char *name, GrErr *e)
{
    int i = find(s, name);
    if (i < 0) return runs_get(s, name, e) ? gr_fail(e, "'last' is not a kept run") : -1;
    for (int k = 0; k < s->nabl; k++)
        if (s->abl[k].src == s->runs[i].a)
            return gr_fail(e, "runs drop %s: %s reads from it ('%s' first)", name,
                           s->abl[k].mode == ABL_MEAN ? "a mean ablation" : "a patch",
                           s->abl[k].mode == ABL_MEAN ? "unablate" : "unpatch");
    acts_free(s->m, s->runs[i].a);
    free(s->runs[i].text);
    memmove(&s->runs[i], &s->runs[i + 1], sizeof s->runs[0] * (size_t)(s->nruns - i - 1));
    s->nruns--;
    return 0;
}

int runs_clear(Session *s)
{
    int n = s->nruns;
    for (int i = 0; i < s->nruns; i++) {
        acts_free(s->m, s->runs[i].a);
        free(s->runs[i].text);
    }
    s->nruns = 0;
    /* patches read from them */
    int k = 0;
    for (int i = 0; i < s->nabl; i++)
        if (!s->abl[i].src) s->abl[k++] = s->abl[i];
    s->nabl = k;
    if (s->trace) s->trace->nabl = s->nabl;
    return n;
}

void runs_list(Session *s, StrBuf *out)
{
    if (!s->nruns) sb_puts(out, "no named runs ('run --as NAME TEXT' keeps one)\n");
    for (int i = 0; i < s->nruns; i++) {
        const struct NamedRun *r = &s->runs[i];
        StrBuf t;
        sb_init(&t);
        viz_text_escape(&t, r->text);
        sb_printf(out, "  %-12s %3d tokens  loss %-8.4f %7.2f MB  \xe2\x80\x9c%.*s%s\xe2\x80\x9d\n", r->name, r->a->T,
                  r->a->loss, r->a->bytes / 1e6, 40, t.s ? t.s : "", t.len > 40 ? "\xe2\x80\xa6" : "");
        sb_free(&t);
    }
    for (int i = 0; i < s->nsnaps; i++)
        sb_printf(out, "  snapshot %-12s step %ld  %7.2f MB\n", s->snaps[i].name, s->snaps[i].step,
                  s->snaps[i].total * sizeof(float) / 1e6);
    sb_printf(out, "  %.2f MB of %.0f MB kept\n", runs_bytes(s) / 1e6, runs_budget() / 1e6);
}

void runs_each(const Session *s, void (*fn)(void *ctx, const char *name), void *ctx)
{
    for (int i = 0; i < s->nruns; i++) {
        char b[40];
        snprintf(b, sizeof b, "%s.", s->runs[i].name);
        fn(ctx, b);
    }
}

/* ---- snapshots ---- */

static int find_snap(const Session *s, const char *name)
{
    for (int i = 0; i < s->nsnaps; i++)
        if (!strcmp(s->snaps[i].name, name)) return i;
    return -1;
}

int snap_take(Session *s, const char *name, GrErr *e)
{
    if (runs_name_ok(s, name, e)) return -1;
    if (s->npabl) return gr_fail(e, "snapshot: %s is ablated; 'unablate' first, so the snapshot is the model's", s->pabl[0].spec);
    int i = find_snap(s, name);
    if (i < 0 && s->nsnaps == MAX_SNAPS) return gr_fail(e, "at most %d snapshots", MAX_SNAPS);
    size_t bytes = s->m->total * sizeof(float), have = runs_bytes(s) - (i >= 0 ? s->snaps[i].total * sizeof(float) : 0);
    if (have + bytes > runs_budget())
        return gr_fail(e, "snapshot %s needs %.1f MB; kept runs and snapshots hold %.1f MB of %.1f MB", name, bytes / 1e6,
                       have / 1e6, runs_budget() / 1e6);
    float *p = malloc(bytes);
    if (!p) return gr_fail(e, "snapshot: out of memory (%.1f MB)", bytes / 1e6);
    s->m->be->download(p, s->m->params, bytes);
    if (be_check(s->m->be, e)) {
        free(p);
        return -1;
    }
    if (i < 0) i = s->nsnaps++;
    else free(s->snaps[i].params);
    snprintf(s->snaps[i].name, sizeof s->snaps[i].name, "%s", name);
    s->snaps[i].params = p;
    s->snaps[i].total = s->m->total;
    s->snaps[i].step = s->m->step;
    return 0;
}

int snap_restore(Session *s, const char *name, GrErr *e)
{
    int i = find_snap(s, name);
    if (i < 0) return gr_fail(e, "restore: no snapshot named '%s' ('runs' lists them)", name);
    if (s->npabl) return gr_fail(e, "restore: %s is ablated; 'unablate' first", s->pabl[0].spec);
    if (s->snaps[i].total != s->m->total)
        return gr_fail(e, "restore: snapshot '%s' has %zu parameters, the model %zu", name, s->snaps[i].total, s->m->total);
    s->m->be->upload(s->m->params, s->snaps[i].params, s->m->total * sizeof(float));
    model_weights_changed(s->m);
    if (be_check(s->m->be, e)) return -1;
    s->m->step = s->snaps[i].step;
    s->m->unsaved = 1;
    s->grad_what[0] = 0;
    return 0;
}

void snap_clear(Session *s)
{
    for (int i = 0; i < s->nsnaps; i++) free(s->snaps[i].params);
    s->nsnaps = 0;
}
