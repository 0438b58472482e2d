/* test_args.c — the command table as a user meets it: every command's unknown option,
 * missing value, out-of-range value, missing and extra argument gives one line naming
 * it; the did-you-means of the issue; and a backend that fails reaches the user as one
 * line while the previous trace and the model stay as they were. */
#include "harness.h"
#include "repl/args.h"
#include "repl/cmds.h"
#include "repl/session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Session S;
static int checked;

/* Parses "NAME rest" for c (a subcommand: "export attn rest"); returns the error or NULL. */
static const char *parse_err(const Command *c, const Command *parent, const char *rest, GrErr *e)
{
    char line[512];
    snprintf(line, sizeof line, "%s%s%s", parent ? c->name : "", parent ? " " : "", rest);
    Args a;
    int rc = args_parse(&S, parent ? parent : c, line, &a, e);
    if (rc == 0) { args_free(&a); return NULL; }
    checked++;
    return e->msg;
}

static int one_line(const char *m) { return m && !strchr(m, '\n') && strlen(m) < 400; }

/* A value a row accepts (to reach the argument under test). */
static const char *sample(const FieldDef *f, char *buf, size_t n)
{
    switch (f->kind) {
    case FK_INT: snprintf(buf, n, "%.0f", f->dyn ? 0 : f->lo); return buf;
    case FK_FLOAT: snprintf(buf, n, "%g", f->flags & FF_LO_OPEN ? f->hi : f->lo); return buf;
    case FK_CHOICE: field_choice(f, 0, buf, n); return buf;
    case FK_LIST: snprintf(buf, n, "%g", f->lo); return buf;
    case FK_SIZE: return "100x100";
    case FK_KV: return "layers=1";
    case FK_PATH_OUT: return "x.png";
    default: return "x";
    }
}

static void walk(const Command *c, const Command *parent)
{
    const char *who = c->name;
    GrErr e;
    char rest[512], buf[64];
    /* the positional words a valid call starts with */
    char head[256] = "";
    int np = 0;
    for (const FieldDef *f = c->pos; f && f->name; f++, np++)
        if (!(f->flags & FF_OPTIONAL)) {
            snprintf(head + strlen(head), sizeof head - strlen(head), " %s", sample(f, buf, sizeof buf));
        }
    /* unknown option (before an expression: after it, "--x" is part of the expression) */
    int rest_row = np > 0 && c->pos[np - 1].kind == FK_REST;
    if (rest_row) snprintf(rest, sizeof rest, " --no-such-option%s", head);
    else snprintf(rest, sizeof rest, "%s --no-such-option", head);
    const char *m = parse_err(c, parent, rest, &e);
    if (!m || !strstr(m, "--no-such-option") || !one_line(m)) fprintf(stderr, "%s: unknown option: %s\n", who, m ? m : "(accepted)");
    CHECK(m && strstr(m, "unknown option '--no-such-option'") && one_line(m));
    const FieldDef *o[ARGS_MAX];
    int no = args_options(c, o, ARGS_MAX);
    for (int i = 0; i < no; i++) {
        if (o[i]->kind == FK_FLAG) {
            snprintf(rest, sizeof rest, "%s --%s=1", head, o[i]->name);
            m = parse_err(c, parent, rest, &e);
            CHECK(m && strstr(m, o[i]->name) && strstr(m, "takes no value"));
            continue;
        }
        /* missing value */
        snprintf(rest, sizeof rest, "%s --%s", head, o[i]->name);
        m = parse_err(c, parent, rest, &e);
        if (!m || !strstr(m, o[i]->name) || !strstr(m, "needs a value")) fprintf(stderr, "%s --%s: %s\n", who, o[i]->name, m ? m : "(accepted)");
        CHECK(m && strstr(m, o[i]->name) && strstr(m, "needs a value") && one_line(m));
        /* out of range */
        if (o[i]->kind == FK_INT || o[i]->kind == FK_FLOAT || o[i]->kind == FK_LIST) {
            double bad = o[i]->flags & FF_LO_OPEN ? o[i]->lo : o[i]->lo - 1;
            snprintf(rest, sizeof rest, "%s --%s %.17g", head, o[i]->name, bad);
            m = parse_err(c, parent, rest, &e);
            if (!m || !strstr(m, o[i]->name) || !strstr(m, "must be")) fprintf(stderr, "%s --%s %g: %s\n", who, o[i]->name, bad, m ? m : "(accepted)");
            CHECK(m && strstr(m, o[i]->name) && (strstr(m, "must be between") || strstr(m, "must be above")));
            snprintf(rest, sizeof rest, "%s --%s=%.17g", head, o[i]->name, o[i]->hi * 2 + 1);
            m = parse_err(c, parent, rest, &e);
            CHECK(m && strstr(m, o[i]->name) && strstr(m, "must be"));
        }
        /* the wrong kind */
        if (o[i]->kind == FK_INT || o[i]->kind == FK_FLOAT || o[i]->kind == FK_CHOICE || o[i]->kind == FK_SIZE) {
            snprintf(rest, sizeof rest, "%s --%s zzz", head, o[i]->name);
            m = parse_err(c, parent, rest, &e);
            CHECK(m && strstr(m, o[i]->name) && strstr(m, "zzz"));
        }
    }
    /* positionals: missing, out of range, empty, one too many. Each row is tested with the
     * required rows (and itself) given, so the words land where they are meant to. */
    int nreq = 0;
    for (int i = 0; i < np; i++) nreq += !(c->pos[i].flags & FF_OPTIONAL) && c->pos[i].kind != FK_KV;
    if (nreq) {
        m = parse_err(c, parent, "", &e);
        if (!m || !strstr(m, "is missing")) fprintf(stderr, "%s: missing: %s\n", who, m ? m : "(accepted)");
        CHECK(m && strstr(m, "is missing") && strstr(m, "usage:") && one_line(m));
    }
    for (int i = 0; i < np; i++) {
        const FieldDef *f = &c->pos[i];
        const char *bads[2] = {NULL, NULL};
        char big[64];
        if (f->kind == FK_INT) {
            snprintf(big, sizeof big, "%.0f", f->dyn ? 999 : f->hi * 2 + 1);
            bads[0] = big;
        }
        if (f->kind == FK_STR || f->kind == FK_TEXT || f->kind == FK_NAME || f->kind == FK_PATH_IN ||
            f->kind == FK_PATH_OUT)
            bads[1] = "\"\"";
        for (int b = 0; b < 2; b++) {
            if (!bads[b]) continue;
            rest[0] = 0;
            for (int k = 0; k < np; k++) {
                const FieldDef *g = &c->pos[k];
                if (k > i && ((g->flags & FF_OPTIONAL) || g->kind == FK_KV)) continue;
                snprintf(rest + strlen(rest), sizeof rest - strlen(rest), " %s", k == i ? bads[b] : sample(g, buf, sizeof buf));
            }
            m = parse_err(c, parent, rest, &e);
            if (!m || !strstr(m, b ? "is empty" : "must be between"))
                fprintf(stderr, "%s '%s': %s\n", who, rest, m ? m : "(accepted)");
            CHECK(m && strstr(m, b ? "is empty" : "must be between") && one_line(m));
        }
    }
    int last_takes_rest = np && (c->pos[np - 1].kind == FK_TEXT || c->pos[np - 1].kind == FK_REST ||
                                 c->pos[np - 1].kind == FK_KV);
    if (!last_takes_rest) {
        rest[0] = 0;
        for (int k = 0; k < np; k++)
            snprintf(rest + strlen(rest), sizeof rest - strlen(rest), " %s", sample(&c->pos[k], buf, sizeof buf));
        strcat(rest, " extra-word");
        m = parse_err(c, parent, rest, &e);
        if (!m || !strstr(m, "extra-word")) fprintf(stderr, "%s: extra: %s\n", who, m ? m : "(accepted)");
        CHECK(m && strstr(m, "unexpected argument 'extra-word'") && one_line(m));
    }
}

TEST(every_command_row)
{
    int n = 0;
    for (const Command *c = COMMANDS; c->name; c++) {
        if (c->subs) {
            for (const Command *k = c->subs; k->name; k++) walk(k, c);
            GrErr e;
            const char *m = parse_err(c, NULL, "sparkles", &e);
            CHECK(m && strstr(m, "sparkles") && strstr(m, "attn"));
        } else walk(c, NULL);
        n++;
    }
    printf("command table: %d commands, %d bad inputs each refused with one line\n", n, checked);
    CHECK(n >= 30);
}

TEST(did_you_mean)
{
    static const char *cases[][2] = {
        {"generate 30 \"The \" --temperature 0.01", "did you mean '--temp'"},
        {"generate 5 --topk 1", "did you mean '--top-k'"},
        {"hist wte --bin 3", "did you mean '--bins'"},
        {"logits --tmp 2", "did you mean '--temp'"},
        {"export logits f.png --tops 3", "did you mean '--top'"},
        {"genrate 5", "did you mean 'generate'"},
        {"set colour none", "did you mean 'color'"},
        {"train 5 --batchsize 3", "did you mean '--batch'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        GrErr e = {{0}};
        int rc = session_exec(&S, cases[i][0], &e);
        if (rc != CMD_ERR || !strstr(e.msg, cases[i][1])) fprintf(stderr, "%s → %s\n", cases[i][0], e.msg);
        CHECK(rc == CMD_ERR && strstr(e.msg, cases[i][1]));
    }
}

TEST(values_reach_the_handler)
{
    GrErr e;
    const Command *c = cmd_find("generate");
    Args a;
    CHECK(args_parse(&S, c, " 30 \"The \" --temp 0.5 --top-k=40 --greedy", &a, &e) == 0);
    CHECK(arg_int(&a, "n", 0) == 30 && !strcmp(arg_str(&a, "prompt", ""), "The "));
    CHECK(arg_num(&a, "temp", 1) == 0.5 && arg_int(&a, "top-k", 0) == 40 && arg_given(&a, "greedy"));
    CHECK(!arg_given(&a, "nocache") && !arg_given(&a, "top-p"));
    args_free(&a);
    /* an unquoted text runs to the next option, exactly as typed */
    CHECK(args_parse(&S, c, " 8 to  be or --greedy", &a, &e) == 0);
    CHECK(!strcmp(arg_str(&a, "prompt", ""), "to  be or") && arg_given(&a, "greedy"));
    args_free(&a);
    /* an optional row in the middle is filled only with a word to spare */
    const Command *ex = cmd_find("export");
    CHECK(args_parse(&S, ex, "attn 0 f.png", &a, &e) == 0 && !arg_given(&a, "head"));
    args_free(&a);
    CHECK(args_parse(&S, ex, "attn 0 all f.png", &a, &e) == 0 && arg(&a, "head")->choice == 0);
    args_free(&a);
}

/* ---------------- a backend that fails ---------------- */

static int g_fail;

static void failing_matmul(float *out, const float *x, const float *w, const float *bias, int N, int IC, int OC)
{
    backend_cpu.matmul(out, x, w, bias, N, IC, OC);
    if (g_fail) {
        for (int i = 0; i < N * OC; i++) out[i] = NAN; /* what a broken device might leave */
        g_fail = 2;
    }
}

static int failing_status(char *msg, size_t n)
{
    if (g_fail != 2) return 0;
    snprintf(msg, n, "matmul: injected failure");
    g_fail = 1;
    return -1;
}

TEST(backend_errors_reach_the_user)
{
    static Backend faulty;
    faulty = backend_cpu;
    faulty.name = "faulty";
    faulty.matmul = failing_matmul;
    faulty.status = failing_status;
    GrErr e = {{0}};
    CHECK(session_exec(&S, "seed 3", &e) == CMD_OK);
    CHECK(session_exec(&S, "new tiny layers=1 d=16 ctx=16", &e) == CMD_OK);
    CHECK(model_to_backend(S.m, &faulty, &e) == 0);
    CHECK(session_exec(&S, "run \"hello\"", &e) == CMD_OK);
    float loss = S.trace->loss;
    Acts *before = S.trace;
    size_t nb = S.m->total * sizeof(float);
    float *params = malloc(nb);
    memcpy(params, S.m->params, nb);
    g_fail = 1;
    static const char *cmds[] = {"run \"other text\"", "train 2 --batch 2 --ctx 8", "generate 3 --greedy",
                                 "bench --no-train"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        e.msg[0] = 0;
        int rc = session_exec(&S, cmds[i], &e);
        if (rc != CMD_ERR || !strstr(e.msg, "faulty backend failed")) fprintf(stderr, "%s → %s\n", cmds[i], e.msg);
        CHECK(rc == CMD_ERR && strstr(e.msg, "faulty backend failed: matmul: injected failure") && one_line(e.msg));
    }
    /* the previous trace and the model are as they were */
    CHECK(S.trace == before && S.trace->loss == loss && S.trace->T == 5);
    CHECK(memcmp(params, S.m->params, nb) == 0);
    /* stepping: the failed stage does not advance the cursor */
    g_fail = 0;
    CHECK(session_exec(&S, "step \"abc\"", &e) == CMD_OK);
    CHECK(session_exec(&S, "step --to L0.ln1", &e) == CMD_OK);
    int at = S.trace->next;
    g_fail = 1;
    CHECK(session_exec(&S, "step", &e) == CMD_ERR && strstr(e.msg, "did not complete"));
    CHECK(S.trace->next == at);
    g_fail = 0;
    CHECK(session_exec(&S, "step", &e) == CMD_OK && S.trace->next == at + 1);
    model_to_backend(S.m, &backend_cpu, &e);
    free(params);
}

int main(void)
{
    session_init(&S);
    S.flush = NULL;
    GrErr e;
    session_exec(&S, "new tiny layers=2 d=32 ctx=16", &e);
    session_exec(&S, "run \"hello world\"", &e);
    sb_clear(&S.out);
    RUN(every_command_row);
    RUN(did_you_mean);
    RUN(values_reach_the_handler);
    RUN(backend_errors_reach_the_user);
    session_free(&S);
    return harness_done("args");
}
