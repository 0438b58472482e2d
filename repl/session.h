/* session.h — the one state struct of the REPL (sqlite3's shell style) and the command table. */
#ifndef GR_SESSION_H
#define GR_SESSION_H

#include <signal.h>
#include <stdio.h>
#include "ckpt.h"
#include "generate.h"
#include "model.h"
#include "sample.h"
#include "tokenizer.h"
#include "viz/viz.h"

#define MAX_ABL 16

typedef struct Session {
    Model *m;
    Tokenizer tok;
    char model_name[256];      /* preset or file it came from */
    uint64_t seed;
    Rng rng;                   /* sampling */
    SampleCfg samp;
    /* the last run: its trace and the stage cursor */
    Acts *trace;
    char *run_text;
    float clean_loss;          /* loss of the last run without ablations (NAN when none) */
    Ablation abl[MAX_ABL];
    int nabl;
    /* output */
    StrBuf out;
    VizColor color;
    int width;
    int is_tty, plain;
    /* the last generate's ids */
    int *gen_ids;
    int ngen, gen_cap;
    /* training */
    float *loss_curve, *val_curve;
    int nloss, nval, loss_cap, val_cap;
    long loss_step0;
    /* scripts */
    const char *src_file;      /* for file:line: in errors */
    int src_line;
    int errors;
    int quit;
    int bail;
    int lesson_batch;
    /* streaming output (generate, train progress) goes straight here */
    void (*flush)(struct Session *s);
} Session;

enum { CMD_OK = 0, CMD_ERR = 1, CMD_QUIT = 2 };

typedef int (*CmdFn)(Session *s, int argc, char **argv, const char *rest, GrErr *e);

typedef struct {
    const char *name;
    CmdFn fn;
    int min_args, max_args;    /* positional words after the name; -1 = any */
    const char *usage;
    const char *summary;
    const char *help;          /* longer text for `help CMD` */
} Command;

extern const Command COMMANDS[];
extern volatile sig_atomic_t g_interrupted;

void session_init(Session *s);
void session_free(Session *s);
/* Runs one command line (no ';' splitting). Returns CMD_*; on error the message is in e. */
int session_exec(Session *s, const char *line, GrErr *e);
/* Splits at ';' outside quotes and runs each; prints output and errors to stdout/stderr. */
int session_exec_multi(Session *s, const char *line);
/* Writes s->out to stdout and clears it. */
void session_flush_stdout(Session *s);
const Command *cmd_find(const char *name);
/* Opens the default model: the bundled one if present, else a fresh tiny model. */
void session_default_model(Session *s);

#endif
