/* fuzz_lesson.c — lesson_parse (repl/lesson.c) on arbitrary bytes: it must either
 * parse or fail with a message, never crash or leak; parsed items are checked. */
#include "fuzz_util.h"
#include "repl/lesson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Lesson l;
    GrErr e = {{0}};
    if (lesson_parse((const char *)data, size, &l, &e) == 0) {
        for (int i = 0; i < l.n; i++) {
            const LessonItem *it = &l.items[i];
            if (!it->text || it->kind < LI_PROSE || it->kind > LI_TITLE || it->line < 1) abort();
            if (strlen(it->text) > 4000) abort();
        }
        lesson_free(&l);
    } else if (!e.msg[0]) {
        abort(); /* a failure must say why */
    }
    return 0;
}
