/* config.c — presets, the config key table, validation. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int L, H, d, ctx, V, mlp, tok;
} Preset;

static const Preset PRESETS[] = {
    {"gpt2", 12, 12, 768, 1024, 50257, 1, TOK_GPT2},
    {"gpt2-medium", 24, 16, 1024, 1024, 50257, 1, TOK_GPT2},
    {"gpt2-large", 36, 20, 1280, 1024, 50257, 1, TOK_GPT2},
    {"gpt2-xl", 48, 25, 1600, 1024, 50257, 1, TOK_GPT2},
    {"tiny", 4, 4, 128, 128, 96, 1, TOK_CHAR},       /* the default char vocabulary has 96 symbols */
    {"one-head", 1, 1, 64, 8, 50257, 0, TOK_GPT2},   /* the seeds' "Model 3" */
};
#define NPRESETS (int)(sizeof PRESETS / sizeof PRESETS[0])

#define KEY_INT(nm, l, u, field, h) \
    {.name = nm, .kind = FK_INT, .lo = l, .hi = u, .store = FS_INT, .off = offsetof(GptConfig, field), .help = h}
#define KEY_CHOICE(nm, ch, field, h) \
    {.name = nm, .kind = FK_CHOICE, .choices = ch, .store = FS_INT, .off = offsetof(GptConfig, field), .help = h, \
     .comp = COMP_CHOICES}

static const FieldDef KEYS[] = {
    KEY_INT("layers", 1, 4096, n_layer, "transformer blocks (L)"),
    KEY_INT("heads", 1, 4096, n_head, "attention heads per block (H); they must divide d"),
    KEY_INT("d", 1, 1048576, d, "width of the residual stream (C)"),
    KEY_INT("ctx", 1, 1048576, ctx, "longest sequence the model reads (its context)"),
    {.name = "vocab", .kind = FK_INT, .lo = 2, .hi = 16777216, .choices = "chars|bytes|gpt2|vi", .store = FS_INT,
     .off = offsetof(GptConfig, vocab), .comp = COMP_CHOICES,
     .help = "ids: a number (byte tokenizer), chars (newline + printable ASCII, 96), bytes (256), gpt2 (50257 BPE), "
             "chars:FILE (the characters of a file)"},
    KEY_CHOICE("norm", "pre|post", post_norm, "Pre-LN (GPT-2) or Post-LN (the original Transformer)"),
    KEY_CHOICE("tie", "off|on", tie, "logits through wte (tied) or a separate lm_head.w"),
    KEY_CHOICE("act", "gelu|relu", relu, "the MLP's activation (GELU in GPT-2's tanh form)"),
    KEY_CHOICE("pos", "none|learned", pos, "learned position embedding wpe"),
    KEY_CHOICE("mlp", "off|on", mlp, "an MLP sublayer in every block"),
    KEY_CHOICE("logit_scale", "off|on", logit_scale, "logits divided by sqrt(d)"),
    {.name = NULL},
};

static const FieldDef TOKENIZER_KEY =
    KEY_CHOICE("tokenizer", "byte|char|gpt2", tokenizer, "how text becomes ids (set by vocab)");

const FieldDef *cfg_keys(void) { return KEYS; }
const FieldDef *cfg_tokenizer_key(void) { return &TOKENIZER_KEY; }

const char *cfg_preset_choices(void)
{
    static char buf[256];
    if (!buf[0])
        for (int i = 0; i < NPRESETS; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "|" : "", PRESETS[i].name);
    return buf;
}

int cfg_preset(GptConfig *c, const char *name, GrErr *e)
{
    for (int i = 0; i < NPRESETS; i++) {
        const Preset *p = &PRESETS[i];
        if (strcmp(p->name, name) != 0) continue;
        memset(c, 0, sizeof *c);
        snprintf(c->preset, sizeof c->preset, "%s", p->name);
        c->n_layer = p->L;
        c->n_head = p->H;
        c->d = p->d;
        c->ctx = p->ctx;
        c->vocab = p->V;
        c->tie = 1;
        c->pos = 1;
        c->mlp = p->mlp;
        c->tokenizer = p->tok;
        return 0;
    }
    FieldDef f = {.name = "PRESET", .kind = FK_CHOICE, .choices = cfg_preset_choices()};
    FieldVal v;
    return field_parse(&f, "the preset", name, NAN, NAN, &v, e);
}

int cfg_set(GptConfig *c, const char *key, const char *val, GrErr *e)
{
    const FieldDef *f = field_find(KEYS, key);
    if (!f && !strcmp(key, "tokenizer")) f = &TOKENIZER_KEY;
    if (!f) {
        StrBuf b;
        sb_init(&b);
        for (const FieldDef *k = KEYS; k->name; k++) sb_printf(&b, "%s%s", k == KEYS ? "" : " ", k->name);
        const char *s = gr_suggest_fields(key, KEYS);
        if (s) gr_fail(e, "unknown key '%s' (did you mean '%s'? keys: %s)", key, s, b.s);
        else gr_fail(e, "unknown key '%s' (keys: %s)", key, b.s);
        sb_free(&b);
        return -1;
    }
    FieldVal v;
    if (field_parse(f, f->name, val, NAN, NAN, &v, e)) return -1;
    if (!strcmp(key, "vocab")) {
        /* vi: '\n', ASCII, 134 Vietnamese letters, 7 punctuation marks (tokenizer.h) */
        static const int kinds[] = {TOK_CHAR, TOK_BYTE, TOK_GPT2, TOK_CHAR}, sizes[] = {96, 256, 50257, 237};
        if (v.choice >= 0) {
            c->tokenizer = kinds[v.choice];
            c->vocab = sizes[v.choice];
            return 0;
        }
        c->vocab = (int)v.i;
        if (c->tokenizer == TOK_CHAR || (c->tokenizer == TOK_GPT2 && c->vocab != 50257)) c->tokenizer = TOK_BYTE;
        return 0;
    }
    field_store(f, &v, c);
    return 0;
}

void cfg_get(const GptConfig *c, const char *key, StrBuf *out)
{
    const FieldDef *f = field_find(KEYS, key);
    if (!f && !strcmp(key, "tokenizer")) f = &TOKENIZER_KEY;
    if (f) field_format(f, c, out);
}

unsigned cfg_flags(const GptConfig *c)
{
    return (c->post_norm ? W_POST : W_PRE) | (c->mlp ? W_MLP : 0) | (c->relu ? W_RELU : W_GELU) |
           (c->pos ? W_POS : 0) | (c->tie ? 0 : W_UNTIED);
}

size_t model_mem_available(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psz <= 0) return (size_t)8 << 30;
    return (size_t)pages * (size_t)psz;
}

int cfg_validate(const GptConfig *c, GrErr *e)
{
    /* Ranges of each key first (a config may come from a file, not through cfg_set). */
    for (const FieldDef *k = KEYS; k->name; k++) {
        if (k->kind != FK_INT) continue;
        int x = *(const int *)((const char *)c + k->off);
        char got[24];
        snprintf(got, sizeof got, "%d", x);
        if (x < k->lo || x > k->hi) return gr_fail_range(e, "", k->name, got, k->lo, k->hi, 0);
    }
    if (c->d % c->n_head) return gr_fail(e, "heads (%d) must divide d (%d)", c->n_head, c->d);
    double bytes = (double)cfg_param_count(c) * 4.0, avail = (double)model_mem_available();
    if (bytes > 0.8 * avail)
        return gr_fail(e, "this model needs %.1f GB for its parameters alone; the machine has %.1f GB",
                       bytes / 1e9, avail / 1e9);
    return 0;
}
