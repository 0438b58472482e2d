/* side.c — the side panel. */
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1

#include "side.h"
#include "pictures.h"
#include "param_abl.h"
#include "stages.h"

#include <math.h>
#include <ncursesw/curses.h>
#include <stdio.h>
#include <string.h>

static void fmt_count(char *buf, size_t n, double v)
{
    if (v >= 1e9) snprintf(buf, n, "%.2fB", v / 1e9);
    else if (v >= 1e6) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 1e4) snprintf(buf, n, "%.1fk", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
}

typedef struct {
    const Screen *sc;
    int y, x, w, bottom;
} Pen;

static void line(Pen *p, const char *text, StyleKind k)
{
    if (p->y >= p->bottom) return;
    screen_fill(p->sc, p->y, p->x, p->w, screen_style(p->sc, ST_PLAIN));
    screen_text(p->sc, p->y, p->x + 1, p->w - 1, text, screen_style(p->sc, k));
    p->y++;
}

static void skip(Pen *p)
{
    if (p->y < p->bottom) screen_fill(p->sc, p->y++, p->x, p->w, screen_style(p->sc, ST_PLAIN));
}

void side_draw(const Screen *sc, Session *s, int top, int bottom, int x, int w)
{
    for (int y = top; y < bottom; y++) mvadd_wch(y, x - 1, WACS_VLINE);
    Pen p = {sc, top, x, w, bottom};
    char buf[512], n1[32];
    line(&p, "MODEL", ST_HEAD);
    if (s->m) {
        const GptConfig *c = &s->m->cfg;
        StrBuf nm;
        sb_init(&nm);
        pic_model_desc(s, &nm); /* a file by its base name */
        line(&p, nm.s ? nm.s : "(unnamed)", ST_BOLD);
        sb_free(&nm);
        snprintf(buf, sizeof buf, "%d layer%s · %d head%s · d %d", c->n_layer, c->n_layer == 1 ? "" : "s", c->n_head,
                 c->n_head == 1 ? "" : "s", c->d);
        line(&p, buf, ST_PLAIN);
        snprintf(buf, sizeof buf, "ctx %d · vocab %d %s", c->ctx, c->vocab,
                 c->tokenizer == TOK_CHAR ? "char" : c->tokenizer == TOK_GPT2 ? "bpe" : "byte");
        line(&p, buf, ST_PLAIN);
        if (c->post_norm || !c->tie || c->relu || !c->pos || !c->mlp || c->logit_scale) {
            snprintf(buf, sizeof buf, "%s%s%s%s%s%s", c->post_norm ? "post-LN " : "", c->tie ? "" : "untied ",
                     c->relu ? "relu " : "", c->pos ? "" : "no-pos ", c->mlp ? "" : "no-mlp ",
                     c->logit_scale ? "z/√d" : "");
            line(&p, buf, ST_PLAIN);
        }
        fmt_count(n1, sizeof n1, (double)s->m->total);
        snprintf(buf, sizeof buf, "%s params · device %s", n1, s->m->be->name);
        line(&p, buf, ST_PLAIN);
        const LossHistory *h = &s->m->hist;
        if (h->n) {
            /* the training since new/load: a sparkline that fits the panel, and val — until
             * the first evaluation */
            skip(&p);
            snprintf(buf, sizeof buf, "TRAINING  step %ld", s->m->step);
            line(&p, buf, ST_HEAD);
            char val[32] = "\xe2\x80\x94";
            if (h->nval && !isnan(h->val[2 * h->nval - 1])) snprintf(val, sizeof val, "%.3f", h->val[2 * h->nval - 1]);
            snprintf(buf, sizeof buf, "loss %.3f · val %s", h->loss[h->n - 1], val);
            line(&p, buf, ST_PLAIN);
            StrBuf sp;
            sb_init(&sp);
            VizOpts o = {.color = VIZ_COLOR_16, .width = w - 2};
            viz_sparkline(&sp, &o, h->loss, h->n);
            char *nl = sp.s ? strchr(sp.s, '\n') : NULL;
            if (nl) *nl = 0;
            /* the blocks only: the numbers are on the line above */
            char *cut = sp.s ? strstr(sp.s, "  min") : NULL;
            if (cut) *cut = 0;
            line(&p, sp.s ? sp.s : "", ST_CYAN);
            sb_free(&sp);
            if (s->m->unsaved) line(&p, "unsaved: 'save PATH' keeps it", ST_ERR);
        }
    } else {
        line(&p, "(no model)", ST_DIM);
        line(&p, "try: new tiny", ST_DIM);
    }
    skip(&p);
    line(&p, "SETTINGS", ST_HEAD);
    snprintf(buf, sizeof buf, "temperature %g · precision %s", s->samp.temperature, prec_def((Precision)s->prec)->name);
    line(&p, buf, ST_PLAIN);
    snprintf(buf, sizeof buf, "top_k %d · top_p %g", s->samp.top_k, s->samp.top_p);
    line(&p, buf, ST_PLAIN);
    snprintf(buf, sizeof buf, "color %s · seed %llu", viz_color_name(s->color), (unsigned long long)s->seed);
    line(&p, buf, ST_PLAIN);
    if (abl_count(s)) {
        skip(&p);
        snprintf(buf, sizeof buf, "ABLATED (%d)", abl_count(s));
        line(&p, buf, ST_ERR);
        for (int i = 0; i < abl_count(s) && p.y < bottom - 4; i++) {
            abl_describe(s, i, buf, sizeof buf);
            line(&p, buf, ST_PLAIN);
        }
    }
    if (s->trace && s->run_text) {
        skip(&p);
        StrBuf t;
        sb_init(&t);
        viz_text_escape(&t, s->run_text);
        snprintf(buf, sizeof buf, "RUN  %d token%s", s->trace->T, s->trace->T == 1 ? "" : "s");
        line(&p, buf, ST_HEAD);
        snprintf(buf, sizeof buf, "\"%s\"", t.s ? t.s : "");
        sb_free(&t);
        line(&p, buf, ST_PLAIN);
        if (s->trace->next >= s->trace->nstages && !isnan(s->trace->loss)) {
            snprintf(buf, sizeof buf, "loss %.4f (ln V %.3f)", s->trace->loss, log((double)s->m->cfg.vocab));
            line(&p, buf, ST_PLAIN);
        }
    }
    if (s->trace && s->trace->nstages > 0) {
        skip(&p);
        const Acts *f = s->trace;
        if (f->next >= f->nstages) snprintf(buf, sizeof buf, "STAGES  done (%d)", f->nstages);
        else snprintf(buf, sizeof buf, "STAGES  %d/%d  F5 step", f->next + 1, f->nstages);
        line(&p, buf, ST_HEAD);
        int avail = bottom - p.y;
        if (avail > 0) {
            int start = f->next - avail / 3;
            if (start > f->nstages - avail) start = f->nstages - avail;
            if (start < 0) start = 0;
            for (int i = start; i < f->nstages && p.y < bottom; i++) {
                const char *mark = i < f->next ? (sc->utf8 ? "✓ " : "+ ") : i == f->next ? (sc->utf8 ? "→ " : "> ") : "  ";
                screen_fill(sc, p.y, x, w, screen_style(sc, ST_PLAIN));
                int used = screen_text(sc, p.y, x + 1, w - 1, mark, screen_style(sc, i < f->next ? ST_DIM : ST_BOLD));
                Style ns = screen_style(sc, i < f->next ? ST_DIM : ST_CYAN);
                if (i == f->next) ns.attr |= AT_REV | AT_BOLD;
                screen_text(sc, p.y, x + 1 + used, w - 1 - used, f->stages[i].name, ns);
                p.y++;
            }
        }
    } else if (s->m) {
        skip(&p);
        line(&p, "STAGES", ST_HEAD);
        line(&p, "run \"text\" or step \"text\"", ST_DIM);
    }
    while (p.y < bottom) screen_fill(sc, p.y++, x, w, screen_style(sc, ST_PLAIN));
}
