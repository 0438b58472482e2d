/* commands.c — the COMMANDS table: every command, its arguments with their kinds, ranges,
 * defaults and help. The parser (args.c), `help`, hints and Tab completion (complete.c)
 * and the tests that walk every row all read this one table (redis-cli style); the
 * handlers live in cmd_*.c, grouped by what they touch. */
#include "cmds.h"
#include "data.h"
#include "stages.h"
#include "train.h"

#define END {.name = NULL}
#define OPT_POS .flags = FF_OPTIONAL
#define SIZE_OPT {.name = "size", .kind = FK_SIZE, .lo = 64, .hi = 8192, .meta = "WxH", .def = "1920x1080", \
                  .help = "picture size in pixels"}

static const FieldDef HELP_POS[] = {
    {.name = "topic", .kind = FK_STR, OPT_POS, .comp = COMP_COMMAND, .meta = "CMD",
     .help = "a command, 'names', 'eval', or a tensor or stage name"},
    {.name = "sub", .kind = FK_STR, OPT_POS, .meta = "WHAT", .help = "a subcommand (help export attn)"},
    END};

static const FieldDef NEW_POS[] = {
    {.name = "preset", .kind = FK_CHOICE, .choices_fn = cfg_preset_choices, .comp = COMP_CHOICES, .meta = "PRESET",
     .help = "the shape to start from"},
    {.name = "overrides", .kind = FK_KV, .flags = FF_OPTIONAL | FF_REPEAT, .kv = cfg_keys, .comp = COMP_KEYS,
     .meta = "key=value", .help = "change any key of the preset"},
    END};

static const FieldDef LOAD_KEYS[] = {
    {.name = "heads", .kind = FK_INT, .lo = 1, .hi = 4096, .meta = "N",
     .help = "the head count of a Hugging Face checkpoint without config.json"},
    END};
static const FieldDef *load_keys(void) { return LOAD_KEYS; }
static const FieldDef LOAD_POS[] = {
    {.name = "path", .kind = FK_PATH_IN, .choices_fn = model_name_choices, .comp = COMP_FILE, .meta = "PATH|NAME",
     .help = "a checkpoint (ours, Hugging Face GPT-2 file or folder, llm.c .bin), or a name: the model folders', or "
             "gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2 from the Hugging Face Hub"},
    {.name = "overrides", .kind = FK_KV, .flags = FF_OPTIONAL | FF_REPEAT, .kv = load_keys, .comp = COMP_KEYS,
     .meta = "heads=N", .help = "what the file does not say"},
    END};

static const FieldDef SAVE_POS[] = {
    {.name = "path", .kind = FK_PATH_OUT, .comp = COMP_FILE, .meta = "PATH", .help = "where to write (atomically)"}, END};
static const FieldDef SAVE_OPTS[] = {
    {.name = "format", .kind = FK_CHOICE, .choices = "safetensors|llmc", .comp = COMP_CHOICES,
     .def = "safetensors (llmc for PATH.bin)", .help = "file format"},
    END};

static const FieldDef PARAMS_OPTS[] = {
    {.name = "by", .kind = FK_CHOICE, .choices = "group|layer", .comp = COMP_CHOICES, .def = "group",
     .help = "group shares only, or every tensor"},
    END};

static const FieldDef DEVICE_POS[] = {
    {.name = "device", .kind = FK_CHOICE, .choices = "cpu|cuda", OPT_POS, .comp = COMP_CHOICES,
     .help = "where the model and its state move"},
    END};

static const FieldDef SEED_POS[] = {
    {.name = "n", .kind = FK_INT, .lo = 0, .hi = 9.2e18, .meta = "N", .help = "seed for new models and sampling"}, END};

static const FieldDef SET_POS[] = {
    {.name = "key", .kind = FK_CHOICE, .choices_fn = settings_choices, OPT_POS, .comp = COMP_CHOICES, .meta = "KEY",
     .help = "a setting (without one: list them)"},
    {.name = "value", .kind = FK_STR, OPT_POS, .kv = settings_table, .comp = COMP_KEYS, .meta = "VALUE",
     .help = "its new value"},
    END};

static const FieldDef TOKENS_POS[] = {
    {.name = "text", .kind = FK_TEXT, OPT_POS, .meta = "TEXT", .help = "the text to split into tokens"}, END};
static const FieldDef TOKENS_OPTS[] = {
    {.name = "ids", .kind = FK_FLAG, .help = "only the ids, on one line"},
    {.name = "file", .kind = FK_PATH_IN, .comp = COMP_FILE, .meta = "PATH", .help = "tokenize a file instead of TEXT"},
    END};

static const FieldDef TEXT_POS[] = {{.name = "text", .kind = FK_TEXT, .meta = "TEXT", .help = "the input"}, END};
static const FieldDef RUN_OPTS[] = {
    {.name = "as", .kind = FK_STR, .meta = "NAME",
     .help = "also keep this run under NAME: its tensors are NAME.L0.pattern, NAME.logits, NAME.loss ..."},
    END};
static const FieldDef RUNS_POS[] = {
    {.name = "action", .kind = FK_CHOICE, .choices = "drop", OPT_POS, .comp = COMP_CHOICES, .meta = "drop",
     .help = "forget a kept run"},
    {.name = "name", .kind = FK_STR, OPT_POS, .meta = "NAME", .help = "the run"},
    END};
static const FieldDef SNAP_POS[] = {
    {.name = "name", .kind = FK_STR, .meta = "NAME", .help = "the snapshot's name (as a run's: lowercase, digits, _)"}, END};
static const FieldDef DIFF_POS[] = {
    {.name = "a", .kind = FK_STR, .meta = "A", .help = "a kept run, or last"},
    {.name = "b", .kind = FK_STR, .meta = "B", .help = "another"},
    {.name = "tensor", .kind = FK_STR, OPT_POS, .comp = COMP_TENSOR, .meta = "TENSOR[slice]",
     .def = "the table of every tensor", .help = "one tensor's A - B, pictured on the diverging scale"},
    END};
static const FieldDef COMPARE_POS[] = {
    {.name = "a", .kind = FK_CHOICE, .choices_fn = prec_names, .comp = COMP_CHOICES, .meta = "A", .help = "a precision"},
    {.name = "b", .kind = FK_CHOICE, .choices_fn = prec_names, .comp = COMP_CHOICES, .meta = "B", .help = "another"},
    {.name = "text", .kind = FK_TEXT, OPT_POS, .meta = "TEXT", .def = "the last run's text", .help = "the text run at both"},
    END};
static const FieldDef PATCH_POS[] = {
    {.name = "target", .kind = FK_STR, .comp = COMP_TENSOR, .meta = "TENSOR[slice]|sweep",
     .help = "the tensor of the last run to overwrite (L0.resid[t=3], L1.pattern[h=0]), or sweep"},
    {.name = "w1", .kind = FK_STR, .meta = "from|PATTERN", .help = "from (sweep: a tensor with L* for every layer)"},
    {.name = "w2", .kind = FK_STR, .meta = "RUN|from", .help = "the kept run to copy from (sweep: from)"},
    {.name = "w3", .kind = FK_STR, OPT_POS, .meta = "A", .help = "sweep: the run patched from"},
    {.name = "w4", .kind = FK_STR, OPT_POS, .meta = "into", .help = "sweep: into"},
    {.name = "w5", .kind = FK_STR, OPT_POS, .meta = "B", .help = "sweep: the run patched into"},
    END};
static const FieldDef PATCH_OPTS[] = {
    {.name = "metric", .kind = FK_TEXT, .meta = "EXPR",
     .help = "sweep: one number per patch, e.g. 'logit(\"a\") - logit(\"b\")'"},
    END};
static const FieldDef UNPATCH_POS[] = {
    {.name = "target", .kind = FK_STR, OPT_POS, .comp = COMP_TENSOR, .meta = "TENSOR[slice]", .def = "every patch",
     .help = "the patch to remove"},
    END};
static const FieldDef STEP_POS[] = {
    {.name = "text", .kind = FK_TEXT, OPT_POS, .meta = "TEXT", .help = "start a stepped run over this text"}, END};
static const FieldDef STEP_OPTS[] = {
    {.name = "to", .kind = FK_STR, .comp = COMP_STAGE, .meta = "STAGE",
     .help = "run stages up to and including this one (a stage name from 'where')"},
    END};

static const FieldDef NAME_POS[] = {
    {.name = "name", .kind = FK_NAME, .comp = COMP_TENSOR, .meta = "NAME[slice]", .help = "a tensor ('help names')"}, END};
static const FieldDef EXPLAIN_POS[] = {
    {.name = "name", .kind = FK_STR, .comp = COMP_TENSOR, .meta = "NAME",
     .help = "a trace name, parameter, stage or scalar"},
    END};
static const FieldDef EXPR_POS[] = {
    {.name = "expr", .kind = FK_REST, .comp = COMP_EXPR, .meta = "EXPR", .help = "an expression ('help eval')"}, END};

static const FieldDef LOGITS_POS[] = {
    {.name = "pos", .kind = FK_INT, .lo = -1000000, .hi = 1000000, .dyn = DYN_POS, OPT_POS, .meta = "POS", .def = "-1 (the last)",
     .help = "the position whose next token is predicted"},
    END};
static const FieldDef LOGITS_OPTS[] = {
    {.name = "temp", .kind = FK_LIST, .lo = 1e-6, .hi = 1e6, .meta = "X,Y,...", .def = "1",
     .help = "temperatures, side by side"},
    {.name = "top", .kind = FK_INT, .lo = 1, .hi = 100, .meta = "N", .def = "10", .help = "how many tokens"},
    END};

static const FieldDef LENS_POS[] = {
    {.name = "pos", .kind = FK_INT, .lo = -1000000, .hi = 1000000, .dyn = DYN_POS, OPT_POS, .meta = "POS",
     .def = "the picture over every position, then the table at the last",
     .help = "the position whose next token is read"},
    END};
#define LENS_TOKEN {.name = "token", .kind = FK_STR, .meta = "STR", \
                    .help = "one token: its probability and rank after each block (the picture's colour)"}
static const FieldDef LENS_OPTS[] = {
    {.name = "top", .kind = FK_INT, .lo = 1, .hi = 20, .meta = "K", .def = "5", .help = "how many tokens per block"},
    LENS_TOKEN, END};

static const FieldDef GRADCHECK_POS[] = {
    {.name = "name", .kind = FK_STR, .comp = COMP_TENSOR, .meta = "PARAM", .help = "a parameter (wte, L0.attn.qkv.w, ...)"},
    {.name = "n", .kind = FK_INT, .lo = 1, .hi = 1000, OPT_POS, .meta = "N", .def = "6",
     .help = "entries to check: the largest gradients first, then random ones"},
    END};

static const FieldDef GENERATE_POS[] = {
    {.name = "n", .kind = FK_INT, .lo = 1, .hi = 100000, .meta = "N", .help = "tokens to generate"},
    {.name = "prompt", .kind = FK_TEXT, OPT_POS, .meta = "PROMPT", .def = "the last run's text",
     .help = "the text to continue"},
    END};
static const FieldDef GENERATE_OPTS[] = {
    {.name = "temp", .kind = FK_FLOAT, .lo = 0, .hi = 1000, .meta = "X", .def = "'set temperature' (1)",
     .help = "sampling temperature (0: greedy)"},
    {.name = "top-k", .kind = FK_INT, .lo = 0, .hi = 16777216, .meta = "K", .def = "'set top_k' (0: off)",
     .help = "sample among the K most likely"},
    {.name = "top-p", .kind = FK_FLOAT, .lo = 0, .hi = 1, .flags = FF_LO_OPEN, .meta = "P", .def = "'set top_p' (1: off)",
     .help = "sample among the smallest set with mass >= P"},
    {.name = "greedy", .kind = FK_FLAG, .help = "always the most likely token"},
    {.name = "nocache", .kind = FK_FLAG, .help = "recompute the whole window for every token (same tokens, slower)"},
    {.name = "samples", .kind = FK_INT, .lo = 1, .hi = 4096, .meta = "K", .def = "1 (streamed)",
     .help = "K continuations decoded in one batched pass, sample k seeded from the seed and k"},
    END};

#define LAYER_ROW {.name = "layer", .kind = FK_INT, .lo = 0, .hi = 4095, .dyn = DYN_LAYER, .choices = "all", \
                   .comp = COMP_CHOICES, .meta = "LAYER|all", .help = "the block, or all of them"}
#define HEAD_ROW {.name = "head", .kind = FK_INT, .lo = 0, .hi = 4095, .dyn = DYN_HEAD, .choices = "all", OPT_POS, \
                  .comp = COMP_CHOICES, .meta = "HEAD|all", .def = "all", .help = "one head, or all side by side"}
static const FieldDef ATTN_POS[] = {LAYER_ROW, HEAD_ROW, END};

/* What every heatmap takes, in the terminal and in files. */
#define SCALE_OPTS \
    {.name = "scale", .kind = FK_CHOICE, .choices_fn = viz_scale_choices, .comp = COMP_CHOICES, \
     .def = "by kind (fixed 0–1 for probabilities, ±max|x| for signed)", \
     .help = "fixed (0–1, or ±1), auto (the data's range), row (each row to its own max), log"}, \
    {.name = "clip", .kind = FK_FLOAT, .lo = 50, .hi = 100, .meta = "PCT", \
     .help = "signed data: range ±the PCT-th percentile of |x| (outliers saturate)"}, \
    {.name = "rows", .kind = FK_RANGE, .lo = 0, .hi = 1e9, .meta = "A:B", .def = "all (attn: the most recent that fit)", \
     .help = "a window of rows, A..B-1"}, \
    {.name = "cols", .kind = FK_RANGE, .lo = 0, .hi = 1e9, .meta = "A:B", \
     .def = "all (attn: the diagonal and the most recent keys that fit)", .help = "a window of columns, A..B-1"}
static const FieldDef HEAT_OPTS[] = {SCALE_OPTS, END};
#define SCALE_HELP \
    "  colours: viridis (sequential) for probabilities and patterns on a fixed 0–1 scale, so\n" \
    "  pictures of different heads, layers and runs compare; ColorBrewer RdBu (diverging,\n" \
    "  colour-blind safe, white at 0) for signed values: residuals, weights, scores.\n" \
    "  Masked cells have their own glyph (· in colour, / without), exactly 0 is blank, and\n" \
    "  the lowest non-zero bucket has its own glyph. A map larger than the screen is pooled:\n" \
    "  each cell shows the value of largest magnitude in its block (the picture says so)."

static const FieldDef HIST_OPTS[] = {
    {.name = "bins", .kind = FK_INT, .lo = 1, .hi = 200, .meta = "N", .def = "20", .help = "number of bins"}, END};

/* export: one row per picture */
#define FILE_ROW {.name = "file", .kind = FK_PATH_OUT, .comp = COMP_FILE, .meta = "FILE.png|FILE.svg", \
                  .help = "the picture to write: PNG, or SVG with text labels (by the extension)"}
static const FieldDef EXPORT_ATTN_POS[] = {LAYER_ROW, HEAD_ROW, FILE_ROW, END};
static const FieldDef EXPORT_NAME_POS[] = {
    {.name = "name", .kind = FK_NAME, .comp = COMP_TENSOR, .meta = "NAME[slice]", .help = "a tensor ('help names')"},
    FILE_ROW, END};
static const FieldDef EXPORT_FILE_POS[] = {FILE_ROW, END};
static const FieldDef EXPORT_SIZE_OPTS[] = {SIZE_OPT, END};
static const FieldDef EXPORT_HEAT_OPTS[] = {SCALE_OPTS, SIZE_OPT, END};
static const FieldDef EXPORT_HIST_OPTS[] = {
    {.name = "bins", .kind = FK_INT, .lo = 1, .hi = 200, .meta = "N", .def = "40", .help = "number of bins"}, SIZE_OPT, END};
static const FieldDef EXPORT_LOGITS_OPTS[] = {
    {.name = "temp", .kind = FK_LIST, .lo = 1e-6, .hi = 1e6, .meta = "X,Y,...", .def = "1",
     .help = "temperatures, one panel each (τ in the picture)"},
    {.name = "top", .kind = FK_INT, .lo = 1, .hi = 50, .meta = "N", .def = "15", .help = "how many tokens"},
    {.name = "pos", .kind = FK_INT, .lo = -1000000, .hi = 1000000, .dyn = DYN_POS, .meta = "POS", .def = "-1 (the last)",
     .help = "the position whose next token is predicted"},
    SIZE_OPT, END};

static const FieldDef EXPORT_LENS_OPTS[] = {LENS_TOKEN, SIZE_OPT, END};
#define HEADS_OPTS_ROWS                                                                                           \
    {.name = "score", .kind = FK_CHOICE, .choices_fn = head_score_choices, .comp = COMP_CHOICES, .def = "prev",       \
     .help = "prev-token, first-token or induction attention, per head"},                                          \
    {.name = "seq", .kind = FK_INT, .lo = 2, .hi = 100000, .meta = "N", .def = "20",                                \
     .help = "induction: the length of the random sequence that is repeated"}
static const FieldDef HEADS_OPTS[] = {HEADS_OPTS_ROWS, END};
static const FieldDef EXPORT_HEADS_OPTS[] = {HEADS_OPTS_ROWS, SIZE_OPT, END};

static const Command EXPORT_SUBS[] = {
    {"attn", cmd_export_attn, EXPORT_ATTN_POS, EXPORT_HEAT_OPTS, NULL, NULL,
     "attention pattern of one head, a layer's heads, a head through the layers, or all", SCALE_HELP},
    {"hist", cmd_export_hist, EXPORT_NAME_POS, EXPORT_HIST_OPTS, NULL, NULL, "histogram of any tensor", NULL},
    {"heatmap", cmd_export_heatmap, EXPORT_NAME_POS, EXPORT_HEAT_OPTS, NULL, NULL, "heatmap of a 2-D slice", SCALE_HELP},
    {"logits", cmd_export_logits, EXPORT_FILE_POS, EXPORT_LOGITS_OPTS, NULL, NULL,
     "next-token probabilities, several temperatures side by side", NULL},
    {"lens", cmd_export_lens, EXPORT_FILE_POS, EXPORT_LENS_OPTS, NULL, NULL,
     "the logit lens: the top next token after each block at every position", NULL},
    {"heads", cmd_export_heads, EXPORT_FILE_POS, EXPORT_HEADS_OPTS, NULL, NULL,
     "head scores (previous token, first token, induction) as a layers × heads grid", NULL},
    {"loss", cmd_export_loss, EXPORT_FILE_POS, EXPORT_SIZE_OPTS, NULL, NULL,
     "the loss since new or load: train and validation curves, and ln V", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const FieldDef DUMP_POS[] = {
    {.name = "name", .kind = FK_NAME, .comp = COMP_TENSOR, .meta = "NAME[slice]", .help = "a tensor ('help names')"},
    {.name = "file", .kind = FK_PATH_OUT, .comp = COMP_FILE, .meta = "FILE.npy|FILE.safetensors", .help = "where to write"},
    END};

static const FieldDef ABLATE_POS[] = {
    {.name = "name", .kind = FK_STR, OPT_POS, .comp = COMP_TENSOR, .meta = "NAME[h=N,t=N]",
     .help = "a trace tensor, or one head / one position of it (without one: list the ablations)"},
    {.name = "mode", .kind = FK_STR, OPT_POS, .choices_fn = abl_mode_choices, .comp = COMP_CHOICES,
     .meta = "zero|mean|mean:RUN|identity|copy:OTHER|uniform", .help = "how it is replaced"},
    END};
static const FieldDef UNABLATE_POS[] = {
    {.name = "name", .kind = FK_STR, OPT_POS, .comp = COMP_TENSOR, .meta = "NAME", .def = "every ablation",
     .help = "the one to remove"},
    END};

static const FieldDef TRAIN_POS[] = {
    {.name = "steps", .kind = FK_INT, .lo = 1, .hi = 10000000, .meta = "STEPS", .help = "optimizer steps"}, END};
static const FieldDef TRAIN_OPTS[] = {
    {.name = "data", .kind = FK_PATH_IN, .choices_fn = data_task_choices, .comp = COMP_FILE, .meta = "FILE|TASK",
     .def = "copy", .help = "a text file, or a generated task (default: the model's own corpus, NAME.txt beside it, else copy)"},
    {.name = "watch", .kind = FK_TEXT, .meta = "CMD",
     .help = "a picture command re-drawn as it learns: --watch \"attn 1 0\", \"heads --score induction\", \"lens\""},
    {.name = "every", .kind = FK_INT, .lo = 1, .hi = 10000000, .meta = "K", .def = "a tenth of the steps",
     .help = "with --watch: re-run and re-draw every K steps"},
    {.name = "text", .kind = FK_TEXT, .meta = "TEXT", .def = "the last run's text",
     .help = "with --watch: the text run on the current weights before each picture"},
    {.name = "frames", .kind = FK_PATH_OUT, .comp = COMP_FILE, .meta = "DIR",
     .help = "with --watch: also write each picture as DIR/frame-0001.png, ... (export's file)"},
    END};

static const FieldDef BENCH_OPTS[] = {
    {.name = "batch", .kind = FK_INT, .lo = 1, .hi = 4096, .meta = "B", .def = "16 (4 for a vocabulary over 1000)",
     .help = "rows of the training step"},
    {.name = "no-train", .kind = FK_FLAG, .help = "skip the training step"},
    END};

static const FieldDef LESSON_POS[] = {
    {.name = "name", .kind = FK_STR, OPT_POS, .comp = COMP_LESSON, .meta = "NAME",
     .help = "a lesson (LANG/NAME) or a lesson file (without one: list them)"},
    END};
static const FieldDef LESSON_OPTS[] = {
    {.name = "at", .kind = FK_INT, .lo = 1, .hi = 100000, .meta = "N",
     .help = "start at paragraph N (the earlier ones run unseen, so their state is there)"},
    {.name = "resume", .kind = FK_FLAG, .help = "go on where the class stopped last time"},
    {.name = "lint", .kind = FK_FLAG,
     .help = "for authors: check NAME (or all): needs, checks that cannot fail, en/vi parity"},
    {.name = "time", .kind = FK_FLAG, .help = "with --lint: also run each lesson and say how long it took"},
    END};

static const FieldDef LOG_POS[] = {
    {.name = "file", .kind = FK_PATH_OUT, .choices = "off", OPT_POS, .comp = COMP_FILE, .meta = "FILE|off",
     .help = "append a transcript of every command and its output here (without one: say where)"},
    END};
static const FieldDef HISTORY_OPTS[] = {
    {.name = "save", .kind = FK_PATH_OUT, .comp = COMP_FILE, .meta = "FILE",
     .help = "write this session's commands that worked as a script ('source FILE' runs it)"},
    END};
static const FieldDef SOURCE_POS[] = {
    {.name = "file", .kind = FK_PATH_IN, .comp = COMP_FILE, .meta = "FILE", .help = "a script: one command per line"},
    END};

const Command COMMANDS[] = {
    {"help", cmd_help, HELP_POS, NULL, NULL, NULL, "list commands, or explain one (help CMD, help names, help eval)", NULL},
    {"quit", cmd_quit, NULL, NULL, NULL, NULL, "leave gptrepl (also: Ctrl-D)", NULL},
    {"new", cmd_new, NEW_POS, NULL, NULL, NULL, "a fresh randomly initialised model",
     "  init: N(0, 0.02), residual projections 0.02/sqrt(2*layers), seeded by 'seed N'"},
    {"load", cmd_load, LOAD_POS, NULL, NULL, NULL, "load a checkpoint: ours, Hugging Face GPT-2, or llm.c .bin",
     "  NAME looks for NAME.safetensors and NAME/model.safetensors in the model folders\n"
     "  ($GPTREPL_MODELS, then the bundled models/); a Hub name (gpt2 ...) also in the gptrepl\n"
     "  cache and an existing Hugging Face cache, and is downloaded when missing (HF_ENDPOINT\n"
     "  for a mirror, HF_HUB_OFFLINE=1 never downloads; lessons never do). Hugging Face Conv1D\n"
     "  weights are transposed; heads come from config.json or GPT-2's widths, else heads=N"},
    {"models", cmd_models, NULL, NULL, NULL, NULL, "the models load finds by name: downloaded, bundled, their sizes", NULL},
    {"save", cmd_save, SAVE_POS, SAVE_OPTS, NULL, NULL, "save the model (and optimizer state) atomically", NULL},
    {"model", cmd_model, NULL, NULL, NULL, NULL, "config, the block diagram with shapes, device", NULL},
    {"params", cmd_params, NULL, PARAMS_OPTS, NULL, NULL, "exact parameter counts and shares, tied vs untied", NULL},
    {"device", cmd_device, DEVICE_POS, NULL, NULL, NULL, "show or move the live model's device", NULL},
    {"seed", cmd_seed, SEED_POS, NULL, NULL, NULL, "seed for new models and sampling", NULL},
    {"set", cmd_set, SET_POS, NULL, NULL, NULL, "show or change a setting", NULL},
    {"tokens", cmd_tokens, TOKENS_POS, TOKENS_OPTS, NULL, NULL, "ids and pieces of a text", NULL},
    {"run", cmd_run, TEXT_POS, RUN_OPTS, NULL, NULL, "full forward pass; every intermediate kept in the trace", NULL},
    {"runs", cmd_runs, RUNS_POS, NULL, NULL, NULL, "the kept runs and snapshots, with their memory; runs drop NAME", NULL},
    {"snapshot", cmd_snapshot, SNAP_POS, NULL, NULL, NULL, "keep a copy of the weights (before training, an edit)", NULL},
    {"restore", cmd_restore, SNAP_POS, NULL, NULL, NULL, "bring back a snapshot's weights exactly", NULL},
    {"diff", cmd_diff, DIFF_POS, NULL, NULL, NULL, "two runs compared tensor by tensor: where they first differ",
     "  runs of the same length: two texts, or one text before and after training (run --as)"},
    {"compare", cmd_compare, COMPARE_POS, NULL, NULL, NULL, "one text at two precisions, tensor by tensor (diff's table)",
     "  compare fp32 int8: how far each stage moves, the loss change and the top-1 agreement;\n"
     "  bytes per weight of each. The fp32 weights are never changed ('set precision' explains)"},
    {"patch", cmd_patch, PATCH_POS, PATCH_OPTS, NULL, NULL, "activation patching: a tensor of the last run from a kept run",
     "  patch L1.resid[t=2] from clean: held until unpatch, like an ablation (generate refuses)\n"
     "  patch sweep 'L*.resid' from clean into corrupt --metric 'logit(\"a\") - logit(\"b\")':\n"
     "  every layer × position, one patch at a time, pictured"},
    {"unpatch", cmd_unpatch, UNPATCH_POS, NULL, NULL, NULL, "remove a patch, or all of them", NULL},
    {"step", cmd_step, STEP_POS, STEP_OPTS, NULL, NULL, "run the next stage and show what it produced", NULL},
    {"next", cmd_next, NULL, NULL, NULL, NULL, "run to the end of the current block", NULL},
    {"continue", cmd_continue, NULL, NULL, NULL, NULL, "run the remaining stages", NULL},
    {"where", cmd_where, NULL, NULL, NULL, NULL, "the stage list with the cursor and what each stage writes", NULL},
    {"reset", cmd_reset, NULL, NULL, NULL, NULL, "rewind the stepped run to its first stage", NULL},
    {"show", cmd_show, NAME_POS, NULL, NULL, NULL, "values and stats of a tensor (e.g. L0.pattern[h=0])", NULL},
    {"explain", cmd_explain, EXPLAIN_POS, NULL, NULL, NULL, "what a name is: meaning, shape, equation, stage", NULL},
    {"eval", cmd_eval, EXPR_POS, NULL, NULL, NULL, "evaluate an expression over tensors ('help eval')", NULL},
    {"check", cmd_check, EXPR_POS, NULL, NULL, NULL, "like eval; fails (and fails the script) when false",
     "  prints the values it compared: both sides of the comparison, the worst element of\n"
     "  allclose/all, the first false element of any/and"},
    {"loss", cmd_loss, NULL, NULL, NULL, NULL, "loss of the last run beside ln(V), with the verdict", NULL},
    {"logits", cmd_logits, LOGITS_POS, LOGITS_OPTS, NULL, NULL, "next-token probabilities under temperatures", NULL},
    {"lens", cmd_lens, LENS_POS, LENS_OPTS, NULL, NULL, "logit lens: what each block's output would predict",
     "  the residual stream after the embedding and after each block, through the final\n"
     "  LayerNorm and the unembedding (Post-LN: the unembedding alone); the last row is\n"
     "  the model's own next-token distribution, bit for bit"},
    {"heads", cmd_heads, NULL, HEADS_OPTS, NULL, NULL, "score every head: previous-token, first-token, induction",
     "  prev and first read the last run's patterns; induction runs n random tokens twice\n"
     "  (seeded by 'seed') with ablations in force, and averages the attention from each\n"
     "  token of the second copy to the token after its first occurrence"},
    {"backward", cmd_backward, NULL, NULL, NULL, NULL,
     "gradients of the last run's loss: grad.NAME for every parameter and trace tensor",
     "  ablations and patches in force, backwards too (what they make constant passes nothing back);\n"
     "  after train, grad.PARAM is the last step's gradient (before clipping)"},
    {"gradcheck", cmd_gradcheck, GRADCHECK_POS, NULL, NULL, NULL, "backprop against finite differences, entry by entry",
     NULL},
    {"generate", cmd_generate, GENERATE_POS, GENERATE_OPTS, NULL, NULL, "stream N tokens through the KV cache",
     "  ablations stay in force; the ids are kept: eval generated"},
    {"attn", cmd_attn, ATTN_POS, HEAT_OPTS, NULL, NULL, "attention heatmap with token labels",
     "  attn L H: one head; attn L: the layer's heads; attn all H: head H in every layer;\n"
     "  attn all: layers × heads as thumbnails\n" SCALE_HELP},
    {"hist", cmd_hist, NAME_POS, HIST_OPTS, NULL, NULL, "histogram of any weight or activation", NULL},
    {"heatmap", cmd_heatmap, NAME_POS, HEAT_OPTS, NULL, NULL, "heatmap of any 2-D slice", SCALE_HELP},
    {"export", NULL, NULL, NULL, NULL, EXPORT_SUBS, "the same pictures as PNG or SVG (1920x1080, for slides)", NULL},
    {"dump", cmd_dump, DUMP_POS, NULL, NULL, NULL, "write a tensor for other tools (.npy or .safetensors)", NULL},
    {"ablate", cmd_ablate, ABLATE_POS, NULL, NULL, NULL, "replace a tensor in the forward pass (run, step, generate)",
     "  zero       all zeros\n"
     "  mean       every position replaced by the mean over the run's positions\n"
     "  mean:RUN   ... by the mean over a kept run's positions (run --as RUN TEXT)\n"
     "  identity   q, k or v replaced by the projection's input (W = I, b = 0)\n"
     "  copy:OTHER a copy of another tensor of the same shape, computed no later\n"
     "  uniform    attention patterns: 1/(i+1) over the causal past of query i\n"
     "  NAME[h=2] ablates one head (q, k, v, scores, masked, pattern; ctx: the head's columns),\n"
     "  NAME[t=3] one position, NAME[h=2,t=3] both"},
    {"unablate", cmd_unablate, UNABLATE_POS, NULL, NULL, NULL, "remove an ablation, or all of them", NULL},
    {"train", cmd_train, TRAIN_POS, TRAIN_OPTS, train_options, NULL, "train the live model; progress, loss curve, val loss",
     "  Ctrl-C stops after the current step and keeps the weights"},
    {"bench", cmd_bench, NULL, BENCH_OPTS, NULL, NULL, "forward / generation / train-step timings on the live model",
     NULL},
    {"lesson", cmd_lesson, LESSON_POS, LESSON_OPTS, NULL, NULL, "list lessons, or start one",
     "  between paragraphs: Enter (or PageDown, a presenter's clicker) goes on, 'back' repeats\n"
     "  the last paragraph, 'quit' stops; the pause says which paragraph it is (for --at N)"},
    {"clear", cmd_clear, NULL, NULL, NULL, NULL, "clear the screen (the output pane in the TUI)", NULL},
    {"log", cmd_log, LOG_POS, NULL, NULL, NULL, "keep a transcript of the session in a file", NULL},
    {"history", cmd_history, NULL, HISTORY_OPTS, NULL, NULL, "the commands of this session, or save them as a script",
     NULL},
    {"source", cmd_source, SOURCE_POS, NULL, NULL, NULL, "run a script of commands", NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};
