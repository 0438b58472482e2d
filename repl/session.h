/* session.h — the one state struct of the REPL (sqlite3's shell style), the command row
 * type, and the one splitter of command lines into commands and words. */
#ifndef GR_SESSION_H
#define GR_SESSION_H

#include <signal.h>
#include <stdio.h>
#include "ckpt.h"
#include "field.h"
#include "generate.h"
#include "sample.h"
#include "stages.h"
#include "tokenizer.h"
#include "viz/viz.h"

#define MAX_ABL 16
#define GPTREPL_VERSION "0.13"
/* The model gptrepl opens without --model or --empty: models/NAME.safetensors. */
#define GPTREPL_BUNDLED "tiny-vi-en"

struct Args;
struct LessonRun;

typedef struct Session {
    Model *m;
    Tokenizer tok;
    char model_name[256];      /* preset or file it came from */
    char corpus[1024];         /* NAME.txt beside a loaded char model NAME.safetensors: train's default data */
    uint64_t seed;
    Rng rng;                   /* sampling */
    SampleCfg samp;
    /* the last run: its trace, with the stage cursor */
    Acts *trace;
    unsigned long trace_serial; /* bumped for every new trace: with its epoch, what derived values are of */
    char *run_text;
    Ablation abl[MAX_ABL];
    int nabl;
    /* parameter ablations (param_abl.c): the weights are changed in place, the originals
     * kept here so unablate restores them bit for bit */
    struct ParamAbl {
        char spec[64];         /* "L3.mlp.fc.w" or "wte[v=3]" */
        char mode[16];         /* "zero", "mean" */
        size_t offset, numel;  /* the whole parameter, in floats of m->params */
        float *saved;          /* its values before (host) */
    } pabl[MAX_ABL];
    int npabl;
    /* named runs (runs.c): `run --as NAME`, read as NAME.L0.pattern, diffed, patched from */
    struct NamedRun {
        char name[32];
        Acts *a;
        char *text;
    } runs[16];
    int nruns;
    /* weight snapshots (runs.c): `snapshot NAME` / `restore NAME` */
    struct Snapshot {
        char name[32];
        float *params;         /* host copy, m->total floats */
        size_t total;
        long step;
    } snaps[8];
    int nsnaps;
    /* the last `heads` command's scores (layers × heads), for head_score in expressions */
    float *head_score;
    int hs_rows, hs_cols;
    char hs_what[16];
    /* what m->grads hold: "backward of “to be”", "the last training step", or "" (nothing yet) */
    char grad_what[160];
    Acts *grad_trace;          /* d loss / d each trace tensor of the last run (backward), or NULL */
    /* output */
    StrBuf out;
    VizColor color;
    int color_auto;            /* `set color auto`: follow the terminal */
    int width, height;         /* the terminal (or pane); 80 × 24 when output is not a terminal */
    int is_tty, plain;
    /* the last generate's ids */
    int *gen_ids;
    int ngen, gen_cap;
    /* scripts and lessons */
    const char *src_file;      /* for file:line: in errors */
    int src_line;
    int errors;
    int quit;
    int bail;
    int lesson_batch;
    struct LessonRun *lesson;  /* the lesson running now (paths.c confines its files), or NULL */
    const char *lesson_out;    /* --out DIR for lessons, or NULL (the cache folder) */
    int allow_files;           /* --allow-files: lessons may read and write anywhere */
    /* the classroom */
    int theme;                 /* 0 dark, 1 light (projector: larger cells, no side panel) */
    int prec;                  /* Precision of inference (`set precision`), kept across new and load */
    FILE *log;                 /* `log FILE`: a transcript of commands and output, or NULL */
    size_t log_mark;           /* bytes of s->out already in the log */
    char log_path[1024];
    char **hist;               /* the commands typed this session (history --save), not lessons' */
    int nhist, hist_cap;
    int depth;                 /* inside `source` (its commands are not history) */
    int interactive;           /* someone at a prompt (TUI, --plain): quit asks about unsaved training */
    int quit_warned;
    int lesson_start_para;     /* `lesson NAME --at N`: where the next lesson starts (0: its start) */
    void (*clear)(struct Session *s); /* `clear` in the TUI, or NULL */
    /* streaming output (generate, train progress) goes straight here */
    void (*flush)(struct Session *s);
    /* an error line ("file:line: error: ..." on stderr by default; the TUI's pane) */
    void (*report)(struct Session *s, const char *msg);
    /* `lesson NAME`: the TUI steps lessons itself (NULL: lesson_run_file) */
    int (*start_lesson)(struct Session *s, const char *name, GrErr *e);
} Session;

enum { CMD_OK = 0, CMD_ERR = 1, CMD_QUIT = 2 };

typedef int (*CmdFn)(Session *s, const struct Args *a, GrErr *e);

/* A row of the command table (commands.c). Handlers get their arguments parsed and
 * checked by args.c from `pos` and `opts`; help, hints and completion read the same rows. */
typedef struct Command {
    const char *name;
    CmdFn fn;
    const FieldDef *pos;                 /* positional arguments (NULL-name terminated), or NULL */
    const FieldDef *opts;                /* options, written without "--" */
    const FieldDef *(*more_opts)(void);  /* options from a core table (train's), or NULL */
    const struct Command *subs;          /* subcommands: the first word picks one (export attn) */
    const char *summary;                 /* one line, for `help` */
    const char *help;                    /* more lines for `help CMD`, or NULL */
} Command;

extern const Command COMMANDS[];
extern volatile sig_atomic_t g_interrupted;

void session_init(Session *s);
void session_free(Session *s);
/* Runs one command (no ';' splitting). Returns CMD_*; on error the message is in e. */
int session_exec(Session *s, const char *line, GrErr *e);
/* Splits at ';' outside quotes and runs each; errors go to stderr as "file:line: error: ...". */
int session_exec_multi(Session *s, const char *line);
/* The one splitter of a line into commands at ';' outside quotes: calls fn for each
 * (stops when fn returns non-zero and returns that). A '#' line is a comment. */
int line_split(const char *line, int (*fn)(void *ctx, const char *cmd), void *ctx);
/* The splitter's scanner: the index of the next ';' outside quotes at or after `from` (or
 * the end); *in_quote (may be NULL) says whether the end is inside a quoted text. */
size_t line_next_cut(const char *line, size_t from, int *in_quote);
/* Runs a script, a command line at a time ("NAME:LINE: error: ..." for errors); stops at
 * quit, or at the first error with --bail. CMD_ERR if any command failed. */
int session_run_stream(Session *s, FILE *f, const char *name);
/* Writes s->out to stdout and clears it. */
void session_flush_stdout(Session *s);
/* What a consumer of s->out calls before taking it: the `log` transcript gets it too
 * (escape codes stripped). */
void session_log_out(Session *s);
/* s->out has been shown: cleared (and the log's mark with it). */
void session_out_done(Session *s);
void session_log_text(Session *s, const char *text, size_t n);
const Command *cmd_find(const char *name);
/* The closest command name to a mistyped one, or NULL. */
const char *cmd_suggest(const char *name);
/* Opens the default model: the bundled one if present, else a fresh tiny model. */
void session_default_model(Session *s);
/* At an interactive prompt with unsaved training: the first call warns (into s->out) and
 * returns 0; the next one, or with nothing unsaved, returns 1 (go ahead and quit). */
int session_may_quit(Session *s);
/* Reports msg as one error line through s->report. */
void session_report(Session *s, const char *msg);

/* ---- words: the one quote parser ----
 * "double quotes" group words and understand \n \t \" \\; each word remembers where it
 * was in the line, so a text argument can be taken exactly as typed. */
typedef struct {
    char *text;            /* unquoted */
    int quoted;            /* any part was in quotes */
    size_t start, end;     /* byte offsets in the line */
} Word;

typedef struct {
    Word *w;
    int n;
} Words;

int words_split(const char *line, Words *out, GrErr *e);
void words_free(Words *w);

#endif
