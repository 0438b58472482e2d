/* cmd_help.c — `help` and `quit`. Everything help says comes from the tables: the command
 * table (args.c renders a row), the expression functions (expr.c) and the names (names.c). */
#include "cmds.h"
#include "expr.h"
#include "names.h"

#include <string.h>

static void help_eval(StrBuf *out)
{
    sb_puts(out,
            "eval EXPR, check EXPR, and '? EXPR' in lessons\n"
            "  numbers, names (help names) with slices, ( ), + - * / ^ (or **), < <= > >= == !=,\n"
            "  and or not; numpy-style broadcasting; comparisons give 0/1 (true/false)\n"
            "  a @ b: matrix product of 1-D or 2-D tensors (as * /), e.g. L0.q[h=0] @ transpose(L0.k[h=0])\n"
            "  \"strings\" (\\n \\t \\\" \\\\) for the token functions; they compare with == and !=\n"
            "functions:\n");
    for (int i = 0; i < expr_function_count(); i++) {
        const char *name, *usage, *help;
        expr_function(i, &name, &usage, &help);
        sb_printf(out, "  %-24s %s\n", usage, help);
    }
    names_help(out);
}

int cmd_help(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *t = arg(a, "topic"), *sub = arg(a, "sub");
    if (!t->given) {
        sb_puts(&s->out, "commands ('help CMD' for its arguments, 'help names', 'help eval'):\n");
        for (const Command *c = COMMANDS; c->name; c++) sb_printf(&s->out, "  %-10s %s\n", c->name, c->summary);
        return CMD_OK;
    }
    if (!strcmp(t->s, "names")) { names_help(&s->out); return CMD_OK; }
    if (!strcmp(t->s, "eval") && !sub->given) {
        args_help(cmd_find("eval"), NULL, &s->out);
        help_eval(&s->out);
        return CMD_OK;
    }
    const Command *c = cmd_find(t->s);
    if (c) {
        if (sub->given) {
            for (const Command *k = c->subs; k && k->name; k++)
                if (!strcmp(k->name, sub->s)) {
                    args_help(k, c, &s->out);
                    return CMD_OK;
                }
            return gr_fail(e, "help: '%s' has no subcommand '%s'", c->name, sub->s), CMD_ERR;
        }
        args_help(c, NULL, &s->out);
        return CMD_OK;
    }
    /* `help L0.masked`: a name explains itself. */
    GrErr ne;
    if (names_explain(s, t->s, &s->out, &ne) == 0) return CMD_OK;
    const char *hint = cmd_suggest(t->s);
    if (hint) return gr_fail(e, "help: no command or name '%s' (did you mean '%s'?)", t->s, hint), CMD_ERR;
    return gr_fail(e, "help: no command or name '%s' (%s)", t->s, ne.msg), CMD_ERR;
}

int cmd_quit(Session *s, const Args *a, GrErr *e) { return session_may_quit(s) ? CMD_QUIT : CMD_OK; }
