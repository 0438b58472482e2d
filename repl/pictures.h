/* pictures.h — the picture descriptions the commands build: each command builds one Pic
 * (a heatmap or a grid of heatmaps, with its labels, titles and notes) from its
 * arguments, and the terminal or a file draws that same Pic. So `attn` and `export attn`
 * cannot drift: they differ only in where the Pic goes. */
#ifndef GR_PICTURES_H
#define GR_PICTURES_H

#include "args.h"
#include "session.h"

typedef struct {
    int grid;                 /* 0: heat, 1: grid */
    VizHeatmap heat;
    VizGrid g;
    VizHeatmap *maps;         /* grid: nmaps maps */
    int nmaps;
    char **names;             /* grid: the maps' names */
    char **labels;            /* token labels of the run (nlab), shared by the maps */
    int nlab;
    char **rlab;              /* heatmap rows labelled by something else (wte: by token) */
    int nrlab;
    float *data;              /* the windowed copy every map points into */
    char **words;             /* heatmap cell words (nwords = rows × cols): the lens's top tokens */
    int nwords;
    StrBuf title, subtitle, note;
} Pic;

/* `attn LAYER|all [HEAD|all]` and `export attn`: one head, a layer's heads, a head
 * through the layers, or layers × heads. term: the terminal it is for (its width and
 * height choose the default window), or NULL for a file. */
int pic_attn(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e);
/* The same from numbers: layer or head -1 for all; a window bound -1 for the default. */
int pic_attn_at(Session *s, int layer, int head, int ra, int rb, int ca, int cb, VizScaleMode mode, double clip,
                const VizOpts *term, Pic *p, GrErr *e);
/* `heatmap NAME[slice]` and `export heatmap`. */
int pic_heatmap(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e);
/* `lens` and `export lens`: depths × positions, the top next token written in each cell,
 * its probability (or --token's) the colour; term: as for pic_attn. */
int pic_lens(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e);
/* `heads --score` and `export heads`: layers × heads, the score written in each cell. */
int pic_heads(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e);

/* What every picture command has in common: build the Pic from the arguments, then draw
 * it in the terminal (CMD) or into --file at --size (export CMD); CMD_OK or CMD_ERR. */
typedef int (*PicBuild)(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e);
int pic_show(Session *s, const Args *a, PicBuild build, GrErr *e);
int pic_export(Session *s, const Args *a, PicBuild build, GrErr *e);
int pic_draw_term(const Pic *p, const VizOpts *o, StrBuf *out, GrErr *e);
int pic_draw_file(const Pic *p, const char *path, int w, int h, GrErr *e);
void pic_init(Pic *p);
void pic_free(Pic *p);

/* Next-token probabilities at position pos under nt temperatures, the top ones by the
 * logits (the same order at every temperature): p holds nt × V probabilities, ids the
 * order; b the bars (series "temp X" for the terminal, "τ = X" for files). */
typedef struct {
    VizBars b;
    double *p;
    int *ids, V, top, nt;
    char **labels, **series;
    float *values;
    StrBuf title;
} PicBars;
int pic_logits(Session *s, long pos, const double *temps, int nt, int top, int for_file, PicBars *pb, GrErr *e);
void pic_bars_free(PicBars *pb);

/* The model's name ("tiny"), its shape ("tiny: 2 layers × 4 heads, d=64") and “the
 * prompt”, for titles. */
void pic_model_desc(const Session *s, StrBuf *out);
void pic_model_dims(const Session *s, StrBuf *out);
void pic_prompt(const Session *s, StrBuf *out, int max_cols);

#endif
