/* cmd_samples.c — `generate N --samples K`: K continuations of one prompt decoded in one
 * batched pass (B = K rows through the KV cache at once), sample k seeded from the
 * session's seed and k, so a class gets the same K texts for the same seed. */
#include "cmds.h"
#include "generate.h"
#include "param_abl.h"
#include "rng.h"
#include "sample.h"

#include <stdlib.h>
#include <string.h>

int generate_samples(Session *s, const int *ids, size_t nids, long n, int K, const SampleCfg *c, const char *shown,
                     GrErr *e)
{
    int V = s->m->cfg.vocab;
    KVCache *kv = kv_new_batch(s->m, K, s->abl, s->nabl, e);
    if (!kv) return CMD_ERR;
    float *logits = malloc(sizeof(float) * (size_t)K * V);
    double *p = malloc(sizeof(double) * V);
    int *scratch = malloc(sizeof(int) * V), *step = malloc(sizeof(int) * (size_t)K);
    int **out = calloc((size_t)K, sizeof(int *));
    Rng *rng = malloc(sizeof(Rng) * (size_t)K);
    int rc = CMD_ERR;
    long made = 0;
    if (!logits || !p || !scratch || !step || !out || !rng) {
        gr_fail(e, "out of memory for %d samples", K);
        goto done;
    }
    for (int k = 0; k < K; k++) {
        out[k] = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
        if (!out[k]) { gr_fail(e, "out of memory for %d samples", K); goto done; }
        rng_seed(&rng[k], s->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)k + 1);
    }
    double t0 = now_ms();
    for (size_t i = 0; i < nids; i++) {
        for (int k = 0; k < K; k++) step[k] = ids[i];
        if (kv_forward_batch(s->m, kv, step, logits, e)) goto done;
    }
    double t1 = now_ms();
    g_interrupted = 0;
    for (long i = 0; i < n && !g_interrupted; i++) {
        for (int k = 0; k < K; k++) {
            step[k] = sample_token(logits + (size_t)k * V, V, c, &rng[k], p, scratch);
            out[k][i] = step[k];
        }
        made++;
        if (s->is_tty) {
            sb_printf(&s->out, "\r\x1b[Kdecoding %d samples: token %ld/%ld", K, i + 1, n);
            if (s->flush) s->flush(s);
        }
        if (i + 1 < n && kv_forward_batch(s->m, kv, step, logits, e)) goto done;
    }
    double t2 = now_ms();
    if (s->is_tty) sb_puts(&s->out, "\r\x1b[K");
    for (int k = 0; k < K; k++) {
        sb_printf(&s->out, "[%d] %s", k, shown);
        tok_decode(&s->tok, out[k], (size_t)made, &s->out);
        sb_putc(&s->out, '\n');
    }
    /* sample 0's ids: eval generated */
    if (s->gen_cap < made) {
        int *g = realloc(s->gen_ids, sizeof(int) * (size_t)made);
        if (!g) { gr_fail(e, "out of memory"); goto done; }
        s->gen_ids = g;
        s->gen_cap = (int)made;
    }
    memcpy(s->gen_ids, out[0], sizeof(int) * (size_t)made);
    s->ngen = (int)made;
    sb_printf(&s->out, "[%d samples × %ld tokens in %.0f ms: %.1f tokens/s in all, one batched pass (B = %d); prompt %zu "
                       "token%s in %.0f ms%s%s]\n",
              K, made, t2 - t1, (double)K * made / ((t2 - t1) / 1e3), K, nids, nids == 1 ? "" : "s", t1 - t0,
              abl_count(s) ? "; ablations in force" : "", g_interrupted ? "; interrupted" : "");
    g_interrupted = 0;
    rc = CMD_OK;
done:
    if (out)
        for (int k = 0; k < K; k++) free(out[k]);
    free(out);
    free(rng);
    free(step);
    free(scratch);
    free(p);
    free(logits);
    kv_free(s->m, kv);
    return rc;
}
