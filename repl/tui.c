/* tui.c — placeholder until the ncurses TUI lands: plain line mode with history. */
#include "session.h"
#include <editline/readline.h>
#include <stdio.h>
#include <stdlib.h>

int tui_main(Session *s)
{
    using_history();
    char hist[1024];
    const char *home = getenv("HOME");
    snprintf(hist, sizeof hist, "%s/.gptrepl_history", home ? home : ".");
    read_history(hist);
    printf("gptrepl — a live GPT you can take apart. 'help' lists commands, 'quit' leaves.\n");
    for (;;) {
        g_interrupted = 0;
        char *line = readline("gptrepl> ");
        if (!line) { putchar('\n'); break; }
        if (*line) add_history(line);
        int rc = session_exec_multi(s, line);
        free(line);
        if (rc == CMD_QUIT) break;
    }
    write_history(hist);
    return 0;
}
