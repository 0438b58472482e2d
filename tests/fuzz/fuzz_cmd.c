/* fuzz_cmd.c — the command line (repl/session.c, repl/commands.c, repl/expr.c, viz/):
 * each input is up to 16 lines, run one after the other with session_exec on a fresh
 * session holding a tiny model (`new tiny layers=1 d=16 ctx=16 heads=2`), so a line can
 * build on the one before (run, then step, attn, logits ...).
 *
 * Lines whose first word touches the filesystem, allocates a big model or takes long
 * are skipped: save load export dump train generate bench new device lesson seed set
 * quit log history source clear (and any line with --file, which reads a file). Everything else is fair game:
 * run step next continue where reset show eval check loss logits attn hist heatmap
 * ablate unablate tokens params model help, and unknown words. */
#include "fuzz_util.h"
#include "repl/session.h"

#include <ctype.h>

static const char *const SKIP[] = {"save", "load", "export", "dump", "train", "generate", "bench", "new",
                                   "device", "lesson", "seed", "set", "quit", "log", "history", "source",
                                   "clear", NULL};

/* The first word as session_exec's split_words reads it ("double quotes" group, \x escapes). */
static int first_word(const char *p, char *w, size_t cap)
{
    size_t k = 0;
    while (*p && isspace((unsigned char)*p)) p++;
    while (*p && !isspace((unsigned char)*p)) {
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                if (k + 1 < cap) w[k++] = *p;
                p++;
            }
            if (*p) p++;
        } else {
            if (k + 1 < cap) w[k++] = *p;
            p++;
        }
    }
    w[k] = 0;
    return (int)k;
}

static int skipped(const char *line)
{
    char w[64];
    first_word(line, w, sizeof w);
    for (int i = 0; SKIP[i]; i++)
        if (!strcmp(w, SKIP[i])) return 1;
    return strstr(line, "--file") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    Session s;
    session_init(&s);
    s.flush = NULL;
    s.color = (VizColor)(size % 4); /* none, 16, 256 colors, truecolor: every renderer's paths */
    s.width = 60 + (int)(size % 7) * 20;
    GrErr e = {{0}};
    if (session_exec(&s, "new tiny layers=1 d=16 ctx=16 heads=2", &e) != CMD_OK) {
        fprintf(stderr, "fuzz_cmd: setup failed: %s\n", e.msg);
        abort();
    }
    sb_clear(&s.out);
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    char *line = buf;
    for (int n = 0; n < 16 && line; n++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (!skipped(line)) {
            GrErr le = {{0}};
            int rc = session_exec(&s, line, &le);
            if (rc == CMD_ERR && !le.msg[0]) {
                fprintf(stderr, "fuzz_cmd: an error without a message: %s\n", line);
                abort();
            }
            sb_clear(&s.out);
            if (rc == CMD_QUIT) break;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    session_free(&s);
    return 0;
}
