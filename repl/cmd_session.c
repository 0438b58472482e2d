/* cmd_session.c — the session as a class uses it: clear, log (a transcript), history
 * (the session as a script), source (run a script). */
#include "cmds.h"
#include "safetensors.h" /* gr_atomic_write */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cmd_clear(Session *s, const Args *a, GrErr *e)
{
    (void)a, (void)e;
    if (s->clear) s->clear(s);
    else if (s->is_tty) sb_puts(&s->out, "\x1b[H\x1b[2J"); /* a transcript stays as it is */
    return CMD_OK;
}

int cmd_log(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *f = arg(a, "file");
    if (!f->given) {
        if (s->log) sb_printf(&s->out, "logging to %s ('log off' stops)\n", s->log_path);
        else sb_puts(&s->out, "not logging ('log FILE' keeps a transcript of commands and output)\n");
        return CMD_OK;
    }
    if (f->choice == 0) { /* off */
        if (!s->log) return gr_fail(e, "log: not logging"), CMD_ERR;
        session_log_out(s);
        fclose(s->log);
        s->log = NULL;
        sb_printf(&s->out, "stopped logging to %s\n", s->log_path);
        return CMD_OK;
    }
    FILE *fp = fopen(f->s, "a");
    if (!fp) return gr_fail(e, "log: cannot write %s: %s", f->s, strerror(errno)), CMD_ERR;
    if (s->log) fclose(s->log);
    s->log = fp;
    snprintf(s->log_path, sizeof s->log_path, "%s", f->s);
    s->log_mark = s->out.len; /* from here on */
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    fprintf(fp, "# gptrepl transcript, %s\n", when);
    fflush(fp);
    sb_printf(&s->out, "logging to %s (commands and their output, appended)\n", f->s);
    return CMD_OK;
}

int cmd_history(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *f = arg(a, "save");
    if (!f->given) {
        if (!s->nhist) sb_puts(&s->out, "no commands yet this session\n");
        for (int i = 0; i < s->nhist; i++) sb_printf(&s->out, "%4d  %s\n", i + 1, s->hist[i]);
        return CMD_OK;
    }
    /* a script 'source FILE' (or gptrepl --empty FILE) runs again */
    StrBuf b;
    sb_init(&b);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    sb_printf(&b, "# gptrepl session, %s: %d command%s ('source FILE' runs them again)\n", when, s->nhist,
              s->nhist == 1 ? "" : "s");
    for (int i = 0; i < s->nhist; i++) sb_printf(&b, "%s\n", s->hist[i]);
    StChunk ch = {b.s, b.len};
    int rc = gr_atomic_write(f->s, &ch, 1, e);
    sb_free(&b);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "wrote %s (%d command%s)\n", f->s, s->nhist, s->nhist == 1 ? "" : "s");
    return CMD_OK;
}

int cmd_source(Session *s, const Args *a, GrErr *e)
{
    const char *path = arg_str(a, "file", "");
    if (s->depth >= 8) return gr_fail(e, "source: scripts nested 8 deep (does %s source itself?)", path), CMD_ERR;
    FILE *f = fopen(path, "r");
    if (!f) return gr_fail(e, "source: cannot open %s: %s", path, strerror(errno)), CMD_ERR;
    int before = s->errors;
    s->depth++;
    int rc = session_run_stream(s, f, path);
    s->depth--;
    fclose(f);
    if (rc == CMD_QUIT) return CMD_QUIT;
    if (s->errors > before) {
        int n = s->errors - before;
        s->errors = before; /* reported line by line above; counted once here */
        return gr_fail(e, "source %s: %d command error%s (see above)", path, n, n == 1 ? "" : "s"), CMD_ERR;
    }
    return CMD_OK;
}
