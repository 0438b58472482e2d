/* main.c — argv, modes (TUI, plain line mode, -c, script, lesson), the default model. */
#include "session.h"
#include "lesson.h"
#include "paths.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tui_main(Session *s);     /* repl/tui.c */
int tui_line_mode(Session *s); /* repl/tui.c */


static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: gptrepl [OPTION]... [SCRIPT]\n"
            "A live GPT-2-style model to take apart: step through it, picture it, train it.\n"
            "\n"
            "  -c \"CMD; CMD\"      run commands and exit\n"
            "  SCRIPT            run a script file (one command per line)\n"
            "      --lesson NAME run a lesson (LANG/NAME or a file)\n"
            "      --batch       with --lesson: no pauses; the exit status says whether every check passed\n"
            "                    (also the case when stdin is not a terminal)\n"
            "      --out DIR     where lessons write their files (default: the cache, per lesson)\n"
            "      --allow-files let lessons read and write outside their folders\n"
            "      --plain       line mode even on a terminal (no TUI)\n"
            "      --no-color    no colours (NO_COLOR is honoured too)\n"
            "      --bail        stop a script at its first error\n"
            "      --model PATH  start with this checkpoint instead of the bundled model\n"
            "      --empty       start without a model\n"
            "  -h, --help        this help\n"
            "      --version     the version\n"
            "\n"
            "Without a script, commands come from the terminal (TUI) or from stdin.\n"
            "Inside, 'help' lists the commands and 'help CMD' explains one.\n");
}

void session_default_model(Session *s)
{
    const char *dirs[8];
    int nd = paths_model_dirs(dirs, 8);
    char path[4200];
    struct stat sb;
    for (int i = 0; i < nd; i++) {
        snprintf(path, sizeof path, "%s/" GPTREPL_BUNDLED ".safetensors", dirs[i]);
        if (stat(path, &sb) != 0) continue;
        char line[4300];
        /* by name when the model folders find it first: the line history --save keeps */
        if (i == 0) snprintf(line, sizeof line, "load " GPTREPL_BUNDLED);
        else snprintf(line, sizeof line, "load \"%s\"", path);
        GrErr e;
        if (session_exec(s, line, &e) == CMD_ERR) fprintf(stderr, "warning: %s\n", e.msg);
        session_out_done(s);
        return;
    }
    fprintf(stderr, "note: the bundled model (models/" GPTREPL_BUNDLED ".safetensors) was not found beside gptrepl; "
                    "starting without a model ('new tiny' makes one)\n");
}

int main(int argc, char **argv)
{
    Session s;
    session_init(&s);
    const char *cmds = NULL, *script = NULL, *lesson = NULL, *model = NULL;
    int no_color = 0, plain = 0, batch = 0, empty = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") && i + 1 < argc) cmds = argv[++i];
        else if (!strcmp(a, "--lesson") && i + 1 < argc) lesson = argv[++i];
        else if (!strcmp(a, "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) s.lesson_out = argv[++i];
        else if (!strcmp(a, "--allow-files")) s.allow_files = 1;
        else if (!strcmp(a, "--batch")) batch = 1;
        else if (!strcmp(a, "--plain")) plain = 1;
        else if (!strcmp(a, "--no-color")) no_color = 1;
        else if (!strcmp(a, "--bail")) s.bail = 1;
        else if (!strcmp(a, "--empty")) empty = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); session_free(&s); return 0; }
        else if (!strcmp(a, "--version")) { printf("gptrepl %s\n", GPTREPL_VERSION); session_free(&s); return 0; }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "gptrepl: unknown option '%s'\nTry 'gptrepl --help' for more information.\n", a);
            session_free(&s);
            return 2;
        } else if (!script) script = a;
        else { fprintf(stderr, "gptrepl: one script at a time ('%s' and '%s')\n", script, a); session_free(&s); return 2; }
    }
    int in_tty = isatty(0), out_tty = isatty(1);
    s.is_tty = out_tty;
    s.color = no_color ? VIZ_COLOR_NONE : viz_color_detect(out_tty);
    s.color_auto = !no_color;
    s.plain = plain || !in_tty || !out_tty;
    /* The terminal's size; 80 × 24 when output is not a terminal, so transcripts are
     * the same everywhere (COLUMNS and LINES override both). */
    struct winsize ws;
    if (out_tty && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 && ws.ws_row >= 5) {
        s.width = ws.ws_col;
        s.height = ws.ws_row;
    }
    const char *cols = getenv("COLUMNS"), *lines = getenv("LINES");
    if (cols && atoi(cols) >= 20) s.width = atoi(cols) > 1000 ? 1000 : atoi(cols);
    if (lines && atoi(lines) >= 5) s.height = atoi(lines) > 1000 ? 1000 : atoi(lines);
    signal(SIGINT, on_sigint);
    signal(SIGXFSZ, SIG_IGN); /* a file-size limit is a write error (EFBIG), not death */

    if (model) {
        char line[1200];
        snprintf(line, sizeof line, "load \"%s\"", model);
        GrErr e;
        if (session_exec(&s, line, &e) == CMD_ERR) { fprintf(stderr, "gptrepl: %s\n", e.msg); session_free(&s); return 1; }
        session_out_done(&s);
    } else if (!empty) {
        session_default_model(&s);
    }

    int interactive = !cmds && !script && !lesson && in_tty;
    if (lesson) {
        /* Without a terminal to pause at, a lesson runs through and counts its checks. */
        s.lesson_batch = batch || !in_tty;
        lesson_run_file(&s, lesson, s.lesson_batch);
    } else if (cmds) {
        session_exec_multi(&s, cmds);
    } else if (script) {
        FILE *f = fopen(script, "r");
        if (!f) { fprintf(stderr, "gptrepl: cannot open %s\n", script); session_free(&s); return 2; }
        session_run_stream(&s, f, script);
        fclose(f);
    } else if (interactive && !s.plain) {
        tui_main(&s);
    } else if (interactive) {
        tui_line_mode(&s);
    } else {
        session_run_stream(&s, stdin, "<stdin>");
    }
    int errors = s.errors;
    session_free(&s);
    return errors ? 1 : 0;
}
